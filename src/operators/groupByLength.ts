import type { OperatorFunction } from 'rxjs';
import { BatchingCore } from '../batching/core.js';
import { BATCH_KEYS, parseBatchRules, type BufferByTokensOptions } from '../batching/rules.js';
import type { Envelope } from '../internal/chain.js';
import type { OperatorSpec } from '../internal/core.js';
import { OptionReader } from '../internal/options.js';
import { rxOperator } from '../internal/rx-face.js';
import type { Batch, ChainItem } from '../types.js';

/**
 * Options of {@link groupByLength}: those of `bufferByTokens`, plus the bucket boundaries.
 *
 * @example
 * ```ts
 * const options: GroupByLengthOptions<string> = { maxTokens: 8192, maxItems: 64, maxWaitMs: 500, boundaries: [64, 256, 1024] };
 * ```
 */
export interface GroupByLengthOptions<T> extends BufferByTokensOptions<T> {
  /**
   * Increasing token counts that separate the buckets: an item of `n` tokens goes to the first
   * bucket whose boundary exceeds `n` (the last bucket takes the rest). Default: powers of two
   * from 16 up to `maxTokens` (16, 32, 64, ...), a log scale suited to long-tailed lengths.
   */
  boundaries?: readonly number[];
}

/**
 * The default bucket boundaries of {@link groupByLength}: powers of two from 16 below `maxTokens`.
 *
 * @example
 * ```ts
 * logBoundaries(200); // [16, 32, 64, 128]
 * ```
 */
export function logBoundaries(maxTokens: number): number[] {
  const boundaries: number[] = [];
  for (let boundary = 16; boundary < maxTokens; boundary *= 2) boundaries.push(boundary);
  return boundaries;
}

function parseBoundaries(raw: unknown, maxTokens: number): number[] {
  if (raw === undefined) return logBoundaries(maxTokens);
  if (!Array.isArray(raw)) throw new TypeError('groupByLength: boundaries: expected an array of increasing token counts');
  raw.forEach((value: unknown, i) => {
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
      throw new RangeError(`groupByLength: boundaries: expected positive numbers, got ${String(value)} at ${i}`);
    if (i > 0 && value <= (raw[i - 1] as number)) throw new RangeError('groupByLength: boundaries: expected strictly increasing numbers');
  });
  return [...(raw as number[])];
}

/** The operator's logic for both faces. */
export function groupByLengthSpec<T>(options: GroupByLengthOptions<T>): OperatorSpec<unknown, Batch<T>> {
  const reader = new OptionReader('groupByLength', options ?? null, [...BATCH_KEYS, 'boundaries']);
  const rules = parseBatchRules<T>(reader);
  const boundaries = parseBoundaries(reader.raw.boundaries, rules.maxTokens);
  const bucketOf = (envelope: Envelope<T>): number => {
    const tokens = rules.meter.exact(envelope);
    let bucket = 0;
    while (bucket < boundaries.length && tokens >= (boundaries[bucket] as number)) bucket++;
    return bucket;
  };
  return { create: (sink) => new BatchingCore<T>(rules, sink, 'group', boundaries.length + 1, bucketOf) };
}

/**
 * Batches items of similar length together: each item goes to its length bucket (by token count),
 * and each bucket forms batches under the rules of `bufferByTokens` (tokens, items, `maxWaitMs`
 * per bucket, flush at the end). Less padding for models that pad to the longest input, and fuller
 * context windows. Batches leave as they close, so items are reordered across buckets;
 * `orderedResults` restores input order. It reads what `bufferByTokens` reads.
 *
 * @example
 * ```ts
 * import { groupByLength, mergeBatches, orderedResults } from 'tokenbatch';
 *
 * documents$.pipe(groupByLength({ maxTokens: 8192, maxItems: 64, maxWaitMs: 500 }), mergeBatches(embedAll), orderedResults());
 * ```
 */
export function groupByLength<T>(options: GroupByLengthOptions<T>): OperatorFunction<T | ChainItem<T> | Batch<T>, Batch<T>> {
  return rxOperator(groupByLengthSpec(options));
}
