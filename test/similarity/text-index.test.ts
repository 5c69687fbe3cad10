import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalizeText } from '../../src/internal/similarity/normalize.js';
import { createSimilarityIndex, DEFAULT_SHINGLE_SIZE, DEFAULT_THRESHOLD, type SimilarityIndex } from '../../src/internal/similarity/text-index.js';

/** Exact Jaccard similarity of the normalized texts' shingle sets, over shingle strings (no hashing). */
function bruteJaccard(a: string, b: string, size = DEFAULT_SHINGLE_SIZE): number {
  const shingles = (text: string) => {
    const chars = [...normalizeText(text)];
    if (chars.length === 0) return new Set<string>();
    if (chars.length <= size) return new Set([chars.join('')]);
    return new Set(chars.slice(0, chars.length - size + 1).map((_, i) => chars.slice(i, i + size).join('')));
  };
  const x = shingles(a);
  const y = shingles(b);
  if (x.size === 0 || y.size === 0) return x.size === y.size ? 1 : 0;
  let common = 0;
  for (const s of x) if (y.has(s)) common++;
  return common / (x.size + y.size - common);
}

const WORDS = [
  'printer',
  'invoice',
  'refund',
  'order',
  'login',
  'password',
  'broken',
  'again',
  'please',
  'help',
  'the',
  'my',
  'is',
  'not',
  'working',
  'since',
  'monday',
  'café',
  'straße',
  'заказ',
  '注文',
  '😀',
];
const sentence = fc.array(fc.constantFrom(...WORDS), { minLength: 1, maxLength: 12 }).map((words) => words.join(' '));
/** A sentence and a variant of it: a few character edits, or none. */
const edited = fc.tuple(sentence, fc.array(fc.tuple(fc.nat(), fc.constantFrom('', 'x', 'é', ' ')), { maxLength: 3 })).map(([text, edits]) => {
  let out = text;
  for (const [at, put] of edits) {
    const i = at % (out.length + 1);
    out = out.slice(0, i) + put + out.slice(i + 1);
  }
  return [text, out] as const;
});

describe('createSimilarityIndex options', () => {
  it('throws naming the option', () => {
    expect(() => createSimilarityIndex({ method: 'fuzzy' as never })).toThrow(/method/);
    expect(() => createSimilarityIndex({ threshold: 0 })).toThrow(RangeError);
    expect(() => createSimilarityIndex({ threshold: 1.5 })).toThrow(/threshold/);
    expect(() => createSimilarityIndex({ threshold: '0.5' as never })).toThrow(TypeError);
    expect(() => createSimilarityIndex({ maxEntries: 0 })).toThrow(/maxEntries/);
    expect(() => createSimilarityIndex({ maxEntries: 2.5 })).toThrow(/maxEntries/);
    expect(() => createSimilarityIndex({ ttlMs: -1 })).toThrow(/ttlMs/);
    expect(() => createSimilarityIndex({ shingleSize: 0 })).toThrow(/shingleSize/);
    expect(() => createSimilarityIndex({ shingleSize: 17 })).toThrow(/shingleSize/);
    expect(() => createSimilarityIndex({ numPerm: 1 })).toThrow(/numPerm/);
    expect(() => createSimilarityIndex({ numPerm: 2048 })).toThrow(/numPerm/);
    expect(() => createSimilarityIndex({ seed: -1 })).toThrow(/seed/);
    expect(() => createSimilarityIndex({ bands: 8 })).toThrow(/rows/);
    expect(() => createSimilarityIndex({ bands: 20, rows: 8 })).toThrow(/bands/);
    expect(() => createSimilarityIndex({ method: 'exact', numPerm: 64 })).toThrow(/numPerm/);
    expect(() => createSimilarityIndex({ method: 'exact', threshold: 0.8 })).toThrow(/threshold/);
    expect(() => createSimilarityIndex(null as never)).toThrow(TypeError);
  });

  it('has documented defaults and banding chosen for the threshold', () => {
    const index = createSimilarityIndex();
    expect(index.method).toBe('minhash');
    expect(index.threshold).toBe(DEFAULT_THRESHOLD);
    expect(index.maxEntries).toBe(10_000);
    expect(index.ttlMs).toBeUndefined();
    expect(index.bands * index.rows).toBeLessThanOrEqual(128);
    expect(createSimilarityIndex({ method: 'exact' })).toMatchObject({ threshold: 1, bands: 0, rows: 0 });
    expect(createSimilarityIndex({ numPerm: 64, bands: 8, rows: 8 })).toMatchObject({ bands: 8, rows: 8 });
  });
});

describe("method 'exact'", () => {
  it('matches texts equal after normalization, and nothing else', () => {
    const index = createSimilarityIndex({ method: 'exact' });
    index.add(0, 'Printer on Floor 3 is BROKEN', 0);
    expect(index.match('  printer on floor 3   is broken\n', 1)).toEqual({ id: 0, similarity: 1 });
    expect(index.match('Ｐrinter on floor 3 is broken', 1)).toEqual({ id: 0, similarity: 1 });
    expect(index.match('printer on floor 3 is broken!', 1)).toBeUndefined();
    expect(index.stats()).toMatchObject({ representatives: 1, exactKeys: 1, buckets: 0, bucketMemberships: 0 });
  });
});

describe("method 'minhash'", () => {
  it('matches identical texts with similarity 1 and unrelated ones not at all', () => {
    const index = createSimilarityIndex();
    index.add(7, 'My order #1234 has not arrived yet, can you check?', 0);
    expect(index.match('My order #1234 has not arrived yet, can you check?', 1)).toEqual({ id: 7, similarity: 1 });
    expect(index.match('Zebras enjoy quiet afternoons', 1)).toBeUndefined();
    expect(index.match('xyz', 1)).toBeUndefined();
  });

  it('matches a near-duplicate with its exact Jaccard similarity', () => {
    const index = createSimilarityIndex({ threshold: 0.5 });
    const original = 'My order #1234 has not arrived yet, can you check?';
    const typo = 'my order #1234 has not arived yet, can you check??';
    index.add(1, original, 0);
    const found = index.match(typo, 1);
    expect(found?.id).toBe(1);
    expect(found?.similarity).toBe(bruteJaccard(original, typo));
    expect(found?.similarity).toBeLessThan(1);
  });

  it('handles non-ASCII near-duplicates and tells apart texts one letter apart', () => {
    const index = createSimilarityIndex({ threshold: 0.5 });
    index.add(1, 'Мой заказ №5512 не пришёл, помогите пожалуйста', 0);
    index.add(2, '注文番号5512の商品がまだ届いていません。確認してください。', 0);
    expect(index.match('мой заказ №5512 не пришел, помогите пожалуйста!', 1)?.id).toBe(1);
    expect(index.match('注文番号5512の商品がまだ届いていません。確認して下さい。', 1)?.id).toBe(2);
    const short = createSimilarityIndex({ threshold: 0.99 });
    short.add(1, 'łódź', 0);
    expect(short.match('Bódź', 1)).toBeUndefined();
    expect(short.match('ŁÓDŹ', 1)).toEqual({ id: 1, similarity: 1 });
  });

  it('tries identical normalized text first, returning the oldest such representative', () => {
    const index = createSimilarityIndex();
    index.add(5, 'Refund please', 0);
    index.add(3, 'refund   PLEASE', 0);
    expect(index.match('REFUND please', 1)).toEqual({ id: 5, similarity: 1 });
    expect(index.matches('REFUND please', 1).map((m) => m.id)).toEqual([3, 5]);
  });

  it('returns the most similar representative, ties to the lower id', () => {
    const index = createSimilarityIndex({ threshold: 0.3 });
    index.add(10, 'the printer on the third floor is jammed again', 0);
    index.add(11, 'the printer on the third floor is jammed', 0);
    const query = 'the printer on the third floor is jammed again!';
    expect(index.match(query, 1)?.id).toBe(10);
    const all = index.matches(query, 1);
    expect(all.map((m) => m.id)).toEqual([10, 11]);
    expect(all.map((m) => m.similarity)).toEqual([
      bruteJaccard(query, 'the printer on the third floor is jammed again'),
      bruteJaccard(query, 'the printer on the third floor is jammed'),
    ]);
    const twins = createSimilarityIndex({ threshold: 0.3 });
    twins.add(9, 'abcdef ghij', 0);
    twins.add(4, 'abcdef ghik', 0);
    expect(twins.match('abcdef ghi', 1)?.id).toBe(4);
  });

  it('matches the empty text only to an empty representative, through the exact map', () => {
    const index = createSimilarityIndex();
    index.add(1, 'a', 0);
    expect(index.match('  ', 1)).toBeUndefined();
    index.add(2, '\u200b', 0);
    expect(index.match('', 1)).toEqual({ id: 2, similarity: 1 });
    expect(index.stats().bucketMemberships).toBe(index.bands);
  });

  it('reports exactly the representatives at or above the threshold, with their exact Jaccard similarity (property)', () => {
    fc.assert(
      fc.property(fc.array(edited, { minLength: 1, maxLength: 12 }), fc.constantFrom(0.3, 0.5, 0.7, 0.9), (pairs, threshold) => {
        const index = createSimilarityIndex({ threshold, numPerm: 64, seed: 4 });
        const texts = pairs.map(([original]) => original);
        texts.forEach((text, id) => index.add(id, text, 0));
        for (const [, variant] of pairs) {
          const reported = index.matches(variant, 0);
          for (const { id, similarity } of reported) {
            const exact = normalizeText(variant) === normalizeText(texts[id] as string) ? 1 : bruteJaccard(variant, texts[id] as string);
            // 100% precision by construction: every reported pair is verified.
            expect(similarity).toBe(exact);
            expect(similarity).toBeGreaterThanOrEqual(threshold);
          }
          const best = index.match(variant, 0);
          expect(best === undefined).toBe(reported.length === 0);
          if (best !== undefined) expect(best).toEqual(reported[0]);
        }
      }),
      { seed: 11, numRuns: 300 },
    );
  });

  it('finds nearly every pair well above the threshold (LSH recall on a seeded sample)', () => {
    let found = 0;
    let pairs = 0;
    const index = createSimilarityIndex({ seed: 6 });
    fc.assert(
      fc.property(edited, ([original, variant]) => {
        if (bruteJaccard(original, variant) < DEFAULT_THRESHOLD + 0.1) return;
        index.add(0, original, 0);
        pairs++;
        if (index.match(variant, 0) !== undefined) found++;
        index.remove(0);
      }),
      { seed: 12, numRuns: 1000 },
    );
    expect(pairs).toBeGreaterThan(300);
    expect(found / pairs).toBeGreaterThanOrEqual(0.99);
  });
});

describe('the window', () => {
  function filled(options: Parameters<typeof createSimilarityIndex>[0], count: number): SimilarityIndex {
    const index = createSimilarityIndex(options);
    for (let id = 0; id < count; id++) index.add(id, `ticket ${id}: the ${['printer', 'scanner', 'router'][id % 3]} in room ${id * 7} is broken`, id);
    return index;
  }

  it('evicts the oldest representatives beyond maxEntries, from the exact map and the buckets too', () => {
    const index = filled({ maxEntries: 3 }, 5);
    expect(index.size).toBe(3);
    expect(index.has(1)).toBe(false);
    expect(index.has(2)).toBe(true);
    expect(index.match('ticket 1: the scanner in room 7 is broken', 10)?.id).not.toBe(1);
    expect(index.stats()).toMatchObject({ representatives: 3, exactKeys: 3, bucketMemberships: 3 * index.bands });
  });

  it('forgets representatives once ttlMs has passed, and then holds nothing at all', () => {
    const index = filled({ ttlMs: 1000 }, 50);
    expect(index.match('ticket 49: the scanner in room 343 is broken', 1048)?.id).toBe(49);
    expect(index.size).toBe(1); // added at 49; those added at 48 and before are 1000 ms old
    expect(index.match('ticket 49: the scanner in room 343 is broken', 1049)).toBeUndefined();
    expect(index.stats()).toMatchObject({ representatives: 0, exactKeys: 0, buckets: 0, bucketMemberships: 0 });
  });

  it('removes a representative on request, leaving no trace once all are gone', () => {
    const index = filled({}, 20);
    expect(index.remove(3)).toBe(true);
    expect(index.remove(3)).toBe(false);
    expect(index.match('ticket 3: the printer in room 21 is broken', 30)?.id).not.toBe(3);
    for (let id = 0; id < 20; id++) index.remove(id);
    expect(index.stats()).toMatchObject({ representatives: 0, exactKeys: 0, buckets: 0, bucketMemberships: 0 });
    expect(index.size).toBe(0);
  });

  it('never leaks bucket entries under any mix of adds, removes and expiries (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(fc.tuple(fc.constant('add' as const), sentence), fc.tuple(fc.constant('remove' as const), fc.nat(30)), fc.tuple(fc.constant('tick' as const), fc.nat(50))),
          { maxLength: 60 },
        ),
        fc.integer({ min: 1, max: 6 }),
        (ops, maxEntries) => {
          const index = createSimilarityIndex({ maxEntries, ttlMs: 100, numPerm: 32 });
          let now = 0;
          let id = 0;
          for (const [kind, arg] of ops) {
            if (kind === 'add') index.add(id++, arg, now);
            else if (kind === 'remove') index.remove(arg);
            else index.match('probe', (now += arg));
            const stats = index.stats();
            expect(stats.representatives).toBe(index.size);
            expect(stats.representatives).toBeLessThanOrEqual(maxEntries);
            expect(stats.bucketMemberships).toBeLessThanOrEqual(stats.representatives * index.bands);
          }
          index.match('probe', now + 100);
          expect(index.stats()).toMatchObject({ representatives: 0, exactKeys: 0, buckets: 0, bucketMemberships: 0 });
        },
      ),
      { seed: 13, numRuns: 300 },
    );
  });
});

describe('representatives only: matches never chain', () => {
  it('does not match C through B when only A is a representative', () => {
    const a = 'the quick brown fox jumps over the lazy dog';
    const b = 'the quick brown fox jumps over a lazy cat';
    const c = 'a quick red fox jumps over a lazy cat';
    const t = 0.6;
    expect(bruteJaccard(a, b)).toBeGreaterThanOrEqual(t);
    expect(bruteJaccard(b, c)).toBeGreaterThanOrEqual(t);
    expect(bruteJaccard(a, c)).toBeLessThan(t);
    const index = createSimilarityIndex({ threshold: t });
    index.add(0, a, 0);
    expect(index.match(b, 1)?.id).toBe(0); // B is a duplicate of A: the caller does not add it
    expect(index.match(c, 2)).toBeUndefined();
  });

  it('only ever returns a held representative, verified against that representative (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(edited, fc.boolean(), fc.nat(20)), { maxLength: 30 }), fc.constantFrom(0.3, 0.6), (steps, threshold) => {
        const index = createSimilarityIndex({ threshold, maxEntries: 8, numPerm: 64 });
        const held = new Map<number, string>();
        let order: number[] = [];
        steps.forEach(([[text, variant], dedupe, removeAt], id) => {
          for (const query of [text, variant]) {
            const found = index.match(query, id);
            if (found === undefined) continue;
            expect(held.has(found.id)).toBe(true);
            expect(found.similarity).toBeGreaterThanOrEqual(threshold);
            const rep = held.get(found.id) as string;
            expect(found.similarity).toBe(normalizeText(rep) === normalizeText(query) ? 1 : bruteJaccard(rep, query));
          }
          if (dedupe && index.match(text, id) !== undefined) return; // a duplicate is never added
          index.add(id, text, id);
          held.set(id, text);
          order.push(id);
          if (order.length > 8) held.delete(order.shift() as number);
          if (removeAt < order.length) {
            const gone = order[removeAt] as number;
            expect(index.remove(gone)).toBe(true);
            held.delete(gone);
            order = order.filter((x) => x !== gone);
          }
        });
      }),
      { seed: 14, numRuns: 200 },
    );
  });
});

describe('determinism and misuse', () => {
  it('gives the same answers for the same seed', () => {
    const run = (seed: number) => {
      const index = createSimilarityIndex({ seed, threshold: 0.4 });
      const out: (number | undefined)[] = [];
      for (let i = 0; i < 30; i++) {
        const text = `item ${i % 7} is ${['late', 'lost', 'broken'][i % 3]} again`;
        const found = index.match(text, i);
        out.push(found?.id);
        if (found === undefined) index.add(i, text, i);
      }
      return out;
    };
    expect(run(77)).toEqual(run(77));
  });

  it('rejects a PreparedText of another index, a held id and a non-integer id', () => {
    const one = createSimilarityIndex();
    const two = createSimilarityIndex();
    const prepared = one.prepare('hello there');
    expect(() => two.match(prepared, 0)).toThrow(TypeError);
    one.add(1, prepared, 0);
    expect(() => one.add(1, 'other', 0)).toThrow(RangeError);
    expect(() => one.add(1.5, 'other', 0)).toThrow(TypeError);
    expect(() => one.match('x', Number.NaN)).toThrow(TypeError);
    expect(() => one.match(42 as never, 0)).toThrow(TypeError);
  });

  it('uses a prepared text for match and add alike', () => {
    const index = createSimilarityIndex();
    const prepared = index.prepare('  Same   TEXT ');
    expect(prepared.normalized).toBe('same text');
    expect(index.match(prepared, 0)).toBeUndefined();
    index.add(1, prepared, 0);
    expect(index.match('same text', 0)).toEqual({ id: 1, similarity: 1 });
  });
});

describe('match with accept (a guard at match time)', () => {
  it('skips refused representatives and keeps looking, exact ones included', () => {
    const index = createSimilarityIndex({ maxEntries: 100 });
    index.add(0, 'my order #1234 has not arrived yet', 0);
    index.add(1, 'My order #1234 has not arrived yet', 0);
    index.add(2, 'my order #1234 has not arived yet!', 0);
    const query = index.prepare('my order #1234 has not arrived yet');
    expect(index.match(query, 1)).toEqual({ id: 0, similarity: 1 });
    const asked: number[] = [];
    const found = index.match(query, 1, (id) => {
      asked.push(id);
      return id === 2;
    });
    expect(found?.id).toBe(2);
    expect(found?.similarity).toBeLessThan(1);
    expect(asked).toEqual([0, 1, 2]);
    expect(index.match(query, 1, () => false)).toBeUndefined();
    expect(() => index.match(query, 1, 42 as never)).toThrow(/accept/);
  });

  it('with an accept-all callback, finds what match finds (property)', () => {
    fc.assert(
      fc.property(fc.array(edited, { minLength: 1, maxLength: 20 }), (pairs) => {
        const index = createSimilarityIndex({ threshold: 0.5 });
        pairs.forEach(([text], id) => index.add(id, text, 0));
        return pairs.every(([, variant]) => JSON.stringify(index.match(variant, 0, () => true)) === JSON.stringify(index.match(variant, 0)));
      }),
    );
  });
});
