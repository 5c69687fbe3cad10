import type { FailureOutcome, Outcome, SuccessOutcome } from './types.js';

/**
 * Whether an outcome succeeded (narrows its type).
 *
 * @example
 * ```ts
 * outcomes$.pipe(filter(isOk)).subscribe((outcome) => save(outcome.index, outcome.value));
 * ```
 */
export function isOk<T, R>(outcome: Outcome<T, R>): outcome is SuccessOutcome<T, R> {
  return outcome.ok;
}

/**
 * Whether an outcome failed (narrows its type).
 *
 * @example
 * ```ts
 * outcomes$.pipe(filter(isFailure)).subscribe((outcome) => console.error(outcome.index, outcome.error));
 * ```
 */
export function isFailure<T, R>(outcome: Outcome<T, R>): outcome is FailureOutcome<T> {
  return !outcome.ok;
}

/**
 * Whether an outcome was copied from a near-duplicate's representative rather than computed.
 *
 * @example
 * ```ts
 * const saved = outcomes.filter(isDuplicate).length;
 * ```
 */
export function isDuplicate<T, R>(outcome: Outcome<T, R>): boolean {
  return outcome.duplicateOf !== undefined;
}

/**
 * Whether an outcome's value came from `mergeBatches`' result cache (`cached: true`) rather than a call.
 *
 * @example
 * ```ts
 * const paid = outcomes.filter((outcome) => outcome.ok && !isCached(outcome)).length;
 * ```
 */
export function isCached<T, R>(outcome: Outcome<T, R>): boolean {
  return outcome.cached === true;
}
