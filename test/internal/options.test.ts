import { describe, expect, it } from 'vitest';
import { of } from 'rxjs';
import {
  bufferByTokens,
  dedupeSimilar,
  groupByLength,
  indexItems,
  mergeBatches,
  orderedResults,
  rateLimiter,
  splitOnOverflow,
  type BufferByTokensOptions,
} from '../../src/index.js';
import * as iterable from '../../src/iterable.js';
import { bufferByTokens as bufferByTokensIterable } from '../../src/iterable.js';

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

describe('options are checked by key, on every operator and helper, on both faces', () => {
  const noop = async () => [];
  const cases: [string, () => unknown, RegExp][] = [
    ['bufferByTokens', () => bufferByTokens({ maxTokens: 10, maxWait: 5 } as never), /^bufferByTokens: unknown option 'maxWait' \(did you mean 'maxWaitMs'\?\)/],
    ['iterable bufferByTokens', () => iterable.bufferByTokens({ maxTokens: 10, maxWait: 5 } as never), /^bufferByTokens: unknown option 'maxWait' \(did you mean 'maxWaitMs'\?\)/],
    ['groupByLength', () => groupByLength({ maxTokens: 10, boundary: [4] } as never), /^groupByLength: unknown option 'boundary' \(did you mean 'boundaries'\?\)/],
    ['dedupeSimilar', () => dedupeSimilar({ treshold: 0.5 } as never), /^dedupeSimilar: unknown option 'treshold' \(did you mean 'threshold'\?\)/],
    ['dedupeSimilar nested', () => dedupeSimilar({ embedBatch: { maxItem: 3 } } as never), /^dedupeSimilar: unknown option 'embedBatch.maxItem' \(did you mean 'maxItems'\?\)/],
    ['mergeBatches', () => mergeBatches(noop, { concurrancy: 2 } as never), /^mergeBatches: unknown option 'concurrancy' \(did you mean 'concurrency'\?\)/],
    ['mergeBatches retry', () => mergeBatches(noop, { retry: { attempts: 2 } } as never), /^mergeBatches: unknown option 'retry.attempts' \(did you mean 'maxAttempts'\?\)/],
    ['iterable mergeBatches', () => iterable.mergeBatches(noop, { timeout: 5 } as never), /^mergeBatches: unknown option 'timeout' \(did you mean 'timeoutMs'\?\)/],
    ['splitOnOverflow', () => splitOnOverflow({ maxDepth: 2 } as never), /^splitOnOverflow: unknown option 'maxDepth' \(did you mean 'maxSplitDepth'\?\)/],
    [
      'splitOnOverflow chunk',
      () => splitOnOverflow({ chunk: { merge: () => 0, overlap: 5 } } as never),
      /^splitOnOverflow: unknown option 'chunk.overlap' \(did you mean 'overlapTokens'\?\)/,
    ],
    ['orderedResults', () => orderedResults({ buffer: 5 } as never), /^orderedResults: unknown option 'buffer'/],
    ['indexItems', () => indexItems({ schedular: undefined } as never), /^indexItems: unknown option 'schedular' \(did you mean 'scheduler'\?\)/],
    ['rateLimiter', () => rateLimiter({ rpm: 5 } as never), /^rateLimiter: unknown option 'rpm'/],
    ['fromObservable', () => iterable.fromObservable(of(1), { maxBuffer: 5 } as never), /^fromObservable: unknown option 'maxBuffer' \(did you mean 'maxBuffered'\?\)/],
    ['telemetry', () => mergeBatches(noop, { telemetry: { recordTexts: true } } as never), /^mergeBatches: telemetry: unknown option 'recordTexts'/],
  ];
  for (const [name, create, message] of cases) {
    it(`${name}: an unknown key throws a TypeError naming the operator, with a suggestion`, () => {
      expect(create).toThrow(TypeError);
      expect(create).toThrow(message);
    });
  }

  it('checks booleans as booleans, naming the operator', () => {
    expect(() => mergeBatches(noop, { failFast: 'yes' } as never)).toThrow(/^mergeBatches: failFast: expected true or false, got "yes"/);
    expect(() => mergeBatches(noop, { telemetry: { recordText: 1 } } as never)).toThrow(/^mergeBatches: telemetry.recordText: expected true or false/);
  });

  it('names the operator in value errors', () => {
    expect(() => bufferByTokens({ maxTokens: -1 })).toThrow(/^bufferByTokens: maxTokens: expected a number > 0, got -1/);
    expect(() => groupByLength({ maxTokens: 0 })).toThrow(/^groupByLength: maxTokens/);
    expect(() => mergeBatches(noop, { concurrency: 0 })).toThrow(/^mergeBatches: concurrency/);
  });
});
