import { describe, expect, it } from 'vitest';
import { scenarios } from '../bench/scenarios/index.js';
import { resultCacheScenario } from '../bench/scenarios/result-cache.js';

describe('result-cache bench', () => {
  it('is registered under its name', () => expect(scenarios.map((s) => s.name)).toContain('result-cache'));

  it('a warm run sends no request and hits every item, on every store', async () => {
    const result = await resultCacheScenario.run({ quick: true });
    const warm = result.rows.filter((row) => row.name.endsWith('warm run'));
    const cold = result.rows.filter((row) => row.name.endsWith('cold run'));
    expect(warm.length).toBeGreaterThanOrEqual(1);
    for (const row of cold) expect(row).toMatchObject({ 'items sent': 500, 'cache hits': 0 });
    for (const row of warm) expect(row).toMatchObject({ requests: 0, 'items sent': 0, 'cache hits': 500 });
    expect(result.notes?.filter((note) => note.endsWith('in order: true'))).toHaveLength(warm.length);
  });
});
