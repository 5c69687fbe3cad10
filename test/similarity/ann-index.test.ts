import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { binomialRadius, createAnnEmbeddingIndex } from '../../src/internal/similarity/ann-index.js';
import { createEmbeddingIndex } from '../../src/internal/similarity/embedding-index.js';
import { seededRandom } from '../../src/internal/random.js';

function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

function unitVector(random: () => number, dims: number): number[] {
  const v = Array.from({ length: dims }, () => gaussian(random));
  const norm = Math.sqrt(v.reduce((sum, x) => sum + x * x, 0));
  return v.map((x) => x / norm);
}

/** A vector at cosine `similarity` from the unit vector `base` (in high dimensions, nearly exactly). */
function near(random: () => number, base: readonly number[], similarity: number): number[] {
  const noise = unitVector(random, base.length);
  const dot = noise.reduce((sum, x, i) => sum + x * (base[i] as number), 0);
  const orthogonal = noise.map((x, i) => x - dot * (base[i] as number));
  const norm = Math.sqrt(orthogonal.reduce((sum, x) => sum + x * x, 0));
  return base.map((x, i) => similarity * x + Math.sqrt(1 - similarity ** 2) * ((orthogonal[i] as number) / norm));
}

describe('createAnnEmbeddingIndex options', () => {
  it('checks every option, naming it, and rejects unknown keys', () => {
    expect(() => createAnnEmbeddingIndex({} as never)).toThrow(/threshold/);
    expect(() => createAnnEmbeddingIndex({ threshold: 1.5 })).toThrow(/threshold/);
    expect(() => createAnnEmbeddingIndex({ threshold: 0.9, bits: 100 })).toThrow(/bits: expected a multiple of 32/);
    expect(() => createAnnEmbeddingIndex({ threshold: 0.9, bits: 4096 })).toThrow(/bits/);
    expect(() => createAnnEmbeddingIndex({ threshold: 0.9, missProbability: 0 })).toThrow(/missProbability/);
    expect(() => createAnnEmbeddingIndex({ threshold: 0.9, missProbability: 0.5 })).toThrow(/missProbability/);
    expect(() => createAnnEmbeddingIndex({ threshold: 0.9, seed: -1 })).toThrow(/seed/);
    expect(() => createAnnEmbeddingIndex({ threshold: 0.9, bitz: 64 } as never)).toThrow(/unknown option 'bitz'/);
    expect(() => createAnnEmbeddingIndex(null as never)).toThrow(TypeError);
    expect(createAnnEmbeddingIndex({ threshold: 0.9 })).toMatchObject({ threshold: 0.9, maxEntries: 10_000, bits: 256, ttlMs: undefined });
  });

  it('sets the Hamming radius at the binomial quantile of the threshold angle', () => {
    // acos(0.9)/π ≈ 0.1436: mean 36.8 of 256 bits, sd 5.6.
    const index = createAnnEmbeddingIndex({ threshold: 0.9 });
    expect(index.radius).toBe(binomialRadius(256, Math.acos(0.9) / Math.PI, 1e-3));
    expect(index.radius).toBeGreaterThan(50);
    expect(index.radius).toBeLessThan(60);
    expect(binomialRadius(10, 0, 0.01)).toBe(0);
    expect(binomialRadius(10, 1, 0.01)).toBe(10);
    // Exact for a small case: P(Bin(4, 0.5) > 3) = 1/16.
    expect(binomialRadius(4, 0.5, 1 / 16)).toBe(3);
    expect(binomialRadius(4, 0.5, 1 / 17)).toBe(4);
  });
});

describe('AnnEmbeddingIndex', () => {
  it('answers like the exact index on small cases: threshold, ties to the lower id, removal, window and TTL', () => {
    const index = createAnnEmbeddingIndex({ threshold: 0.9, maxEntries: 2, ttlMs: 100 });
    index.add(1, [1, 0, 0], 0);
    index.add(2, new Float32Array([0, 10, 0]), 0);
    expect(index.dimensions).toBe(3);
    expect(index.match([2, 0, 0], 0)).toEqual({ id: 1, similarity: 1 });
    expect(index.match([1, 1, 0], 0)).toBeUndefined();
    expect(() => index.add(1, [1, 0, 0], 0)).toThrow(/already a representative/);
    expect(() => index.add(3, [1, 0], 0)).toThrow(/3 dimensions/);
    expect(() => index.add(3, [0, 0, 0], 0)).toThrow(/zero vector/);
    expect(() => index.match([Number.NaN, 0, 0], 0)).toThrow(/not a finite number/);
    index.add(3, [0, 0, 1], 10); // evicts 1, the oldest
    expect(index.has(1)).toBe(false);
    expect(index.match([1, 0, 0], 10)).toBeUndefined();
    expect(index.match([0, 1, 0], 10)).toEqual({ id: 2, similarity: 1 });
    expect(index.remove(2)).toBe(true);
    expect(index.remove(2)).toBe(false);
    expect(index.match([0, 0, 1], 50)?.id).toBe(3);
    expect(index.match([0, 0, 1], 110)).toBeUndefined(); // expired
    expect(index.size).toBe(0);
  });

  it('every match is one the exact scan reports, with the same similarity (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 2, max: 40 }), fc.constantFrom(0.5, 0.8, 0.9, 0.97), (seed, dims, threshold) => {
        const random = seededRandom(seed);
        const exact = createEmbeddingIndex({ threshold, maxEntries: 30 });
        const ann = createAnnEmbeddingIndex({ threshold, maxEntries: 30, bits: 64, seed });
        const vectors = Array.from({ length: 40 }, (_, i) => (i % 4 === 3 ? near(random, unitVector(random, dims), 0.95) : unitVector(random, dims)));
        vectors.forEach((vector, id) => {
          const truth = new Map(exact.matches(vector, id).map((m) => [m.id, m.similarity]));
          for (const m of ann.matches(vector, id)) expect(truth.get(m.id)).toBe(m.similarity);
          const best = ann.match(vector, id);
          if (best) expect(truth.get(best.id)).toBe(best.similarity);
          exact.add(id, vector, id);
          ann.add(id, vector, id);
        });
      }),
      { numRuns: 60 },
    );
  });

  it('finds at least 99% of the pairs the exact scan finds, in embedding dimensions (seeded)', () => {
    const random = seededRandom(5);
    const dims = 384;
    const threshold = 0.9;
    const exact = createEmbeddingIndex({ threshold });
    const ann = createAnnEmbeddingIndex({ threshold, seed: 9 });
    const bases = Array.from({ length: 300 }, () => unitVector(random, dims));
    bases.forEach((vector, id) => {
      exact.add(id, vector, 0);
      ann.add(id, vector, 0);
    });
    let truthPairs = 0;
    let found = 0;
    for (let q = 0; q < 400; q++) {
      // Pairs from just at the threshold (the hardest) to identical.
      const query = near(random, bases[q % bases.length] as number[], threshold + 0.002 + 0.098 * (q / 400));
      const truth = exact.matches(query, 0);
      truthPairs += truth.length;
      const got = new Set(ann.matches(query, 0).map((m) => m.id));
      found += truth.filter((m) => got.has(m.id)).length;
    }
    expect(truthPairs).toBeGreaterThanOrEqual(400);
    expect(found / truthPairs).toBeGreaterThanOrEqual(0.99);
  });
});
