import { describe, expect, it } from 'vitest';
import { fmix32, seededUint32 } from '../../src/internal/similarity/hash.js';
import { MinHasher } from '../../src/internal/similarity/minhash.js';
import { jaccard } from '../../src/internal/similarity/shingles.js';

/** Two sorted sets of `size` elements each, sharing `common`, drawn by `element(k)` for k = 0, 1, .... */
function pair(size: number, common: number, element: (k: number) => number): [Uint32Array, Uint32Array] {
  const all = Array.from({ length: 2 * size - common }, (_, k) => element(k));
  const sorted = (xs: number[]) => Uint32Array.from(xs).sort();
  return [sorted(all.slice(0, size)), sorted(all.slice(size - common))];
}

function agreement(x: Uint32Array, y: Uint32Array): number {
  let same = 0;
  for (let i = 0; i < x.length; i++) if (x[i] === y[i]) same++;
  return same / x.length;
}

describe('MinHasher', () => {
  it('is deterministic for a seed, differs across seeds, and gives identical sets identical signatures', () => {
    const set = Uint32Array.of(3, 17, 99, 12345, 0xfffffff0);
    expect(new MinHasher(64, 5).signature(set)).toEqual(new MinHasher(64, 5).signature(set));
    expect(new MinHasher(64, 5).signature(set)).not.toEqual(new MinHasher(64, 6).signature(set));
    expect(new MinHasher(64, 5).signature(set)).toHaveLength(64);
  });

  it('agrees with the minimum over the set of each permutation (a signature position is a set minimum)', () => {
    const hasher = new MinHasher(16, 2);
    const a = Uint32Array.of(1, 2, 3, 4);
    const sub = Uint32Array.of(2, 3);
    const sigA = hasher.signature(a);
    const sigSub = hasher.signature(sub);
    // min over a superset is never larger.
    for (let i = 0; i < 16; i++) expect(sigA[i] as number).toBeLessThanOrEqual(sigSub[i] as number);
  });

  // Each pair's agreement rate has standard deviation sqrt(J(1-J)/128) <= 0.044; averaged over 150
  // pairs that is <= 0.0036, so 0.015 is over four standard deviations.
  for (const [name, element] of [
    [
      'random fingerprints',
      (seed: number) => {
        const next = seededUint32(seed);
        return () => next();
      },
    ],
    [
      'consecutive integers',
      (seed: number) => {
        let k = seed * 1000;
        return () => k++;
      },
    ],
  ] as const) {
    it(`signature agreement matches Jaccard similarity on sample pairs (${name})`, () => {
      const hasher = new MinHasher(128, 11);
      for (const target of [0.1, 0.3, 0.5, 0.7, 0.9]) {
        let agree = 0;
        let truth = 0;
        const pairs = 150;
        for (let p = 0; p < pairs; p++) {
          const size = 60 + (p % 5) * 20;
          const common = Math.round((2 * size * target) / (1 + target));
          const draw = element(p + 1 + target * 1e6);
          const [a, b] = pair(size, common, () => draw());
          truth += jaccard(a, b);
          agree += agreement(hasher.signature(a), hasher.signature(b));
        }
        expect(Math.abs(agree / pairs - truth / pairs)).toBeLessThan(0.015);
      }
    });
  }

  it('has independent-looking positions: agreement of disjoint sets is rare', () => {
    const hasher = new MinHasher(128, 3);
    const [a, b] = pair(100, 0, (k) => fmix32(k + 1));
    expect(agreement(hasher.signature(a), hasher.signature(b))).toBeLessThan(0.05);
  });
});
