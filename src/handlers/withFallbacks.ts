import { asyncScheduler, type SchedulerLike } from 'rxjs';
import { BatchRejectedError, ContextOverflowError, QuotaExhaustedError, RateLimitError, TimeoutError, TransientError } from '../errors.js';
import { handlerResult } from '../internal/handler-result.js';
import { nonNegative, optionalPositive, OptionReader, requireObject, scheduler as schedulerOption } from '../internal/options.js';
import type { Batch, BatchHandler, HandlerContext, HandlerResults } from '../types.js';

/**
 * Why a batch moves on to a fallback handler.
 * - `'quota'`: a {@link QuotaExhaustedError} (out of credit: waiting does not help).
 * - `'outage'`: a `TransientError` (HTTP 5xx, dropped connection) or the provider's own
 *   `TimeoutError`, on attempt `outageAfterAttempts` or later, that is after the operator's retries.
 * - `'rateLimit'`: a `RateLimitError`, from attempt `outageAfterAttempts` on.
 * - `'overflow'`: a {@link ContextOverflowError}: a larger-context model gets the batch before
 *   `splitOnOverflow` splits it.
 * - `'rejected'`: a {@link BatchRejectedError} (a content-policy refusal), before isolation.
 *
 * @example
 * ```ts
 * const on: FallbackReason[] = ['quota', 'outage'];
 * ```
 */
export type FallbackReason = 'quota' | 'outage' | 'rateLimit' | 'overflow' | 'rejected';

/**
 * One fallback: a handler, the reasons it takes batches for, and the model name that outcomes and
 * spans report when it answers.
 *
 * @example
 * ```ts
 * const longer: Fallback<string, string> = { handler: longContextModel, on: ['overflow'], model: 'gpt-4.1' };
 * ```
 */
export interface Fallback<T, R> {
  readonly handler: BatchHandler<T, R>;
  /** When a batch comes here. Default {@link WithFallbacksOptions.on} (`['quota', 'outage']`). */
  readonly on?: readonly FallbackReason[];
  /** Reported as `model` when this handler answers and did not report one itself. */
  readonly model?: string;
}

/**
 * Options of {@link withFallbacks}.
 *
 * @example
 * ```ts
 * const options: WithFallbacksOptions = { model: 'gpt-4o-mini', on: ['quota', 'outage'], cooldownMs: 60_000 };
 * ```
 */
export interface WithFallbacksOptions {
  /** The primary's model name, reported when it answers and did not report one itself. */
  model?: string;
  /** The reasons of fallbacks given as bare handlers. Default `['quota', 'outage']`. */
  on?: readonly FallbackReason[];
  /**
   * From which attempt an outage or a rate limit moves the batch on (earlier attempts fail as usual,
   * for `mergeBatches` to retry on the same handler). Default 2: one retry, then the fallback.
   */
  outageAfterAttempts?: number;
  /**
   * After a quota or outage failure, the failing handler is skipped for this long (ms) by every
   * batch whose fallbacks take that reason, so that they do not each pay a failed call. 0: never
   * skipped. Default 30,000.
   */
  cooldownMs?: number;
  /** Where the cooldown's clock comes from. Default RxJS `asyncScheduler`. */
  scheduler?: SchedulerLike;
}

const REASONS: readonly FallbackReason[] = ['quota', 'outage', 'rateLimit', 'overflow', 'rejected'];
const KEYS = ['model', 'on', 'outageAfterAttempts', 'cooldownMs', 'scheduler'];

interface Entry<T, R> {
  readonly handler: BatchHandler<T, R>;
  readonly on: ReadonlySet<FallbackReason>;
  readonly model: string | undefined;
  coolUntil: number;
  coolReason: FallbackReason | undefined;
}

/**
 * A batch handler that sends a batch to `primary` and, when it fails for a reason a fallback takes,
 * to the next fallback that takes it, in order (LiteLLM's fallbacks and LangChain's `withFallbacks`,
 * per batch). The default reasons are quota exhaustion and outages after the operator's retries;
 * a fallback with `on: ['overflow']` is a larger-context model that gets a batch before
 * `splitOnOverflow` splits it. Errors no fallback takes (401, invalid items, aborts) are thrown as
 * they are, and when every handler failed, the last error is thrown: `mergeBatches` then retries,
 * splits or fails the items as usual.
 *
 * A handler that failed with a quota or outage error is skipped for `cooldownMs` by later batches
 * (when a fallback takes that reason), so a model out of credit costs one failed call, not one per
 * batch. Answers always come from one handler whole: per-item `Error` values in a result array
 * are returned as they are.
 *
 * **Which model answered.** Each handler's `context.report` calls pass through; when the answering
 * handler did not report a `model`, its `model` option is reported, so the batch span's
 * `gen_ai.request.model` names the model that answered.
 *
 * @example
 * ```ts
 * import { from, lastValueFrom, toArray } from 'rxjs';
 * import { bufferByTokens, mergeBatches, orderedResults, QuotaExhaustedError, simulatedModel, withFallbacks } from 'tokenbatch';
 *
 * const backup = simulatedModel({ task: 'classify', latency: { baseMs: 1 } });
 * const handler = withFallbacks(
 *   async () => {
 *     throw new QuotaExhaustedError('out of credit');
 *   },
 *   [{ handler: backup.handler, model: 'backup-model' }],
 * );
 * const outcomes = await lastValueFrom(from(['refund please', 'app crashes']).pipe(bufferByTokens({ maxTokens: 100 }), mergeBatches(handler), orderedResults(), toArray()));
 * console.log(outcomes.map((outcome) => outcome.ok && outcome.value)); // the backup's labels
 * ```
 */
export function withFallbacks<T, R>(
  primary: BatchHandler<T, R>,
  fallbacks: readonly (BatchHandler<T, R> | Fallback<T, R>)[],
  options: WithFallbacksOptions = {},
): (batch: Batch<T>, context: HandlerContext) => Promise<HandlerResults<R>> {
  if (typeof primary !== 'function') throw new TypeError('withFallbacks: primary: expected a batch handler (a function)');
  if (!Array.isArray(fallbacks) || fallbacks.length === 0) throw new TypeError('withFallbacks: fallbacks: expected a non-empty array of handlers');
  const raw = requireObject(options, 'withFallbacks') as WithFallbacksOptions;
  new OptionReader('withFallbacks', raw, KEYS);
  const defaults = reasons(raw.on, 'withFallbacks: on') ?? new Set<FallbackReason>(['quota', 'outage']);
  const outageAfter = optionalPositive(raw.outageAfterAttempts, 'withFallbacks: outageAfterAttempts', { integer: true, min: 1 }) ?? 2;
  const cooldownMs = nonNegative(raw.cooldownMs, 'withFallbacks: cooldownMs', 30_000);
  const clock = raw.scheduler === undefined ? asyncScheduler : schedulerOption(raw.scheduler, 'withFallbacks: scheduler');
  const label = (value: unknown, name: string): string | undefined => {
    if (value !== undefined && (typeof value !== 'string' || value === '')) throw new TypeError(`withFallbacks: ${name}: expected a non-empty string`);
    return value;
  };
  const entries: Entry<T, R>[] = [
    { handler: primary, on: new Set(), model: label(raw.model, 'model'), coolUntil: 0, coolReason: undefined },
    ...fallbacks.map((fallback, i): Entry<T, R> => {
      if (typeof fallback === 'function') return { handler: fallback, on: defaults, model: undefined, coolUntil: 0, coolReason: undefined };
      const value = requireObject(fallback, `withFallbacks: fallbacks[${i}]`) as Partial<Fallback<T, R>>;
      new OptionReader('withFallbacks', value, ['handler', 'on', 'model'], `fallbacks[${i}]`);
      if (typeof value.handler !== 'function') throw new TypeError(`withFallbacks: fallbacks[${i}].handler: expected a batch handler (a function)`);
      const on = reasons(value.on, `withFallbacks: fallbacks[${i}].on`) ?? defaults;
      return { handler: value.handler, on, model: label(value.model, `fallbacks[${i}].model`), coolUntil: 0, coolReason: undefined };
    }),
  ];

  /** Why `error` may move a batch on, on attempt `attempt`; `undefined` when it may not. */
  const reasonOf = (error: unknown, attempt: number): FallbackReason | undefined => {
    if (error instanceof QuotaExhaustedError) return 'quota';
    if (error instanceof ContextOverflowError) return 'overflow';
    if (error instanceof BatchRejectedError) return 'rejected';
    if (attempt < outageAfter) return undefined;
    if (error instanceof TransientError || error instanceof TimeoutError) return 'outage';
    if (error instanceof RateLimitError) return 'rateLimit';
    return undefined;
  };
  const takesLater = (from: number, reason: FallbackReason) => entries.some((entry, i) => i > from && entry.on.has(reason));

  return async (batch, context) => {
    let reason: FallbackReason | undefined;
    let lastError: unknown;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      if (i > 0 && (reason === undefined || !entry.on.has(reason))) continue;
      // A handler cooling down is skipped when a later one takes the reason it failed for.
      if (entry.coolReason !== undefined && clock.now() < entry.coolUntil && takesLater(i, entry.coolReason)) {
        reason = entry.coolReason;
        continue;
      }
      let reportedModel = false;
      const attemptContext: HandlerContext = {
        ...context,
        report(facts) {
          if (facts.model !== undefined) reportedModel = true;
          context.report(facts);
        },
      };
      try {
        const results = await handlerResult(entry.handler(batch, attemptContext), context.signal);
        if (!reportedModel && entry.model !== undefined) context.report({ model: entry.model });
        return results;
      } catch (error) {
        if (context.signal.aborted) throw error;
        lastError = error;
        reason = reasonOf(error, context.attempt);
        if (reason === 'quota' || reason === 'outage') {
          entry.coolUntil = clock.now() + cooldownMs;
          entry.coolReason = cooldownMs > 0 ? reason : undefined;
        }
        if (reason === undefined || !takesLater(i, reason)) throw error;
      }
    }
    // Not reached: the last handler that takes a reason is never skipped, and its failure is thrown.
    throw lastError;
  };
}

function reasons(value: unknown, name: string): ReadonlySet<FallbackReason> | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0) throw new TypeError(`${name}: expected a non-empty array of ${REASONS.map((r) => `'${r}'`).join(', ')}`);
  for (const reason of value) {
    if (!REASONS.includes(reason as FallbackReason)) throw new RangeError(`${name}: expected one of ${REASONS.map((r) => `'${r}'`).join(', ')}, got ${JSON.stringify(reason)}`);
  }
  return new Set(value as FallbackReason[]);
}
