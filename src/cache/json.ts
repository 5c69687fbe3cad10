import { OptionReader } from '../internal/options.js';

/**
 * Only plain data round-trips through JSON unchanged: a typed array, Map, Set, Date or class
 * instance would come back as something else, so it is refused rather than cached changed.
 */
function plainOnly(this: unknown, key: string, value: unknown): unknown {
  const original = (this as Record<string, unknown>)[key];
  if (typeof original === 'object' && original !== null && !Array.isArray(original)) {
    const proto = Object.getPrototypeOf(original) as unknown;
    if (proto !== Object.prototype && proto !== null) throw new TypeError(`a ${original.constructor?.name ?? 'non-plain object'} does not round-trip through JSON`);
  }
  if (typeof original === 'number' && !Number.isFinite(original)) throw new TypeError(`${original} does not round-trip through JSON`);
  return value;
}

/**
 * The JSON text of a value to cache, checked: a value JSON cannot hold unchanged (undefined, a
 * function, a bigint, a cycle, NaN, a typed array, Map, Set, Date or class instance) throws a
 * TypeError naming the key, so that a result is never cached changed.
 *
 * @example
 * ```ts
 * const text = toCacheJson('k1', { label: 'spam' }); // '{"label":"spam"}'
 * toCacheJson('k2', new Float32Array(2)); // throws: a Float32Array does not round-trip through JSON
 * ```
 */
export function toCacheJson(key: string, value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value, plainOnly);
  } catch (error) {
    throw new TypeError(`result cache: the value for key ${key} is not JSON-serializable: ${(error as Error).message}`, { cause: error });
  }
  if (text === undefined) throw new TypeError(`result cache: the value for key ${key} is not JSON-serializable (${typeof value})`);
  return text;
}

/**
 * A whole number of milliseconds > 0, or undefined; throws naming the owner and the option.
 *
 * @example
 * ```ts
 * ttlOption(options.ttlMs, 'createMemoryCache', 'ttlMs');
 * ```
 */
export function ttlOption(value: unknown, owner: string, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || Number.isNaN(value)) throw new TypeError(`${owner}: ${name}: expected a number of milliseconds, got ${typeof value}`);
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${owner}: ${name}: expected a number > 0, got ${value}`);
  return value;
}

/**
 * A whole number >= 1, or the fallback; throws naming the owner and the option.
 *
 * @example
 * ```ts
 * countOption(options.maxEntries, 'createMemoryCache', 'maxEntries', 10_000);
 * ```
 */
export function countOption(value: unknown, owner: string, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value)) throw new TypeError(`${owner}: ${name}: expected a number, got ${typeof value}`);
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${owner}: ${name}: expected a whole number >= 1, got ${value}`);
  return value;
}

/**
 * Checks that options are an object with only known keys (a typo gets a suggestion); throws a
 * TypeError naming the owner, as every tokenbatch option check does.
 *
 * @example
 * ```ts
 * knownKeys(options, 'createMemoryCache', ['maxEntries', 'ttlMs', 'clock']);
 * ```
 */
export function knownKeys(options: unknown, owner: string, keys: readonly string[]): Record<string, unknown> {
  return new OptionReader(owner, options, keys).raw;
}

/**
 * Checks the arguments of `get`.
 *
 * @example
 * ```ts
 * checkKeys(keys, 'memory cache');
 * ```
 */
export function checkKeys(keys: unknown, owner: string): readonly string[] {
  if (!Array.isArray(keys)) throw new TypeError(`${owner}: get: expected an array of keys`);
  for (const key of keys)
    if (typeof key !== 'string' || key === '')
      throw new TypeError(`${owner}: get: expected non-empty string keys, got ${typeof key === 'string' ? 'an empty string' : typeof key}`);
  return keys as readonly string[];
}

/**
 * Checks the arguments of `set`: entries with non-empty string keys; returns their JSON texts.
 *
 * @example
 * ```ts
 * const texts = checkEntries(entries, 'memory cache');
 * ```
 */
export function checkEntries(entries: unknown, owner: string): string[] {
  if (!Array.isArray(entries)) throw new TypeError(`${owner}: set: expected an array of { key, value } entries`);
  return entries.map((entry: unknown) => {
    if (typeof entry !== 'object' || entry === null) throw new TypeError(`${owner}: set: expected { key, value } entries`);
    const { key, value } = entry as { key: unknown; value: unknown };
    if (typeof key !== 'string' || key === '') throw new TypeError(`${owner}: set: expected non-empty string keys`);
    return toCacheJson(key, value);
  });
}
