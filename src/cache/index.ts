/**
 * The result cache: reuse an answer across runs and workers when the same text meets the same
 * model, prompt, handler and schema. Stores: in memory (here), a file (`tokenbatch/cache-sqlite`),
 * Redis (`tokenbatch/redis`).
 *
 * @packageDocumentation
 */
export { cacheKey, type CacheIdentity, type CacheKeyNormalization } from './key.js';
export { createMemoryCache, type MemoryCacheOptions } from './memory.js';
export { resultCacheLayer, ResultCacheLayer, type CacheLookup, type ResultCacheOptions } from './layer.js';
export type { CachedValue, CacheEntry, CacheStats, ResultCache } from './types.js';
