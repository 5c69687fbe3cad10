import { describe, expect, it } from 'vitest';
import { runAdaptive, runBudget, runPriority } from '../bench/scenarios/adaptive.js';
import { scenarios } from '../bench/scenarios/index.js';

describe('bench scenarios adaptive, budget, priority', () => {
  it('are registered', () => {
    expect(scenarios.map((scenario) => scenario.name)).toEqual(expect.arrayContaining(['adaptive', 'budget', 'priority']));
  });

  it('adaptive: on-time throughput at least 0.95 of the best fixed setting in every phase, 429s counted', async () => {
    const result = await runAdaptive({ quick: true });
    const adaptive = result.rows.filter((row) => String(row.name).startsWith('adaptive'));
    expect(adaptive).toHaveLength(3);
    for (const row of adaptive) expect(row['vs best fixed']).toBeGreaterThanOrEqual(0.95);
    expect(typeof adaptive[0]?.['429s']).toBe('number');
  }, 60_000);

  it('budget: the overshoot stays within the documented bound', async () => {
    const result = await runBudget({ quick: true });
    for (const row of result.rows) expect(row['overshoot / bound']).toBeLessThanOrEqual(1);
  }, 60_000);

  it('priority: urgent items wait less than first in, first out', async () => {
    const result = await runPriority({ quick: true });
    expect(result.rows[1]?.['urgent p99 vs FIFO']).toBeLessThan(1);
  }, 60_000);
});
