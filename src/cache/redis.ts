import { checkEntries, checkKeys, countOption, knownKeys, ttlOption } from './json.js';
import type { CacheEntry, CachedValue, ResultCache } from './types.js';

const OWNER = 'createRedisCache';

/**
 * What the Redis cache needs of a client: ioredis's `Redis` fits as it is.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * const client: RedisCacheClient = new Redis('redis://127.0.0.1:6379');
 * ```
 */
export interface RedisCacheClient {
  call(command: string, ...args: (string | number)[]): Promise<unknown>;
}

/**
 * Options of {@link createRedisCache}.
 *
 * @example
 * ```ts
 * const options: RedisCacheOptions = { client, prefix: 'triage:cache:', maxEntries: 500_000, ttlMs: 7 * 86_400_000 };
 * ```
 */
export interface RedisCacheOptions {
  /** The connection (ioredis `Redis`); the cache never closes it. */
  client: RedisCacheClient;
  /** Prefixes every key, so that jobs can share a server. Default `'tokenbatch:cache:'`. */
  prefix?: string;
  /** At most this many entries under the prefix (the oldest written go first). Default 1,000,000. */
  maxEntries?: number;
  /** How long an entry lives unless `set` says otherwise (Redis expires it). Default: until evicted. */
  ttlMs?: number;
}

// One atomic step per `set`: write each entry (with its expiry), note it in the prefix's index by
// write time, then evict the oldest beyond the bound. Entry keys are derived from the prefix, so a
// single server (not Redis Cluster) is assumed.
const SET_SCRIPT = `
local now = tonumber(ARGV[1])
local ttl = ARGV[2]
local max = tonumber(ARGV[3])
for i = 4, #ARGV, 2 do
  if ttl == '' then redis.call('SET', ARGV[i], ARGV[i + 1]) else redis.call('SET', ARGV[i], ARGV[i + 1], 'PX', ttl) end
  redis.call('ZADD', KEYS[1], now, ARGV[i])
end
local n = redis.call('ZCARD', KEYS[1])
if n > max then
  local old = redis.call('ZPOPMIN', KEYS[1], n - max)
  for j = 1, #old, 2 do redis.call('DEL', old[j]) end
end
return n
`;

/**
 * A result cache on Redis, shared by every worker of a job: `get` is one `MGET`, `set` one atomic
 * script that writes the entries with their expiry (`PX`) and keeps at most `maxEntries` under the
 * prefix (an index sorted set by write time; the oldest written are deleted first). Values are JSON
 * text. Needs a single Redis server (or Sentinel), not Redis Cluster.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { createRedisCache } from 'tokenbatch/redis';
 *
 * const client = new Redis(redisUrl);
 * const cache = createRedisCache<string>({ client, prefix: 'example:cache:', ttlMs: 60_000 });
 * await cache.set([{ key: 'k', value: 'positive' }]);
 * console.log(await cache.get(['k', 'missing'])); // [ { value: 'positive' }, undefined ]
 * client.disconnect();
 * ```
 */
export function createRedisCache<V = unknown>(options: RedisCacheOptions): ResultCache<V> {
  const raw = knownKeys(options, OWNER, ['client', 'prefix', 'maxEntries', 'ttlMs']);
  const client = raw.client as RedisCacheClient | undefined;
  if (typeof client !== 'object' || client === null || typeof client.call !== 'function')
    throw new TypeError(`${OWNER}: client: expected a Redis client with call(command, ...args), such as ioredis's Redis`);
  const prefix = raw.prefix ?? 'tokenbatch:cache:';
  if (typeof prefix !== 'string') throw new TypeError(`${OWNER}: prefix: expected a string, got ${typeof prefix}`);
  const maxEntries = countOption(raw.maxEntries, OWNER, 'maxEntries', 1_000_000);
  const defaultTtl = ttlOption(raw.ttlMs, OWNER, 'ttlMs');
  const owner = 'redis cache';
  return {
    async get(keys: readonly string[]): Promise<(CachedValue<V> | undefined)[]> {
      checkKeys(keys, owner);
      if (keys.length === 0) return [];
      const texts = (await client.call('MGET', ...keys.map((key) => prefix + key))) as (string | null)[];
      return keys.map((_, i) => {
        const text = texts[i];
        return text === null || text === undefined ? undefined : { value: JSON.parse(text) as V };
      });
    },
    async set(entries: readonly CacheEntry<V>[], ttlMs?: number): Promise<void> {
      const ttl = ttlOption(ttlMs, owner, 'set: ttlMs') ?? defaultTtl;
      const texts = checkEntries(entries, owner);
      if (entries.length === 0) return;
      const args: (string | number)[] = [Date.now(), ttl === undefined ? '' : Math.ceil(ttl), maxEntries];
      entries.forEach((entry, i) => args.push(prefix + entry.key, texts[i] as string));
      await client.call('EVAL', SET_SCRIPT, 1, `${prefix}__index`, ...args);
    },
  };
}
