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
export { splitOnOverflow, type SplitOnOverflowOptions } from './operators/splitOnOverflow.js';
export { orderedResults, type OrderedResultsOptions } from './operators/orderedResults.js';
export { rateLimiter, type RateLimiter, type RateLimiterOptions, type RateLimitGrant } from './internal/rate-limiter.js';
export { isRetryable, type RetryOptions } from './internal/retry.js';
export type { ChunkOptions } from './internal/splitting.js';
export type { TelemetryOptions } from './internal/telemetry.js';
export { isDuplicate, isFailure, isOk } from './outcomes.js';
export { getTokenizer, preloadTokenizer, resolveTokenizer, utf8Length } from './tokens/tokenizers.js';
export * from './backends/simulated.js';
export type {
  Batch,
  BatchHandler,
  CloseReason,
  EncodingName,
  FailureOutcome,
  HandlerContext,
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
  BatchResultMismatchError,
  ContextOverflowError,
  InvalidItemError,
  OversizeItemError,
  QueueOverflowError,
  QuotaExhaustedError,
  RateLimitError,
  TimeoutError,
  TokenbatchError,
  TransientError,
} from './errors.js';
