/**
 * Scaling out with Redis Streams: two workers of one consumer group share a stream of support
 * tickets; one of them dies halfway (its chain is torn down without acknowledging what it held) and
 * the other takes over its pending entries after `minIdleMs`. Every ticket ends up with a result.
 * Both workers call the model under one rate limit, shared through Redis (`redisRateLimiter`).
 *
 * Run it with `npx tsx examples/redis-workers.ts`. It uses REDIS_URL when set; otherwise it starts a
 * throwaway redis-server (if installed) on a free loopback port, and stops it at the end.
 */
import { Redis } from 'ioredis';
import type { Subscription } from 'rxjs';
import { bufferByTokens, mergeBatches, orderedResults, type BatchHandler } from 'tokenbatch';
import { fromRedisStream, redisRateLimiter, toRedisStream, type RedisRateLimiter, type RedisStreamSource, type StreamEntry } from 'tokenbatch/redis';
import { INSTALL_HINT, readResults, redisServerPath, seedStream, startRedisServer, waitFor, type RedisServer } from '../test/support/redis.js';

const TICKETS = 2000;
const subjects = ['Refund not received', 'Cannot log in', 'App crashes on start', 'Invoice is wrong', 'Feature request: dark mode'];

if (!process.env.REDIS_URL && !redisServerPath()) {
  console.log(`skipped: ${INSTALL_HINT} (or set REDIS_URL)`);
  process.exit(0);
}
let server: RedisServer | undefined;
let redisUrl = process.env.REDIS_URL;
if (!redisUrl) {
  server = await startRedisServer();
  redisUrl = server.url;
}
const url = redisUrl;
const admin = new Redis(url);
const stream = `tickets:${Date.now()}`; // fresh keys, so a shared REDIS_URL is left as it was
const results = `${stream}:results`;
await seedStream(admin, stream, TICKETS, (i) => `${subjects[i % subjects.length]} (ticket ${i})`);

// The model stand-in: route each ticket to a queue, 5 ms a batch.
const route: BatchHandler<StreamEntry, string> = (batch, { signal }) =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve(batch.items.map((entry) => (/refund|invoice/i.test(entry.fields.text ?? '') ? 'billing' : 'support'))), 5);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });

interface Worker {
  source: RedisStreamSource;
  limiter: RedisRateLimiter;
  client: Redis;
  subscription: Subscription;
  done: Promise<void>;
  processed: () => number;
}

function worker(name: string): Worker {
  const client = new Redis(url);
  const source = fromRedisStream({ client, stream, group: 'triage', consumer: name, maxInFlight: 200, minIdleMs: 500, claimIntervalMs: 100, blockMs: 200 });
  // One budget for both workers: 40 requests a second between them, whichever does the work.
  const limiter = redisRateLimiter({ client, key: `${stream}:limit`, requestsPerMinute: 40, windowMs: 1000 });
  let processed = 0;
  const outcomes = source.pipe(
    bufferByTokens({ maxTokens: 2000, maxItems: 25, maxWaitMs: 20, text: (entry) => entry.fields.text ?? '' }),
    mergeBatches(route, { concurrency: 4, rateLimit: limiter }),
    orderedResults(),
    toRedisStream({ source, stream: results }),
  );
  let settle: { resolve: () => void; reject: (error: unknown) => void } | undefined;
  const done = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  const subscription = outcomes.subscribe({ next: () => processed++, error: (error: unknown) => settle?.reject(error), complete: () => settle?.resolve() });
  return { source, limiter, client, subscription, done, processed: () => processed };
}

const one = worker('worker-1');
const two = worker('worker-2');

// worker-2 "crashes" after a few hundred tickets: its chain is gone, its entries stay pending.
await waitFor(() => two.processed() >= 300, 20_000, 'worker-2 to get going');
two.subscription.unsubscribe();
const abandoned = ((await admin.call('XPENDING', stream, 'triage', '-', '+', 1000, 'worker-2')) as unknown[]).length;
console.log(`worker-2 died after ${two.processed()} results, holding ${abandoned} unacknowledged entries`);
two.client.disconnect();

await waitFor(async () => new Set((await readResults(admin, results)).map((record) => record.fields.input)).size === TICKETS, 20_000, 'every ticket to have a result');
one.source.stop(); // what SIGTERM would do: finish what is in flight, then complete
await one.done;

const written = await readResults(admin, results);
const byWorker = new Map<string, number>();
for (const record of written) byWorker.set(record.fields.consumer ?? '?', (byWorker.get(record.fields.consumer ?? '?') ?? 0) + 1);
const distinct = new Set(written.map((record) => record.fields.input)).size;
console.log(`results: ${written.length} entries for ${distinct} of ${TICKETS} tickets (${written.length - distinct} written twice: at-least-once)`);
for (const [name, count] of byWorker) console.log(`  ${name}: ${count} results`);
console.log(
  `worker-1 took over ${one.source.stats.claimed} entries of worker-2 after minIdleMs; pending now: ${Number(((await admin.call('XPENDING', stream, 'triage')) as [number])[0])}`,
);

console.log(`requests granted under the shared limit: worker-1 ${one.limiter.stats.granted}, worker-2 ${two.limiter.stats.granted}`);

await admin.del(stream, results);
await one.client.quit();
await admin.quit();
await server?.stop();
