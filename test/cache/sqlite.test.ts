import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { createSqliteCache } from '../../src/cache/sqlite.js';
import { sqliteLoads } from '../support/sqlite.js';

const dir = mkdtempSync(join(tmpdir(), 'tokenbatch-sqlite-cache-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshPath = (): string => join(dir, `cache-${files++}.db`);
const writerScript = fileURLToPath(new URL('../support/sqlite-writer.ts', import.meta.url));

interface Writer {
  child: ChildProcess;
  /** The last batch the writer reported committed. */
  committed: () => number;
  exited: Promise<number | string>;
  waitForBatch(batch: number, timeoutMs?: number): Promise<void>;
}

function startWriter(path: string, id: number, batches: number, batchSize = 20): Writer {
  const child = fork(writerScript, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, CACHE_PATH: path, WRITER_ID: String(id), WRITER_BATCHES: String(batches), WRITER_BATCH_SIZE: String(batchSize) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let committed = -1;
  const waiters: (() => void)[] = [];
  child.on('message', (message: { batch?: number }) => {
    if (typeof message.batch === 'number') committed = message.batch;
    for (const waiter of waiters.splice(0)) waiter();
  });
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  return {
    child,
    committed: () => committed,
    exited,
    waitForBatch: (batch, timeoutMs = 30_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`writer ${id}: batch ${batch} not committed within ${timeoutMs} ms (last ${committed})`)), timeoutMs);
        const check = () => {
          if (committed >= batch) {
            clearTimeout(timer);
            resolve();
          } else waiters.push(check);
        };
        void exited.then(() => {
          if (committed < batch) {
            clearTimeout(timer);
            reject(new Error(`writer ${id} exited before batch ${batch}`));
          }
        });
        check();
      }),
  };
}

/** Every row of the file, checked: integrity, and each value a whole JSON document of the expected shape. */
function inspect(path: string): { integrity: string; rows: Map<string, { writer: number; batch: number; i: number }> } {
  const db = new Database(path, { readonly: true });
  try {
    const integrity = (db.pragma('integrity_check', { simple: true }) as string) ?? '';
    const rows = new Map<string, { writer: number; batch: number; i: number }>();
    for (const row of db.prepare('SELECT key, value FROM tokenbatch_results').all() as { key: string; value: string }[]) {
      rows.set(row.key, JSON.parse(row.value) as { writer: number; batch: number; i: number });
    }
    return { integrity, rows };
  } finally {
    db.close();
  }
}

describe.skipIf(!sqliteLoads)('createSqliteCache', () => {
  it('stores, reads back in key order, replaces, and survives reopening', async () => {
    const path = freshPath();
    const cache = createSqliteCache<unknown>({ path });
    await cache.set([
      { key: 'a', value: { label: 'spam', score: 0.5 } },
      { key: 'b', value: null },
    ]);
    await cache.set([{ key: 'a', value: 'replaced' }]);
    expect(await cache.get(['b', 'x', 'a'])).toEqual([{ value: null }, undefined, { value: 'replaced' }]);
    await cache.close?.();
    await expect(cache.get(['a'])).rejects.toThrow('sqlite cache: get: the cache is closed');
    const again = createSqliteCache({ path });
    expect(await again.get(['a', 'b'])).toEqual([{ value: 'replaced' }, { value: null }]);
    expect(inspect(path).integrity).toBe('ok');
    await again.close?.();
  });

  it('is in WAL mode', async () => {
    const path = freshPath();
    const cache = createSqliteCache({ path });
    await cache.set([{ key: 'k', value: 1 }]);
    const db = new Database(path, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
    await cache.close?.();
  });

  it('reads more keys than one statement can bind', async () => {
    const cache = createSqliteCache({ path: freshPath() });
    const entries = Array.from({ length: 1_200 }, (_, i) => ({ key: `k${i}`, value: i }));
    await cache.set(entries);
    const hits = await cache.get(entries.map((entry) => entry.key));
    expect(hits.map((hit) => hit?.value)).toEqual(entries.map((entry) => entry.value));
    await cache.close?.();
  });

  it('expires entries after ttlMs (or the ttl given to set) on its clock', async () => {
    let now = 10_000;
    const cache = createSqliteCache({ path: freshPath(), ttlMs: 100, clock: { now: () => now } });
    await cache.set([{ key: 'a', value: 1 }]);
    await cache.set([{ key: 'b', value: 2 }], 1_000);
    now += 100;
    expect(await cache.get(['a', 'b'])).toEqual([undefined, { value: 2 }]);
    now += 1_000;
    expect(await cache.get(['b'])).toEqual([undefined]);
    await cache.close?.();
  });

  it('keeps to maxEntries, the oldest written out first, checked on opening and every 1,000 writes', async () => {
    let now = 0;
    const path = freshPath();
    const cache = createSqliteCache({ path, maxEntries: 500, clock: { now: () => now++ } });
    for (let batch = 0; batch < 3; batch++) await cache.set(Array.from({ length: 300 }, (_, i) => ({ key: `b${batch}-${i}`, value: i })));
    expect(inspect(path).rows.size).toBe(900); // under 1,000 writes: not checked yet
    await cache.close?.();
    const reopened = createSqliteCache({ path, maxEntries: 500, clock: { now: () => now++ } });
    let keys = [...inspect(path).rows.keys()];
    expect(keys).toHaveLength(500);
    expect(keys.filter((key) => key.startsWith('b0-'))).toEqual([]);
    expect(keys.filter((key) => key.startsWith('b2-'))).toHaveLength(300);
    for (let batch = 3; batch < 6; batch++) await reopened.set(Array.from({ length: 300 }, (_, i) => ({ key: `b${batch}-${i}`, value: i })));
    expect(inspect(path).rows.size).toBe(1_400); // 900 written by this process: at most maxEntries + 1,000
    await reopened.set(Array.from({ length: 300 }, (_, i) => ({ key: `b6-${i}`, value: i })));
    keys = [...inspect(path).rows.keys()];
    expect(keys).toHaveLength(500);
    expect(keys.filter((key) => key.startsWith('b6-'))).toHaveLength(300);
    await reopened.close?.();
  });

  it('throws naming the option', () => {
    expect(() => createSqliteCache({} as never)).toThrow(new TypeError('createSqliteCache: path: expected a file path'));
    expect(() => createSqliteCache({ path: freshPath(), maxEntries: 1.5 })).toThrow(new RangeError('createSqliteCache: maxEntries: expected a whole number >= 1, got 1.5'));
    expect(() => createSqliteCache({ path: freshPath(), ttl: 5 } as never)).toThrow(new TypeError("createSqliteCache: unknown option 'ttl' (did you mean 'ttlMs'?)"));
  });

  it('takes concurrent writes from several processes, losing none and tearing none', async () => {
    const path = freshPath();
    await createSqliteCache({ path }).close?.();
    const writers = [0, 1, 2].map((id) => startWriter(path, id, 40));
    expect(await Promise.all(writers.map((w) => w.exited))).toEqual([0, 0, 0]);
    const { integrity, rows } = inspect(path);
    expect(integrity).toBe('ok');
    expect(rows.size).toBe(3 * 40 * 20 + 10);
    for (const [key, value] of rows) {
      if (key.startsWith('shared-')) expect([0, 1, 2]).toContain(value.writer);
      else expect(key).toBe(`w${value.writer}-b${value.batch}-i${value.i}`);
    }
    const cache = createSqliteCache<{ writer: number }>({ path });
    expect((await cache.get(['w2-b39-i19']))[0]?.value.writer).toBe(2);
    await cache.close?.();
  }, 60_000);

  it('survives kill -9 in the middle of writes, three times over: the file checks ok and every transaction is whole', async () => {
    const path = freshPath();
    await createSqliteCache({ path }).close?.();
    const killed: Writer[] = [];
    for (let round = 0; round < 3; round++) {
      // Two writers per round, each writing 50-entry transactions back to back until killed.
      const writers = [0, 1].map((id) => startWriter(path, round * 2 + id, 0, 50));
      await Promise.all(writers.map((w) => w.waitForBatch(20 + round * 7)));
      for (const w of writers) w.child.kill('SIGKILL');
      expect(await Promise.all(writers.map((w) => w.exited))).toEqual(['SIGKILL', 'SIGKILL']);
      killed.push(...writers);
      // Reopening recovers the WAL as any later process would, and takes writes at once.
      const cache = createSqliteCache({ path });
      await cache.set([{ key: `after-${round}`, value: 'still writable' }]);
      expect(await cache.get([`after-${round}`])).toEqual([{ value: 'still writable' }]);
      await cache.close?.();
    }
    const { integrity, rows } = inspect(path);
    expect(integrity).toBe('ok');
    for (const [id, w] of killed.entries()) {
      const batches = new Map<number, number>();
      for (const value of rows.values()) if (value.writer === id && value.i >= 0) batches.set(value.batch, (batches.get(value.batch) ?? 0) + 1);
      const last = Math.max(...batches.keys());
      // Every batch it reported is there, batches are whole (one transaction each) and without gaps.
      expect(last).toBeGreaterThanOrEqual(w.committed());
      for (let batch = 0; batch <= last; batch++) expect(batches.get(batch), `writer ${id} batch ${batch}`).toBe(50);
    }
  }, 60_000);
});
