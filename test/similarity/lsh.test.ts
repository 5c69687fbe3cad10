import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LshBuckets, optimalLshParams } from '../../src/internal/similarity/lsh.js';

describe('optimalLshParams', () => {
  // Computed with datasketch's _optimal_param (scipy quad integration), weights (fp, fn).
  const datasketch: [threshold: number, numPerm: number, fn: number, bands: number, rows: number][] = [
    [0.5, 64, 0.5, 14, 4],
    [0.5, 128, 0.5, 25, 5],
    [0.7, 128, 0.5, 14, 9],
    [0.9, 256, 0.5, 9, 28],
    [0.3, 128, 0.9, 32, 2],
    [0.5, 128, 0.9, 32, 4],
    [0.6, 128, 0.9, 25, 5],
    [0.7, 64, 0.9, 12, 5],
    [0.8, 256, 0.9, 23, 11],
  ];
  for (const [threshold, numPerm, fn, bands, rows] of datasketch) {
    it(`matches datasketch for threshold ${threshold}, ${numPerm} permutations, false-negative weight ${fn}`, () => {
      expect(optimalLshParams(threshold, numPerm, fn)).toEqual({ bands, rows });
    });
  }

  it('fits the signature and weighs recall more as the false-negative weight grows (property)', () => {
    fc.assert(
      fc.property(fc.double({ min: 0.2, max: 0.95, noNaN: true }), fc.constantFrom(16, 32, 64), (threshold, numPerm) => {
        const balanced = optimalLshParams(threshold, numPerm, 0.5);
        const recallFirst = optimalLshParams(threshold, numPerm, 0.9);
        expect(balanced.bands * balanced.rows).toBeLessThanOrEqual(numPerm);
        const atThreshold = ({ bands, rows }: { bands: number; rows: number }) => 1 - (1 - threshold ** rows) ** bands;
        expect(atThreshold(recallFirst)).toBeGreaterThanOrEqual(atThreshold(balanced) - 1e-9);
      }),
      { seed: 8, numRuns: 40 },
    );
  });
});

describe('LshBuckets', () => {
  const params = { bands: 4, rows: 2 };
  const sig = (...values: number[]) => Uint32Array.from(values);

  it('finds entries sharing at least one band, once per shared band', () => {
    const buckets = new LshBuckets<{ id: number }>(params, 1);
    const a = { id: 1 };
    const b = { id: 2 };
    buckets.insert(a, buckets.keys(sig(1, 2, 3, 4, 5, 6, 7, 8)));
    buckets.insert(b, buckets.keys(sig(1, 2, 3, 4, 0, 0, 0, 0)));
    const seen: number[] = [];
    buckets.forEachCandidate(buckets.keys(sig(1, 2, 9, 9, 5, 6, 9, 9)), (entry) => seen.push(entry.id));
    expect(seen.sort()).toEqual([1, 1, 2]);
    const none: number[] = [];
    buckets.forEachCandidate(buckets.keys(sig(9, 9, 9, 9, 9, 9, 9, 9)), (entry) => none.push(entry.id));
    expect(none).toEqual([]);
  });

  it('deletes entries from shared and single buckets and leaves no empty bucket behind (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 8, maxLength: 8 }), { minLength: 1, maxLength: 30 }), (signatures) => {
        const buckets = new LshBuckets<{ id: number }>(params, 3);
        const entries = signatures.map((values, id) => ({ id, keys: buckets.keys(Uint32Array.from(values)) }));
        for (const entry of entries) buckets.insert(entry, entry.keys);
        expect(buckets.census().memberships).toBe(entries.length * params.bands);
        for (const entry of entries
          .slice()
          .reverse()
          .filter((_, i) => i % 2 === 0))
          buckets.delete(entry, entry.keys);
        for (const entry of entries
          .slice()
          .reverse()
          .filter((_, i) => i % 2 === 1))
          buckets.delete(entry, entry.keys);
        expect(buckets.census()).toEqual({ buckets: 0, memberships: 0 });
      }),
      { seed: 9, numRuns: 300 },
    );
  });

  it('throws on deleting an entry that is not there (a corrupted index fails loudly)', () => {
    const buckets = new LshBuckets<{ id: number }>(params, 1);
    const keys = buckets.keys(sig(1, 2, 3, 4, 5, 6, 7, 8));
    expect(() => buckets.delete({ id: 1 }, keys)).toThrow(/not in its bucket/);
    buckets.insert({ id: 2 }, keys);
    buckets.insert({ id: 3 }, keys);
    expect(() => buckets.delete({ id: 4 }, keys)).toThrow(/not in its bucket/);
  });
});
