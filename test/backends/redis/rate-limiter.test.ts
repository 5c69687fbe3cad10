/**
 * redisRateLimiter against a real redis-server: several limiters on one key behave as one, whatever
 * process they live in (here: separate connections). Times are Redis's own (`grant.at`), so the
 * checks are about order and counts, never about how long anything took.
 */
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbortError, TransientError } from '../../../src/errors.js';
import { redisRateLimiter, type RedisRateLimitGrant } from '../../../src/redis.js';
import { busiestWindow } from '../../support/redis-fleet.js';
import { INSTALL_HINT, redisServerPath, startRedisServer, type RedisServer } from '../../support/redis.js';

const hasRedis = redisServerPath() !== undefined;
if (!hasRedis) console.warn(`test/backends/redis/rate-limiter.test.ts: Redis tests skipped: ${INSTALL_HINT}`);

const fakeClient = { call: async () => null, duplicate: () => fakeClient, disconnect: () => {} };

describe('redisRateLimiter options', () => {
  it('throws at creation, naming the option', () => {
    const base = { client: fakeClient, key: 'k' };
    expect(() => redisRateLimiter(undefined as never)).toThrow(/^redisRateLimiter: expected an options object/);
    expect(() => redisRateLimiter({ ...base, client: {} as never })).toThrow(/^redisRateLimiter: client:/);
    expect(() => redisRateLimiter({ ...base, key: '' })).toThrow(/^redisRateLimiter: key:/);
    expect(() => redisRateLimiter({ ...base, requestsPerMinute: 0 })).toThrow(RangeError);
    expect(() => redisRateLimiter({ ...base, tokensPerMinute: -5 })).toThrow(/^redisRateLimiter: tokensPerMinute:/);
    expect(() => redisRateLimiter({ ...base, windowMs: 0.5 })).toThrow(/^redisRateLimiter: windowMs:/);
    expect(() => redisRateLimiter({ ...base, scheduler: {} as never })).toThrow(/^redisRateLimiter: scheduler:/);
    expect(() => redisRateLimiter({ ...base, requestPerMinute: 5 } as never)).toThrow("redisRateLimiter: unknown option 'requestPerMinute' (did you mean 'requestsPerMinute'?)");
  });
});

describe.skipIf(!hasRedis)('redisRateLimiter against redis-server', () => {
  let server: RedisServer;
  const clients: Redis[] = [];
  let keys = 0;
  const fresh = () => `limit:${++keys}`;
  const connect = () => {
    const client = new Redis(server.url);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    for (const client of clients) client.disconnect();
    await server?.stop();
  });

  it('limiters on separate connections share one budget: no window of Redis time holds more than the limit', async () => {
    const key = fresh();
    const windowMs = 300;
    const limiters = [0, 1, 2].map(() => redisRateLimiter({ client: connect(), key, requestsPerMinute: 4, tokensPerMinute: 100, windowMs }));
    const grants: RedisRateLimitGrant[] = [];
    // 3 limiters × 6 requests of 10 tokens: the request limit binds (4 per window), tokens not.
    await Promise.all(limiters.flatMap((limiter) => Array.from({ length: 6 }, async () => grants.push(await limiter.acquire(10)))));
    expect(grants).toHaveLength(18);
    expect(
      busiestWindow(
        grants.map((grant) => ({ at: grant.at, weight: grant.tokens })),
        windowMs,
      ),
    ).toEqual({ requests: 4, weight: 40 });
    const waits = limiters.reduce((sum, limiter) => sum + limiter.stats.waits, 0);
    expect(waits).toBeGreaterThan(0);
    expect(limiters.map((limiter) => limiter.stats.granted)).toEqual([6, 6, 6]);
  });

  it('property: for any limits, weights and number of limiters, every request is granted and no window of grants exceeds the limits', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          limiters: fc.integer({ min: 1, max: 3 }),
          requests: fc.integer({ min: 1, max: 4 }),
          tokens: fc.integer({ min: 20, max: 60 }),
          weights: fc.array(fc.integer({ min: 0, max: 80 }), { minLength: 1, maxLength: 12 }),
        }),
        async ({ limiters: count, requests, tokens, weights }) => {
          const key = fresh();
          const windowMs = 80;
          const limiters = Array.from({ length: count }, () => redisRateLimiter({ client: connect(), key, requestsPerMinute: requests, tokensPerMinute: tokens, windowMs }));
          const grants = await Promise.all(weights.map((weight, i) => (limiters[i % count] as (typeof limiters)[0]).acquire(weight)));
          expect(grants.map((grant) => grant.tokens)).toEqual(weights);
          // A request heavier than the budget counts as the whole budget: it goes alone.
          const busiest = busiestWindow(
            grants.map((grant) => ({ at: grant.at, weight: Math.min(grant.tokens, tokens) })),
            windowMs,
          );
          expect(busiest.requests).toBeLessThanOrEqual(requests);
          expect(busiest.weight).toBeLessThanOrEqual(tokens);
        },
      ),
      { numRuns: 12, seed: 16 },
    );
  });

  it('the token budget binds too, and a request heavier than the budget goes alone', async () => {
    const key = fresh();
    const windowMs = 250;
    const [a, b] = [connect(), connect()].map((client) => redisRateLimiter({ client, key, tokensPerMinute: 100, windowMs })) as [
      ReturnType<typeof redisRateLimiter>,
      ReturnType<typeof redisRateLimiter>,
    ];
    const grants = await Promise.all([a.acquire(60), b.acquire(60), a.acquire(30), b.acquire(250), a.acquire(40)]);
    const events = grants.map((grant) => ({ at: grant.at, weight: Math.min(grant.tokens, 100) }));
    expect(busiestWindow(events, windowMs).weight).toBeLessThanOrEqual(100);
    // The heavy one had the window to itself.
    const heavy = grants[3];
    for (const other of grants) if (other !== heavy) expect(Math.abs(other.at - heavy.at)).toBeGreaterThanOrEqual(windowMs);
  });

  it('settling to billed usage frees the difference for every process', async () => {
    const key = fresh();
    const a = redisRateLimiter({ client: connect(), key, tokensPerMinute: 1000, windowMs: 60_000 });
    const b = redisRateLimiter({ client: connect(), key, tokensPerMinute: 1000, windowMs: 60_000 });
    const grant = await a.acquire(900);
    grant.settle(200); // billed far less than estimated
    await a.flush();
    const started = await b.acquire(700); // would wait a minute without the settle
    expect(started.tokens).toBe(700);
    expect(b.stats.waits).toBe(0);
    // Billed more than reserved: the overdraft counts too.
    started.settle(800);
    await b.flush();
    const client = connect();
    expect(Number(await client.call('GET', `{${key}}:tokens`))).toBe(1000);
  });

  it('a settle counts the request from the settle on: its window starts no earlier than its answer', async () => {
    const key = fresh();
    const windowMs = 400;
    const limiter = redisRateLimiter({ client: connect(), key, requestsPerMinute: 1, windowMs });
    const first = await limiter.acquire(1);
    await new Promise((resolve) => setTimeout(resolve, 50)); // the request is on the wire
    first.settle(1);
    await limiter.flush();
    const client = connect();
    const [, settledAt] = ((await client.call('ZRANGE', `{${key}}:grants`, 0, -1, 'WITHSCORES')) as unknown[]).flat() as [string, string];
    expect(Number(settledAt)).toBeGreaterThan(first.at);
    const second = await limiter.acquire(1);
    expect(second.at).toBeGreaterThanOrEqual(Number(settledAt) + windowMs);
  });

  it('a pause (a 429) stops every process sharing the key until it ends', async () => {
    const key = fresh();
    const a = redisRateLimiter({ client: connect(), key, requestsPerMinute: 100, windowMs: 1000 });
    const b = redisRateLimiter({ client: connect(), key, requestsPerMinute: 100, windowMs: 1000 });
    await b.acquire(1);
    a.pause(300);
    await a.flush();
    const pausedUntil = Number(await connect().call('GET', `{${key}}:pause`));
    const grant = await b.acquire(1);
    expect(grant.at).toBeGreaterThanOrEqual(pausedUntil);
    expect(b.stats.waits).toBe(1);
    // A provider's headers saying nothing is left pause the fleet as well.
    a.observe({ remainingRequests: 0, resetRequestsMs: 200 });
    await a.flush();
    const until = Number(await connect().call('GET', `{${key}}:pause`));
    expect((await b.acquire(1)).at).toBeGreaterThanOrEqual(until);
  });

  it('an aborted waiter rejects with the signal reason and uses no budget; the next waiter goes', async () => {
    const key = fresh();
    const limiter = redisRateLimiter({ client: connect(), key, requestsPerMinute: 1, windowMs: 300 });
    await limiter.acquire(1);
    const controller = new AbortController();
    const waiting = limiter.acquire(1, controller.signal);
    const next = limiter.acquire(1);
    controller.abort(new AbortError('gone'));
    await expect(waiting).rejects.toThrow('gone');
    const grant = await next;
    expect(grant.tokens).toBe(1);
    expect(Number(await connect().call('ZCARD', `{${key}}:grants`))).toBeLessThanOrEqual(2);
    expect(limiter.stats.waiting).toBe(0);
  });

  it('all its keys share one Redis Cluster slot (one hash tag), also for a key with a tag of its own', async () => {
    const key = fresh();
    const limiter = redisRateLimiter({ client: connect(), key: `{tenant-7}:${key}`, requestsPerMinute: 10, windowMs: 1000 });
    (await limiter.acquire(5)).settle(3);
    limiter.pause(10);
    await limiter.flush();
    const found = ((await connect().call('KEYS', '*tenant-7*')) as string[]).sort();
    expect(found.every((name) => name.startsWith('{tenant-7}:'))).toBe(true);
    expect(found.length).toBeGreaterThanOrEqual(2);
  });

  it('Redis unreachable: acquire rejects with a retryable TransientError, and never an unhandled error', async () => {
    const client = new Redis('redis://127.0.0.1:1', { maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
    client.on('error', () => {});
    const limiter = redisRateLimiter({ client, key: fresh(), requestsPerMinute: 10 });
    await expect(limiter.acquire(1)).rejects.toBeInstanceOf(TransientError);
    limiter.pause(100);
    await limiter.flush();
    expect(limiter.stats.errors).toBe(2);
    client.disconnect();
  });
});

if (!hasRedis) {
  describe('redisRateLimiter against redis-server', () => {
    it.skip(`skipped: ${INSTALL_HINT}`, () => {});
  });
}
