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
  /**
   * For grants of {@link RateLimiter.reserve}: the request goes on the wire now. The window counts
   * it from this moment, so a delay between grant and send cannot let two windows' worth through.
   */
  start?(): void;
  /** For grants of {@link RateLimiter.reserve}: the request will not be sent; give its place back. */
  release?(): void;
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
  /**
   * Like `acquire`, but the request counts from the moment its grant's `start()` is called (it holds
   * its place in the window until then), so requests as sent never exceed the limits in any window,
   * however late they leave after their grant. Call `release()` instead if it is never sent.
   */
  reserve?(tokens: number, signal?: AbortSignal): Promise<RateLimitGrant>;
  /** Stop granting for `ms` milliseconds (a 429 asked us to back off). */
  pause(ms: number): void;
  /** Take a provider's rate-limit headers into account: when they say nothing is left, wait for the reset. */
  observe(hint: RateLimitHint): void;
  /** Requests that had to wait, and requests waiting now. */
  readonly stats: { readonly waits: number; readonly waiting: number; readonly granted: number };
}

interface Granted {
  /** When the request was sent (or granted, for `acquire`); `Infinity` while a reservation waits for `start()`. */
  at: number;
  tokens: number;
}

interface Waiter {
  tokens: number;
  /** Granted by `reserve`: counts from `start()`. */
  reserved: boolean;
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
    return this.#enqueue(tokens, signal, false);
  }

  reserve(tokens: number, signal?: AbortSignal): Promise<RateLimitGrant> {
    return this.#enqueue(tokens, signal, true);
  }

  #enqueue(tokens: number, signal: AbortSignal | undefined, reserved: boolean): Promise<RateLimitGrant> {
    // A bad weight fails this request alone: NaN would silently switch the token limit off for everyone.
    if (typeof tokens !== 'number' || !Number.isFinite(tokens) || tokens < 0) {
      return Promise.reject(new RangeError(`rateLimiter: acquire: expected a token count >= 0, got ${String(tokens)}`));
    }
    if (signal?.aborted) return Promise.reject(signal.reason ?? new AbortError('aborted'));
    return new Promise<RateLimitGrant>((resolve, reject) => {
      const onAbort = () => {
        const at = this.#queue.indexOf(waiter);
        if (at >= 0) this.#queue.splice(at, 1);
        reject(signal?.reason ?? new AbortError('aborted'));
        this.#pump();
      };
      const waiter: Waiter = {
        tokens,
        reserved,
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
    const granted = this.#granted;
    // Records are kept in time order, reservations not yet started (at: Infinity) last.
    while (granted.length > 0 && (granted[0] as Granted).at <= now - this.windowMs) {
      this.#tokensInWindow -= (granted.shift() as Granted).tokens;
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
      const record: Granted = { at: head.reserved ? Number.POSITIVE_INFINITY : now, tokens: head.tokens };
      this.#granted.push(record);
      this.#sortStarted(record);
      this.#tokensInWindow += head.tokens;
      head.resolve(this.#grant(record));
    }
    // Nobody waits: a wake-up would only keep the scheduler (and a process) busy.
    this.#timer?.unsubscribe();
    this.#timer = undefined;
    this.#wakeAt = Number.POSITIVE_INFINITY;
  }

  #grant(record: Granted): RateLimitGrant {
    return {
      tokens: record.tokens,
      settle: (actual) => {
        if (!(typeof actual === 'number' && Number.isFinite(actual) && actual >= 0) || !this.#granted.includes(record)) return;
        this.#tokensInWindow += actual - record.tokens;
        record.tokens = actual;
      },
      start: () => {
        if (record.at !== Number.POSITIVE_INFINITY) return;
        // Sent now: its place in the window is counted from here (never earlier than the records before it).
        record.at = this.scheduler.now();
        this.#sortStarted(record);
        this.#pump();
      },
      release: () => {
        if (record.at !== Number.POSITIVE_INFINITY) return;
        const at = this.#granted.indexOf(record);
        if (at >= 0) this.#granted.splice(at, 1);
        this.#tokensInWindow -= record.tokens;
        this.#pump();
      },
    };
  }

  /** Keep the records ordered by time: a started reservation moves before those still waiting to start. */
  #sortStarted(record: Granted): void {
    const granted = this.#granted;
    let i = granted.lastIndexOf(record);
    while (i > 0 && (granted[i - 1] as Granted).at > record.at) {
      granted[i] = granted[i - 1] as Granted;
      i--;
    }
    granted[i] = record;
  }

  #wake(at: number): void {
    if (at === Number.POSITIVE_INFINITY) return; // a reservation must start first; its start() pumps again
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
