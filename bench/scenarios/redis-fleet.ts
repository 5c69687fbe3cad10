/**
 * A fleet under one shared limit: 1, 2 and 4 worker processes (the whole Redis chain each, calling
 * a loopback provider) share a redisRateLimiter, against a baseline of 4 workers that each run the
 * local limiter with the whole limit (what a fleet does without a shared limiter). The provider is
 * the judge: it records arrivals and counts windows over the limit. Reported: aggregate requests/s
 * against the limit (the bound), windows over the limit (must be 0 for the shared limiter), and
 * fairness (the smallest worker's share of requests over an equal share).
 */
import { Redis } from 'ioredis';
import type { BenchOptions, BenchResult, BenchRow, Scenario } from '../harness.js';
import { runFleet, startProvider, type FleetRun } from '../../test/support/redis-fleet.js';
import { INSTALL_HINT, redisServerPath, startRedisServer } from '../../test/support/redis.js';

/** Options of this scenario beyond the harness's: the test suite shrinks the input further. */
export interface RedisFleetBenchOptions extends BenchOptions {
  /** Items per run (4 per request). Default 400, or 120 with `quick`. */
  items?: number;
  /** Worker counts sharing the limit. Default [1, 2, 4]. */
  workers?: readonly number[];
  /** Add the baseline row (4 workers, a local limiter each). Default true. */
  baseline?: boolean;
}

const WINDOW_MS = 1000;
const REQUESTS_PER_WINDOW = 16;
const TOKENS_PER_WINDOW = 600;
const LATENCY_MS = 100;

function row(name: string, run: FleetRun, workers: number, one: FleetRun | undefined): BenchRow {
  const shares = Object.values(run.shares);
  const requests = run.arrivals.length;
  return {
    name,
    'req/s': run.throughput,
    'vs bound': run.throughput / ((REQUESTS_PER_WINDOW * 1000) / WINDOW_MS),
    'vs 1 worker': one ? run.throughput / one.throughput : 1,
    'busiest window': run.busiest.requests,
    'windows over limit': run.violations,
    'smallest share': shares.length === workers ? Math.min(...shares) / (requests / workers) : 0,
    'waited for limit': run.waits,
    requests,
  };
}

/** Runs the scenario. Exported with its extra options for the test suite. */
export async function runRedisFleet(options: RedisFleetBenchOptions): Promise<BenchResult> {
  const title = 'A fleet of workers under one shared limit (redisRateLimiter)';
  if (!redisServerPath()) return { scenario: 'redis-fleet', title, rows: [], notes: [`skipped: ${INSTALL_HINT}`] };
  const items = options.items ?? (options.quick ? 120 : 400);
  const counts = options.workers ?? [1, 2, 4];
  const server = await startRedisServer();
  const client = new Redis(server.url);
  const provider = await startProvider({ latencyMs: LATENCY_MS, billRatio: 0.5 });
  const rows: BenchRow[] = [];
  let run = 0;
  try {
    const common = { redisUrl: server.url, client, provider, items, windowMs: WINDOW_MS, requestsPerWindow: REQUESTS_PER_WINDOW, tokensPerWindow: TOKENS_PER_WINDOW };
    let one: FleetRun | undefined;
    for (const workers of counts) {
      const measured = await runFleet({ ...common, workers, name: `fleet-${run++}` });
      if (measured.completed !== items) throw new Error(`redis-fleet: ${measured.completed} of ${items} items have a result`);
      one ??= workers === 1 ? measured : undefined;
      rows.push(row(`${workers} worker${workers > 1 ? 's' : ''}, shared limit`, measured, workers, one));
    }
    if (options.baseline ?? true) {
      const measured = await runFleet({ ...common, workers: 4, name: `fleet-${run++}`, limiter: 'local' });
      rows.push(row('4 workers, a local limiter each', measured, 4, one));
    }
  } finally {
    await provider.close();
    client.disconnect();
    await server.stop();
  }
  return {
    scenario: 'redis-fleet',
    title,
    rows,
    notes: [
      `limit: ${REQUESTS_PER_WINDOW} requests and ${TOKENS_PER_WINDOW} tokens per ${WINDOW_MS} ms window (the bound: ${(REQUESTS_PER_WINDOW * 1000) / WINDOW_MS} req/s); provider answers in ${LATENCY_MS} ms and bills half the reserved tokens (settled)`,
      `${items} items per run, 4 per request; each worker: one request at a time (at most ${1000 / LATENCY_MS} req/s alone), the whole chain fromRedisStream → bufferByTokens → mergeBatches → orderedResults → toRedisStream`,
      "'windows over limit': windows [t, t + window) starting at each arrival at the provider that hold more requests or tokens than the limit",
      "'smallest share': the least busy worker's requests over an equal share (1 = perfectly fair)",
    ],
  };
}

/**
 * The scenario as the harness runs it.
 *
 * @example
 * ```ts
 * const result = await redisFleetScenario.run({ quick: true, items: 60, workers: [1, 2] });
 * ```
 */
export const redisFleetScenario: Scenario & { run(options: RedisFleetBenchOptions): Promise<BenchResult> } = {
  name: 'redis-fleet',
  run: runRedisFleet,
};
