import { describe, expect, it } from 'vitest';
import { formatResult } from '../../bench/harness.js';
import { counting } from '../../bench/scenarios/counting.js';
import { scenarios } from '../../bench/scenarios/index.js';

describe('bench scenario counting', () => {
  it('is registered, and runs at a tiny size: every kind, ratios, exactness, chunk rows', async () => {
    expect(scenarios.map((scenario) => scenario.name)).toContain('counting');
    const result = await counting.run({ quick: true, items: 20, rounds: 1, chunkMegabytes: [0.01] });
    expect(result.scenario).toBe('counting');
    const ours = result.rows.filter((row) => row.name === 'tokenbatch getTokenizer');
    expect(ours.map((row) => row.text)).toEqual(['word-repetitive English', 'English prose', 'code', 'JSON logs', 'CJK', 'emoji chat', 'bench corpus (default mix)']);
    for (const row of ours) expect(row['vs faster gpt']).toBeGreaterThan(0);
    expect(result.rows.some((row) => String(row.name).startsWith('chunkText'))).toBe(true);
    expect(result.notes?.filter((note) => note.includes('0 mismatches'))).toHaveLength(2);
    expect(formatResult(result)).toContain('vs faster gpt');
  }, 60_000);
});
