/**
 * A loopback "provider" for the fleet tests and bench: an HTTP server that answers batch requests
 * after a delay, bills tokens, records when each request arrived, and can answer 429.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Redis } from 'ioredis';
import { pendingCount, readResults, seedStream, waitFor } from './redis.js';
import { forkWorker, type Worker } from './redis-workers.js';

export interface Arrival {
  /** Arrival time in ms since the epoch (fractional). */
  at: number;
  worker: string;
  items: number;
  /** Tokens billed for the request. */
  billed: number;
  status: number;
}

export interface ProviderOptions {
  /** How long each answer takes, in ms. */
  latencyMs: number;
  /** Billed tokens = ceil(reserved tokens the request declares × billRatio). Default 1. */
  billRatio?: number;
  /** Answer 429 to these request numbers (0-based, in arrival order), with retry-after-ms. */
  rateLimited?: { requests: readonly number[]; retryAfterMs: number };
}

export interface Provider {
  readonly url: string;
  readonly arrivals: Arrival[];
  close(): Promise<void>;
}

/** Now, in ms since the epoch, with sub-millisecond precision (the same clock Redis's TIME reads). */
export const clock = (): number => performance.timeOrigin + performance.now();

function body(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (text += chunk));
    request.on('end', () => resolve(text));
    request.on('error', reject);
  });
}

/** Start the provider on a free loopback port. */
export async function startProvider(options: ProviderOptions): Promise<Provider> {
  const arrivals: Arrival[] = [];
  const limited = new Set(options.rateLimited?.requests ?? []);
  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const at = clock();
    const payload = JSON.parse(await body(request)) as { worker: string; items: string[]; tokens: number };
    const number = arrivals.length;
    const status = limited.has(number) ? 429 : 200;
    const billed = status === 429 ? 0 : Math.ceil(payload.tokens * (options.billRatio ?? 1));
    arrivals.push({ at, worker: payload.worker, items: payload.items.length, billed, status });
    setTimeout(() => {
      if (status === 429) {
        response.writeHead(429, { 'content-type': 'application/json', 'retry-after-ms': String(options.rateLimited?.retryAfterMs ?? 1000) });
        response.end(JSON.stringify({ error: { type: 'rate_limit_exceeded' } }));
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ results: payload.items.map((item) => item.toUpperCase()), usage: { input_tokens: billed, output_tokens: 0 } }));
    }, options.latencyMs);
  };
  const server: Server = createServer((request, response) => {
    handle(request, response).catch(() => {
      response.writeHead(400);
      response.end();
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no address');
  return {
    url: `http://127.0.0.1:${address.port}/v1/batch`,
    arrivals,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The most that any half-open window [t, t + windowMs) holds: requests and summed weights. */
export function busiestWindow(events: readonly { at: number; weight: number }[], windowMs: number): { requests: number; weight: number } {
  const sorted = [...events].sort((a, b) => a.at - b.at);
  let requests = 0;
  let weight = 0;
  let end = 0;
  let inWindow = 0;
  let sum = 0;
  for (let start = 0; start < sorted.length; start++) {
    const from = (sorted[start] as { at: number }).at;
    while (end < sorted.length && (sorted[end] as { at: number }).at < from + windowMs) {
      sum += (sorted[end] as { weight: number }).weight;
      inWindow++;
      end++;
    }
    requests = Math.max(requests, inWindow);
    weight = Math.max(weight, sum);
    sum -= (sorted[start] as { weight: number }).weight;
    inWindow--;
  }
  return { requests, weight };
}

export interface FleetOptions {
  /** The Redis the fleet shares, and a client of the caller's to seed and inspect it. */
  redisUrl: string;
  client: Redis;
  provider: Provider;
  workers: number;
  items: number;
  /** A name for this run's keys (stream, group, results, limit). */
  name: string;
  requestsPerWindow?: number;
  tokensPerWindow?: number;
  windowMs: number;
  /** Per worker. Default 1. */
  concurrency?: number;
  /** Items per request. Default 4. */
  maxItems?: number;
  timeoutMs?: number;
  /** 'redis' (default): one redisRateLimiter for the fleet; 'local': a limiter per worker, each with the whole limit. */
  limiter?: 'redis' | 'local';
}

export interface FleetRun {
  /** The provider's arrivals during this run. */
  arrivals: Arrival[];
  /** Requests per second at the provider, first to last arrival. */
  throughput: number;
  /** The busiest window at the provider: requests and billed tokens. */
  busiest: { requests: number; weight: number };
  /** Windows over a limit at the provider (0 is the promise). */
  violations: number;
  /** Requests per worker, by consumer name. */
  shares: Record<string, number>;
  /** Distinct input entries with a result. */
  completed: number;
  /** Milliseconds from the go signal until every entry had a result and nothing was pending. */
  ms: number;
  /** Requests that had to wait for the limiter, over all workers (0: the limit never bound). */
  waits: number;
  workers: Worker[];
}

/** Run a fleet of worker processes over `items` entries, against one shared limit, and measure it at the provider. */
export async function runFleet(options: FleetOptions): Promise<FleetRun> {
  const { client, provider, name, windowMs } = options;
  const stream = `{${name}}:items`;
  const results = `{${name}}:results`;
  await seedStream(client, stream, options.items, (i) => `item ${i} of the fleet`);
  await client.call('XGROUP', 'CREATE', stream, 'fleet', '0');
  const first = provider.arrivals.length;
  const env = {
    REDIS_URL: options.redisUrl,
    WORKER_STREAM: stream,
    WORKER_GROUP: 'fleet',
    WORKER_RESULTS: results,
    WORKER_API_URL: provider.url,
    WORKER_LIMIT_KEY: `{${name}}:limit`,
    WORKER_LIMITER: options.limiter ?? 'redis',
    WORKER_WINDOW_MS: windowMs,
    WORKER_CONCURRENCY: options.concurrency ?? 1,
    WORKER_MAX_ITEMS: options.maxItems ?? 4,
    // Each worker holds about two rounds of requests, so that the stream, not the first reader, shares the work.
    WORKER_BATCH_SIZE: options.maxItems ?? 4,
    WORKER_MAX_IN_FLIGHT: (options.maxItems ?? 4) * (options.concurrency ?? 1) * 2,
    ...(options.requestsPerWindow === undefined ? {} : { WORKER_RPM: options.requestsPerWindow }),
    ...(options.tokensPerWindow === undefined ? {} : { WORKER_TPM: options.tokensPerWindow }),
  };
  let ms: number;
  let waits: number;
  const workers = Array.from({ length: options.workers }, (_, i) => forkWorker({ ...env, WORKER_CONSUMER: `w${i + 1}` }, 'fleet'));
  try {
    await Promise.all(workers.map((worker) => worker.next('ready', 60_000)));
    const started = performance.now();
    for (const worker of workers) worker.send('go');
    await waitFor(
      async () => Number(await client.call('XLEN', results)) >= options.items && (await pendingCount(client, stream, 'fleet')) === 0,
      options.timeoutMs ?? 60_000,
      `the fleet of ${options.workers} to finish ${options.items} items`,
    );
    ms = performance.now() - started;
    for (const worker of workers) worker.send('stop');
    const done = await Promise.all(workers.map((worker) => worker.next('done')));
    waits = done.reduce((sum, message) => sum + (message.limiter?.waits ?? 0), 0);
    await Promise.all(workers.map((worker) => worker.exited));
  } finally {
    for (const worker of workers) if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
  }
  const arrivals = provider.arrivals.slice(first);
  const events = arrivals.map((arrival) => ({ at: arrival.at, weight: arrival.billed }));
  const busiest = busiestWindow(events, windowMs);
  const violations = countViolations(events, windowMs, options.requestsPerWindow ?? Infinity, options.tokensPerWindow ?? Infinity);
  const span = arrivals.length > 1 ? (arrivals[arrivals.length - 1] as Arrival).at - (arrivals[0] as Arrival).at : Number.NaN;
  const shares: Record<string, number> = {};
  for (const arrival of arrivals) shares[arrival.worker] = (shares[arrival.worker] ?? 0) + 1;
  const completed = new Set((await readResults(client, results)).map((record) => record.fields.input)).size;
  return { arrivals, throughput: ((arrivals.length - 1) / span) * 1000, busiest, violations, shares, completed, ms, waits, workers };
}

/** Windows [t, t + windowMs), one starting at each arrival, that hold more requests or tokens than allowed. */
export function countViolations(events: readonly { at: number; weight: number }[], windowMs: number, requests: number, tokens: number): number {
  const sorted = [...events].sort((a, b) => a.at - b.at);
  let violations = 0;
  let end = 0;
  let sum = 0;
  for (let start = 0; start < sorted.length; start++) {
    const from = (sorted[start] as { at: number }).at;
    while (end < sorted.length && (sorted[end] as { at: number }).at < from + windowMs) sum += (sorted[end++] as { weight: number }).weight;
    if (end - start > requests || sum > tokens) violations++;
    sum -= (sorted[start] as { weight: number }).weight;
  }
  return violations;
}
