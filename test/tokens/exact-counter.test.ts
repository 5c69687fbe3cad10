import fc from 'fast-check';
import { GptEncoding } from 'gpt-tokenizer/GptEncoding';
import cl100kRanks from 'gpt-tokenizer/bpeRanks/cl100k_base';
import o200kRanks from 'gpt-tokenizer/bpeRanks/o200k_base';
import { describe, expect, it } from 'vitest';
import { makeCorpus, TEXT_KINDS } from '../../bench/corpus.js';
import { getTokenizer, preloadTokenizer, resolveTokenizer } from '../../src/index.js';
import type { EncodingName } from '../../src/types.js';

// The reference: gpt-tokenizer itself, special tokens read as ordinary text (as tokenbatch counts).
const ORDINARY = { disallowedSpecial: new Set<string>() };
function reference(name: EncodingName): (text: string) => number {
  const ranks = name === 'o200k_base' ? o200kRanks : cl100kRanks;
  const api = GptEncoding.getEncodingApi(name, () => ranks);
  api.setMergeCacheSize(0);
  return (text) => api.countTokens(text, ORDINARY);
}

// Code units from every class the pre-tokenizers tell apart, and the bytes gpt-tokenizer treats specially.
const UNITS = [
  'a',
  'Z',
  'é',
  'É',
  'ǅ',
  'ʰ',
  'ß',
  'ı',
  '\u0301',
  '\u0903',
  '\u20dd', // letters of each case class, marks
  '0',
  '7',
  '٣',
  'Ⅻ',
  '½', // numbers
  ' ',
  '  ',
  '\t',
  '\n',
  '\r',
  '\r\n',
  '\u000b',
  '\u00a0',
  '\u2003',
  '\u3000',
  '\ufeff',
  '\u2028', // white space, BOM
  "'",
  "'s",
  "'LL",
  "'ve",
  "'Re",
  '/',
  '//',
  '!',
  '?!',
  '.',
  ',',
  '-',
  '_',
  '"',
  '{',
  '}',
  '<|endoftext|>',
  '<|im_start|>',
  '中',
  '文字',
  '日本語',
  'カタカナ',
  'ひらがな',
  '한국어',
  '한', // CJK, Hangul
  '😂',
  '👍🏽',
  '🧑‍💻',
  '👨‍👩‍👧‍👦',
  '🇯🇵',
  '❤️',
  '\u200d',
  '\ufe0f', // emoji, ZWJ, selectors
  '\ud83d',
  '\ude02',
  '\udbff',
  '\udc00', // lone surrogates
  '\u0000',
  '\u007f',
  '\u0080',
  '\uffff',
  '\ufffd',
  '𝔘',
  '𐐷', // odd ones
  'the',
  ' the',
  'The',
  'THE',
  'infrastructure',
  ' reconciliation',
  '123456',
  '3.14159',
  'https://example.com/a/b',
];
const unit = fc.oneof(
  fc.constantFrom(...UNITS),
  fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)),
  fc.integer({ min: 0x10000, max: 0x10ffff }).map((code) => String.fromCodePoint(code)),
);
const text = fc.oneof(
  fc.array(unit, { maxLength: 40 }).map((units) => units.join('')),
  fc.tuple(unit, fc.integer({ min: 10, max: 400 })).map(([piece, times]) => piece.repeat(times)), // long pieces (heap merge)
  fc.string({ unit: 'binary', maxLength: 60 }),
);

describe.each(['o200k_base', 'cl100k_base'] as const)('exact counting (%s)', (name) => {
  const expected = reference(name);
  const tokenizer = getTokenizer(name);

  it('agrees with gpt-tokenizer on arbitrary Unicode: surrogates, emoji, CJK, marks, BOMs, long runs', () => {
    fc.assert(
      fc.property(text, (input) => {
        expect(tokenizer.count(input)).toBe(expected(input));
      }),
      { numRuns: 3000, seed: 17 },
    );
  });

  it('agrees with gpt-tokenizer on the bench corpus, every kind', () => {
    const corpus = makeCorpus({ seed: 42, items: 1500 });
    for (const kind of TEXT_KINDS) corpus.push(...makeCorpus({ seed: 7, items: 30, mix: { [kind]: 1 }, length: { median: 2000, max: 8000 } }));
    const mismatches = corpus.filter((input) => tokenizer.count(input) !== expected(input));
    expect(mismatches).toEqual([]);
  });

  it('agrees on edge cases', () => {
    const cases = [
      '',
      ' ',
      '\n',
      'a',
      '\ufeff',
      '\ufeffusing namespace',
      '\ufeff\ufeff',
      ' \ufeff\n',
      '\ufeff//',
      'x\ufeff#',
      '\ud800',
      '\udc00a',
      'a\ud83d',
      "I'm can't we'LL",
      'a'.repeat(5000),
      ' '.repeat(3000) + 'x',
      '中'.repeat(3000),
      '😂'.repeat(1000),
      '1234567890'.repeat(50),
      '\r\n\r\n  \n\t x',
      'ǅemo ʰa',
      'e\u0301\u0301',
      '\u0301abc',
      '<|endoftext|>hello<|im_start|>',
    ];
    for (const input of cases) expect(tokenizer.count(input), JSON.stringify(input.slice(0, 30))).toBe(expected(input));
  });

  it('remembers counts of repeated texts without changing them', () => {
    const input = 'a repeated status line: ok 200';
    const first = tokenizer.count(input);
    expect(tokenizer.count(input)).toBe(first);
    expect(tokenizer.count(`${input} `)).toBe(expected(`${input} `));
  });

  it('preloads to the same instance that getTokenizer returns', async () => {
    await expect(preloadTokenizer(name)).resolves.toBe(tokenizer);
    expect(resolveTokenizer(name)).toBe(tokenizer);
  });
});

describe('tokenizer names', () => {
  it('rejects unknown encodings, naming the function or option', async () => {
    expect(() => getTokenizer('p50k_base' as never)).toThrow(/^tokenizer: unknown encoding "p50k_base"/);
    expect(() => resolveTokenizer('gpt2' as never, 'tokenizer')).toThrow(RangeError);
    await expect(preloadTokenizer('nope' as never)).rejects.toThrow(/^preloadTokenizer: unknown encoding "nope"/);
  });
});
