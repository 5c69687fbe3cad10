import { describe, expect, it } from 'vitest';
import { bufferByTokens, type BufferByTokensOptions } from '../src/index.js';
import { bufferByTokens as bufferByTokensIterable } from '../src/iterable.js';

type AnyOptions = BufferByTokensOptions<string> & Record<string, unknown>;

const cases: [string, Partial<AnyOptions> | null, ErrorConstructor, RegExp][] = [
  ['no options object', null, TypeError, /options object/],
  ['missing maxTokens', {}, TypeError, /maxTokens is required/],
  ['zero maxTokens', { maxTokens: 0 }, RangeError, /maxTokens: expected a number > 0/],
  ['NaN maxTokens', { maxTokens: NaN }, TypeError, /maxTokens/],
  ['infinite maxTokens', { maxTokens: Infinity }, RangeError, /maxTokens/],
  ['string maxTokens', { maxTokens: '10' as unknown as number }, TypeError, /maxTokens: expected a number/],
  ['maxItems 0', { maxTokens: 10, maxItems: 0 }, RangeError, /maxItems: expected a number >= 1/],
  ['fractional maxItems', { maxTokens: 10, maxItems: 1.5 }, RangeError, /maxItems: expected a whole number/],
  ['negative maxWaitMs', { maxTokens: 10, maxWaitMs: -1 }, RangeError, /maxWaitMs/],
  ['negative batchOverheadTokens', { maxTokens: 10, batchOverheadTokens: -1 }, RangeError, /batchOverheadTokens/],
  ['negative itemOverheadTokens', { maxTokens: 10, itemOverheadTokens: -2 }, RangeError, /itemOverheadTokens/],
  ['unknown oversize policy', { maxTokens: 10, oversize: 'drop' as 'alone' }, RangeError, /oversize: expected one of 'alone', 'error'/],
  ['unknown encoding', { maxTokens: 10, tokenizer: 'p99k' as 'o200k_base' }, RangeError, /tokenizer: unknown encoding "p99k"/],
  ['bad tokenizer', { maxTokens: 10, tokenizer: 42 as unknown as 'o200k_base' }, TypeError, /tokenizer/],
  ['text not a function', { maxTokens: 10, text: 'body' as unknown as (item: string) => string }, TypeError, /text: expected a function/],
  ['bad scheduler', { maxTokens: 10, scheduler: {} as never }, TypeError, /scheduler: expected an RxJS SchedulerLike/],
];

describe('invalid options throw at creation, naming the option', () => {
  for (const [name, options, type, message] of cases) {
    it(name, () => {
      expect(() => bufferByTokens(options as AnyOptions)).toThrow(type);
      expect(() => bufferByTokens(options as AnyOptions)).toThrow(message);
      expect(() => bufferByTokensIterable(options as AnyOptions)).toThrow(message);
    });
  }
});
