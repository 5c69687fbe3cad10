/** The redis-fleet bench scenario stays runnable: a tiny run, every item checked, no window over the limit. */
import { describe, expect, it } from 'vitest';
import { scenarios } from '../bench/scenarios/index.js';
import { redisFleetScenario } from '../bench/scenarios/redis-fleet.js';
import { redisServerPath } from './support/redis.js';

describe('bench scenario redis-fleet', () => {
  it('is registered under its name', () => {
    expect(scenarios.map((scenario) => scenario.name)).toContain('redis-fleet');
  });

  it.skipIf(redisServerPath() === undefined)('runs one worker and two on a tiny stream, never over the limit', { timeout: 120_000 }, async () => {
    const result = await redisFleetScenario.run({ quick: true, items: 48, workers: [1, 2], baseline: false });
    expect(result.rows.map((row) => row.name)).toEqual(['1 worker, shared limit', '2 workers, shared limit']);
    for (const row of result.rows) {
      expect(row['windows over limit']).toBe(0);
      expect(row['req/s']).toBeGreaterThan(0);
    }
    expect(result.rows[0]?.['vs 1 worker']).toBe(1);
  });
});
