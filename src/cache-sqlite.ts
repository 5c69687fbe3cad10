/**
 * tokenbatch's persistent result cache on SQLite: one file, shared safely by several processes on
 * one machine, across runs. Needs `better-sqlite3` 12 (an optional peer dependency).
 *
 * @packageDocumentation
 */
export { createSqliteCache, type SqliteCacheOptions } from './cache/sqlite.js';
export type { CachedValue, CacheEntry, ResultCache } from './cache/types.js';
