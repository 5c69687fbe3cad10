import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { corpusBytes, corpusMegabytes, createRandom, makeCorpus, makeCorpusItems, TEXT_KINDS } from '../bench/corpus.js';

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

describe('bench corpus', () => {
  it('is deterministic, seed-dependent, and a shorter corpus is a prefix of a longer one', () => {
    const a = makeCorpus({ seed: 5, items: 300 });
    expect(makeCorpus({ seed: 5, items: 300 })).toEqual(a);
    expect(makeCorpus({ seed: 5, items: 1000 }).slice(0, 300)).toEqual(a);
    const b = makeCorpus({ seed: 6, items: 300 });
    expect(b.filter((text, i) => text === a[i]).length).toBe(0);
  });

  it('keeps every length within bounds and every text well-formed UTF-16', () => {
    fc.assert(
      fc.property(
        fc.integer(),
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 0, max: 2000 }),
        fc.double({ min: 1, max: 3000, noNaN: true }),
        fc.double({ min: 0, max: 2, noNaN: true }),
        fc.double({ min: 0, max: 0.9, noNaN: true }),
        (seed, min, span, median, sigma, nearDuplicates) => {
          const max = min + span;
          for (const text of makeCorpus({ seed, items: 40, length: { min, max, median, sigma }, nearDuplicates })) {
            expect(text.length).toBeGreaterThanOrEqual(min);
            expect(text.length).toBeLessThanOrEqual(max);
            expect(LONE_SURROGATE.test(text)).toBe(false);
          }
        },
      ),
      { numRuns: 60, seed: 3 },
    );
  });

  it('mixes every kind by default, honours a custom mix, and spreads lengths log-normally', () => {
    const items = makeCorpusItems({ seed: 1, items: 4000 });
    const share = (kind: string) => items.filter((item) => item.kind === kind).length / items.length;
    expect(share('prose')).toBeCloseTo(0.3, 1);
    expect(share('cjk')).toBeCloseTo(0.15, 1);
    for (const kind of TEXT_KINDS) expect(share(kind)).toBeGreaterThan(0.1);
    expect(makeCorpusItems({ seed: 1, items: 200, mix: { code: 2, chat: 0 } }).every((item) => item.kind === 'code')).toBe(true);

    const lengths = items.map((item) => item.text.length).sort((x, y) => x - y);
    const median = lengths[lengths.length >> 1] as number;
    expect(median).toBeGreaterThan(140);
    expect(median).toBeLessThan(260);
    expect(lengths.at(-1)).toBeGreaterThan(2000); // a long tail
    expect(lengths[0]).toBeGreaterThanOrEqual(20);
  });

  it('produces varied text that a cache cannot replay', () => {
    const texts = makeCorpus({ seed: 2, items: 3000 });
    expect(new Set(texts).size).toBeGreaterThan(2990);
    // Distinct lines (sentences, code lines, log records, chat messages), not a few repeated snippets.
    const lines = texts.flatMap((text) => text.split('\n')).filter((line) => line.trim().length >= 30);
    expect(new Set(lines).size / lines.length).toBeGreaterThan(0.97);
    // Multi-byte scripts are present: CJK (3 bytes a character) and emoji (4).
    expect(texts.some((text) => /[\u4e00-\u9fff]/.test(text))).toBe(true);
    expect(texts.some((text) => /[\uac00-\ud7a3]/.test(text))).toBe(true);
    expect(texts.some((text) => /\p{Extended_Pictographic}\u200d/u.test(text))).toBe(true);
  });

  it('marks near-duplicates with their original, which they resemble but do not equal', () => {
    const items = makeCorpusItems({ seed: 4, items: 2000, nearDuplicates: 0.2 });
    const copies = items.filter((item) => item.duplicateOf !== undefined);
    expect(copies.length / items.length).toBeGreaterThan(0.15);
    expect(copies.length / items.length).toBeLessThan(0.25);
    for (const [index, copy] of items.entries()) {
      if (copy.duplicateOf === undefined) continue;
      const original = items[copy.duplicateOf];
      expect(copy.duplicateOf).toBeLessThan(index);
      expect(original?.duplicateOf).toBeUndefined();
      expect(copy.kind).toBe(original?.kind);
      expect(copy.text).not.toBe(original?.text);
      expect(Math.abs(copy.text.length - (original?.text.length ?? 0))).toBeLessThanOrEqual(40);
    }
    expect(makeCorpusItems({ seed: 4, items: 500 }).every((item) => item.duplicateOf === undefined)).toBe(true);
  });

  it('measures size in UTF-8 bytes', () => {
    expect(corpusBytes(['héllo', 'ok', '中', '👍'])).toBe(6 + 2 + 3 + 4);
    expect(corpusMegabytes(['x'.repeat(500_000), 'y'.repeat(250_000)])).toBe(0.75);
  });

  it('throws naming the option on bad options', () => {
    expect(() => makeCorpus({ seed: 1.5, items: 1 })).toThrow(/^seed:/);
    expect(() => makeCorpus({ seed: 1, items: -1 })).toThrow(RangeError);
    expect(() => makeCorpus({ seed: 1, items: 1, mix: { poetry: 1 } as never })).toThrow(/mix: unknown kind "poetry"/);
    expect(() => makeCorpus({ seed: 1, items: 1, mix: { prose: 0 } })).toThrow(/mix: at least one/);
    expect(() => makeCorpus({ seed: 1, items: 1, mix: { prose: -1 } })).toThrow(/mix\.prose/);
    expect(() => makeCorpus({ seed: 1, items: 1, length: { min: 50, max: 40 } })).toThrow(/length\.max/);
    expect(() => makeCorpus({ seed: 1, items: 1, length: { median: 0 } })).toThrow(/length\.median/);
    expect(() => makeCorpus({ seed: 1, items: 1, nearDuplicates: 1 })).toThrow(/nearDuplicates/);
    expect(() => makeCorpus(null as never)).toThrow(TypeError);
  });

  it('draws uniform integers in range from a seeded generator', () => {
    const random = createRandom(9);
    const counts = new Array<number>(6).fill(0);
    for (let i = 0; i < 6000; i++) {
      const roll = random.int(1, 6);
      counts[roll - 1] = (counts[roll - 1] as number) + 1;
    }
    for (const count of counts) expect(count).toBeGreaterThan(850);
    expect(() => random.pick([])).toThrow(RangeError);
    expect(() => createRandom(0.5)).toThrow(RangeError);
  });
});
