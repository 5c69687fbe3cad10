import { positiveNumber } from '../options.js';

/** Option checks shared by the similarity indexes, on top of `../options.ts`. */

/**
 * A whole number in [min, max], or the fallback when undefined; throws naming the option.
 */
export function wholeNumber(value: unknown, name: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value)) throw new TypeError(`${name}: expected a number, got ${typeof value}`);
  if (!Number.isInteger(value) || value < min || value > max) throw new RangeError(`${name}: expected a whole number from ${min} to ${max}, got ${value}`);
  return value;
}

/**
 * A similarity threshold in (0, 1]; throws naming the option.
 */
export function similarityThreshold(value: unknown, name: string, what: string): number {
  const threshold = positiveNumber(value, name);
  if (threshold > 1) throw new RangeError(`${name}: expected a ${what} in (0, 1], got ${threshold}`);
  return threshold;
}

/**
 * The window bound every index has unless told otherwise.
 */
export const DEFAULT_MAX_ENTRIES = 10_000;

/**
 * `maxEntries` (default {@link DEFAULT_MAX_ENTRIES}) and `ttlMs` (default none) of an index.
 */
export function windowOptions(options: { maxEntries?: unknown; ttlMs?: unknown }): { maxEntries: number; ttlMs: number | undefined } {
  return {
    maxEntries: wholeNumber(options.maxEntries, 'maxEntries', 1, Number.MAX_SAFE_INTEGER, DEFAULT_MAX_ENTRIES),
    ttlMs: options.ttlMs === undefined ? undefined : positiveNumber(options.ttlMs, 'ttlMs'),
  };
}

/**
 * A representative id: the operator's item index, so a safe integer.
 */
export function representativeId(id: unknown, owner: string): number {
  if (typeof id !== 'number' || !Number.isSafeInteger(id)) throw new TypeError(`${owner}: add: id: expected a safe integer, got ${String(id)}`);
  return id;
}
