/**
 * tokenbatch: reactive batching operators that feed live event streams into LLM APIs.
 *
 * This entry point holds the RxJS operators; `tokenbatch/iterable` holds the same operators for
 * async iterables (ix `pipe`).
 *
 * @packageDocumentation
 */
export { bufferByTokens, type BufferByTokensOptions } from './operators/bufferByTokens.js';
export { getTokenizer, resolveTokenizer, utf8Length } from './backends/tokenizers.js';
export * from './backends/simulated.js';
export type { Batch, CloseReason, EncodingName, Tokenizer, TokenizerSpec } from './types.js';
export {
  AbortError,
  BatchResultMismatchError,
  ContextOverflowError,
  InvalidItemError,
  OversizeItemError,
  QuotaExhaustedError,
  RateLimitError,
  TimeoutError,
  TokenbatchError,
  TransientError,
} from './errors.js';
