import fc from 'fast-check';
import { from, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { makeCorpus } from '../bench/corpus.js';
import { bufferByTokens, getTokenizer, type Batch } from '../src/index.js';
import { tiktokenTokenizer } from '../src/tiktoken.js';

const EDGE_CASES = [
  '',
  ' ',
  'Hello, world!',
  '<|endoftext|> and <|fim_prefix|> are ordinary text here',
  ' '.repeat(200),
  '\n\n\n  \t\r\n',
  '12345678901234567890.5e-10',
  'e\u0301 é ñ ß Ω',
  '👨‍👩‍👧‍👦🏳️‍🌈🇯🇵👍🏿',
  'lone \ud800 high and \udc00 low surrogates',
  '中文、日本語のテキスト、한국어 텍스트',
  'x'.repeat(5000),
];

describe('tiktokenTokenizer', () => {
  for (const encoding of ['o200k_base', 'cl100k_base'] as const) {
    it(`counts exactly as gpt-tokenizer's ${encoding} on a varied corpus and on edge cases`, () => {
      const tiktoken = tiktokenTokenizer(encoding);
      const reference = getTokenizer(encoding);
      const sample = [...makeCorpus({ seed: 7, items: 400 }), ...EDGE_CASES];
      const mismatches = sample.filter((text) => tiktoken.count(text) !== reference.count(text));
      expect(mismatches).toEqual([]);
      // The sample is not trivially small: hundreds of items, tens of thousands of tokens.
      expect(sample.reduce((sum, text) => sum + tiktoken.count(text), 0)).toBeGreaterThan(30_000);
    });
  }

  it('agrees with gpt-tokenizer on arbitrary strings, and its bound is never below its count', () => {
    const tiktoken = tiktokenTokenizer('o200k_base');
    const reference = getTokenizer('o200k_base');
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 80 }), fc.string({ unit: 'grapheme', maxLength: 80 })), (text) => {
        const count = tiktoken.count(text);
        expect(count).toBe(reference.count(text));
        expect(tiktoken.upperBound?.(text)).toBeGreaterThanOrEqual(count);
      }),
      { numRuns: 2000, seed: 11 },
    );
  });

  it('returns one instance per encoding and names it', () => {
    expect(tiktokenTokenizer('o200k_base')).toBe(tiktokenTokenizer('o200k_base'));
    expect(tiktokenTokenizer('cl100k_base')).not.toBe(tiktokenTokenizer('o200k_base'));
    expect(tiktokenTokenizer('cl100k_base').name).toBe('cl100k_base (tiktoken)');
  });

  it('throws a RangeError naming the encoding it does not know', () => {
    expect(() => tiktokenTokenizer('p50k_base' as never)).toThrow(RangeError);
    expect(() => tiktokenTokenizer('p50k_base' as never)).toThrow(/unknown encoding "p50k_base"/);
  });

  it('makes bufferByTokens form the same batches as the default tokenizer', async () => {
    const items = makeCorpus({ seed: 99, items: 600 });
    const shape = (batches: Batch<string>[]) =>
      batches.map((batch) => ({ indices: batch.itemIndices, tokens: batch.tokens, closeReason: batch.closeReason, oversize: batch.oversize }));
    for (const limits of [{ maxTokens: 3000 }, { maxTokens: 3000, maxItems: 8 }, { maxTokens: 200 }]) {
      const options = { ...limits, batchOverheadTokens: 50, itemOverheadTokens: 3 };
      const byDefault = await lastValueFrom(from(items).pipe(bufferByTokens<string>(options), toArray()));
      const byTiktoken = await lastValueFrom(from(items).pipe(bufferByTokens<string>({ ...options, tokenizer: tiktokenTokenizer('o200k_base') }), toArray()));
      expect(byDefault.length).toBeGreaterThan(limits.maxItems ? 600 / limits.maxItems - 1 : 10);
      expect(shape(byTiktoken)).toEqual(shape(byDefault));
    }
  });
});
