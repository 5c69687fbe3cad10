import { describe, expect, it } from 'vitest';
import { meetsGoal } from '../bench/harness.js';
import { scenarios } from '../bench/scenarios/index.js';
import { overheadScenario } from '../bench/scenarios/overhead.js';

describe('bench: performance scenarios', () => {
  it('are registered under their names', () => {
    expect(scenarios.map((scenario) => scenario.name)).toEqual(expect.arrayContaining(['overhead', 'packing', 'ann-dedupe', 'telemetry-overhead']));
  });

  it('overhead: every contender runs and checks its outcomes; the three ratios carry their goals', async () => {
    const result = await overheadScenario.run({ quick: true, items: 400, rounds: 1 });
    expect(result.rows.map((row) => row.name)).toHaveLength(6);
    expect(result.ratios?.map((ratio) => [ratio.id, ratio.goal])).toEqual([
      ['overhead.rx-chain-vs-native', 0.5],
      ['overhead.buffer-by-tokens-vs-buffer-count', 0.8],
      ['overhead.iterable-chain-vs-ix', 0.9],
    ]);
    for (const ratio of result.ratios ?? []) expect(ratio.value).toBeGreaterThan(0);
  }, 60_000);

  it('meetsGoal reads the direction of a ratio', () => {
    expect(meetsGoal({ id: 'a', label: 'a', value: 1, goal: 0.5 })).toBe(true);
    expect(meetsGoal({ id: 'a', label: 'a', value: 1.05, goal: 1.02, better: 'lower' })).toBe(false);
  });
});
