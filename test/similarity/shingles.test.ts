import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { codePoints, jaccard, jaccardAtLeast, shingleSet } from '../../src/internal/similarity/shingles.js';

/** The shingles themselves, as strings of code points: the definition the fingerprints stand for. */
function stringShingles(text: string, size: number): Set<string> {
  const chars = [...text];
  if (chars.length === 0) return new Set();
  if (chars.length <= size) return new Set([chars.join('')]);
  const out = new Set<string>();
  for (let i = 0; i + size <= chars.length; i++) out.add(chars.slice(i, i + size).join(''));
  return out;
}

function exactJaccard(a: Set<string>, b: Set<string>): number {
  if (a.size === 0 || b.size === 0) return a.size === b.size ? 1 : 0;
  let common = 0;
  for (const s of a) if (b.has(s)) common++;
  return common / (a.size + b.size - common);
}

/** Texts over a small alphabet (with a non-BMP letter), so that random pairs share shingles. */
const text = fc.array(fc.constantFrom('a', 'b', 'c', 'é', ' ', '日', '😀'), { maxLength: 24 }).map((chars) => chars.join(''));

describe('codePoints', () => {
  it('joins surrogate pairs and keeps unpaired surrogates as themselves', () => {
    expect([...codePoints('a😀b')]).toEqual([0x61, 0x1f600, 0x62]);
    expect([...codePoints('\ud800x\udc00')]).toEqual([0xd800, 0x78, 0xdc00]);
    expect([...codePoints('\ud83d')]).toEqual([0xd83d]);
  });
});

describe('shingleSet', () => {
  it('has one fingerprint per distinct run of `size` code points', () => {
    expect(shingleSet('abcab', 3, 0)).toHaveLength(3);
    expect(shingleSet('aaaaaa', 3, 0)).toHaveLength(1);
    expect(shingleSet('😀😀😁', 2, 0)).toHaveLength(2);
  });

  it('makes a short text one shingle and the empty text none', () => {
    expect(shingleSet('ab', 3, 0)).toHaveLength(1);
    expect(shingleSet('ab', 3, 0)).not.toEqual(shingleSet('ba', 3, 0));
    expect(shingleSet('', 3, 0)).toHaveLength(0);
  });

  it('is sorted and repeat-free, and as large as the set of string shingles (property)', () => {
    fc.assert(
      fc.property(text, fc.integer({ min: 1, max: 5 }), (t, size) => {
        const set = shingleSet(t, size, 9);
        for (let i = 1; i < set.length; i++) expect(set[i - 1] as number).toBeLessThan(set[i] as number);
        expect(set.length).toBe(stringShingles(t, size).size);
      }),
      { seed: 5, numRuns: 1000 },
    );
  });
});

describe('jaccard', () => {
  it('computes |A ∩ B| / |A ∪ B| of sorted sets', () => {
    expect(jaccard(Uint32Array.of(1, 2, 3), Uint32Array.of(2, 3, 4))).toBe(0.5);
    expect(jaccard(Uint32Array.of(1, 2), Uint32Array.of(3, 4))).toBe(0);
    expect(jaccard(Uint32Array.of(5), Uint32Array.of(5))).toBe(1);
    expect(jaccard(new Uint32Array(0), new Uint32Array(0))).toBe(1);
    expect(jaccard(new Uint32Array(0), Uint32Array.of(1))).toBe(0);
  });

  it('equals the exact Jaccard similarity of the string shingle sets (property)', () => {
    fc.assert(
      fc.property(text, text, fc.integer({ min: 1, max: 5 }), (a, b, size) => {
        expect(jaccard(shingleSet(a, size, 3), shingleSet(b, size, 3))).toBe(exactJaccard(stringShingles(a, size), stringShingles(b, size)));
      }),
      { seed: 6, numRuns: 2000 },
    );
  });
});

describe('jaccardAtLeast', () => {
  it('returns the Jaccard similarity when it reaches the threshold, else -1, and is exact at the boundary', () => {
    const a = Uint32Array.of(1, 2, 3);
    const b = Uint32Array.of(2, 3, 4);
    expect(jaccardAtLeast(a, b, 0.5)).toBe(0.5);
    expect(jaccardAtLeast(a, b, 0.5000001)).toBe(-1);
    expect(jaccardAtLeast(Uint32Array.of(1, 2, 3, 4, 5), Uint32Array.of(1, 2, 3, 9, 10), 0.6)).toBe(-1);
    // 3/5 is the double nearest 0.6, so a pair at exactly 0.6 passes a 0.6 threshold.
    expect(jaccardAtLeast(Uint32Array.of(1, 2, 3, 4), Uint32Array.of(1, 2, 3, 5), 0.6)).toBe(0.6);
    expect(jaccardAtLeast(new Uint32Array(0), new Uint32Array(0), 0.9)).toBe(1);
    expect(jaccardAtLeast(new Uint32Array(0), Uint32Array.of(1), 0.1)).toBe(-1);
  });

  it('agrees with jaccard thresholded, for every threshold (property)', () => {
    const set = fc.uniqueArray(fc.integer({ min: 0, max: 40 }), { maxLength: 30 }).map((xs) => Uint32Array.from(xs.sort((x, y) => x - y)));
    const threshold = fc.oneof(fc.double({ min: 0.01, max: 1, noNaN: true }), fc.constantFrom(0.5, 0.6, 0.7, 1 / 3, 2 / 3, 0.75, 1));
    fc.assert(
      fc.property(set, set, threshold, (a, b, t) => {
        const exact = jaccard(a, b);
        expect(jaccardAtLeast(a, b, t)).toBe(exact >= t ? exact : -1);
      }),
      { seed: 7, numRuns: 5000 },
    );
  });
});
