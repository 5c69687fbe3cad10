import { createRequire } from 'node:module';
/**
 * result-cache: a job run twice with a result cache (what `tokenbatch run --cache` does), per store.
 * The job: N support-ticket texts through bufferByTokens → mergeBatches (4 in flight; the handler
 * counts requests and answers like the simulated classifier) → orderedResults, wrapped by the CLI's
 * caching handler. The first run is cold (every item is a miss and is sent), the second warm: it
 * should send no request and give the same results in the same order. Time is wall time of the
 * whole run on this machine (store overhead; the handler itself takes no time).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { from } from 'ix/asynciterable';
import type { BenchOptions, BenchResult, BenchRow, Scenario } from '../harness.js';
import { simulatedClassify } from '../../src/backends/simulated.js';
import { createMemoryCache } from '../../src/cache/memory.js';
import type { ResultCache } from '../../src/cache/types.js';
import { cachingHandler, openCacheStore, parseCacheTarget } from '../../src/cli/cache-option.js';
import { bufferByTokens, mergeBatches, orderedResults } from '../../src/iterable.js';
import type { BatchHandler } from '../../src/types.js';
import { redisServerPath, startRedisServer } from '../../test/support/redis.js';
import { generateStream } from './dedupe.js';

interface RunFigures {
  requests: number;
  sent: number;
  hits: number;
  ms: number;
  results: string[];
}

async function runOnce(texts: readonly string[], store: ResultCache): Promise<RunFigures> {
  const counter = { requests: 0, sent: 0 };
  const inner: BatchHandler<string, string> = async (batch) => {
    counter.requests++;
    counter.sent += batch.items.length;
    return batch.items.map((text) => simulatedClassify(text));
  };
  const { handler, layer } = cachingHandler(inner, { store, identity: { model: 'bench', handler: 'classify@1' } });
  const start = performance.now();
  const results: string[] = [];
  const chain = from(texts).pipe(
    bufferByTokens<string>({ maxTokens: 4000, maxItems: 25 }),
    mergeBatches<string, string>(handler, { concurrency: 4 }),
    orderedResults<string, string>(),
  );
  for await (const outcome of chain) results.push(outcome.ok ? outcome.value : `error:${outcome.error.name}`);
  return { ...counter, hits: layer.stats().hits, ms: performance.now() - start, results };
}

export const resultCacheScenario: Scenario = {
  name: 'result-cache',
  async run({ quick }: BenchOptions): Promise<BenchResult> {
    const items = quick ? 500 : 5_000;
    const texts = generateStream(items, 2026, 0).map((item) => item.text);
    const dir = mkdtempSync(join(tmpdir(), 'tokenbatch-bench-cache-'));
    const rows: BenchRow[] = [];
    const notes: string[] = [`${items.toLocaleString('en-US')} distinct ticket/chat texts, batches of at most 25 items, 4 in flight; each store starts empty`];
    const stores: { name: string; open: () => Promise<{ store: ResultCache; close(): Promise<void> }>; stop?: () => Promise<void> }[] = [
      { name: 'memory (lru-cache)', open: async () => ({ store: shared, close: async () => {} }) },
    ];
    // better-sqlite3's addon is built for the Node.js that installed it.
    if (sqliteLoads()) stores.push({ name: 'sqlite file (better-sqlite3, WAL)', open: () => openCacheStore(parseCacheTarget(join(dir, 'bench.db'))) });
    else notes.push(`sqlite: skipped (better-sqlite3 does not load in Node ${process.version})`);
    const shared = createMemoryCache({ maxEntries: items * 2 });
    let stopRedis: (() => Promise<void>) | undefined;
    if (redisServerPath() !== undefined) {
      const server = await startRedisServer();
      stopRedis = () => server.stop();
      stores.push({ name: 'redis (ioredis, loopback)', open: () => openCacheStore(parseCacheTarget(server.url)) });
    } else notes.push('redis: skipped (redis-server not installed)');
    try {
      await runOnce(texts.slice(0, 500), createMemoryCache()); // warm-up: JIT and tokenizer tables, not timed
      for (const { name, open } of stores) {
        const figures: RunFigures[] = [];
        for (const run of ['cold', 'warm']) {
          const cache = await open();
          try {
            const f = await runOnce(texts, cache.store);
            figures.push(f);
            rows.push({ name: `${name}, ${run} run`, requests: f.requests, 'items sent': f.sent, 'cache hits': f.hits, ms: f.ms });
          } finally {
            await cache.close();
          }
        }
        const [cold, warm] = figures as [RunFigures, RunFigures];
        notes.push(`${name}: warm run gives the same ${cold.results.length} results in order: ${String(cold.results.every((r, i) => r === warm.results[i]))}`);
      }
    } finally {
      await stopRedis?.();
      rmSync(dir, { recursive: true, force: true });
    }
    return { scenario: 'result-cache', title: 'Result cache: a job run twice', rows, notes };
  },
};

function sqliteLoads(): boolean {
  try {
    const Database = createRequire(import.meta.url)('better-sqlite3') as new (path: string) => { close(): void };
    new Database(':memory:').close();
    return true;
  } catch {
    return false;
  }
}
