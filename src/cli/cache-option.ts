/**
 * `tokenbatch run --cache <path | redis://…>`: the flag's parser, the store it opens, the identity
 * that keys a job's results, and a handler wrapper that answers cached items without a request.
 * Kept apart from program.ts and run.ts, which wire it in three lines.
 */
import type { ResultCache } from '../cache/types.js';
import type * as SqliteStore from '../cache/sqlite.js';
import type { Redis as RedisClient } from 'ioredis';
import type { CacheIdentity } from '../cache/key.js';
import { resultCacheLayer, type ResultCacheLayer } from '../cache/layer.js';
import { handlerResult } from '../internal/handler-result.js';
import type { Batch, BatchHandler } from '../types.js';
import { InvalidArgumentError } from 'commander';
import { CliError, missingPeer } from './output.js';

/**
 * Where `--cache` keeps results: a SQLite file, or a Redis server.
 *
 * @example
 * ```ts
 * const target: CacheTarget = parseCacheTarget('redis://127.0.0.1:6379/0');
 * ```
 */
export type CacheTarget = { kind: 'file'; path: string } | { kind: 'redis'; url: string };

/**
 * Parses the `--cache` value (a commander argument parser): `redis://…` or `rediss://…` is a Redis
 * server, anything else without a scheme a file path. Throws commander's InvalidArgumentError, which
 * commander reports naming the flag.
 *
 * @example
 * ```ts
 * parseCacheTarget('.tokenbatch-cache.db'); // { kind: 'file', path: '.tokenbatch-cache.db' }
 * ```
 */
export function parseCacheTarget(value: string): CacheTarget {
  const trimmed = value.trim();
  if (trimmed === '') throw new InvalidArgumentError('expected a file path or a redis:// URL');
  if (/^rediss?:\/\//i.test(trimmed)) {
    try {
      new URL(trimmed);
    } catch {
      throw new InvalidArgumentError(`'${trimmed}' is not a valid Redis URL`);
    }
    return { kind: 'redis', url: trimmed };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) throw new InvalidArgumentError(`unsupported URL scheme in '${trimmed}': use a file path or redis://`);
  return { kind: 'file', path: trimmed };
}

/**
 * An open store and how to release it (the file, or the connection the CLI opened).
 *
 * @example
 * ```ts
 * const { store, close } = await openCacheStore(target);
 * ```
 */
export interface OpenCache {
  readonly store: ResultCache;
  readonly description: string;
  close(): Promise<void>;
}

/**
 * Opens the store of a `--cache` target: the SQLite file store (needs better-sqlite3 12) or the
 * Redis store over a new ioredis connection (needs ioredis). A missing package or an unreachable
 * server is a CliError: the run does not start rather than run without the cache it was asked for.
 *
 * @example
 * ```ts
 * const cache = await openCacheStore(parseCacheTarget(options.cache));
 * try { ... } finally { await cache.close(); }
 * ```
 */
export async function openCacheStore(target: CacheTarget, options: { ttlMs?: number } = {}): Promise<OpenCache> {
  if (target.kind === 'file') {
    let sqlite: typeof SqliteStore;
    try {
      sqlite = await import('../cache/sqlite.js');
    } catch (error) {
      if (missingPeer(error, 'better-sqlite3')) throw new CliError('--cache with a file needs the better-sqlite3 package: npm install better-sqlite3@12');
      throw error;
    }
    let store: ResultCache;
    try {
      store = sqlite.createSqliteCache({ path: target.path, ...(options.ttlMs === undefined ? {} : { ttlMs: options.ttlMs }) });
    } catch (error) {
      throw new CliError(`--cache: cannot open '${target.path}': ${(error as Error).message}`, { cause: error });
    }
    return { store, description: target.path, close: async () => store.close?.() };
  }
  let Redis: typeof RedisClient;
  try {
    ({ Redis } = await import('ioredis'));
  } catch (error) {
    if (missingPeer(error, 'ioredis')) throw new CliError('--cache with a redis:// URL needs the ioredis package: npm install ioredis');
    throw error;
  }
  const { createRedisCache } = await import('../cache/redis.js');
  const client = new Redis(target.url, { lazyConnect: true, maxRetriesPerRequest: 2 });
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (error) {
    client.disconnect();
    throw new CliError(`--cache: cannot connect to ${new URL(target.url).host}: ${(error as Error).message}`, { cause: error });
  }
  const store = createRedisCache({ client, ...(options.ttlMs === undefined ? {} : { ttlMs: options.ttlMs }) });
  return { store, description: `redis ${new URL(target.url).host}`, close: async () => void client.quit().catch(() => client.disconnect()) };
}

/**
 * What changes a `tokenbatch run` result besides the text: backend, model, prompt, task, result
 * schema and response format (the simulated backend's seed too, which picks its answers).
 *
 * @example
 * ```ts
 * const identity = runCacheIdentity({ backend: 'openai', model: 'gpt-4o-mini', prompt: 'Classify', responseFormat: 'json_schema' });
 * ```
 */
export function runCacheIdentity(config: {
  backend: string;
  model: string;
  prompt?: string;
  task?: string;
  seed?: number;
  resultSchema?: unknown;
  responseFormat?: unknown;
}): CacheIdentity {
  const simulated = config.backend === 'simulated';
  return {
    model: simulated ? 'simulated' : config.model,
    prompt: simulated ? '' : (config.prompt ?? ''),
    handler: simulated ? `tokenbatch-run/simulated/${config.task ?? ''}/seed-${config.seed ?? 1}` : `tokenbatch-run/${config.backend}`,
    ...(config.resultSchema === undefined ? {} : { schema: config.resultSchema }),
    extra: { responseFormat: simulated ? null : (config.responseFormat ?? null) },
  };
}

/**
 * Wraps a batch handler so that items found in the cache are answered from it: the handler gets
 * only the misses (as a smaller batch), and is not called at all when every item hits, so a second
 * run of the same job sends no request. Successful results are written back; a failed call caches
 * nothing and fails the batch as before. Returns the wrapper and its layer (for hit/miss counts).
 *
 * Interim: in the library, `mergeBatches(handler, { cache })` does this itself and marks cached
 * outcomes (`cached: true`); until then the CLI uses this wrapper.
 *
 * @example
 * ```ts
 * const { handler, layer } = cachingHandler(backend.handler, { store, identity: runCacheIdentity(config), key: itemText });
 * ```
 */
export function cachingHandler<T, R>(
  inner: BatchHandler<T, R>,
  options: { store: ResultCache; identity: CacheIdentity; key?: (item: T) => string; ttlMs?: number },
): { handler: BatchHandler<T, R>; layer: ResultCacheLayer<T, R> } {
  const layer = resultCacheLayer<T, R>(options, 'tokenbatch run: --cache');
  const handler: BatchHandler<T, R> = async (batch, context) => {
    const { keys, hits } = await layer.lookup(batch.items);
    const missing = hits.flatMap((hit, i) => (hit === undefined ? [i] : []));
    if (missing.length === 0) return hits.map((hit) => (hit as { value: R }).value);
    const subset: Batch<T> =
      missing.length === batch.items.length
        ? batch
        : {
            ...batch,
            items: missing.map((i) => batch.items[i] as T),
            itemIndices: missing.map((i) => batch.itemIndices[i] as number),
            itemTokens: missing.map((i) => batch.itemTokens[i] as number),
            tokens: batch.tokens - hits.reduce((sum, hit, i) => sum + (hit === undefined ? 0 : (batch.itemTokens[i] as number)), 0),
          };
    const results = await handlerResult(inner(subset, context), context.signal);
    if (!Array.isArray(results) || results.length !== missing.length) {
      throw new Error(`the handler returned ${Array.isArray(results) ? results.length : 'no'} results for ${missing.length} items`);
    }
    await layer.remember(
      missing.map((i) => keys[i]),
      results.map((value) => ({ ok: !(value instanceof Error), value })),
    );
    const merged = hits.map((hit) => hit?.value) as R[];
    missing.forEach((i, k) => (merged[i] = results[k] as R));
    return merged;
  };
  return { handler, layer };
}
