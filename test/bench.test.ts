import { describe, expect, it } from 'vitest';
import { formatResult } from '../bench/harness.js';
import { bufferByTokensScenario } from '../bench/scenarios/buffer-by-tokens.js';
import { scenarios } from '../bench/scenarios/index.js';
import { redisWorkersScenario } from '../bench/scenarios/redis-workers.js';
import { redisServerPath } from './support/redis.js';

describe('bench scenario buffer-by-tokens', () => {
  it('is registered under its name', () => {
    expect(scenarios.map((scenario) => scenario.name)).toContain('buffer-by-tokens');
  });

  it('runs on a tiny corpus and reports every contender with checked token counts', async () => {
    const result = await bufferByTokensScenario.run({ quick: true, items: 300, repeats: 1 });
    expect(result.scenario).toBe('buffer-by-tokens');
    const names = [
      'every item tokenized (no bound)',
      'bufferByTokens (gpt-tokenizer)',
      'bufferByTokens (tiktoken)',
      'iterable bufferByTokens (gpt-tokenizer)',
    ];
    for (const limits of ['8000 tok', '8000 tok, 16 items']) {
      const rows = result.rows.filter((row) => row.limits === limits);
      expect(rows.map((row) => row.name)).toEqual([...names, expect.stringMatching(/^rxjs bufferCount\(\d+\)/)]);
      for (const row of rows) {
        for (const column of ['items/s', 'MB/s', 'mean util', 'vs every item']) expect(row[column]).toBeGreaterThan(0);
        expect(row.batches).toBe(rows[0]?.batches);
      }
      const [everyItem, bounded, tiktoken, iterable, floor] = rows;
      expect(everyItem?.['exact calls']).toBe(300);
      expect(everyItem?.['vs every item']).toBe(1);
      expect(bounded?.['exact calls']).toBe(tiktoken?.['exact calls']);
      expect(bounded?.['exact calls']).toBe(iterable?.['exact calls']);
      expect(floor?.['exact calls']).toBe(0);
      for (const row of rows.slice(0, 4)) expect(row['over budget']).toBe(0);
    }
    // With at most 16 items a batch, UTF-8 bounds prove most batches fit without exact counts.
    const bounded16 = result.rows.find((row) => row.limits === '8000 tok, 16 items' && row.name === 'bufferByTokens (gpt-tokenizer)');
    expect(bounded16?.['exact calls']).toBeLessThan(150);
    expect(result.notes?.some((note) => note.startsWith('token-count check passed: 8 bufferByTokens rows'))).toBe(true);
    expect(result.notes?.some((note) => note.startsWith('corpus: 300 items'))).toBe(true);
    expect(formatResult(result)).toContain('bufferByTokens (tiktoken)');
  });
});

describe('bench scenario redis-workers', () => {
  it('is registered under its name', () => {
    expect(scenarios.map((scenario) => scenario.name)).toContain('redis-workers');
  });

  it.skipIf(redisServerPath() === undefined)('runs one worker and two on a tiny stream, every item checked', async () => {
    const result = await redisWorkersScenario.run({ quick: true, items: 600, delaysMs: [2], repeats: 1 });
    expect(result.rows.map((row) => row.name)).toEqual(['1 worker', '2 workers']);
    for (const row of result.rows) {
      expect(row['items/s']).toBeGreaterThan(0);
      expect(row['handler ms/batch']).toBe(2);
    }
    expect(result.rows[0]?.['vs 1 worker']).toBe(1);
    expect(result.rows[0]?.['smallest share']).toBe(1);
    expect(result.notes?.some((note) => note.startsWith('600 items per run'))).toBe(true);
  });
});
