import { LRUCache } from 'lru-cache';
import { checkEntries, checkKeys, countOption, knownKeys, ttlOption } from './json.js';
import type { CacheEntry, CachedValue, ResultCache } from './types.js';

const OWNER = 'createMemoryCache';

/**
 * Options of {@link createMemoryCache}.
 *
 * @example
 * ```ts
 * const options: MemoryCacheOptions = { maxEntries: 10_000, ttlMs: 3_600_000 };
 * ```
 */
export interface MemoryCacheOptions {
  /** At most this many entries; the least recently used is dropped first. Default 10,000. */
  maxEntries?: number;
  /** How long an entry lives unless `set` says otherwise. Default: until evicted. */
  ttlMs?: number;
  /** Where time comes from (an RxJS scheduler fits). Default: `performance.now()`. */
  clock?: { now(): number };
}

/**
 * An in-process result cache on `lru-cache`: bounded by `maxEntries` (least recently used out
 * first), entries expire after `ttlMs`. Values are kept as JSON text, so a result changed by its
 * user after caching is not changed in the cache. Lives as long as the process: for a cache across
 * runs use `tokenbatch/cache-sqlite`, across machines the Redis store of `tokenbatch/redis`.
 *
 * @example
 * ```ts
 * import { createMemoryCache } from 'tokenbatch';
 *
 * const cache = createMemoryCache<string>({ maxEntries: 1000, ttlMs: 60_000 });
 * await cache.set([{ key: 'k', value: 'positive' }]);
 * console.log(await cache.get(['k', 'other'])); // [ { value: 'positive' }, undefined ]
 * ```
 */
export function createMemoryCache<V = unknown>(options: MemoryCacheOptions = {}): ResultCache<V> {
  const raw = knownKeys(options, OWNER, ['maxEntries', 'ttlMs', 'clock']);
  const max = countOption(raw.maxEntries, OWNER, 'maxEntries', 10_000);
  const ttl = ttlOption(raw.ttlMs, OWNER, 'ttlMs');
  const clock = raw.clock as MemoryCacheOptions['clock'];
  if (clock !== undefined && (typeof clock !== 'object' || clock === null || typeof clock.now !== 'function'))
    throw new TypeError(`${OWNER}: clock: expected an object with now()`);
  const lru = new LRUCache<string, string>({
    max,
    ...(ttl === undefined ? {} : { ttl }),
    // Expired entries are dropped when read or when the bound needs room, never by a timer; and the
    // time is read on each check (lru-cache's default caches it for 1 ms with a timer).
    ttlAutopurge: false,
    ttlResolution: 0,
    ...(clock === undefined ? {} : { perf: { now: () => clock.now() } }),
  });
  const owner = 'memory cache';
  return {
    async get(keys: readonly string[]): Promise<(CachedValue<V> | undefined)[]> {
      return checkKeys(keys, owner).map((key) => {
        const text = lru.get(key);
        return text === undefined ? undefined : { value: JSON.parse(text) as V };
      });
    },
    async set(entries: readonly CacheEntry<V>[], ttlMs?: number): Promise<void> {
      const entryTtl = ttlOption(ttlMs, owner, 'set: ttlMs');
      const texts = checkEntries(entries, owner);
      entries.forEach((entry, i) => lru.set(entry.key, texts[i], entryTtl === undefined ? undefined : { ttl: entryTtl }));
    },
    async close(): Promise<void> {
      lru.clear();
    },
  };
}
