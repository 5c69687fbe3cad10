import { AbortError, BatchResultMismatchError, ContextOverflowError, InvalidItemError, QuotaExhaustedError, RateLimitError, TimeoutError, TransientError } from './errors.js';
import type { OptionReader } from './internal/options.js';

/**
 * How `mergeBatches` retries a failed attempt. The only retry layer in a chain: turn provider SDKs'
 * own retries off (for the OpenAI SDK, `maxRetries: 0`), or every failure is retried twice over.
 *
 * @example
 * ```ts
 * const retry: RetryOptions = { maxAttempts: 5, baseDelayMs: 250, maxDelayMs: 20_000 };
 * ```
 */
export interface RetryOptions {
  /** Attempts in all, the first included (at least 1). Default 3. */
  maxAttempts?: number;
  /** The first backoff ceiling, doubled after each failure. Default 500 ms. */
  baseDelayMs?: number;
  /** The largest backoff ceiling. Default 30,000 ms. */
  maxDelayMs?: number;
  /**
   * Whether an error is worth another attempt. Default: rate limits, timeouts, transient failures
   * and short result lists are; quota exhaustion, context overflow (split instead), invalid items,
   * aborts and unknown errors (bugs) are not.
   */
  retryable?: (error: Error) => boolean;
  /** The source of jitter, returning numbers in [0, 1). Default `Math.random`; pass a seeded one for replays. */
  random?: () => number;
}

/**
 * The default {@link RetryOptions.retryable}.
 *
 * @example
 * ```ts
 * isRetryable(new TransientError('502')); // true
 * isRetryable(new QuotaExhaustedError('no credit')); // false
 * ```
 */
export function isRetryable(error: Error): boolean {
  if (error instanceof QuotaExhaustedError || error instanceof ContextOverflowError || error instanceof InvalidItemError || error instanceof AbortError) {
    return false;
  }
  return error instanceof RateLimitError || error instanceof TimeoutError || error instanceof TransientError || error instanceof BatchResultMismatchError;
}

export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly retryable: (error: Error) => boolean;
  /** The wait before attempt `attempt + 1`, after `error` ended attempt `attempt`. */
  delay(attempt: number, error: Error): number;
}

/** The retry policy of `mergeBatches` from its `retry` option (`false` for none). */
export function retryPolicy(parent: OptionReader): RetryPolicy {
  if (parent.raw.retry === false) return { maxAttempts: 1, retryable: () => false, delay: () => 0 };
  const options = parent.nested('retry', ['maxAttempts', 'baseDelayMs', 'maxDelayMs', 'retryable', 'random']);
  const maxAttempts = options.optionalPositive('maxAttempts', { integer: true, min: 1 }) ?? 3;
  const baseDelayMs = options.optionalPositive('baseDelayMs') ?? 500;
  const maxDelayMs = options.optionalPositive('maxDelayMs') ?? 30_000;
  const retryable = options.fn<(error: Error) => boolean>('retryable') ?? isRetryable;
  const random = options.fn<() => number>('random') ?? Math.random;
  return {
    maxAttempts,
    retryable,
    delay(attempt, error) {
      // Full jitter (a uniform draw below an exponential ceiling) spreads retries of many callers.
      const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
      const jitter = random() * ceiling;
      // A provider that said how long to wait is obeyed, with a little jitter on top so that the
      // callers it told the same thing do not all come back in the same millisecond.
      if (error instanceof RateLimitError && error.retryAfterMs !== undefined) return error.retryAfterMs + jitter * 0.1;
      return jitter;
    },
  };
}
