import { cacheKey, checkIdentity, type CacheIdentity, type CacheKeyNormalization } from './key.js';
import { OptionReader } from '../internal/options.js';
import { toCacheJson, ttlOption } from './json.js';
import type { CachedValue, CacheStats, ResultCache } from './types.js';

/**
 * The `cache` option of a processing step (`mergeBatches(handler, { cache })`, or the
 * `tokenbatch run --cache` flag): where results are kept and what makes two items the same request.
 *
 * @example
 * ```ts
 * const cache: ResultCacheOptions<Ticket> = {
 *   store: createMemoryCache(),
 *   identity: { model: 'gpt-4o-mini', prompt: PROMPT, handler: 'triage@2' },
 *   key: (ticket) => ticket.body,
 *   ttlMs: 7 * 86_400_000,
 * };
 * ```
 */
export interface ResultCacheOptions<T> {
  /** The store: `createMemoryCache()`, `createSqliteCache()` (tokenbatch/cache-sqlite), `createRedisCache()` (tokenbatch/redis). */
  store: ResultCache;
  /** What changes the answer besides the text; required (see {@link CacheIdentity}). */
  identity: CacheIdentity;
  /** The text an item is keyed by (strip what does not change the answer: timestamps, signatures). Default: the item, which must be a string. */
  key?: (item: T) => string;
  /** How that text is normalized before hashing. Default `'text'` (NFKC, case, white space). */
  normalization?: CacheKeyNormalization;
  /** How long a result is reused. Default: the store's. */
  ttlMs?: number;
}

/**
 * What a lookup found: per item, its key (undefined when `key` threw for it: it is simply not
 * cached) and its cached value (undefined for a miss).
 *
 * @example
 * ```ts
 * const { keys, hits } = await layer.lookup(items);
 * ```
 */
export interface CacheLookup<R> {
  readonly keys: readonly (string | undefined)[];
  readonly hits: readonly (CachedValue<R> | undefined)[];
}

const OPTION_KEYS = ['store', 'identity', 'key', 'normalization', 'ttlMs'];

/**
 * Checks a `cache` option at creation and returns the layer that serves it: the glue between a
 * processing step and a {@link ResultCache}. Throws a TypeError or RangeError naming `owner`.
 *
 * @example
 * ```ts
 * const layer = resultCacheLayer<string, string>({ store, identity: { model: 'm1' } }, 'mergeBatches: cache');
 * ```
 */
export function resultCacheLayer<T, R>(options: unknown, owner: string): ResultCacheLayer<T, R> {
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    throw new TypeError(`${owner}: expected an object { store, identity, key?, normalization?, ttlMs? }`);
  const raw = new OptionReader(owner, options, OPTION_KEYS).raw;
  const store = raw.store as ResultCache | undefined;
  if (typeof store !== 'object' || store === null || typeof store.get !== 'function' || typeof store.set !== 'function') {
    throw new TypeError(`${owner}: store: expected a ResultCache ({ get(keys), set(entries, ttlMs?) }), such as createMemoryCache()`);
  }
  if (raw.identity === undefined) throw new TypeError(`${owner}: identity: required, an object naming what changes the answer ({ model, prompt, handler, schema, extra })`);
  const identity = checkIdentity(raw.identity, owner);
  if (raw.key !== undefined && typeof raw.key !== 'function') throw new TypeError(`${owner}: key: expected a function (item) => string, got ${typeof raw.key}`);
  const normalization = raw.normalization ?? 'text';
  if (normalization !== 'text' && normalization !== 'none')
    throw new RangeError(`${owner}: normalization: expected 'text' or 'none', got ${typeof normalization === 'string' ? `'${normalization}'` : typeof normalization}`);
  const ttlMs = ttlOption(raw.ttlMs, owner, 'ttlMs');
  return new ResultCacheLayer<T, R>(store, identity, raw.key as ((item: T) => string) | undefined, normalization, ttlMs);
}

/**
 * Serves a processing step's cache: keys items, reads a batch's hits in one store call, writes
 * successes only, and counts. A store that fails never fails an item: a failed read makes misses
 * (the items are sent), a failed write is dropped; both count as `errors` and reach `onError`.
 *
 * @example
 * ```ts
 * const { keys, hits } = await layer.lookup(batch);
 * // send only the items whose hit is undefined, then:
 * await layer.remember(keys, outcomes); // successes only
 * ```
 */
export class ResultCacheLayer<T, R> {
  readonly store: ResultCache;
  readonly identity: CacheIdentity;
  readonly ttlMs: number | undefined;
  readonly #key: ((item: T) => string) | undefined;
  readonly #normalization: CacheKeyNormalization;
  readonly #stats: CacheStats = { hits: 0, misses: 0, writes: 0, errors: 0, uncacheable: 0 };
  /** Told of each store failure (for telemetry); failures never fail an item. */
  onError: ((error: unknown, operation: 'get' | 'set') => void) | undefined;

  /** @internal */
  constructor(store: ResultCache, identity: CacheIdentity, key: ((item: T) => string) | undefined, normalization: CacheKeyNormalization, ttlMs: number | undefined) {
    this.store = store;
    this.identity = identity;
    this.#key = key;
    this.#normalization = normalization;
    this.ttlMs = ttlMs;
  }

  /**
   * The key of one item, or undefined when its text cannot be had (not a string, or `key` threw).
   *
   * @example
   * ```ts
   * const key = await layer.keyOf(item);
   * ```
   */
  async keyOf(item: T): Promise<string | undefined> {
    let text: unknown;
    try {
      text = this.#key === undefined ? item : this.#key(item);
    } catch {
      return undefined;
    }
    return typeof text === 'string' ? cacheKey(text, this.identity, this.#normalization) : undefined;
  }

  /**
   * Keys and looks up items in one store call; counts hits and misses.
   *
   * @example
   * ```ts
   * const { hits } = await layer.lookup(['great product', 'awful']);
   * ```
   */
  async lookup(items: readonly T[]): Promise<CacheLookup<R>> {
    const keys = await Promise.all(items.map((item) => this.keyOf(item)));
    const asked = keys.filter((key): key is string => key !== undefined);
    let found: (CachedValue<unknown> | undefined)[] = [];
    if (asked.length > 0) {
      try {
        found = await this.store.get(asked);
      } catch (error) {
        this.#stats.errors++;
        this.onError?.(error, 'get');
        found = [];
      }
    }
    let at = 0;
    const hits = keys.map((key) => (key === undefined ? undefined : (found[at++] as CachedValue<R> | undefined)));
    for (const hit of hits) {
      if (hit === undefined) this.#stats.misses++;
      else this.#stats.hits++;
    }
    return { keys, hits };
  }

  /**
   * Writes the successful outcomes under their keys in one store call. Failures are never cached,
   * nor outcomes without a key, nor outcomes that were themselves served from the cache, nor values
   * that JSON cannot hold unchanged (counted as `uncacheable`).
   *
   * @example
   * ```ts
   * await layer.remember(keys, [{ ok: true, value: 'positive' }, { ok: false }]); // writes one entry
   * ```
   */
  async remember(keys: readonly (string | undefined)[], outcomes: readonly { ok: boolean; value?: unknown; cached?: boolean }[]): Promise<void> {
    const entries: { key: string; value: unknown }[] = [];
    outcomes.forEach((outcome, i) => {
      const key = keys[i];
      if (key === undefined || !outcome.ok || outcome.cached === true) return;
      try {
        toCacheJson(key, outcome.value);
      } catch {
        this.#stats.uncacheable++;
        return;
      }
      entries.push({ key, value: outcome.value });
    });
    if (entries.length === 0) return;
    try {
      await this.store.set(entries, this.ttlMs);
      this.#stats.writes += entries.length;
    } catch (error) {
      this.#stats.errors++;
      this.onError?.(error, 'set');
    }
  }

  /**
   * A copy of the counts so far.
   *
   * @example
   * ```ts
   * const { hits, misses, writes, errors } = layer.stats();
   * ```
   */
  stats(): CacheStats {
    return { ...this.#stats };
  }
}
