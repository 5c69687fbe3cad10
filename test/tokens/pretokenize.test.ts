import fc from 'fast-check';
import { CL100K_TOKEN_SPLIT_REGEX, O200K_TOKEN_SPLIT_REGEX } from 'gpt-tokenizer/encodingParams/constants';
import { describe, expect, it } from 'vitest';
import { makeCorpus } from '../../bench/corpus.js';
import { cl100kPieceEnd, o200kPieceEnd } from '../../src/tokens/pretokenize.js';

const piecesBy =
  (pieceEnd: (text: string, start: number) => number) =>
  (text: string): string[] => {
    const out: string[] = [];
    for (let start = 0; start < text.length;) {
      const end = pieceEnd(text, start);
      out.push(text.slice(start, end));
      start = end;
    }
    return out;
  };
const piecesOf =
  (pattern: RegExp) =>
  (text: string): string[] =>
    [...text.matchAll(new RegExp(pattern.source, pattern.flags))].map((match) => match[0]);

// Characters of every class the patterns tell apart, in short runs so that backtracking cases meet.
const CHARS = [
  'a',
  'b',
  'Z',
  'É',
  'é',
  'ǅ',
  'ʰ',
  'ª',
  '中',
  'カ',
  '한',
  '\u0301',
  '\u0903',
  '\u20dd',
  '𝔘',
  '𐐷',
  '0',
  '٣',
  'Ⅻ',
  '½',
  '𝟙',
  ' ',
  '\t',
  '\n',
  '\r',
  '\u000b',
  '\u000c',
  '\u00a0',
  '\u1680',
  '\u2003',
  '\u2028',
  '\u3000',
  '\ufeff',
  '\u0085',
  "'",
  's',
  'S',
  'l',
  'L',
  'v',
  'e',
  'r',
  'R',
  'd',
  'm',
  't',
  '/',
  '!',
  '.',
  '-',
  '😂',
  '🏽',
  '\u200d',
  '\ufe0f',
  '\ud83d',
  '\ude02',
  '\udc00',
  '\u0000',
];
const text = fc.oneof(
  fc.array(fc.constantFrom(...CHARS), { maxLength: 30 }).map((chars) => chars.join('')),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 30 }).map((codes) => String.fromCharCode(...codes)),
);

describe.each([
  ['o200k_base', o200kPieceEnd, O200K_TOKEN_SPLIT_REGEX],
  ['cl100k_base', cl100kPieceEnd, CL100K_TOKEN_SPLIT_REGEX],
] as const)('the %s pre-tokenizer', (_name, pieceEnd, pattern) => {
  const scanner = piecesBy(pieceEnd);
  const regex = piecesOf(pattern);

  it("cuts arbitrary Unicode into exactly the pieces of gpt-tokenizer's split pattern", () => {
    fc.assert(
      fc.property(text, (input) => {
        expect(scanner(input)).toEqual(regex(input));
      }),
      { numRuns: 20_000, seed: 5 },
    );
  });

  it('cuts the bench corpus as the pattern does', () => {
    for (const input of makeCorpus({ seed: 11, items: 1500 })) expect(scanner(input)).toEqual(regex(input));
  });
});
