import { asyncScheduler, type SchedulerLike, type Subscription } from 'rxjs';
import { AbortError } from './errors.js';
import type { RateLimitHint } from './types.js';
import { OptionReader } from './internal/options.js';
import { scheduleAfter } from './internal/timers.js';

/**
 * Options of {@link rateLimiter}.
 *
 * @example
 * ```ts
 * const options: RateLimiterOptions = { requestsPerMinute: 500, tokensPerMinute: 200_000 };
 * ```
 */
export interface RateLimiterOptions {
  /** Requests allowed in any window of `windowMs`. Default: no limit. */
  requestsPerMinute?: number;
  /** Tokens allowed in any window of `windowMs` (each request weighs its batch's tokens). Default: no limit. */
  tokensPerMinute?: number;
  /** The window, in milliseconds. Default 60,000 (a minute, as providers count). */
  windowMs?: number;
  /** Where time comes from. Default: RxJS `asyncScheduler`. */
  scheduler?: SchedulerLike;
}

/**
 * Permission for one request, returned by {@link RateLimiter.acquire}.
 *
 * @example
 * ```ts
 * const grant = await limiter.acquire(1200);
 * grant.settle(1350); // the provider billed more than estimated
 * ```
 */
export interface RateLimitGrant {
  /** The tokens reserved for this request. */
  readonly tokens: number;
  /** Replace the reservation with the tokens actually used, once known. */
  settle(actualTokens: number): void;
}

/**
 * A request and token budget over a sliding window, shared by every pipeline that calls the same
 * model or key. Waiters are served first come, first served.
 *
 * @example
 * ```ts
 * const limiter = rateLimiter({ requestsPerMinute: 60, tokensPerMinute: 90_000 });
 * const grant = await limiter.acquire(batch.tokens, signal);
 * ```
 */
export interface RateLimiter {
  /** Wait until a request weighing `tokens` fits in the window, then reserve it. Rejects when `signal` aborts. */
  acquire(tokens: number, signal?: AbortSignal): Promise<RateLimitGrant>;
  /** Stop granting for `ms` milliseconds (a 429 asked us to back off). */
  pause(ms: number): void;
  /** Take a provider's rate-limit headers into account: when they say nothing is left, wait for the reset. */
  observe(hint: RateLimitHint): void;
  /** Requests that had to wait, and requests waiting now. */
  readonly stats: { readonly waits: number; readonly waiting: number; readonly granted: number };
}

interface Granted {
  at: number;
  tokens: number;
}

interface Waiter {
  tokens: number;
  resolve(grant: RateLimitGrant): void;
  reject(error: unknown): void;
  cleanup(): void;
  waited: boolean;
}

/**
 * Creates a {@link RateLimiter}: exact sliding-window accounting of requests and tokens (no window
 * ever holds more than the limits, unlike a token bucket that can let two windows' worth through at
 * a boundary). A request heavier than the whole token budget is let through alone, when the window
 * is otherwise empty, rather than waiting forever.
 *
 * @example
 * ```ts
 * import { rateLimiter, mergeBatches } from 'tokenbatch';
 * const shared = rateLimiter({ requestsPerMinute: 500, tokensPerMinute: 200_000 });
 * // pass `rateLimit: shared` to every mergeBatches that calls the same model
 * ```
 */
export function rateLimiter(options: RateLimiterOptions = {}): RateLimiter {
  const reader = new OptionReader('rateLimiter', options, ['requestsPerMinute', 'tokensPerMinute', 'windowMs', 'scheduler']);
  const requestLimit = reader.optionalPositive('requestsPerMinute') ?? Number.POSITIVE_INFINITY;
  const tokenLimit = reader.optionalPositive('tokensPerMinute') ?? Number.POSITIVE_INFINITY;
  const windowMs = reader.optionalPositive('windowMs') ?? 60_000;
  return new SlidingWindowLimiter(requestLimit, tokenLimit, windowMs, reader.scheduler());
}

class SlidingWindowLimiter implements RateLimiter {
  readonly #granted: Granted[] = [];
  readonly #queue: Waiter[] = [];
  #tokensInWindow = 0;
  #pausedUntil = Number.NEGATIVE_INFINITY;
  #wakeAt = Number.POSITIVE_INFINITY;
  #timer: Subscription | undefined;
  #waits = 0;
  #grantedCount = 0;
  #lastTokens = 1;

  constructor(
    readonly requestLimit: number,
    readonly tokenLimit: number,
    readonly windowMs: number,
    readonly scheduler: SchedulerLike = asyncScheduler,
  ) {}

  get stats() {
    return { waits: this.#waits, waiting: this.#queue.length, granted: this.#grantedCount };
  }

  acquire(tokens: number, signal?: AbortSignal): Promise<RateLimitGrant> {
    if (signal?.aborted) return Promise.reject(signal.reason ?? new AbortError('aborted'));
    return new Promise<RateLimitGrant>((resolve, reject) => {
      const onAbort = () => {
        const at = this.#queue.indexOf(waiter);
        if (at >= 0) this.#queue.splice(at, 1);
        reject(signal?.reason ?? new AbortError('aborted'));
        this.#pump();
      };
      const waiter: Waiter = {
        tokens: Math.max(0, tokens),
        resolve,
        reject,
        waited: false,
        cleanup: () => signal?.removeEventListener('abort', onAbort),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#queue.push(waiter);
      this.#pump();
    });
  }

  pause(ms: number): void {
    if (!(ms > 0)) return;
    this.#pausedUntil = Math.max(this.#pausedUntil, this.scheduler.now() + ms);
    this.#pump();
  }

  observe(hint: RateLimitHint): void {
    if (hint.remainingRequests !== undefined && hint.remainingRequests <= 0) this.pause(hint.resetRequestsMs ?? 1000);
    if (hint.remainingTokens !== undefined && hint.remainingTokens < this.#lastTokens) this.pause(hint.resetTokensMs ?? 1000);
  }

  #expire(now: number): void {
    while (this.#granted.length > 0 && (this.#granted[0] as Granted).at <= now - this.windowMs) {
      this.#tokensInWindow -= (this.#granted.shift() as Granted).tokens;
    }
  }

  /** When the head waiter may go: now, or the first moment enough of the window has expired. */
  #readyAt(waiter: Waiter, now: number): number {
    let at = Math.max(now, this.#pausedUntil);
    const granted = this.#granted;
    if (granted.length + 1 > this.requestLimit) {
      at = Math.max(at, (granted[granted.length - this.requestLimit] as Granted).at + this.windowMs);
    }
    // A request heavier than the whole budget goes when the window is empty.
    const need = Math.min(waiter.tokens, this.tokenLimit);
    let excess = this.#tokensInWindow + need - this.tokenLimit;
    for (let i = 0; excess > 0 && i < granted.length; i++) {
      const grant = granted[i] as Granted;
      excess -= grant.tokens;
      if (excess <= 0 || i === granted.length - 1) at = Math.max(at, grant.at + this.windowMs);
    }
    return at;
  }

  #pump(): void {
    const now = this.scheduler.now();
    this.#expire(now);
    while (this.#queue.length > 0) {
      const head = this.#queue[0] as Waiter;
      const at = this.#readyAt(head, now);
      if (at > now) {
        head.waited = true;
        this.#wake(at);
        return;
      }
      this.#queue.shift();
      head.cleanup();
      if (head.waited) this.#waits++;
      this.#grantedCount++;
      this.#lastTokens = Math.max(1, head.tokens);
      const record: Granted = { at: now, tokens: head.tokens };
      this.#granted.push(record);
      this.#tokensInWindow += head.tokens;
      head.resolve({
        tokens: head.tokens,
        settle: (actual) => {
          if (!(actual >= 0) || !this.#granted.includes(record)) return;
          this.#tokensInWindow += actual - record.tokens;
          record.tokens = actual;
        },
      });
    }
    // Nobody waits: a wake-up would only keep the scheduler (and a process) busy.
    this.#timer?.unsubscribe();
    this.#timer = undefined;
    this.#wakeAt = Number.POSITIVE_INFINITY;
  }

  #wake(at: number): void {
    if (this.#timer && this.#wakeAt <= at) return;
    this.#timer?.unsubscribe();
    this.#wakeAt = at;
    this.#timer = scheduleAfter(this.scheduler, at - this.scheduler.now(), () => {
      this.#timer = undefined;
      this.#wakeAt = Number.POSITIVE_INFINITY;
      this.#pump();
    });
  }
}
