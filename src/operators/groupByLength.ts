import type { OperatorFunction } from 'rxjs';
import { BatchingCore, parseBatchRules, TokenBatch } from '../internal/batcher.js';
import { Envelope } from '../internal/chain.js';
import { HIDDEN, type OperatorSpec } from '../internal/core.js';
import { rxOperator } from '../internal/rx-face.js';
import type { Batch } from '../types.js';
import type { BufferByTokensOptions } from './bufferByTokens.js';

/**
 * Options of {@link groupByLength}: those of `bufferByTokens`, applied within each length bucket,
 * plus the bucket boundaries.
 *
 * @example
 * ```ts
 * const options: GroupByLengthOptions<string> = { maxTokens: 8192, maxItems: 64, maxWaitMs: 500, boundaries: [32, 128, 512, 2048] };
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

/** The default log-scale boundaries: 16, 32, 64, ... below maxTokens. */
export function logBoundaries(maxTokens: number): number[] {
  const boundaries: number[] = [];
  for (let boundary = 16; boundary < maxTokens; boundary *= 2) boundaries.push(boundary);
  return boundaries;
}

function parseBoundaries(raw: unknown, maxTokens: number): number[] {
  if (raw === undefined) return logBoundaries(maxTokens);
  if (!Array.isArray(raw)) throw new TypeError('boundaries: expected an array of increasing token counts');
  raw.forEach((value: unknown, i) => {
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new RangeError(`boundaries: expected positive numbers, got ${String(value)} at ${i}`);
    if (i > 0 && value <= (raw[i - 1] as number)) throw new RangeError('boundaries: expected strictly increasing numbers');
  });
  return [...(raw as number[])];
}

/** The operator's logic for both faces: bufferByTokens' state machine with one open batch per bucket. */
export function groupByLengthSpec<T>(options: GroupByLengthOptions<T>): OperatorSpec<unknown, unknown, Batch<T>> {
  const rules = parseBatchRules<T>(options, 'groupByLength');
  const boundaries = parseBoundaries(options.boundaries, rules.maxTokens);
  const bucketOf = (envelope: Envelope<T>): number => {
    const tokens = rules.meter.exact(envelope);
    let bucket = 0;
    while (bucket < boundaries.length && tokens >= (boundaries[bucket] as number)) bucket++;
    return bucket;
  };
  return {
    create: (sink, link) => new BatchingCore<T>(rules, sink, link, 'group', boundaries.length + 1, bucketOf),
    adopt: (value, numbering) => new Envelope(numbering.next++, value as T, rules.scheduler.now()),
    reveal: (output) => (output instanceof TokenBatch ? (output as TokenBatch<T>) : HIDDEN),
  };
}

/**
 * Batches items of similar length together: each item is routed by its token count to a length
 * bucket, and each bucket forms batches under the same rules as `bufferByTokens` (token budget,
 * item count, `maxWaitMs` counted from the batch's first item, flush on completion). Batches of
 * similar lengths waste less padding on models that pad to the longest input (embeddings, local
 * models), and fill context windows more evenly.
 *
 * Batches leave in the order they close, so items are reordered across buckets: `orderedResults`
 * at the end of the chain restores input order. No item waits longer than `maxWaitMs`.
 *
 * @example
 * ```ts
 * import { groupByLength, mergeBatches, orderedResults } from 'tokenbatch';
 *
 * documents$.pipe(
 *   groupByLength({ maxTokens: 8192, maxItems: 64, maxWaitMs: 500 }),
 *   mergeBatches(embedAll, { concurrency: 4 }),
 *   orderedResults(),
 * );
 * ```
 */
export function groupByLength<T>(options: GroupByLengthOptions<T>): OperatorFunction<T, Batch<T>> {
  return rxOperator(groupByLengthSpec(options));
}
