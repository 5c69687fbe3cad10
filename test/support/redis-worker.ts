/**
 * One worker process of a Redis consumer group, for the multi-process tests and the bench: it runs
 * the chain fromRedisStream → bufferByTokens → mergeBatches (embedded handler: uppercase after a
 * delay) → orderedResults → toRedisStream, on the RxJS or the async-iterable face.
 *
 * Started with `fork` (an IPC channel) and configured by environment variables. It says `ready`,
 * starts reading on `go`, and on `stop` (or SIGTERM) stops reading, finishes what it holds, says
 * `done` with its stats and exits 0. With WORKER_HANG_AFTER set, the batch that reaches that many
 * processed items never completes: the worker says `hung` (with that batch's entry ids) and waits
 * to be killed.
 */
import { from as ixFrom } from 'ix/asynciterable';
import { Redis } from 'ioredis';
import { lastValueFrom } from 'rxjs';
import { bufferByTokens, mergeBatches, orderedResults, type BatchHandler } from '../../src/index.js';
import * as iterable from '../../src/iterable.js';
import { fromRedisStream, toRedisStream, type RedisStreamStats, type StreamEntry } from '../../src/redis.js';

export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'hung'; ids: string[]; inFlight: number }
  | { type: 'done'; processed: number; stats: RedisStreamStats; requests?: number; limiter?: { waits: number; granted: number; errors: number } }
  | { type: 'error'; message: string };

const env = process.env;
const number = (name: string, fallback: number): number => (env[name] === undefined ? fallback : Number(env[name]));
const send = (message: WorkerMessage): void => {
  process.send?.(message);
};

const client = new Redis(env.REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: false });
const source = fromRedisStream({
  client,
  stream: env.WORKER_STREAM ?? 'items',
  group: env.WORKER_GROUP ?? 'workers',
  consumer: env.WORKER_CONSUMER ?? `worker-${process.pid}`,
  batchSize: number('WORKER_BATCH_SIZE', 100),
  maxInFlight: number('WORKER_MAX_IN_FLIGHT', 200),
  minIdleMs: number('WORKER_MIN_IDLE_MS', 60_000),
  claimIntervalMs: number('WORKER_CLAIM_INTERVAL_MS', 100),
  blockMs: number('WORKER_BLOCK_MS', 500),
});
const delayMs = number('WORKER_DELAY_MS', 2);
const hangAfter = env.WORKER_HANG_AFTER === undefined ? Number.POSITIVE_INFINITY : Number(env.WORKER_HANG_AFTER);
let processed = 0;
let hung = false;

const handler: BatchHandler<StreamEntry, string> = (batch, { signal }) =>
  new Promise((resolve, reject) => {
    if (!hung && processed + batch.items.length >= hangAfter) {
      hung = true;
      send({ type: 'hung', ids: batch.items.map((entry) => entry.id), inFlight: source.inFlight });
      return; // never settles: the process is killed mid-batch
    }
    const timer = setTimeout(() => {
      processed += batch.items.length;
      resolve(batch.items.map((entry) => (entry.fields.text ?? '').toUpperCase()));
    }, delayMs);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });

const batching = { maxTokens: 2000, maxItems: number('WORKER_MAX_ITEMS', 50), maxWaitMs: 20, text: (entry: StreamEntry) => entry.fields.text ?? '' };
const merging = { concurrency: number('WORKER_CONCURRENCY', 4) };
const sink = { source, stream: env.WORKER_RESULTS ?? 'results' };

async function run(): Promise<void> {
  if (env.WORKER_FACE === 'iterable') {
    const outcomes = ixFrom(source).pipe(iterable.bufferByTokens(batching), iterable.mergeBatches(handler, merging), iterable.orderedResults(), toRedisStream(sink));
    for await (const _outcome of outcomes) {
      // written and acknowledged
    }
  } else {
    await lastValueFrom(source.pipe(bufferByTokens(batching), mergeBatches(handler, merging), orderedResults(), toRedisStream(sink)), { defaultValue: undefined });
  }
}

process.on('SIGTERM', () => source.stop());
process.on('message', (message: { type: string }) => {
  if (message.type === 'stop') source.stop();
  if (message.type === 'go') {
    run().then(
      async () => {
        send({ type: 'done', processed, stats: source.stats });
        await client.quit();
        process.disconnect?.();
      },
      (error: unknown) => {
        send({ type: 'error', message: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
        process.exitCode = 1;
        client.disconnect();
        process.disconnect?.();
      },
    );
  }
});
client.once('ready', () => send({ type: 'ready' }));
