/**
 * Redis Cluster compatibility against a one-node cluster (every slot on one redis-server): it
 * refuses, as any cluster does, a script whose keys hash to different slots. The limiter, the
 * source and the sink run on an ioredis `Cluster` client.
 */
import fc from 'fast-check';
import { Cluster } from 'ioredis';
import { lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bufferByTokens, mergeBatches, orderedResults, TransientError, type BatchHandler } from '../../../src/index.js';
import { fromRedisStream, redisRateLimiter, toRedisStream, type StreamEntry } from '../../../src/redis.js';
import { sameSlot } from '../../../src/backends/redis/client.js';
import { INSTALL_HINT, pendingCount, readResults, redisServerPath, seedStream, startRedisServer, waitFor, type RedisServer } from '../../support/redis.js';

const hasRedis = redisServerPath() !== undefined;
if (!hasRedis) console.warn(`test/backends/redis/cluster.test.ts: Redis tests skipped: ${INSTALL_HINT}`);

describe.skipIf(!hasRedis)('on Redis Cluster (one node, every slot)', () => {
  let server: RedisServer;
  let cluster: Cluster;

  beforeAll(async () => {
    server = await startRedisServer({ cluster: true });
    cluster = new Cluster([{ host: '127.0.0.1', port: server.port }]);
    cluster.on('error', () => {});
  });
  afterAll(async () => {
    cluster?.disconnect();
    await server?.stop();
  });

  it('refuses a script over keys of two slots (the check below is real)', async () => {
    await expect(cluster.call('EVAL', "return redis.call('GET', KEYS[1])", 2, 'a', 'b')).rejects.toThrow(/CROSSSLOT/);
  });

  it('a key and the keys named after it (sameSlot) hash to one slot, for any key', async () => {
    const keys = fc.sample(
      fc.oneof(
        fc.string({ unit: fc.constantFrom('a', 'b', ':', '-', 'x', '7', 'é'), minLength: 1 }),
        fc.string().map((tag) => `{t${tag.replace(/[{}]/g, '')}}:in`),
      ),
      { numRuns: 60, seed: 16 },
    );
    for (const key of keys) {
      const slot = await cluster.call('CLUSTER', 'KEYSLOT', key);
      for (const suffix of [':dead', ':grants', ':results']) expect(await cluster.call('CLUSTER', 'KEYSLOT', sameSlot(key, suffix))).toBe(slot);
    }
  });

  it('the shared limiter works: its keys share one slot', async () => {
    const limiter = redisRateLimiter({ client: cluster, key: 'openai:gpt-4o-mini', requestsPerMinute: 2, tokensPerMinute: 100, windowMs: 200 });
    const grants = await Promise.all([limiter.acquire(10), limiter.acquire(10), limiter.acquire(10)]);
    (grants[0] ?? { settle: () => {} }).settle(5);
    limiter.pause(10);
    await limiter.flush();
    expect(limiter.stats).toMatchObject({ granted: 3, errors: 0 });
  });

  it('a chain with hash-tagged streams runs, dead letters included', async () => {
    const client = cluster;
    const stream = '{tickets}:items';
    await seedStream(cluster, stream, 12, (i) => (i === 4 ? 'always failing' : `ticket ${i}`));
    const source = fromRedisStream({ client, stream, group: 'g', consumer: 'c', blockMs: 50, minIdleMs: 100, claimIntervalMs: 30, maxDeliveries: 2 });
    expect(source.deadLetterStream).toBe('{tickets}:dead');
    const handler: BatchHandler<StreamEntry, string> = async (batch) => {
      if (batch.items.some((entry) => entry.fields.text === 'always failing')) throw new TransientError('503');
      return batch.items.map((entry) => entry.fields.text ?? '');
    };
    const done = lastValueFrom(
      source.pipe(
        bufferByTokens({ maxTokens: 1000, maxItems: 1, maxWaitMs: 10, text: (entry) => entry.fields.text ?? '' }),
        mergeBatches(handler, { retry: false }),
        orderedResults(),
        toRedisStream({ source, stream: '{tickets}:results' }),
        toArray(),
      ),
    );
    await waitFor(async () => source.stats.acked === 12 && (await pendingCount(cluster, stream, 'g')) === 0, 10_000, 'every entry settled');
    source.stop();
    await done;
    expect(await readResults(cluster, '{tickets}:results')).toHaveLength(12);
    expect(await readResults(cluster, '{tickets}:dead')).toHaveLength(1);
  });

  it('toRedisStream refuses, at creation, streams that would not share a slot', () => {
    const source = fromRedisStream({ client: cluster, stream: '{orders}:items', group: 'g', consumer: 'c' });
    expect(() => toRedisStream({ source, stream: 'orders:results' })).toThrow(
      /^toRedisStream: stream "orders:results" and source stream "\{orders\}:items" hash to different Redis Cluster slots/,
    );
    expect(() => toRedisStream({ source, stream: '{orders}:results' })).not.toThrow();
  });
});

if (!hasRedis) {
  describe('on Redis Cluster', () => {
    it.skip(`skipped: ${INSTALL_HINT}`, () => {});
  });
}
