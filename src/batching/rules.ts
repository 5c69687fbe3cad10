import type { SchedulerLike } from 'rxjs';
import type { OptionReader } from '../internal/options.js';
import { optionalDelay } from '../internal/timers.js';
import { telemetrySettings, type TelemetrySettings } from '../internal/telemetry.js';
import { itemAsText, type TextOf } from '../internal/item-text.js';
import { TokenMeter } from '../tokens/meter.js';
import { resolveTokenizer } from '../tokens/tokenizers.js';
import type { TelemetryOptions, TokenizerSpec } from '../types.js';
import { statsRecorder, type Stats, type StatsRecorder } from '../stats.js';

/**
 * Options of {@link bufferByTokens} (and, with `boundaries`, of `groupByLength`).
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
  /**
   * Adapt the wait to this latency goal (arrival to outcome, in ms): the wait shrinks when latency
   * passes the target (measured by `stats` when given, else the batches' own waits) and grows toward
   * `min(maxWaitMs, latencyTargetMs)` to fill batches when traffic is sparse. `maxWaitMs` still
   * holds: no item waits longer. Default: no adaptation (batches close at `maxWaitMs`).
   */
  latencyTargetMs?: number;
  /**
   * With `latencyTargetMs`: a batch closes before `maxWaitMs` only once it holds this many items
   * (a whole number, at least 1). Default 1.
   */
  minItems?: number;
  /** Where time comes from (for `maxWaitMs`). Default: RxJS `asyncScheduler`. */
  scheduler?: SchedulerLike;
  /** Tracer and meter for this operator's instruments, or `false` for none. Default: the global OpenTelemetry API. */
  telemetry?: TelemetryOptions | false;
  /** Where to count items, batches, utilization and waits (see {@link createStats}). */
  stats?: Stats;
}

/** The option keys of bufferByTokens. */
export const BATCH_KEYS = [
  'maxTokens',
  'maxItems',
  'maxWaitMs',
  'text',
  'tokenizer',
  'batchOverheadTokens',
  'itemOverheadTokens',
  'oversize',
  'scheduler',
  'telemetry',
  'stats',
  'latencyTargetMs',
  'minItems',
] as const;

/** The rules a batch is formed under (validated options of bufferByTokens and groupByLength). */
export interface BatchRules<T> {
  readonly meter: TokenMeter<T>;
  readonly maxTokens: number;
  readonly maxItems: number;
  readonly maxWaitMs: number | undefined;
  readonly batchOverheadTokens: number;
  readonly itemOverheadTokens: number;
  readonly oversize: 'alone' | 'error';
  readonly scheduler: SchedulerLike;
  readonly telemetry: TelemetrySettings;
  readonly stats: StatsRecorder | undefined;
  readonly latencyTargetMs: number | undefined;
  readonly minItems: number;
}

/** Validate the batching options, throwing at creation with the operator's and the option's name. */
export function parseBatchRules<T>(options: OptionReader): BatchRules<T> {
  const textOf = options.fn<TextOf<T>>('text') ?? itemAsText;
  return {
    maxTokens: options.positive('maxTokens'),
    maxItems: options.optionalPositive('maxItems', { integer: true, min: 1 }) ?? Number.POSITIVE_INFINITY,
    maxWaitMs: optionalDelay(options, 'maxWaitMs'),
    batchOverheadTokens: options.nonNegative('batchOverheadTokens', 0),
    itemOverheadTokens: options.nonNegative('itemOverheadTokens', 0),
    oversize: options.oneOf('oversize', ['alone', 'error'], 'alone'),
    scheduler: options.scheduler(),
    meter: new TokenMeter(textOf, resolveTokenizer(options.raw.tokenizer as TokenizerSpec | undefined, options.name('tokenizer'))),
    telemetry: telemetrySettings(options.raw.telemetry as TelemetryOptions | false | undefined, options.name('telemetry')),
    stats: statsRecorder(options),
    latencyTargetMs: optionalDelay(options, 'latencyTargetMs'),
    minItems: options.optionalPositive('minItems', { integer: true, min: 1 }) ?? 1,
  };
}
