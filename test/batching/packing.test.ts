import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BestFitPacker, packingLowerBound, type PackedBatch } from '../../src/batching/packing.js';

/** Greedy in-order packing written plainly, as the reference for one open batch. */
function greedy(tokens: readonly number[], maxTokens: number, maxItems: number, batchOverhead: number, itemOverhead: number): number[][] {
  const batches: number[][] = [];
  let open: number[] = [];
  let used = batchOverhead;
  tokens.forEach((count, i) => {
    const cost = count + itemOverhead;
    if (batchOverhead + cost > maxTokens) {
      batches.push([i]);
      return;
    }
    if (open.length > 0 && used + cost > maxTokens) {
      batches.push(open);
      open = [];
      used = batchOverhead;
    }
    open.push(i);
    used += cost;
    if (open.length >= maxItems || maxTokens - used < itemOverhead || (itemOverhead === 0 && used >= maxTokens)) {
      batches.push(open);
      open = [];
      used = batchOverhead;
    }
  });
  if (open.length > 0) batches.push(open);
  return batches;
}

const arbitraryRun = fc.record({
  tokens: fc.array(fc.integer({ min: 0, max: 120 }), { maxLength: 200 }),
  maxTokens: fc.integer({ min: 20, max: 150 }),
  maxItems: fc.option(fc.integer({ min: 1, max: 12 }), { nil: undefined }),
  batchOverheadTokens: fc.integer({ min: 0, max: 10 }),
  itemOverheadTokens: fc.integer({ min: 0, max: 4 }),
  maxOpenBatches: fc.integer({ min: 1, max: 8 }),
  lookaheadItems: fc.integer({ min: 1, max: 40 }),
});

describe('BestFitPacker', () => {
  it('rejects bad options and bad counts, naming them', () => {
    expect(() => new BestFitPacker({ maxTokens: 0 })).toThrow(/maxTokens/);
    expect(() => new BestFitPacker({ maxTokens: 10, maxOpenBatches: 0 })).toThrow(/maxOpenBatches/);
    expect(() => new BestFitPacker({ maxTokens: 10, lookaheadItems: 1.5 })).toThrow(/lookaheadItems/);
    expect(() => new BestFitPacker({ maxTokens: 10, maxItems: 0 })).toThrow(/maxItems/);
    expect(() => new BestFitPacker({ maxTokens: 10, itemOverheadTokens: -1 })).toThrow(/itemOverheadTokens/);
    expect(() => new BestFitPacker(null as never)).toThrow(TypeError);
    expect(() => new BestFitPacker({ maxTokens: 10 }).add('x', Number.NaN, 0)).toThrow(/tokens/);
  });

  it('puts an item in the open batch it fills best, so a long item no longer closes a half-empty batch', () => {
    const packer = new BestFitPacker<string>({ maxTokens: 100, maxOpenBatches: 2 });
    expect(packer.add('a', 60, 0)).toEqual([]);
    expect(packer.add('b', 50, 1)).toEqual([]); // does not fit with a: a second batch
    expect(packer.add('c', 40, 2).map((batch) => batch.entries)).toEqual([['a', 'c']]); // fits both; a's is fuller, and now full
    expect(packer.add('d', 50, 3).map((batch) => batch.entries)).toEqual([['b', 'd']]);
    expect(packer.openBatches).toBe(0);
  });

  it('closes by time from the first item, and flushes the rest oldest first', () => {
    const packer = new BestFitPacker<string>({ maxTokens: 100, maxOpenBatches: 4 });
    packer.add('a', 70, 0);
    packer.add('b', 70, 5);
    expect(packer.oldestOpenedAt).toBe(0);
    expect(packer.expire(9, 10)).toEqual([]);
    expect(packer.expire(10, 10).map((batch) => [batch.entries, batch.reason])).toEqual([[['a'], 'time']]);
    packer.add('c', 70, 6);
    expect(packer.flush().map((batch) => batch.entries)).toEqual([['b'], ['c']]);
  });

  it('emits an item too long for an empty batch alone, flagged oversize', () => {
    const packer = new BestFitPacker<string>({ maxTokens: 100, batchOverheadTokens: 10 });
    expect(packer.add('big', 95, 0)).toMatchObject([{ entries: ['big'], oversize: true, tokens: 105 }]);
  });

  it('with one open batch it is greedy in-order packing (property)', () => {
    fc.assert(
      fc.property(arbitraryRun, (run) => {
        const packer = new BestFitPacker<number>({ ...run, maxOpenBatches: 1, lookaheadItems: Number.MAX_SAFE_INTEGER });
        const batches: number[][] = [];
        run.tokens.forEach((count, i) => batches.push(...packer.add(i, count, i).map((batch) => batch.entries)));
        batches.push(...packer.flush().map((batch) => batch.entries));
        expect(batches).toEqual(greedy(run.tokens, run.maxTokens, run.maxItems ?? Number.POSITIVE_INFINITY, run.batchOverheadTokens, run.itemOverheadTokens));
      }),
    );
  });

  it('every item exactly once, within the budget and item limit, in arrival order in its batch, bounded lookahead and open batches (property)', () => {
    fc.assert(
      fc.property(arbitraryRun, (run) => {
        const packer = new BestFitPacker<number>(run);
        const seen = new Set<number>();
        const check = (batches: PackedBatch<number>[], arrival: number) => {
          for (const batch of batches) {
            const cost = batch.entries.reduce((sum, i) => sum + (run.tokens[i] as number) + run.itemOverheadTokens, run.batchOverheadTokens);
            expect(batch.tokens).toBe(cost);
            if (batch.oversize) expect(batch.entries).toHaveLength(1);
            else expect(batch.tokens).toBeLessThanOrEqual(run.maxTokens);
            expect(batch.entries.length).toBeLessThanOrEqual(run.maxItems ?? Number.POSITIVE_INFINITY);
            expect([...batch.entries].sort((a, b) => a - b)).toEqual(batch.entries);
            // No item waits for more than lookaheadItems later arrivals.
            expect(arrival - batch.firstArrival).toBeLessThanOrEqual(run.lookaheadItems);
            for (const i of batch.entries) {
              expect(seen.has(i)).toBe(false);
              seen.add(i);
            }
          }
        };
        run.tokens.forEach((count, i) => {
          check(packer.add(i, count, i), i);
          expect(packer.openBatches).toBeLessThanOrEqual(run.maxOpenBatches);
        });
        check(packer.flush(), run.tokens.length - 1);
        expect(seen.size).toBe(run.tokens.length);
      }),
    );
  });

  it('never makes fewer batches than the lower bound (property)', () => {
    fc.assert(
      fc.property(arbitraryRun, (run) => {
        const packer = new BestFitPacker<number>({ ...run, maxItems: undefined });
        let calls = 0;
        run.tokens.forEach((count, i) => (calls += packer.add(i, count, i).length));
        calls += packer.flush().length;
        expect(calls).toBeGreaterThanOrEqual(packingLowerBound(run.tokens, run));
      }),
    );
  });
});

describe('packingLowerBound', () => {
  it('counts the room left by the batch overhead, and items too long alone', () => {
    expect(packingLowerBound([60, 50, 40], { maxTokens: 100 })).toBe(2);
    expect(packingLowerBound([60, 50, 40], { maxTokens: 100, batchOverheadTokens: 25, itemOverheadTokens: 0 })).toBe(2);
    expect(packingLowerBound([200, 10], { maxTokens: 100 })).toBe(2);
    expect(packingLowerBound([], { maxTokens: 100 })).toBe(0);
  });
});
