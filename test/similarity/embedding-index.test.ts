import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createEmbeddingIndex } from '../../src/internal/similarity/embedding-index.js';
import { seededUint32 } from '../../src/internal/similarity/hash.js';

function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += (a[i] as number) * (b[i] as number);
    na += (a[i] as number) ** 2;
    nb += (b[i] as number) ** 2;
  }
  return dot / Math.sqrt(na * nb);
}

function randomVector(next: () => number, dims: number): number[] {
  return Array.from({ length: dims }, () => next() / 0x1_0000_0000 - 0.5);
}

describe('createEmbeddingIndex options', () => {
  it('requires a threshold in (0, 1] and checks the rest, naming the option', () => {
    expect(() => createEmbeddingIndex({} as never)).toThrow(/threshold/);
    expect(() => createEmbeddingIndex({ threshold: 0 })).toThrow(/threshold/);
    expect(() => createEmbeddingIndex({ threshold: 1.01 })).toThrow(/threshold/);
    expect(() => createEmbeddingIndex({ threshold: 0.9, maxEntries: 0 })).toThrow(/maxEntries/);
    expect(() => createEmbeddingIndex({ threshold: 0.9, ttlMs: 0 })).toThrow(/ttlMs/);
    expect(() => createEmbeddingIndex({ threshold: 0.9, dimensions: 0 })).toThrow(/dimensions/);
    expect(() => createEmbeddingIndex(undefined as never)).toThrow(TypeError);
    expect(createEmbeddingIndex({ threshold: 0.9 })).toMatchObject({ threshold: 0.9, maxEntries: 10_000, ttlMs: undefined, dimensions: undefined });
  });
});

describe('EmbeddingIndex', () => {
  it('matches by cosine similarity at or above the threshold, whatever the vector lengths', () => {
    const index = createEmbeddingIndex({ threshold: 0.9 });
    index.add(1, [1, 0, 0], 0);
    index.add(2, new Float32Array([0, 10, 0]), 0);
    expect(index.dimensions).toBe(3);
    const near = [5, 1, 0];
    const found = index.match(near, 0);
    expect(found?.id).toBe(1);
    expect(found?.similarity).toBeCloseTo(cosine(near, [1, 0, 0]), 6);
    expect(index.match(new Float64Array([1, 1, 0]), 0)).toBeUndefined(); // cos 45° ≈ 0.707
    expect(index.match([0, 0, -1], 0)).toBeUndefined();
    expect(index.match([0, 3, 0], 0)).toEqual({ id: 2, similarity: 1 });
  });

  it('returns the most similar representative, ties to the lower id, and lists all matches', () => {
    const index = createEmbeddingIndex({ threshold: 0.5 });
    index.add(5, [1, 0], 0);
    index.add(3, [1, 0], 0);
    index.add(4, [1, 1], 0);
    expect(index.match([1, 0.01], 0)?.id).toBe(3);
    expect(index.matches([1, 0.2], 0).map((m) => m.id)).toEqual([3, 5, 4]);
  });

  it('rejects vectors it cannot compare', () => {
    const index = createEmbeddingIndex({ threshold: 0.9, dimensions: 3 });
    expect(() => index.add(1, [1, 2], 0)).toThrow(/3 dimensions/);
    expect(() => index.add(1, [0, 0, 0], 0)).toThrow(/zero vector/);
    expect(() => index.add(1, [1, Number.NaN, 0], 0)).toThrow(/component 1/);
    expect(() => index.match([], 0)).toThrow(RangeError);
    expect(() => index.match('abc' as never, 0)).toThrow(TypeError);
    index.add(1, [1, 2, 3], 0);
    expect(() => index.add(1, [1, 2, 3], 0)).toThrow(RangeError);
    expect(() => index.add(Number.NaN, [1, 2, 3], 0)).toThrow(TypeError);
  });

  it('evicts the oldest beyond maxEntries and forgets after ttlMs', () => {
    const index = createEmbeddingIndex({ threshold: 0.99, maxEntries: 2, ttlMs: 100 });
    index.add(1, [1, 0, 0], 0);
    index.add(2, [0, 1, 0], 10);
    index.add(3, [0, 0, 1], 20);
    expect(index.has(1)).toBe(false);
    expect(index.match([1, 0, 0], 20)).toBeUndefined();
    expect(index.match([0, 1, 0], 109)?.id).toBe(2);
    expect(index.match([0, 1, 0], 110)).toBeUndefined();
    expect(index.match([0, 0, 1], 119)?.id).toBe(3);
    expect(index.size).toBe(1);
    expect(index.match([0, 0, 1], 120)).toBeUndefined();
    expect(index.size).toBe(0);
  });

  it('keeps every row right while its storage grows and rows move on removal', () => {
    const next = seededUint32(21);
    const index = createEmbeddingIndex({ threshold: 0.999 });
    const vectors = Array.from({ length: 100 }, () => randomVector(next, 8));
    vectors.forEach((vector, id) => index.add(id, vector, 0));
    for (let id = 0; id < 100; id += 3) index.remove(id);
    vectors.forEach((vector, id) => expect(index.match(vector, 0)?.id).toBe(id % 3 === 0 ? undefined : id));
    expect(index.size).toBe(66);
  });

  it('agrees with a brute-force cosine model under adds, removes and evictions (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('add', 'remove', 'query'), fc.nat(1_000_000)), { maxLength: 80 }),
        fc.integer({ min: 1, max: 12 }),
        fc.constantFrom(2, 3, 7, 16),
        fc.integer({ min: 0, max: 1000 }),
        (ops, maxEntries, dims, seed) => {
          const next = seededUint32(seed);
          const threshold = 0.3;
          const index = createEmbeddingIndex({ threshold, maxEntries });
          let model: { id: number; vector: number[] }[] = [];
          let id = 0;
          for (const [kind, arg] of ops) {
            if (kind === 'add') {
              const vector = randomVector(next, dims);
              index.add(id, vector, 0);
              model.push({ id: id++, vector });
              if (model.length > maxEntries) model.shift();
            } else if (kind === 'remove' && model.length > 0) {
              const gone = (model[arg % model.length] as { id: number }).id;
              expect(index.remove(gone)).toBe(true);
              model = model.filter((e) => e.id !== gone);
            } else {
              const query = randomVector(next, dims);
              const expected = model
                .map((e) => ({ id: e.id, similarity: cosine(query, e.vector) }))
                .filter((m) => m.similarity >= threshold + 1e-6)
                .sort((x, y) => y.similarity - x.similarity || x.id - y.id);
              const got = index.matches(query, 0).filter((m) => m.similarity >= threshold + 1e-6);
              expect(got.map((m) => m.id)).toEqual(expected.map((m) => m.id));
              got.forEach((m, i) => expect(m.similarity).toBeCloseTo((expected[i] as { similarity: number }).similarity, 5));
            }
            expect(index.size).toBe(model.length);
          }
        },
      ),
      { seed: 15, numRuns: 300 },
    );
  });
});

describe('embedding match with accept (a guard at match time)', () => {
  it('skips refused representatives and goes on to the next most similar', () => {
    const index = createEmbeddingIndex({ threshold: 0.8 });
    index.add(0, [1, 0, 0], 0);
    index.add(1, [1, 0.1, 0], 0);
    index.add(2, [0, 1, 0], 0);
    expect(index.match([1, 0, 0], 0)?.id).toBe(0);
    expect(index.match([1, 0, 0], 0, (id) => id !== 0)?.id).toBe(1);
    expect(index.match([1, 0, 0], 0, (id) => id === 2)).toBeUndefined();
    expect(() => index.match([1, 0, 0], 0, {} as never)).toThrow(/accept/);
  });
});
