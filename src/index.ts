/**
 * tokenbatch: reactive batching operators that feed live event streams into LLM APIs.
 *
 * This entry point holds the RxJS operators; `tokenbatch/iterable` holds the same operators for
 * async iterables (ix `pipe`).
 *
 * @packageDocumentation
 */
export { bufferByTokens, type BufferByTokensOptions } from './operators/bufferByTokens.js';
export { dedupeSimilar, type DedupeSimilarOptions } from './operators/dedupeSimilar.js';
export { groupByLength, logBoundaries, type GroupByLengthOptions } from './operators/groupByLength.js';
export { mergeBatches, type MergeBatchesOptions } from './operators/mergeBatches.js';
export type { BudgetOptions } from './operators/merge/budget.js';
export { splitOnOverflow, type SplitOnOverflowOptions } from './operators/splitOnOverflow.js';
export { orderedResults, type OrderedResultsOptions } from './operators/orderedResults.js';
export { indexItems, type IndexItemsOptions } from './operators/indexItems.js';
export { createStats, type ChainStats, type Stats, type StatsOptions } from './stats.js';
export { DEFAULT_PRICES, type ModelPrice } from './pricing.js';
export { rateLimiter, type RateLimiter, type RateLimiterOptions, type RateLimitGrant } from './rateLimiter.js';
export { isRetryable, type RetryOptions } from './retry.js';
export { isCached, isDuplicate, isFailure, isOk } from './outcomes.js';
export { getTokenizer, preloadTokenizer, resolveTokenizer, utf8Length } from './tokens/tokenizers.js';
export * from './backends/simulated.js';
export type {
  Batch,
  BatchHandler,
  ChainItem,
  ChunkOptions,
  TelemetryOptions,
  Vector,
  CloseReason,
  DuplicateItem,
  FailedItem,
  IndexedItem,
  SkippedItem,
  EncodingName,
  FailureOutcome,
  HandlerContext,
  HandlerResults,
  Outcome,
  OutcomeBase,
  RateLimitHint,
  SuccessOutcome,
  Tokenizer,
  TokenizerSpec,
  Usage,
} from './types.js';
export {
  AbortError,
  BatchRejectedError,
  BudgetExceededError,
  BatchResultMismatchError,
  ContextOverflowError,
  InvalidItemError,
  OutcomeOrderError,
  OversizeItemError,
  QueueOverflowError,
  QuotaExhaustedError,
  RateLimitError,
  TimeoutError,
  TokenbatchError,
  TransientError,
} from './errors.js';
export { withFallbacks, type Fallback, type FallbackReason, type WithFallbacksOptions } from './handlers/withFallbacks.js';
export {
  cacheKey,
  createMemoryCache,
  resultCacheLayer,
  ResultCacheLayer,
  type CachedValue,
  type CacheEntry,
  type CacheIdentity,
  type CacheKeyNormalization,
  type CacheLookup,
  type CacheStats,
  type MemoryCacheOptions,
  type ResultCache,
  type ResultCacheOptions,
} from './cache/index.js';
