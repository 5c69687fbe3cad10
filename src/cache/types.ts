/**
 * The result cache's contract, shared by every store: keys are opaque strings (see `cacheKey`),
 * values are JSON-serializable results. Only successes are ever stored.
 */

/**
 * A value found in a cache. Wrapped, so that a cached `null` or `0` is told apart from a miss.
 *
 * @example
 * ```ts
 * const [hit] = await store.get([key]);
 * if (hit !== undefined) use(hit.value);
 * ```
 */
export interface CachedValue<V = unknown> {
  readonly value: V;
}

/**
 * One entry to write.
 *
 * @example
 * ```ts
 * const entry: CacheEntry<string> = { key, value: 'positive' };
 * ```
 */
export interface CacheEntry<V = unknown> {
  readonly key: string;
  readonly value: V;
}

/**
 * A store of results shared across runs (a file) or workers (Redis). Stores copy values through
 * JSON: what comes back is what `JSON.parse(JSON.stringify(value))` gives, on every store alike.
 *
 * @example
 * ```ts
 * const store: ResultCache<string> = createMemoryCache({ maxEntries: 10_000, ttlMs: 86_400_000 });
 * await store.set([{ key, value: 'positive' }]);
 * const [hit] = await store.get([key]); // { value: 'positive' }
 * ```
 */
export interface ResultCache<V = unknown> {
  /** One answer per key, in order: the cached value, or undefined for a miss (absent or expired). */
  get(keys: readonly string[]): Promise<(CachedValue<V> | undefined)[]>;
  /** Writes entries (replacing any under the same key), each kept for `ttlMs` (default: the store's). */
  set(entries: readonly CacheEntry<V>[], ttlMs?: number): Promise<void>;
  /** Releases what the store holds open (a file, a connection the store opened itself). */
  close?(): Promise<void>;
}

/**
 * Counts of a store or a cache layer.
 *
 * @example
 * ```ts
 * const { hits, misses } = layer.stats();
 * ```
 */
export interface CacheStats {
  hits: number;
  misses: number;
  /** Entries written. */
  writes: number;
  /** Store calls that failed (a failed read counts its keys as misses; a failed write is dropped). */
  errors: number;
  /** Successful results not cached because JSON cannot hold them unchanged (typed arrays, Dates, class instances). */
  uncacheable: number;
}
