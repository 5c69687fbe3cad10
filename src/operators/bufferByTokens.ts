import type { OperatorFunction } from 'rxjs';
import { BatchingCore } from '../batching/core.js';
import { BATCH_KEYS, parseBatchRules, type BufferByTokensOptions } from '../batching/rules.js';
import type { OperatorSpec } from '../internal/core.js';
import { OptionReader } from '../internal/options.js';
import { rxOperator } from '../internal/rx-face.js';
import type { Batch, ChainItem } from '../types.js';

export type { BufferByTokensOptions } from '../batching/rules.js';

/** The operator's logic for both faces. */
export function bufferByTokensSpec<T>(options: BufferByTokensOptions<T>): OperatorSpec<unknown, Batch<T>> {
  const rules = parseBatchRules<T>(new OptionReader('bufferByTokens', options ?? null, BATCH_KEYS));
  return { create: (sink) => new BatchingCore<T>(rules, sink, 'buffer') };
}

/**
 * Buffers items into batches that never exceed a token budget or an item count, closed by size, by
 * a maximum wait counted from each batch's first item, or when the source ends.
 *
 * Greedy: a batch is never closed for size while the next item would still fit. Never emits a
 * batch with nothing in it. On a source error the open batch is emitted first, then the error. Token
 * counts are exact for the chosen tokenizer; cheap bounds spare the tokenizer wherever they prove a fit.
 *
 * It reads plain items (and numbers them: `batch.itemIndices`), or what an earlier tokenbatch
 * operator emits: numbered items, duplicates and failed items from `dedupeSimilar` (these ride in
 * `batch.skipped` to `mergeBatches`, which gives each its outcome), or another operator's batches,
 * whose items it batches again under its own rules. An item whose text cannot be read goes to
 * `batch.skipped` as a failed item: the stream and its batch-mates go on.
 *
 * @example
 * ```ts
 * import { from } from 'rxjs';
 * import { bufferByTokens } from 'tokenbatch';
 *
 * from(['first message', 'second message', 'third message'])
 *   .pipe(bufferByTokens({ maxTokens: 6 }))
 *   .subscribe((batch) => console.log(batch.items, batch.tokens, batch.closeReason));
 * // [ 'first message', 'second message' ] 4 tokens
 * // [ 'third message' ] 2 end
 * ```
 */
export function bufferByTokens<T>(options: BufferByTokensOptions<T>): OperatorFunction<T | ChainItem<T> | Batch<T>, Batch<T>> {
  return rxOperator(bufferByTokensSpec(options));
}
