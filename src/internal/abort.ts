import { AbortError, TokenbatchError } from '../errors.js';

/**
 * The error a backend rejects with when its `signal` aborts. A reason that is already a tokenbatch
 * error (an operator aborting with a TimeoutError, say) is passed through unchanged so it keeps its
 * meaning for retries; anything else becomes an {@link AbortError} with the reason as `cause`.
 */
export function abortError(signal: AbortSignal, cause?: unknown): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof TokenbatchError) return reason;
  return new AbortError('the request was aborted', { cause: cause ?? reason });
}

/** `value` if it is an Error, else a TokenbatchError carrying it as `cause`: rejections are always Errors. */
export function toError(value: unknown): Error {
  return value instanceof Error ? value : new TokenbatchError(`non-Error thrown: ${String(value)}`, { cause: value });
}
