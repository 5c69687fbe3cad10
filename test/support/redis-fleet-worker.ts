/**
 * One worker of a fleet, for the shared-limit tests and the fleet bench: fromRedisStream →
 * bufferByTokens → mergeBatches (a handler that POSTs each batch to a loopback provider, under a
 * redisRateLimiter shared with the other workers) → orderedResults → toRedisStream.
 *
 * Started with `fork` and configured by environment variables (WORKER_*, REDIS_URL). It says
 * `ready`, starts on `go`, and on `stop` finishes what it holds, says `done` and exits 0.
 */
import { Redis } from 'ioredis';
import { lastValueFrom } from 'rxjs';
import { bufferByTokens, mergeBatches, orderedResults, RateLimitError, TransientError, type BatchHandler } from '../../src/index.js';
import { fromRedisStream, redisRateLimiter, toRedisStream, type StreamEntry } from '../../src/redis.js';
import type { WorkerMessage } from './redis-worker.js';

const env = process.env;
const number = (name: string, fallback: number): number => (env[name] === undefined ? fallback : Number(env[name]));
const send = (message: WorkerMessage): void => {
  process.send?.(message);
};

const consumer = env.WORKER_CONSUMER ?? `worker-${process.pid}`;
const client = new Redis(env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const source = fromRedisStream({
  client,
  stream: env.WORKER_STREAM ?? 'items',
  group: env.WORKER_GROUP ?? 'workers',
  consumer,
  maxInFlight: number('WORKER_MAX_IN_FLIGHT', 100),
  blockMs: 200,
  batchSize: number('WORKER_BATCH_SIZE', 20),
});
// WORKER_LIMITER=local: each worker has a limiter of its own (the baseline the shared one replaces).
const local = env.WORKER_LIMITER === 'local';
const limiter = redisRateLimiter({
  client,
  key: env.WORKER_LIMIT_KEY ?? 'limit',
  requestsPerMinute: env.WORKER_RPM === undefined ? undefined : Number(env.WORKER_RPM),
  tokensPerMinute: env.WORKER_TPM === undefined ? undefined : Number(env.WORKER_TPM),
  windowMs: number('WORKER_WINDOW_MS', 60_000),
});
const url = env.WORKER_API_URL ?? 'http://127.0.0.1:1/';
let requests = 0;
let processed = 0;

const text = (entry: StreamEntry): string => entry.fields.text ?? '';
const handler: BatchHandler<StreamEntry, string> = async (batch, context) => {
  const { signal } = context;
  requests++;
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ worker: consumer, items: batch.items.map(text), tokens: batch.tokens }),
    signal,
  });
  if (response.status === 429) {
    await response.body?.cancel();
    throw new RateLimitError('429 from the provider', { retryAfterMs: Number(response.headers.get('retry-after-ms') ?? 1000) });
  }
  if (!response.ok) throw new TransientError(`HTTP ${response.status}`);
  const body = (await response.json()) as { results: string[]; usage: { input_tokens: number; output_tokens: number } };
  context.report({ usage: { inputTokens: body.usage.input_tokens, outputTokens: body.usage.output_tokens } });
  processed += batch.items.length;
  return body.results;
};

async function run(): Promise<void> {
  const batching = { maxTokens: 10_000, maxItems: number('WORKER_MAX_ITEMS', 4), maxWaitMs: 20, text };
  const localLimit = {
    requestsPerMinute: env.WORKER_RPM === undefined ? undefined : Number(env.WORKER_RPM),
    tokensPerMinute: env.WORKER_TPM === undefined ? undefined : Number(env.WORKER_TPM),
    windowMs: number('WORKER_WINDOW_MS', 60_000),
  };
  const merging = { concurrency: number('WORKER_CONCURRENCY', 1), rateLimit: local ? localLimit : limiter, retry: { maxAttempts: 5, baseDelayMs: 50 } };
  await lastValueFrom(source.pipe(bufferByTokens(batching), mergeBatches(handler, merging), orderedResults(), toRedisStream({ source, stream: env.WORKER_RESULTS ?? 'results' })), {
    defaultValue: undefined,
  });
}

process.on('SIGTERM', () => source.stop());
process.on('message', (message: { type: string }) => {
  if (message.type === 'stop') source.stop();
  if (message.type === 'go') {
    run().then(
      async () => {
        await limiter.flush();
        send({ type: 'done', processed, stats: source.stats, requests, limiter: limiter.stats });
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
