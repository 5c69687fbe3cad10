import Database from 'better-sqlite3';
import { checkEntries, checkKeys, countOption, knownKeys, ttlOption } from './json.js';
import type { CacheEntry, CachedValue, ResultCache } from './types.js';

const OWNER = 'createSqliteCache';
/** SQLite's default limit of bound parameters is 32,766; stay well below it. */
const CHUNK = 500;

/**
 * Options of {@link createSqliteCache}.
 *
 * @example
 * ```ts
 * const options: SqliteCacheOptions = { path: '.tokenbatch-cache.db', maxEntries: 1_000_000, ttlMs: 30 * 86_400_000 };
 * ```
 */
export interface SqliteCacheOptions {
  /** The database file (created if absent). */
  path: string;
  /** At most about this many entries (the oldest written go first; see {@link createSqliteCache}). Default 1,000,000. */
  maxEntries?: number;
  /** How long an entry lives unless `set` says otherwise. Default: until evicted. */
  ttlMs?: number;
  /** How long a write waits for another process's write to finish before failing. Default 5,000 ms. */
  busyTimeoutMs?: number;
  /** Where time comes from (entries' write and expiry times). Default: `Date.now()` (shared across processes). */
  clock?: { now(): number };
}

/**
 * A persistent result cache in one SQLite file (better-sqlite3 12, an optional peer dependency),
 * for a cache across runs on one machine.
 *
 * Safe for several processes at once: the file is in WAL mode (readers never block, one writer at a
 * time; a writer waits up to `busyTimeoutMs` for another), and each `set` is one transaction. It
 * survives a process killed at any point (`kill -9`) without corruption: a transaction is either
 * all there or not at all when the file is next opened (with `synchronous=NORMAL`, a power loss may
 * lose the last transactions, never the file's integrity).
 *
 * Bounded: when more than `maxEntries` are held, the oldest written are deleted, checked after
 * every 1,000 entries written by this process and on opening, so the file holds at most
 * `maxEntries` plus 1,000 per writing process. Expired entries are misses and are deleted then.
 * Calls are synchronous under their promise (SQLite is in-process): a `get` of a batch's keys takes
 * microseconds; a write waiting for another process's lock blocks the event loop while it waits.
 *
 * @example
 * ```ts
 * import { createSqliteCache } from 'tokenbatch/cache-sqlite';
 *
 * const cache = createSqliteCache<string>({ path: join(tmpdir(), `tokenbatch-example-${process.pid}.db`), ttlMs: 86_400_000 });
 * await cache.set([{ key: 'k', value: 'positive' }]);
 * console.log(await cache.get(['k'])); // [ { value: 'positive' } ]
 * await cache.close?.();
 * ```
 */
export function createSqliteCache<V = unknown>(options: SqliteCacheOptions): ResultCache<V> {
  const raw = knownKeys(options, OWNER, ['path', 'maxEntries', 'ttlMs', 'busyTimeoutMs', 'clock']);
  if (typeof raw.path !== 'string' || raw.path === '') throw new TypeError(`${OWNER}: path: expected a file path`);
  const maxEntries = countOption(raw.maxEntries, OWNER, 'maxEntries', 1_000_000);
  const defaultTtl = ttlOption(raw.ttlMs, OWNER, 'ttlMs');
  const busyTimeoutMs = countOption(raw.busyTimeoutMs, OWNER, 'busyTimeoutMs', 5_000);
  const clock = raw.clock as SqliteCacheOptions['clock'];
  if (clock !== undefined && (typeof clock !== 'object' || clock === null || typeof clock.now !== 'function'))
    throw new TypeError(`${OWNER}: clock: expected an object with now()`);
  return new SqliteCache<V>(raw.path, maxEntries, defaultTtl, busyTimeoutMs, clock ?? Date);
}

const TRIM_EVERY = 1_000;

class SqliteCache<V> implements ResultCache<V> {
  readonly #db: Database.Database;
  readonly #maxEntries: number;
  readonly #defaultTtl: number | undefined;
  readonly #clock: { now(): number };
  readonly #upsert: Database.Statement<[string, string, number, number | null]>;
  readonly #delete: Database.Statement<[string, number]>;
  readonly #writeMany: (rows: [string, string][], now: number, expiresAt: number | null) => void;
  #writtenSinceTrim = 0;
  #closed = false;

  constructor(path: string, maxEntries: number, defaultTtl: number | undefined, busyTimeoutMs: number, clock: { now(): number }) {
    this.#db = new Database(path, { timeout: busyTimeoutMs });
    this.#maxEntries = maxEntries;
    this.#defaultTtl = defaultTtl;
    this.#clock = clock;
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = NORMAL');
    this.#db.exec(
      'CREATE TABLE IF NOT EXISTS tokenbatch_results (key TEXT PRIMARY KEY, value TEXT NOT NULL, written_at INTEGER NOT NULL, expires_at INTEGER) WITHOUT ROWID;' +
        'CREATE INDEX IF NOT EXISTS tokenbatch_results_written ON tokenbatch_results (written_at);',
    );
    this.#upsert = this.#db.prepare('INSERT OR REPLACE INTO tokenbatch_results (key, value, written_at, expires_at) VALUES (?, ?, ?, ?)');
    this.#delete = this.#db.prepare('DELETE FROM tokenbatch_results WHERE key = ? AND expires_at IS NOT NULL AND expires_at <= ?');
    this.#writeMany = this.#db.transaction((rows: [string, string][], now: number, expiresAt: number | null) => {
      for (const [key, text] of rows) this.#upsert.run(key, text, now, expiresAt);
    });
    this.#trim();
  }

  async get(keys: readonly string[]): Promise<(CachedValue<V> | undefined)[]> {
    this.#open('get');
    checkKeys(keys, 'sqlite cache');
    const now = this.#clock.now();
    const found = new Map<string, { value: string; expires_at: number | null }>();
    for (let start = 0; start < keys.length; start += CHUNK) {
      const chunk = keys.slice(start, start + CHUNK);
      const rows = this.#db.prepare(`SELECT key, value, expires_at FROM tokenbatch_results WHERE key IN (${chunk.map(() => '?').join(',')})`).all(...chunk) as {
        key: string;
        value: string;
        expires_at: number | null;
      }[];
      for (const row of rows) found.set(row.key, row);
    }
    return keys.map((key) => {
      const row = found.get(key);
      if (row === undefined) return undefined;
      if (row.expires_at !== null && row.expires_at <= now) {
        this.#delete.run(key, now);
        return undefined;
      }
      return { value: JSON.parse(row.value) as V };
    });
  }

  async set(entries: readonly CacheEntry<V>[], ttlMs?: number): Promise<void> {
    this.#open('set');
    const ttl = ttlOption(ttlMs, 'sqlite cache', 'set: ttlMs') ?? this.#defaultTtl;
    const texts = checkEntries(entries, 'sqlite cache');
    const now = this.#clock.now();
    this.#writeMany(
      entries.map((entry, i) => [entry.key, texts[i] as string]),
      now,
      ttl === undefined ? null : now + ttl,
    );
    this.#writtenSinceTrim += entries.length;
    if (this.#writtenSinceTrim >= TRIM_EVERY) this.#trim();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }

  #open(operation: string): void {
    if (this.#closed) throw new Error(`sqlite cache: ${operation}: the cache is closed`);
  }

  /** Deletes expired entries, then the oldest written beyond `maxEntries`, in one transaction. */
  #trim(): void {
    this.#writtenSinceTrim = 0;
    const now = this.#clock.now();
    this.#db
      .transaction(() => {
        this.#db.prepare('DELETE FROM tokenbatch_results WHERE expires_at IS NOT NULL AND expires_at <= ?').run(now);
        const { count } = this.#db.prepare('SELECT count(*) AS count FROM tokenbatch_results').get() as { count: number };
        if (count > this.#maxEntries) {
          this.#db.prepare('DELETE FROM tokenbatch_results WHERE key IN (SELECT key FROM tokenbatch_results ORDER BY written_at, key LIMIT ?)').run(count - this.#maxEntries);
        }
      })
      .immediate();
  }
}
