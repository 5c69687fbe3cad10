import { describe, expect, it } from 'vitest';
import { mergeBatches, orderedResults, rateLimiter, splitOnOverflow } from '../../src/index.js';
import * as iterable from '../../src/iterable.js';

const handler = async (batch: { items: readonly unknown[] }) => batch.items;

const cases: [string, () => unknown, ErrorConstructor, RegExp][] = [
  ['handler not a function', () => mergeBatches(42 as never), TypeError, /handler: expected a function/],
  ['concurrency 0', () => mergeBatches(handler, { concurrency: 0 }), RangeError, /concurrency: expected a number >= 1/],
  ['fractional concurrency', () => mergeBatches(handler, { concurrency: 1.5 }), RangeError, /concurrency: expected a whole number/],
  ['retry.maxAttempts 0', () => mergeBatches(handler, { retry: { maxAttempts: 0 } }), RangeError, /retry.maxAttempts/],
  ['negative retry.baseDelayMs', () => mergeBatches(handler, { retry: { baseDelayMs: -5 } }), RangeError, /retry.baseDelayMs/],
  ['retry.retryable not a function', () => mergeBatches(handler, { retry: { retryable: true as never } }), TypeError, /retry.retryable: expected a function/],
  ['timeoutMs 0', () => mergeBatches(handler, { timeoutMs: 0 }), RangeError, /timeoutMs/],
  ['maxQueuedItems 0', () => mergeBatches(handler, { maxQueuedItems: 0 }), RangeError, /maxQueuedItems/],
  ['unknown overflow policy', () => mergeBatches(handler, { overflow: 'drop' as never }), RangeError, /overflow: expected one of 'fail', 'error'/],
  ['rateLimit not an object', () => mergeBatches(handler, { rateLimit: 5 as never }), TypeError, /mergeBatches: rateLimit: expected a rateLimiter/],
  ['negative requestsPerMinute', () => mergeBatches(handler, { rateLimit: { requestsPerMinute: -1 } }), RangeError, /requestsPerMinute/],
  ['zero tokensPerMinute', () => rateLimiter({ tokensPerMinute: 0 }), RangeError, /tokensPerMinute/],
  ['telemetry not an object', () => mergeBatches(handler, { telemetry: 'on' as never }), TypeError, /telemetry/],
  ['splitOnOverflow maxTokens 0', () => splitOnOverflow({ maxTokens: 0 }), RangeError, /maxTokens/],
  ['chunk without merge', () => splitOnOverflow({ chunk: {} as never }), TypeError, /chunk.merge: required/],
  ['negative chunk overlap', () => splitOnOverflow({ chunk: { overlapTokens: -1, merge: () => 0 } }), RangeError, /chunk.overlapTokens/],
  ['maxSplitDepth 0', () => splitOnOverflow({ maxSplitDepth: 0 }), RangeError, /maxSplitDepth/],
  ['orderedResults maxBuffered 0', () => orderedResults({ maxBuffered: 0 }), RangeError, /maxBuffered/],
  ['iterable face checks too', () => iterable.mergeBatches(handler, { concurrency: -1 }), RangeError, /concurrency/],
];

describe('processing operators reject invalid options at creation, naming the option', () => {
  for (const [name, create, type, message] of cases) {
    it(name, () => {
      expect(create).toThrow(type);
      expect(create).toThrow(message);
    });
  }
});
