import type { OperatorFunction, SchedulerLike } from 'rxjs';
import type { OperatorSpec } from '../internal/core.js';
import { resultCacheLayer, type ResultCacheOptions } from '../cache/layer.js';
import { OptionReader } from '../internal/options.js';
import { rxOperator } from '../internal/rx-face.js';
import { optionalDelay } from '../internal/timers.js';
import { statsRecorder, type Stats } from '../stats.js';
import { telemetrySettings } from '../internal/telemetry.js';
import { rateLimiter, type RateLimiter, type RateLimiterOptions } from '../rateLimiter.js';
import { retryPolicy, type RetryOptions } from '../retry.js';
import { TokenMeter } from '../tokens/meter.js';
import { getTokenizer } from '../tokens/tokenizers.js';
import type { Batch, BatchHandler, ChainItem, Outcome, TelemetryOptions } from '../types.js';
import { isIsolatable } from './merge/attempts.js';
import { parseConcurrency } from './merge/concurrency.js';
import { parseBudget, type BudgetOptions } from './merge/budget.js';
import { MergeCore, type MergeSettings } from './merge/core.js';

/**
 * Options of {@link mergeBatches}.
 *
 * @example
 * ```ts
 * const options: MergeBatchesOptions<string> = {
 *   concurrency: 4,
 *   retry: { maxAttempts: 4 },
 *   timeoutMs: 30_000,
 *   rateLimit: { requestsPerMinute: 500, tokensPerMinute: 200_000 },
 * };
 * ```
 */
export interface MergeBatchesOptions<T> {
  /**
   * Batches processed at once: a sliding window, a new batch starts the moment one finishes. Default 4.
   * `'auto'` (1 to 64) or `{ min, max }` adapt it (AIMD): rate limits (429), timeouts and latency
   * well past its baseline lower it, calls that go well raise it; never above `max`.
   */
  concurrency?: number | 'auto' | { min?: number; max: number };
  /**
   * A batch starts only within this many batches of the oldest one still running, so a slow batch
   * holds back at most this many finished ones: it bounds what `orderedResults` buffers. Default
   * `16 × concurrency`; `Infinity` for pure completion order.
   */
  orderWindow?: number;
  /** Retries of a failed attempt, or `false` for none. See {@link RetryOptions}. */
  retry?: RetryOptions | false;
  /** Each attempt's time limit: its `signal` is aborted and it fails with a (retryable) `TimeoutError`. */
  timeoutMs?: number;
  /** Request and token budgets: a shared {@link RateLimiter}, or options for one of this operator's own. */
  rateLimit?: RateLimiter | RateLimiterOptions;
  /** The tokens a batch reserves from the limiter. Default: `batch.tokens` (settled to billed usage when the handler reports it). */
  estimateTokens?: (batch: Batch<T>) => number;
  /**
   * Whether a failed call may have been caused by one of its items, so that the batch is bisected to
   * find it. Default: `BatchRejectedError`, `BatchResultMismatchError`, and errors with
   * `isolatable: true`. Errors no item can cause (auth, quota, rate limits, timeouts, 5xx) never are.
   */
  isolate?: (error: Error) => boolean;
  /**
   * Items of asynchronous push sources (hot Observables) that may wait for a slot. Default 100,000.
   * Items a source delivers synchronously (`from(array)`) are already in memory and always queue;
   * async-iterable sources are pulled only when a slot is free, so they never queue.
   */
  maxQueuedItems?: number;
  /**
   * When the queue is full: `'fail'` (default) fails the arriving batch's items with a
   * `QueueOverflowError` outcome each (one error object per burst), so the stream goes on and nothing
   * is lost silently; `'error'` fails the stream.
   */
  overflow?: 'fail' | 'error';
  /** End the stream with the first failed outcome's error (after emitting that outcome). Default false. */
  failFast?: boolean;
  /** Map a provider's errors into the tokenbatch taxonomy before retry decisions (backends export one). */
  classifyError?: (error: unknown) => Error;
  /**
   * Reuse results across runs and workers: items whose key is in the store settle at once with
   * `cached: true` and are not sent; successes of the rest are written (failures never are). The
   * identity (model, prompt, handler version, schema) is part of every key. See {@link ResultCacheOptions}.
   */
  cache?: ResultCacheOptions<T>;
  /** Where time comes from (timeouts, backoff, rate limits). Default: RxJS `asyncScheduler`. */
  scheduler?: SchedulerLike;
  /** Tracer and meter for batch spans and instruments, or `false` for none. Default: the global OpenTelemetry API. */
  telemetry?: TelemetryOptions | false;
  /**
   * The urgency of an item (higher first): when batches wait for a slot, the batch holding the most
   * urgent item starts first. `orderedResults` still restores input order; priority changes when
   * work is done. Default: first in, first out.
   */
  priority?: (item: T) => number;
  /** Aging, so that low priority is never starved: a waiting batch gains 1 priority every this many ms. Default 10,000. */
  priorityAgingMs?: number;
  /**
   * A spend cap in tokens and/or US dollars, per run or per window (see {@link BudgetOptions}).
   * Each call reserves its estimate (`estimateTokens`, else `batch.tokens`) before it is sent, so the
   * spend passes the cap only by the calls in flight's under-estimate (their output tokens, mostly).
   */
  budget?: BudgetOptions;
  /** Where to count outcomes, calls, tokens, cost and latency (see {@link createStats}). */
  stats?: Stats;
}

const KEYS = [
  'concurrency',
  'orderWindow',
  'retry',
  'timeoutMs',
  'rateLimit',
  'estimateTokens',
  'isolate',
  'maxQueuedItems',
  'overflow',
  'failFast',
  'classifyError',
  'cache',
  'scheduler',
  'telemetry',
  'stats',
  'priority',
  'priorityAgingMs',
  'budget',
];

// Plain arrays given to mergeBatches are measured like this, only if a rate limit asks.
const plainText = (item: unknown): string => (typeof item === 'string' ? item : (JSON.stringify(item) ?? String(item)));

function parseSettings<T>(raw: MergeBatchesOptions<T> | undefined): MergeSettings<T> {
  const options = new OptionReader('mergeBatches', raw, KEYS);
  const scheduler = options.scheduler();
  const limit = options.raw.rateLimit;
  let limiter: RateLimiter | undefined;
  if (limit !== undefined) {
    if (typeof limit !== 'object' || limit === null) throw new TypeError('mergeBatches: rateLimit: expected a rateLimiter(...) or { requestsPerMinute?, tokensPerMinute? }');
    limiter = typeof (limit as Partial<RateLimiter>).acquire === 'function' ? (limit as RateLimiter) : rateLimiter({ scheduler, ...(limit as RateLimiterOptions) });
  }
  const concurrency = parseConcurrency(options);
  const orderWindow = options.raw.orderWindow === Infinity ? Infinity : (options.optionalPositive('orderWindow', { integer: true, min: 1 }) ?? 16 * concurrency.max);
  return {
    concurrency,
    orderWindow: Math.max(orderWindow, concurrency.max),
    retry: retryPolicy(options),
    timeoutMs: optionalDelay(options, 'timeoutMs'),
    limiter,
    estimateTokens: options.fn('estimateTokens'),
    isolate: options.fn<(error: Error) => boolean>('isolate') ?? isIsolatable,
    maxQueuedItems: options.optionalPositive('maxQueuedItems', { integer: true, min: 1 }) ?? 100_000,
    overflow: options.oneOf('overflow', ['fail', 'error'], 'fail'),
    failFast: options.bool('failFast', false),
    cache: options.raw.cache === undefined ? undefined : resultCacheLayer<T, unknown>(options.raw.cache, 'mergeBatches: cache'),
    classifyError: options.fn('classifyError'),
    scheduler,
    telemetry: telemetrySettings(options.raw.telemetry as TelemetryOptions | false | undefined, options.name('telemetry')),
    stats: statsRecorder(options),
    priority: options.fn('priority'),
    agingMs: options.optionalPositive('priorityAgingMs') ?? 10_000,
    budget: parseBudget(options, scheduler),
    plain: { meter: new TokenMeter<T>(plainText, getTokenizer('o200k_base')), maxTokens: Number.POSITIVE_INFINITY, batchOverheadTokens: 0, itemOverheadTokens: 0 },
  };
}

/** The operator's logic for both faces. */
export function mergeBatchesSpec<T, R>(handler: BatchHandler<T, R>, options?: MergeBatchesOptions<T>): OperatorSpec<unknown, Outcome<T, R>> {
  if (typeof handler !== 'function') throw new TypeError('mergeBatches: handler: expected a function (batch, context) => Promise<results>');
  const settings = parseSettings(options);
  return { create: (sink) => new MergeCore<T, R>(handler, settings, sink) };
}

/**
 * Processes batches concurrently with `handler`, and emits one {@link Outcome} per item, in
 * completion order: its result, or an explicit error after retries. A failure never ends the
 * stream (unless `failFast`).
 *
 * The handler gets each batch with `{ signal, attempt, splitDepth, report }` and returns one result
 * per item, in order (an array or array-like, as a Promise, Observable or AsyncIterable): the
 * DataLoader contract. An `Error` in the array fails that item alone, and so does a hole or
 * `undefined` (with a `BatchResultMismatchError` naming the item); retryable ones are retried alone,
 * without their batch-mates. An array of the wrong length fails the call; such a call, or a
 * `BatchRejectedError`, is bisected to find the items that cause it. Concurrency is a sliding
 * window; attempts are retried with exponential backoff and full jitter, honouring a rate limit's
 * `retryAfterMs`; `timeoutMs` aborts an attempt's `signal`; `rateLimit` spaces requests and tokens.
 * Unsubscribing aborts every in-flight handler's `signal` and clears all timers.
 *
 * It reads batches (and their `skipped` duplicates and failed items, which get their outcomes
 * here), plain arrays (numbered here), or single items.
 *
 * @example
 * ```ts
 * import { from } from 'rxjs';
 * import { bufferByTokens, mergeBatches, orderedResults } from 'tokenbatch';
 *
 * from(tickets)
 *   .pipe(
 *     bufferByTokens({ maxTokens: 4000, maxWaitMs: 200 }),
 *     mergeBatches(async (batch, { signal }) => classifyAll(batch.items, signal), { concurrency: 4, timeoutMs: 30_000 }),
 *     orderedResults(),
 *   )
 *   .subscribe((outcome) => console.log(outcome.index, outcome.ok ? outcome.value : outcome.error.name));
 * ```
 */
export function mergeBatches<T, R>(handler: BatchHandler<T, R>, options?: MergeBatchesOptions<T>): OperatorFunction<Batch<T> | readonly T[] | ChainItem<T>, Outcome<T, R>> {
  return rxOperator(mergeBatchesSpec(handler, options));
}
