import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisCache } from '../../src/cache/redis.js';
import { resultCacheLayer } from '../../src/cache/layer.js';
import { INSTALL_HINT, redisServerPath, startRedisServer, type RedisServer } from '../support/redis.js';

const hasRedis = redisServerPath() !== undefined;
if (!hasRedis) console.warn(`test/cache/redis.test.ts: Redis cache tests skipped: ${INSTALL_HINT}`);

describe('createRedisCache options', () => {
  it('throws naming the option', () => {
    expect(() => createRedisCache({} as never)).toThrow(new TypeError("createRedisCache: client: expected a Redis client with call(command, ...args), such as ioredis's Redis"));
    expect(() => createRedisCache({ client: { call: async () => null }, prefix: 3 } as never)).toThrow(/prefix/);
    expect(() => createRedisCache({ client: { call: async () => null }, maxEntries: 0 })).toThrow(RangeError);
    expect(() => createRedisCache({ client: { call: async () => null }, ttl: 1 } as never)).toThrow(/unknown option 'ttl'/);
  });
});

describe.skipIf(!hasRedis)('createRedisCache against a real redis-server', () => {
  let server: RedisServer;
  let client: Redis;
  let other: Redis;
  beforeAll(async () => {
    server = await startRedisServer();
    client = new Redis(server.url);
    other = new Redis(server.url);
  }, 20_000);
  afterAll(async () => {
    client?.disconnect();
    other?.disconnect();
    await server?.stop();
  });

  it('stores and reads back in key order, across connections (workers)', async () => {
    const writer = createRedisCache<unknown>({ client, prefix: 't1:' });
    const reader = createRedisCache<unknown>({ client: other, prefix: 't1:' });
    await writer.set([
      { key: 'a', value: { label: 'spam' } },
      { key: 'b', value: null },
      { key: 'c', value: 0 },
    ]);
    expect(await reader.get(['c', 'x', 'a', 'b'])).toEqual([{ value: 0 }, undefined, { value: { label: 'spam' } }, { value: null }]);
    expect(await reader.get([])).toEqual([]);
    expect(await createRedisCache({ client, prefix: 't1-other:' }).get(['a'])).toEqual([undefined]);
  });

  it('lets Redis expire entries after ttlMs, or the ttl given to set', async () => {
    const cache = createRedisCache({ client, prefix: 't2:', ttlMs: 60_000 });
    await cache.set([{ key: 'a', value: 1 }]);
    await cache.set([{ key: 'b', value: 2 }], 1_500);
    const ttlA = Number(await client.call('PTTL', 't2:a'));
    const ttlB = Number(await client.call('PTTL', 't2:b'));
    expect(ttlA).toBeGreaterThan(1_500);
    expect(ttlA).toBeLessThanOrEqual(60_000);
    expect(ttlB).toBeGreaterThan(0);
    expect(ttlB).toBeLessThanOrEqual(1_500);
    await client.call('PEXPIRE', 't2:b', 1);
    // Redis expires the key on its own clock: ask until it has, rather than sleep a guess.
    await expect.poll(() => cache.get(['a', 'b'])).toEqual([{ value: 1 }, undefined]);
  });

  it('keeps at most maxEntries under its prefix, the oldest written out first', async () => {
    const cache = createRedisCache({ client, prefix: 't3:', maxEntries: 5 });
    for (let i = 0; i < 8; i++) await cache.set([{ key: `k${i}`, value: i }]);
    const hits = await cache.get(Array.from({ length: 8 }, (_, i) => `k${i}`));
    expect(hits.map((hit) => hit?.value)).toEqual([undefined, undefined, undefined, 3, 4, 5, 6, 7]);
    expect(Number(await client.call('ZCARD', 't3:__index'))).toBe(5);
  });

  it("serves a cache layer: a second worker gets the first one's results", async () => {
    const identity = { model: 'm1', prompt: 'classify' };
    const first = resultCacheLayer<string, string>({ store: createRedisCache({ client, prefix: 't4:' }), identity }, 'c');
    const second = resultCacheLayer<string, string>({ store: createRedisCache({ client: other, prefix: 't4:' }), identity }, 'c');
    const { keys } = await first.lookup(['great', 'awful']);
    await first.remember(keys, [{ ok: true, value: 'positive' }, { ok: false }]);
    expect((await second.lookup(['Great', 'awful'])).hits).toEqual([{ value: 'positive' }, undefined]);
  });

  it('a store whose server is gone fails its calls, which the layer turns into misses', async () => {
    const dead = new Redis({ port: server.port + 1 === 65536 ? 1 : server.port + 1, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    dead.on('error', () => {});
    const layer = resultCacheLayer<string, string>({ store: createRedisCache({ client: dead }), identity: { model: 'm' } }, 'c');
    expect((await layer.lookup(['a'])).hits).toEqual([undefined]);
    expect(layer.stats().errors).toBe(1);
    dead.disconnect();
  });
});
