import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeCorpus } from '../../bench/corpus.js';
import { chunkRanges, chunkText, chunkTextLazily } from '../../src/internal/splitting.js';
import { getTokenizer } from '../../src/index.js';
import type { Tokenizer } from '../../src/types.js';

const words: Tokenizer = { name: 'words', count: (text) => text.split(/\s+/).filter(Boolean).length + (text.length > 0 ? 1 : 0) };
const TOKENIZERS: [string, Tokenizer][] = [
  ['o200k_base', getTokenizer('o200k_base')],
  ['cl100k_base', getTokenizer('cl100k_base')],
  ['a counting function', words],
];

const corpus = makeCorpus({ seed: 3, items: 60, length: { median: 1500, max: 12_000 } });
const input = fc.oneof(
  fc.constantFrom(...corpus),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 300 }),
  fc.tuple(fc.constantFrom('a', '中', '😂', ' ', 'ab '), fc.integer({ min: 1, max: 2000 })).map(([unit, times]) => unit.repeat(times)),
);

/** Checks chunks as ranges: they cover the text in order, each within budget, overlapping within bounds. */
function check(text: string, budget: number, overlap: number, tokenizer: Tokenizer): void {
  const ranges = [...chunkRanges(text, budget, overlap, tokenizer)];
  const limit = Math.max(1, Math.floor(budget));
  const allowed = Math.min(overlap, Math.floor(limit / 2));
  expect(ranges.length).toBeGreaterThan(0);
  expect(ranges[0]?.[0]).toBe(0);
  expect(ranges.at(-1)?.[1]).toBe(text.length);
  for (const [i, [start, end]] of ranges.entries()) {
    expect(end).toBeGreaterThan(start);
    const chunk = text.slice(start, end);
    // A chunk over the budget is one code point that alone has more tokens than the budget.
    if (tokenizer.count(chunk) > limit) expect([...chunk].length).toBe(1);
    const code = text.charCodeAt(end - 1);
    if (end < text.length) expect(code >= 0xd800 && code < 0xdc00 && (text.charCodeAt(end) & 0xfc00) === 0xdc00).toBe(false);
    if (i === 0) continue;
    const [previousStart, previousEnd] = ranges[i - 1] as [number, number];
    expect(start).toBeGreaterThan(previousStart);
    expect(start).toBeLessThanOrEqual(previousEnd);
    expect(end).toBeGreaterThan(previousEnd);
    if (tokenizer !== words) expect(tokenizer.count(text.slice(start, previousEnd))).toBeLessThanOrEqual(allowed);
  }
}

describe.each(TOKENIZERS)('chunkText with %s', (_name, tokenizer) => {
  it('covers the text in order with chunks within budget and overlaps within bounds', () => {
    fc.assert(
      fc.property(input, fc.integer({ min: 1, max: 400 }), fc.integer({ min: 0, max: 200 }), (text, budget, overlap) => check(text, budget, overlap, tokenizer)),
      { numRuns: 150, seed: 9 },
    );
  });

  it('yields lazily, the same chunks as the eager form', () => {
    const text = (corpus[0] as string).repeat(20);
    const lazy = chunkTextLazily(text, 50, 10, tokenizer);
    const first = lazy.next();
    expect(first.done).toBe(false);
    expect([first.value as string, ...lazy]).toEqual(chunkText(text, 50, 10, tokenizer));
    expect(chunkText('', 10, 2, tokenizer)).toEqual([]);
  });
});

describe('chunking with an exact encoding', () => {
  it('cuts at piece boundaries and fills chunks close to the budget', () => {
    const tokenizer = getTokenizer('o200k_base');
    const text = makeCorpus({ seed: 8, items: 40, mix: { prose: 1 } }).join(' ');
    const chunks = chunkText(text, 200, 0, tokenizer);
    expect(chunks.join('')).toBe(text);
    const counts = chunks.map((chunk) => tokenizer.count(chunk));
    for (const count of counts.slice(0, -1)) expect(count).toBeGreaterThan(190);
    for (const chunk of chunks.slice(1)) expect(chunk).toMatch(/^\s?\S/);
  });

  it('cuts a single long piece (no spaces) in parts, linearly', () => {
    const tokenizer = getTokenizer('o200k_base');
    const text = 'x'.repeat(400_000);
    const chunks = chunkText(text, 1000, 50, tokenizer);
    expect(chunks.length).toBeGreaterThan(10);
    expect(chunks.every((chunk) => tokenizer.count(chunk) <= 1000)).toBe(true);
    expect(chunks.join('').length).toBeGreaterThanOrEqual(text.length);
  });
});
