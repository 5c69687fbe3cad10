import type { SchedulerLike, Subscription } from 'rxjs';
import type { TokenBatch } from '../../batching/batch.js';
import { AbortError, BatchRejectedError, BatchResultMismatchError, ContextOverflowError, RateLimitError, TimeoutError, TokenbatchError } from '../../errors.js';
import type { Envelope } from '../../internal/chain.js';
import { asError } from '../../internal/error-utils.js';
import { handlerResult } from '../../internal/handler-result.js';
import type { AttemptFacts, AttemptSpan, Telemetry } from '../../internal/telemetry.js';
import { scheduleAfter } from '../../internal/timers.js';
import type { RateLimiter, RateLimitGrant } from '../../rateLimiter.js';
import type { RetryPolicy } from '../../retry.js';
import type { Batch, BatchHandler, HandlerContext } from '../../types.js';
import { recoverOverflow } from '../split/recovery.js';
import type { ItemResult } from './settlement.js';
import type { StatsRecorder } from '../../stats.js';
import type { Budget } from './budget.js';

/** What the solver needs of mergeBatches' options. */
export interface SolverSettings<T> {
  readonly retry: RetryPolicy;
  readonly timeoutMs: number | undefined;
  readonly limiter: RateLimiter | undefined;
  readonly estimateTokens: ((batch: Batch<T>) => number) | undefined;
  readonly classifyError: ((error: unknown) => Error) | undefined;
  readonly isolate: (error: Error) => boolean;
  readonly scheduler: SchedulerLike;
  readonly stats: StatsRecorder | undefined;
}

/** The in-flight work of one subscription, so that stopping cancels all of it in one place. */
export class Inflight {
  readonly controllers = new Set<AbortController>();
  readonly timers = new Set<Subscription>();
  readonly sleepers = new Set<() => void>();
  stopped = false;

  /** Abort in-flight handlers, clear timers and wake sleepers. */
  cancel(): void {
    this.stopped = true;
    for (const controller of this.controllers) controller.abort(new AbortError('the consumer went away'));
    for (const timer of this.timers) timer.unsubscribe();
    for (const wake of this.sleepers) wake();
    this.controllers.clear();
    this.timers.clear();
    this.sleepers.clear();
  }
}

/** Receives each item's result as soon as it is known. */
export type Deliver<T> = (entries: readonly Envelope<T>[], results: readonly ItemResult[]) => void;

type CallResult = { ok: true; values: ArrayLike<unknown>; model: string | undefined } | { ok: false; error: Error; model: string | undefined };

/**
 * Processes one batch until every item has a result:
 * - a call that fails as a whole is retried (backoff, `retryAfterMs`) while the error is retryable;
 * - a result array may hold an `Error` (or a hole) for an item: that item alone fails, and is retried
 *   alone when the error is retryable, without re-sending its batch-mates;
 * - a call refused because of some item (see `isolate`) is bisected until the items that fail
 *   alone are found, about 2·log2(n) extra calls for one such item in n;
 * - a context overflow goes to the overflow recovery of splitOnOverflow (halves, then chunks).
 */
export class Solver<T, R> {
  constructor(
    readonly handler: BatchHandler<T, R>,
    readonly settings: SolverSettings<T>,
    readonly telemetry: Telemetry,
    readonly inflight: Inflight,
    /** Told how each call that reached the handler ended, and how long it took (adaptive concurrency). */
    readonly feedback: ((error: Error | undefined, latencyMs: number) => void) | undefined = undefined,
    /** This subscription's spend cap, if any: each call reserves before it is sent. */
    readonly budget: Budget | undefined = undefined,
  ) {}

  /**
   * `calls`: handler calls these items were already part of (reported as `attempts`); `tries`:
   * attempts already spent on them from the retry budget (a bisection spends none).
   */
  async solve(unit: TokenBatch<T>, deliver: Deliver<T>, calls = 0, tries = 0): Promise<void> {
    const { retry } = this.settings;
    if (unit.oversize && unit.entries.length === 1 && unit.split?.chunk) {
      const refusal = new ContextOverflowError(`item ${(unit.entries[0] as Envelope<T>).index} exceeds maxTokens (${unit.maxTokens}) even alone`);
      return recoverOverflow(this, unit, refusal, deliver, calls);
    }
    for (;;) {
      if (this.inflight.stopped) return;
      tries++;
      calls++;
      const result = await this.#call(unit, tries);
      if (this.inflight.stopped) return;
      const depth = unit.splitDepth;
      if (result.ok) {
        const again: Envelope<T>[] = [];
        let againError: Error | undefined;
        const settled: Envelope<T>[] = [];
        const results: ItemResult[] = [];
        unit.entries.forEach((entry, i) => {
          const value = result.values[i];
          if (value !== undefined && !(value instanceof Error)) {
            settled.push(entry);
            results.push({ ok: true, value, attempts: calls, depth, model: result.model });
            return;
          }
          const error =
            value instanceof Error
              ? this.#classify(value)
              : new BatchResultMismatchError(`item ${entry.index}: the handler returned no result for it (a hole at position ${i})`, 1, 0, { itemIndex: entry.index });
          if (tries < retry.maxAttempts && retry.retryable(error)) {
            again.push(entry);
            againError ??= error;
          } else {
            settled.push(entry);
            results.push({ ok: false, error, attempts: calls, depth, model: result.model });
          }
        });
        if (settled.length > 0) deliver(settled, results);
        if (again.length === 0) return;
        // Only the items that failed alone go again, in a smaller batch of their own.
        this.telemetry.retried();
        if (this.settings.stats) this.settings.stats.retries++;
        await this.sleep(retry.delay(tries, againError as Error));
        unit = unit.regroup(again, false, unit.maxTokens, unit.split, []);
        continue;
      }
      const error = result.error;
      if (error instanceof ContextOverflowError && unit.split && depth < unit.split.maxSplitDepth) {
        return recoverOverflow(this, unit, error, deliver, calls);
      }
      if (unit.entries.length > 1 && this.settings.isolate(error)) {
        // Some item made the whole call fail: bisect, so that only the items that fail alone fail.
        this.telemetry.split();
        const middle = Math.ceil(unit.entries.length / 2);
        const left = unit.regroup(unit.entries.slice(0, middle), false, unit.maxTokens, unit.split, []);
        const right = unit.regroup(unit.entries.slice(middle), false, unit.maxTokens, unit.split, []);
        await this.solve(left, deliver, calls, tries - 1);
        await this.solve(right, deliver, calls, tries - 1);
        return;
      }
      if (error instanceof RateLimitError && error.retryAfterMs !== undefined) this.settings.limiter?.pause(error.retryAfterMs);
      if (tries >= retry.maxAttempts || !retry.retryable(error)) {
        deliver(
          unit.entries,
          unit.entries.map(() => ({ ok: false, error, attempts: calls, depth, model: result.model })),
        );
        return;
      }
      this.telemetry.retried();
      if (this.settings.stats) this.settings.stats.retries++;
      await this.sleep(retry.delay(tries, error));
    }
  }

  /** One handler call: wait for the rate limiter, start the span and the timeout, check the answer's shape. */
  async #call(unit: TokenBatch<T>, attempt: number): Promise<CallResult> {
    const { limiter, timeoutMs, scheduler } = this.settings;
    const controller = new AbortController();
    this.inflight.controllers.add(controller);
    let timer: Subscription | undefined;
    let grant: RateLimitGrant | undefined;
    let span: AttemptSpan | undefined;
    const facts: AttemptFacts = {};
    const stats = this.settings.stats;
    let counted = false;
    let sentAt = -1;
    let spend: Parameters<Budget['settle']>[0] | undefined;
    let failed = true;
    try {
      const weight = limiter || this.budget ? this.#weight(unit) : 0;
      if (this.budget) spend = await this.budget.reserve(weight, controller.signal);
      if (limiter) {
        const asked = scheduler.now();
        grant = await (limiter.reserve ? limiter.reserve(weight, controller.signal) : limiter.acquire(weight, controller.signal));
        if (scheduler.now() > asked) this.telemetry.rateLimitWaited();
      }
      // Cancelled while it waited its turn: the handler must not be called at all.
      controller.signal.throwIfAborted();
      span = this.telemetry.startAttempt(unit, attempt, scheduler.now());
      if (timeoutMs !== undefined) {
        timer = scheduleAfter(scheduler, timeoutMs, () => controller.abort(new TimeoutError(`attempt ${attempt} took longer than timeoutMs (${timeoutMs} ms)`)));
        this.inflight.timers.add(timer);
      }
      const context: HandlerContext = {
        signal: controller.signal,
        attempt,
        splitDepth: unit.splitDepth,
        report: (reported) => {
          if (reported.usage && grant) grant.settle(reported.usage.inputTokens + reported.usage.outputTokens);
          if (reported.rateLimit) limiter?.observe(reported.rateLimit);
          if (reported.usage) facts.usage = reported.usage;
          if (reported.model) facts.model = reported.model;
          if (reported.operation) facts.operation = reported.operation;
        },
      };
      const running = span;
      const sent = grant;
      const values = await handlerResult(
        running.run(() => {
          // The window counts this request from the moment it is handed to the handler.
          sent?.start?.();
          sentAt = scheduler.now();
          if (stats) {
            stats.callStarted();
            counted = true;
          }
          return this.handler(unit, context);
        }),
        controller.signal,
      );
      if (!isArrayLike(values) || values.length !== unit.entries.length) {
        const received = isArrayLike(values) ? values.length : 0;
        throw new BatchResultMismatchError(`the handler returned ${received} results for ${unit.entries.length} items`, unit.entries.length, received);
      }
      span.end(undefined, facts, scheduler.now());
      span = undefined;
      if (counted) this.#counted(unit, facts, undefined);
      counted = false;
      if (sentAt >= 0) this.feedback?.(undefined, scheduler.now() - sentAt);
      failed = false;
      return { ok: true, values, model: facts.model };
    } catch (raw) {
      const error = this.#classify(raw);
      span?.end(error, facts, scheduler.now());
      if (counted) this.#counted(unit, facts, error);
      if (sentAt >= 0) this.feedback?.(error, scheduler.now() - sentAt);
      return { ok: false, error, model: facts.model };
    } finally {
      grant?.release?.();
      // A sent attempt that reported no usage settles at its reservation when it ends: a limiter
      // shared across processes then counts the request from its end, as the provider does.
      if (grant && sentAt >= 0 && facts.usage === undefined) grant.settle(grant.tokens);
      // Billed usage replaces the reservation; a failed call without usage gives it back.
      if (spend && (facts.usage || failed)) this.budget?.settle(spend, facts.usage, facts.model);
      if (timer) {
        timer.unsubscribe();
        this.inflight.timers.delete(timer);
      }
      this.inflight.controllers.delete(controller);
    }
  }

  /** The tokens this call reserves; a bad estimate fails this call alone (the limiter stays on for everyone else). */
  #weight(unit: TokenBatch<T>): number {
    const estimate = this.settings.estimateTokens;
    if (!estimate) return unit.tokens;
    const weight = estimate(unit);
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) {
      throw new RangeError(
        `mergeBatches: estimateTokens: expected a token count >= 0 for the batch of item ${(unit.entries[0] as Envelope<T>).index}${unit.entries.length > 1 ? ` (and ${unit.entries.length - 1} more)` : ''}, got ${String(weight)}`,
      );
    }
    return weight;
  }

  /** A call ended: its tokens (billed, else the batch's), cost and kind of failure. */
  #counted(unit: TokenBatch<T>, facts: AttemptFacts, error: Error | undefined): void {
    const stats = this.settings.stats as StatsRecorder;
    let input = 0;
    let output = 0;
    if (facts.usage) {
      input = facts.usage.inputTokens;
      output = facts.usage.outputTokens;
    } else if (!error) {
      try {
        input = unit.tokens;
      } catch {
        input = 0;
      }
    }
    const kind = error === undefined ? 'ok' : error instanceof RateLimitError ? 'rateLimited' : error instanceof TimeoutError ? 'timeout' : 'error';
    stats.callEnded(unit.entries.length, input, output, facts.model, kind);
  }

  #classify(raw: unknown): Error {
    const classify = this.settings.classifyError;
    if (classify && !(raw instanceof TokenbatchError)) {
      try {
        return asError(classify(raw));
      } catch (error) {
        return asError(error);
      }
    }
    return asError(raw);
  }

  /** Wait `ms` on the scheduler; stopping wakes every sleeper at once. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        this.inflight.sleepers.delete(wake);
        this.inflight.timers.delete(timer);
        timer.unsubscribe();
        resolve();
      };
      this.inflight.sleepers.add(wake);
      const timer = scheduleAfter(this.settings.scheduler, ms, wake);
      this.inflight.timers.add(timer);
    });
  }
}

/** The default `isolate`: errors that some item in the call can cause. */
export function isIsolatable(error: Error): boolean {
  return error instanceof BatchRejectedError || error instanceof BatchResultMismatchError || (error as { isolatable?: unknown }).isolatable === true;
}

function isArrayLike(value: unknown): value is ArrayLike<unknown> {
  if (Array.isArray(value) || ArrayBuffer.isView(value)) return (value as ArrayLike<unknown>).length !== undefined;
  return typeof value === 'object' && value !== null && typeof (value as { length?: unknown }).length === 'number' && typeof value !== 'function';
}
