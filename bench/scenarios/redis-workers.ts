/**
 * Scaling out with Redis Streams: items/s of one worker process against two in one consumer group,
 * each running the whole chain (fromRedisStream → bufferByTokens → mergeBatches → orderedResults →
 * toRedisStream) with the embedded handler, against a real redis-server on loopback. With a model
 * latency per batch, a second worker should nearly double throughput; with none, the figure is the
 * chain's and Redis's own overhead (on this 2-core machine, two workers and Redis share the cores).
 */
import { Redis } from 'ioredis';
import type { BenchOptions, BenchResult, BenchRow, Scenario } from '../harness.js';
import { INSTALL_HINT, pendingCount, readResults, redisServerPath, seedStream, startRedisServer, waitFor, type RedisServer } from '../../test/support/redis.js';
import { forkWorker, type Worker } from '../../test/support/redis-workers.js';

/** Options of this scenario beyond the harness's: the test suite shrinks the input further. */
export interface RedisWorkersBenchOptions extends BenchOptions {
  /** Items per run. Default 20,000, or 4,000 with `quick`. */
  items?: number;
  /** Handler latencies per batch, in ms (one pair of rows each). Default [20, 0]. */
  delaysMs?: readonly number[];
  /** Timed runs per row (the fastest counts). Default 3, or 1 with `quick`. */
  repeats?: number;
}

const MAX_ITEMS = 50;
const CONCURRENCY = 4;
const MAX_IN_FLIGHT = 1000;

interface Measured {
  workers: number;
  delayMs: number;
  ms: number;
  perWorker: number[];
  duplicates: number;
}

async function measure(server: RedisServer, client: Redis, run: number, workers: number, delayMs: number, items: number): Promise<Measured> {
  const stream = `bench:${run}`;
  const results = `${stream}:results`;
  await seedStream(client, stream, items, (i) => `ticket ${i}: the app crashes when I open the settings page on my phone`);
  await client.call('XGROUP', 'CREATE', stream, 'bench', '0');
  const env = {
    REDIS_URL: server.url,
    WORKER_STREAM: stream,
    WORKER_GROUP: 'bench',
    WORKER_RESULTS: results,
    WORKER_DELAY_MS: delayMs,
    WORKER_MAX_ITEMS: MAX_ITEMS,
    WORKER_CONCURRENCY: CONCURRENCY,
    WORKER_MAX_IN_FLIGHT: MAX_IN_FLIGHT,
    WORKER_BLOCK_MS: 200,
  };
  const forked: Worker[] = Array.from({ length: workers }, (_, i) => forkWorker({ ...env, WORKER_CONSUMER: `w${i}` }));
  try {
    await Promise.all(forked.map((worker) => worker.next('ready')));
    const start = performance.now();
    for (const worker of forked) worker.send('go');
    await waitFor(async () => Number(await client.call('XLEN', results)) >= items && (await pendingCount(client, stream, 'bench')) === 0, 120_000, `${items} results`);
    const ms = performance.now() - start;
    for (const worker of forked) worker.send('stop');
    const done = await Promise.all(forked.map((worker) => worker.next('done')));
    await Promise.all(forked.map((worker) => worker.exited));

    const written = await readResults(client, results);
    const distinct = new Set(written.map((record) => record.fields.input)).size;
    if (distinct !== items) throw new Error(`redis-workers: ${distinct} of ${items} items have a result`);
    await client.call('DEL', stream, results);
    return { workers, delayMs, ms, perWorker: done.map((message) => message.processed), duplicates: written.length - distinct };
  } finally {
    for (const worker of forked) if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
  }
}

/** Runs the scenario. Exported with its extra options for the test suite. */
export async function runRedisWorkers(options: RedisWorkersBenchOptions): Promise<BenchResult> {
  const title = 'Redis Streams: one worker process vs two in a consumer group';
  if (!redisServerPath()) return { scenario: 'redis-workers', title, rows: [], notes: [`skipped: ${INSTALL_HINT}`] };
  const items = options.items ?? (options.quick ? 4000 : 20_000);
  const delays = options.delaysMs ?? [20, 0];
  const server = await startRedisServer();
  const client = new Redis(server.url);
  const repeats = options.repeats ?? (options.quick ? 1 : 3);
  const rows: BenchRow[] = [];
  try {
    // Rounds interleave the rows, so drift (heat, other load) spreads over all of them.
    const configs = delays.flatMap((delayMs) => [1, 2].map((workers) => ({ workers, delayMs })));
    const best = new Map<(typeof configs)[number], Measured>();
    let run = 0;
    for (let round = 0; round < repeats; round++) {
      for (const config of configs) {
        const measured = await measure(server, client, run++, config.workers, config.delayMs, items);
        const previous = best.get(config);
        if (!previous || measured.ms < previous.ms) best.set(config, measured);
      }
    }
    for (const delayMs of delays) {
      const [one, two] = configs.filter((config) => config.delayMs === delayMs).map((config) => best.get(config) as Measured);
      for (const measured of [one as Measured, two as Measured]) {
        const total = measured.perWorker.reduce((sum, count) => sum + count, 0);
        rows.push({
          name: `${measured.workers} worker${measured.workers > 1 ? 's' : ''}`,
          'handler ms/batch': delayMs,
          'items/s': Math.round(items / (measured.ms / 1000)),
          seconds: measured.ms / 1000,
          'smallest share': Math.min(...measured.perWorker) / total,
          duplicates: measured.duplicates,
          'vs 1 worker': (one as Measured).ms / measured.ms,
        });
      }
    }
  } finally {
    client.disconnect();
    await server.stop();
  }
  return {
    scenario: 'redis-workers',
    title,
    rows,
    notes: [
      `${items.toLocaleString('en-US')} items per run, best of ${repeats} run(s), rounds interleaved; each worker: batches of ${MAX_ITEMS} items, concurrency ${CONCURRENCY}, maxInFlight ${MAX_IN_FLIGHT}, results written and acknowledged by toRedisStream`,
      'timed from the go signal (workers already connected) until every item has a result and nothing is pending; checked: every item has a result',
      `redis-server ${server.url} on loopback, no persistence; workers are tsx child processes`,
    ],
  };
}

/**
 * The scenario as the harness runs it.
 *
 * @example
 * ```ts
 * const result = await redisWorkersScenario.run({ quick: true, items: 1000, delaysMs: [5] });
 * ```
 */
export const redisWorkersScenario: Scenario & { run(options: RedisWorkersBenchOptions): Promise<BenchResult> } = {
  name: 'redis-workers',
  run: runRedisWorkers,
};
