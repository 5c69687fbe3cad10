/**
 * tokenbatch for async iterables: the same operators as the main entry point, with the same options
 * and semantics, for ix `pipe` (`from(source).pipe(bufferByTokens(...))`). They pull from their
 * source only as fast as their consumer asks (mergeBatches keeps up to `concurrency` batches in
 * flight), and `return()` (a `break` in `for await`) aborts in-flight handlers and clears timers.
 *
 * @packageDocumentation
 */
import type { OperatorAsyncFunction } from 'ix/interfaces';
import { iterableOperator } from './internal/iterable-face.js';
export { fromObservable, type FromObservableOptions } from './fromObservable.js';
export { withFallbacks, type Fallback, type FallbackReason, type WithFallbacksOptions } from './handlers/withFallbacks.js';
export { createStats, type ChainStats, type Stats, type StatsOptions } from './stats.js';
export { DEFAULT_PRICES, type ModelPrice } from './pricing.js';
import { bufferByTokensSpec, type BufferByTokensOptions } from './operators/bufferByTokens.js';
import { dedupeSimilarSpec, type DedupeSimilarOptions } from './operators/dedupeSimilar.js';
import { groupByLengthSpec, type GroupByLengthOptions } from './operators/groupByLength.js';
import { mergeBatchesSpec, type MergeBatchesOptions } from './operators/mergeBatches.js';
import { orderedResultsSpec, type OrderedResultsOptions } from './operators/orderedResults.js';
import { splitOnOverflowSpec, type SplitOnOverflowOptions } from './operators/splitOnOverflow.js';
import { indexItemsSpec, type IndexItemsOptions } from './operators/indexItems.js';
import type { Batch, BatchHandler, ChainItem, IndexedItem, Outcome } from './types.js';

export type { BufferByTokensOptions } from './operators/bufferByTokens.js';
export type { DedupeSimilarOptions } from './operators/dedupeSimilar.js';
export type { GroupByLengthOptions } from './operators/groupByLength.js';
export type { MergeBatchesOptions } from './operators/mergeBatches.js';
export type { OrderedResultsOptions } from './operators/orderedResults.js';
export type { SplitOnOverflowOptions } from './operators/splitOnOverflow.js';
export type { IndexItemsOptions } from './operators/indexItems.js';
export type {
  Batch,
  BatchHandler,
  ChainItem,
  CloseReason,
  DuplicateItem,
  EncodingName,
  FailedItem,
  HandlerContext,
  HandlerResults,
  IndexedItem,
  Outcome,
  SkippedItem,
  Tokenizer,
  TokenizerSpec,
} from './types.js';

/**
 * Buffers items of an async iterable into token-budgeted batches: the async-iterable face of the
 * RxJS `bufferByTokens`, with the same options and closing rules. A batch closes on `maxWaitMs` even
 * while the source is silent, and the source is pulled only while the consumer waits for a batch.
 *
 * @example
 * ```ts
 * import { from } from 'ix/asynciterable';
 * import { bufferByTokens } from 'tokenbatch/iterable';
 *
 * for await (const batch of from(lines).pipe(bufferByTokens({ maxTokens: 4000, maxWaitMs: 200 }))) {
 *   await send(batch.items);
 * }
 * ```
 */
export function bufferByTokens<T>(options: BufferByTokensOptions<T>): OperatorAsyncFunction<T | ChainItem<T> | Batch<T>, Batch<T>> {
  return iterableOperator(bufferByTokensSpec(options));
}

/**
 * Suppresses near-duplicates in an async iterable: the async-iterable face of the RxJS
 * `dedupeSimilar`, with the same options. In a tokenbatch chain each duplicate still gets its own
 * outcome, carrying its representative's result and `duplicateOf`.
 *
 * @example
 * ```ts
 * from(tickets).pipe(dedupeSimilar({ method: 'minhash', threshold: 0.6 }), bufferByTokens({ maxTokens: 4000 }), mergeBatches(classify), orderedResults());
 * ```
 */
export function dedupeSimilar<T>(options?: DedupeSimilarOptions<T>): OperatorAsyncFunction<T | ChainItem<T>, ChainItem<T>> {
  return iterableOperator(dedupeSimilarSpec(options));
}

/**
 * Batches items of an async iterable by length bucket: the async-iterable face of the RxJS
 * `groupByLength`, with the same options. Each bucket closes its batches by tokens, items or
 * `maxWaitMs`, even while the source is silent.
 *
 * @example
 * ```ts
 * from(documents).pipe(groupByLength({ maxTokens: 8192, maxItems: 64, maxWaitMs: 500 }), mergeBatches(embedAll), orderedResults());
 * ```
 */
export function groupByLength<T>(options: GroupByLengthOptions<T>): OperatorAsyncFunction<T | ChainItem<T> | Batch<T>, Batch<T>> {
  return iterableOperator(groupByLengthSpec(options));
}

/**
 * Processes batches of an async iterable concurrently: the async-iterable face of the RxJS
 * `mergeBatches`, with the same options. It pulls a batch only when a concurrency slot is free, so
 * the pipeline holds at most about `concurrency` batches plus the one being formed.
 *
 * @example
 * ```ts
 * import { from } from 'ix/asynciterable';
 * import { bufferByTokens, mergeBatches, orderedResults } from 'tokenbatch/iterable';
 *
 * const outcomes = from(documents).pipe(bufferByTokens({ maxTokens: 8000 }), mergeBatches(embedAll, { concurrency: 4 }), orderedResults());
 * for await (const outcome of outcomes) console.log(outcome.index, outcome.ok);
 * ```
 */
export function mergeBatches<T, R>(handler: BatchHandler<T, R>, options?: MergeBatchesOptions<T>): OperatorAsyncFunction<Batch<T> | readonly T[] | ChainItem<T>, Outcome<T, R>> {
  return iterableOperator(mergeBatchesSpec(handler, options));
}

/**
 * Makes batches of an async iterable fit the context window before and after sending: the
 * async-iterable face of the RxJS `splitOnOverflow`, with the same options.
 *
 * @example
 * ```ts
 * from(items).pipe(bufferByTokens({ maxTokens: 8000 }), splitOnOverflow(), mergeBatches(handler), orderedResults());
 * ```
 */
export function splitOnOverflow<T, R = unknown>(options?: SplitOnOverflowOptions<T, R>): OperatorAsyncFunction<Batch<T> | readonly T[], Batch<T>> {
  return iterableOperator(splitOnOverflowSpec(options));
}

/**
 * Re-sequences outcomes of an async iterable into input order, streaming each prefix as it
 * completes: the async-iterable face of the RxJS `orderedResults`.
 *
 * @example
 * ```ts
 * for await (const outcome of from(items).pipe(bufferByTokens({ maxTokens: 2000 }), mergeBatches(handler), orderedResults())) {
 *   console.log(outcome.index); // 0, 1, 2, ...
 * }
 * ```
 */
export function orderedResults<T, R>(options?: OrderedResultsOptions): OperatorAsyncFunction<Outcome<T, R>, Outcome<T, R>> {
  return iterableOperator(orderedResultsSpec<T, R>(options));
}

/**
 * Numbers items of an async iterable as `{ kind: 'item', index, item }`: the async-iterable face of
 * the RxJS `indexItems`. Use it before splitting a stream per key (ix `groupBy`), so that one
 * `orderedResults` after the merge restores input order.
 *
 * @example
 * ```ts
 * from(tickets).pipe(indexItems(), groupBy((entry) => entry.item.tenant), flatMap((tenant) => tenant.pipe(bufferByTokens({ maxTokens: 4000 }), mergeBatches(classify))), orderedResults());
 * ```
 */
export function indexItems<T>(options?: IndexItemsOptions): OperatorAsyncFunction<T | IndexedItem<T>, IndexedItem<T>> {
  return iterableOperator(indexItemsSpec<T>(options));
}
