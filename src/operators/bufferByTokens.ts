import type { OperatorFunction, SchedulerLike } from 'rxjs';
import { BatchingCore, parseBatchRules, TokenBatch } from '../internal/batcher.js';
import { Envelope } from '../internal/chain.js';
import { HIDDEN, type OperatorSpec } from '../internal/core.js';
import { rxOperator } from '../internal/rx-face.js';
import type { TelemetryOptions } from '../internal/telemetry.js';
import type { Batch, TokenizerSpec } from '../types.js';

/**
 * Options of {@link bufferByTokens}.
 *
 * @example
 * ```ts
 * const options: BufferByTokensOptions<Ticket> = {
 *   maxTokens: 8000,
 *   maxItems: 32,
 *   maxWaitMs: 250,
 *   text: (ticket) => ticket.body,
 *   batchOverheadTokens: 120, // the system prompt
 *   itemOverheadTokens: 4, // numbering and separators
 * };
 * ```
 */
export interface BufferByTokensOptions<T> {
  /** The token budget of a batch, overheads included. Required, positive. */
  maxTokens: number;
  /** At most this many items in a batch (a whole number, at least 1). Default: no limit. */
  maxItems?: number;
  /** Close a batch this many milliseconds after its first item arrived (positive). Default: no limit. */
  maxWaitMs?: number;
  /** The text of an item. Default: the item itself, which must then be a string. */
  text?: (item: T) => string;
  /** How tokens are counted. Default: `'o200k_base'` (GPT-4o and later). */
  tokenizer?: TokenizerSpec;
  /** Tokens paid once per batch, such as the system prompt. Default 0. */
  batchOverheadTokens?: number;
  /** Tokens paid per item, such as numbering and separators. Default 0. */
  itemOverheadTokens?: number;
  /**
   * What to do with an item that does not fit even in an empty batch: `'alone'` (default) emits it
   * as a single-item batch flagged `oversize: true`; `'error'` emits the open batch and then fails
   * the stream with an {@link OversizeItemError}.
   */
  oversize?: 'alone' | 'error';
  /** Where time comes from (for `maxWaitMs`). Default: RxJS `asyncScheduler`. */
  scheduler?: SchedulerLike;
  /** Tracer and meter for this operator's instruments, or `false` for none. Default: the global OpenTelemetry API. */
  telemetry?: TelemetryOptions | false;
}

/** The operator's logic for both faces. */
export function bufferByTokensSpec<T>(options: BufferByTokensOptions<T>): OperatorSpec<unknown, unknown, Batch<T>> {
  const rules = parseBatchRules<T>(options, 'bufferByTokens');
  return {
    create: (sink, link) => new BatchingCore<T>(rules, sink, link, 'buffer'),
    adopt: (value, numbering) => new Envelope(numbering.next++, value as T, rules.scheduler.now()),
    reveal: (output) => (output instanceof TokenBatch ? (output as TokenBatch<T>) : HIDDEN),
  };
}

/**
 * Buffers items into batches that never exceed a token budget or an item count, closed by size, by
 * a maximum wait counted from each batch's first item, or when the source ends.
 *
 * Greedy: a batch is never closed for size while the next item would still fit. Never emits an
 * empty batch. On a source error the open batch is emitted first, then the error. Token counts are
 * exact for the chosen tokenizer; cheap UTF-8 bounds spare the tokenizer wherever they prove a fit.
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
export function bufferByTokens<T>(options: BufferByTokensOptions<T>): OperatorFunction<T, Batch<T>> {
  return rxOperator(bufferByTokensSpec(options));
}
