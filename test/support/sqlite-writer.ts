/**
 * One writer process of the SQLite cache tests: opens the cache file and writes batches of
 * entries, one `set` (one transaction) per batch, as fast as it can. Configured by environment
 * variables; after each committed batch it sends `{ batch }` over IPC, and `{ done }` at the end.
 * With WRITER_BATCHES=0 it writes until killed.
 *
 * Entry keys: `w<writer>-b<batch>-i<i>` (value: { writer, batch, i, pad }) and, in every batch,
 * `shared-<i mod 10>` (value: the same shape), which all writers overwrite.
 */
import { createSqliteCache } from '../../src/cache/sqlite.js';

const env = process.env;
const writer = Number(env.WRITER_ID ?? 0);
const batches = Number(env.WRITER_BATCHES ?? 0);
const size = Number(env.WRITER_BATCH_SIZE ?? 20);
const pad = 'x'.repeat(Number(env.WRITER_PAD ?? 200));

const cache = createSqliteCache({ path: env.CACHE_PATH as string, busyTimeoutMs: 20_000 });
for (let batch = 0; batches === 0 || batch < batches; batch++) {
  const entries = Array.from({ length: size }, (_, i) => ({ key: `w${writer}-b${batch}-i${i}`, value: { writer, batch, i, pad } }));
  entries.push({ key: `shared-${batch % 10}`, value: { writer, batch, i: -1, pad } });
  await cache.set(entries);
  process.send?.({ batch });
  // Let the IPC message out now and then (a tight synchronous loop would starve it).
  if (batch % 5 === 4) await new Promise((resolve) => setImmediate(resolve));
}
await cache.close?.();
process.send?.({ done: true });
process.disconnect?.();
