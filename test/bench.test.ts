import { describe, expect, it } from 'vitest';
import { makeCorpus } from '../bench/corpus.js';
import { formatResult } from '../bench/harness.js';
import { bufferByTokensScenario } from '../bench/scenarios/buffer-by-tokens.js';
import { scenarios } from '../bench/scenarios/index.js';
import { redisWorkersScenario } from '../bench/scenarios/redis-workers.js';
import { redisServerPath } from './support/redis.js';
import { checkComplete, processingScenario } from '../bench/scenarios/processing.js';
import { simulatedClassify } from '../src/index.js';

describe('bench scenario buffer-by-tokens', () => {
  it('is registered under its name', () => {
    expect(scenarios.map((scenario) => scenario.name)).toContain('buffer-by-tokens');
  });

  it('runs on a tiny corpus and reports every contender with checked token counts', async () => {
    const result = await bufferByTokensScenario.run({ quick: true, items: 300, repeats: 1 });
    expect(result.scenario).toBe('buffer-by-tokens');
    const names = ['every item tokenized (no bound)', 'bufferByTokens (gpt-tokenizer)', 'bufferByTokens (tiktoken)', 'iterable bufferByTokens (gpt-tokenizer)'];
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

describe('bench scenario processing', () => {
  const items = makeCorpus({ seed: 5, items: 3 });
  const labels = items.map((text) => simulatedClassify(text));

  it('is registered under its name', () => {
    expect(scenarios.map((scenario) => scenario.name)).toContain('processing');
  });

  it('runs at tiny size and reports every contender, with the bounds and the completeness check', async () => {
    const result = await processingScenario.run({ quick: true, items: 40 });
    expect(result.scenario).toBe('processing');
    expect(result.rows.map((row) => row.name)).toEqual(['1 call/item, sequential', 'batches of 4, 4 workers, results at end', '1 call/item, 4 workers', 'tokenbatch chain']);
    const columns = ['items/s', 'end s', 'calls', '429s', '500s', 'items/call', 'billed tok', 'cost $', 'p50 s', 'p99 s', 'failed', 'vs sequential', 'vs best baseline'];
    for (const row of result.rows) {
      expect(Object.keys(row)).toEqual(['name', ...columns]);
      for (const column of columns) expect(Number.isFinite(row[column])).toBe(true);
      expect(row.failed).toBe(0);
      expect(row.calls).toBeGreaterThanOrEqual(40 / (row['items/call'] as number));
      expect(row['p50 s']).toBeLessThanOrEqual(row['p99 s'] as number);
    }
    const [sequential, fixed, pooled, chain] = result.rows;
    expect(sequential?.['vs sequential']).toBe(1);
    expect(sequential?.['items/call']).toBe(1);
    expect(pooled?.['items/call']).toBe(1);
    expect(fixed?.['items/call']).toBe(4);
    // Results only at the end: every item waits for the whole run.
    expect(fixed?.['p50 s']).toBe(fixed?.['end s']);
    // One call/item pays the instructions 40 times; the chain pays them once per batch.
    expect(sequential?.['billed tok']).toBe(pooled?.['billed tok']);
    expect(chain?.['billed tok']).toBeLessThan(sequential?.['billed tok'] as number);
    expect(Math.max(...result.rows.slice(0, 3).map((row) => row['vs best baseline'] as number))).toBe(1);
    const notes = result.notes ?? [];
    expect(notes.some((note) => note.startsWith('corpus: 40 items'))).toBe(true);
    expect(notes.some((note) => note.startsWith("bound at the chain's batch size"))).toBe(true);
    expect(notes.some((note) => note.startsWith("this job's bound"))).toBe(true);
    expect(notes.some((note) => note.startsWith('completeness check passed: every item got exactly one result in all 4 contenders'))).toBe(true);
    expect(formatResult(result)).toContain('tokenbatch chain');
  });

  it('rejects a corpus size that is not a whole number >= 1', async () => {
    await expect(processingScenario.run({ quick: true, items: 0 })).rejects.toThrow(RangeError);
  });

  it('completeness check: counts failed items and accepts every item answered once', () => {
    const deliveries = [
      { index: 2, value: labels[2] as string, at: 5 },
      { index: 0, value: new Error('500'), at: 1 },
      { index: 1, value: labels[1] as string, at: 3 },
    ];
    expect(checkComplete('ok', deliveries, items)).toBe(1);
  });

  it('completeness check: throws on a missing, repeated, unknown or wrong result', () => {
    const one = (index: number, value: string | Error = labels[index] ?? 'x') => ({ index, value, at: 0 });
    expect(() => checkComplete('missing', [one(0), one(2)], items)).toThrow(/missing: no result for item 1/);
    expect(() => checkComplete('twice', [one(0), one(1), one(1), one(2)], items)).toThrow(/twice: a second result for item 1/);
    expect(() => checkComplete('unknown', [one(0), one(1), one(2), one(3)], items)).toThrow(/unknown: a result for item 3/);
    const wrong = labels[1] === 'bug' ? 'billing' : 'bug';
    expect(() => checkComplete('wrong', [one(0), one(1, wrong), one(2)], items)).toThrow(/wrong: item 1 labelled/);
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
