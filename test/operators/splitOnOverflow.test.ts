import { from } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ContextOverflowError, mergeBatches, orderedResults, splitOnOverflow, bufferByTokens, type Outcome } from '../../src/index.js';
import { charTokens } from '../support/handlers.js';

describe('splitOnOverflow', () => {
  it('re-packs an over-budget batch before sending', async () => {
    const sizes: number[][] = [];
    const outcomes: number[] = [];
    await new Promise<void>((resolve) =>
      from([['aaaa', 'bbbb', 'cccc', 'dd']])
        .pipe(
          splitOnOverflow({ maxTokens: 8, tokenizer: charTokens }),
          mergeBatches(async (batch) => {
            sizes.push(batch.items.map((item) => item.length));
            return batch.items;
          }),
          orderedResults(),
        )
        .subscribe({ next: (outcome) => outcomes.push(outcome.index), complete: resolve }),
    );
    expect(sizes).toEqual([
      [4, 4],
      [4, 2],
    ]);
    expect(outcomes).toEqual([0, 1, 2, 3]);
  });

  it('halves a batch the model refuses, recursively, and reports the split depth', async () => {
    const window = 6;
    const outcomes: Outcome<string, string>[] = [];
    await new Promise<void>((resolve) =>
      from(['aaa', 'bbb', 'ccc', 'ddd', 'eeeeeee'])
        .pipe(
          bufferByTokens({ maxTokens: 100, tokenizer: charTokens }),
          splitOnOverflow(),
          mergeBatches(async (batch) => {
            if (batch.tokens > window) throw new ContextOverflowError('maximum context length');
            return batch.items.map((item) => `v:${item}`);
          }),
          orderedResults(),
        )
        .subscribe({ next: (outcome) => outcomes.push(outcome), complete: resolve }),
    );
    expect(outcomes.map((outcome) => [outcome.index, outcome.ok, outcome.splitDepth])).toEqual([
      // 3+3+3 | 3+7, then 3 | 3+3 and 3 | 7: the 7-token item overflows even alone.
      [0, true, 2],
      [1, true, 2],
      [2, true, 2],
      [3, true, 2],
      [4, false, 2],
    ]);
    expect((outcomes[4] as { error: Error }).error).toBeInstanceOf(ContextOverflowError);
  });

  it('chunks a single item that overflows alone, with overlap, and merges the chunk results', async () => {
    const text = Array.from({ length: 40 }, (_, i) => `w${i}`).join(' ');
    const seenChunks: string[] = [];
    const outcomes: Outcome<string, string>[] = [];
    await new Promise<void>((resolve) =>
      from([['short', text]])
        .pipe(
          splitOnOverflow<string, string>({ maxTokens: 30, tokenizer: charTokens, chunk: { overlapTokens: 6, merge: (parts) => parts.join('+') } }),
          mergeBatches(async (batch) => {
            seenChunks.push(...batch.items);
            return batch.items.map((item) => `[${item.length}]`);
          }),
          orderedResults(),
        )
        .subscribe({ next: (outcome) => outcomes.push(outcome), complete: resolve }),
    );
    const chunks = seenChunks.filter((chunk) => chunk !== 'short');
    expect(chunks.length).toBeGreaterThan(4);
    for (const chunk of chunks) expect(chunk.length).toBeLessThanOrEqual(30);
    // Consecutive chunks overlap, and together they cover the text from start to end.
    expect(text.startsWith(chunks[0] as string)).toBe(true);
    expect(text.endsWith(chunks.at(-1) as string)).toBe(true);
    for (let i = 1; i < chunks.length; i++) {
      const previous = chunks[i - 1] as string;
      const head = (chunks[i] as string).slice(0, 3);
      expect(previous.includes(head)).toBe(true);
    }
    expect(outcomes[1]).toMatchObject({ index: 1, item: text, ok: true, value: chunks.map((chunk) => `[${chunk.length}]`).join('+') });
    expect(outcomes[1]?.splitDepth).toBeGreaterThan(0);
  });

  it('without chunking, an item too big even alone fails with ContextOverflowError before any call', async () => {
    let calls = 0;
    const outcomes: Outcome<string, string>[] = [];
    await new Promise<void>((resolve) =>
      from([['ok', 'x'.repeat(50)]])
        .pipe(
          splitOnOverflow({ maxTokens: 10, tokenizer: charTokens }),
          mergeBatches(async (batch) => {
            calls++;
            return batch.items;
          }),
          orderedResults(),
        )
        .subscribe({ next: (outcome) => outcomes.push(outcome), complete: resolve }),
    );
    expect(calls).toBe(1);
    expect(outcomes.map((outcome) => outcome.ok)).toEqual([true, false]);
    expect((outcomes[1] as { error: Error }).error).toBeInstanceOf(ContextOverflowError);
  });
});
