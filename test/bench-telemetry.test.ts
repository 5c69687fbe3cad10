import { describe, expect, it } from 'vitest';
import { formatResult } from '../bench/harness.js';
import { scenarios } from '../bench/scenarios/index.js';
import { telemetryOverhead } from '../bench/scenarios/telemetry-overhead.js';

describe('bench scenario telemetry-overhead', () => {
  it('is registered under its name', () => {
    expect(scenarios.map((scenario) => scenario.name)).toContain('telemetry-overhead');
  });

  it('runs on a tiny input and reports every contender against telemetry: false', async () => {
    const result = await telemetryOverhead.run({ quick: true, items: 300, rounds: 1 });
    expect(result.scenario).toBe('telemetry-overhead');
    expect(result.rows.map((row) => row.name)).toEqual([
      'telemetry: false',
      'global API, no SDK (no-op)',
      'telemetry: false (alongside SDK runs)',
      'SDK (in-memory exporters)',
      'SDK, spans only',
      'SDK, metrics only',
    ]);
    for (const row of result.rows) {
      for (const column of ['best ms', 'items/s', 'vs telemetry: false']) expect(row[column], `${row.name} ${column}`).toBeGreaterThan(0);
    }
    expect(result.rows[0]?.['vs telemetry: false']).toBe(1);
    expect(result.rows[2]?.['vs telemetry: false']).toBe(1);
    expect(result.notes?.some((note) => note.startsWith('300 short items'))).toBe(true);
    expect(formatResult(result)).toContain('SDK (in-memory exporters)');
  });
});
