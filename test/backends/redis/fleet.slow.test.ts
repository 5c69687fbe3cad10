/**
 * A fleet of worker processes under one shared limit (redisRateLimiter), against a real
 * redis-server and a loopback provider that records when each request arrives. The provider is the
 * judge: no window of its arrivals may hold more requests or billed tokens than the limit.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countViolations, runFleet, startProvider, type FleetRun, type Provider } from '../../support/redis-fleet.js';
import { INSTALL_HINT, redisServerPath, startRedisServer, type RedisServer } from '../../support/redis.js';

const hasRedis = redisServerPath() !== undefined;
if (!hasRedis) console.warn(`test/backends/redis/fleet.slow.test.ts skipped: ${INSTALL_HINT}`);

describe('countViolations (the judge)', () => {
  it('checks every window, half-open, for requests and tokens', () => {
    const events = [0, 100, 999, 1000, 1500].map((at) => ({ at, weight: 10 }));
    expect(countViolations(events, 1000, 3, Infinity)).toBe(0);
    expect(countViolations(events, 1000, 2, Infinity)).toBe(3); // [0, 1000), [100, 1100) and [999, 1999) hold 3
    expect(countViolations(events, 1000, 3, 29)).toBe(3);
  });
});

describe.skipIf(!hasRedis)('a fleet of worker processes sharing one limit', () => {
  let server: RedisServer;
  let client: Redis;
  let provider: Provider;
  const windowMs = 1000;
  const requestsPerWindow = 16;
  const tokensPerWindow = 600;

  beforeAll(async () => {
    server = await startRedisServer();
    client = new Redis(server.url);
    // 150 ms an answer and one request at a time: one worker does at most ~6.7 requests a second,
    // under the limit of 16; four workers could do 26, so the limit binds.
    provider = await startProvider({ latencyMs: 150, billRatio: 0.5, rateLimited: { requests: [], retryAfterMs: 0 } });
  });
  afterAll(async () => {
    await provider?.close();
    client?.disconnect();
    await server?.stop();
  });

  it('1, 2 and 4 workers: never over the limit at the provider; throughput grows until the limit binds', { timeout: 120_000 }, async () => {
    const runs: FleetRun[] = [];
    for (const workers of [1, 2, 4]) {
      const run = await runFleet({ redisUrl: server.url, client, provider, workers, items: 120, name: `grow-${workers}`, windowMs, requestsPerWindow, tokensPerWindow });
      expect(run.completed).toBe(120);
      expect(run.violations).toBe(0);
      expect(run.busiest.requests).toBeLessThanOrEqual(requestsPerWindow);
      expect(run.busiest.weight).toBeLessThanOrEqual(tokensPerWindow);
      expect(Object.keys(run.shares)).toHaveLength(workers);
      runs.push(run);
    }
    const [one, two, four] = runs as [FleetRun, FleetRun, FleetRun];
    // One worker is limited by its own speed, not by the limit: it never waits for it...
    expect(one.busiest.requests).toBeLessThan(requestsPerWindow);
    expect(one.waits).toBe(0);
    // ...two do more...
    expect(two.throughput).toBeGreaterThan(one.throughput * 1.3);
    // ...and four reach the limit: they wait for it, and come close to it, but never above.
    expect(four.waits).toBeGreaterThan(0);
    expect(four.busiest.requests).toBeGreaterThanOrEqual(requestsPerWindow - 3);
    // Every worker gets a fair part of the shared budget.
    for (const share of Object.values(four.shares)) expect(share).toBeGreaterThan(30 / 4 / 3);
  });

  it('a 429 pauses every worker of the fleet, not only the one that got it', { timeout: 120_000 }, async () => {
    await provider.close();
    // Request 5 gets a 429 asking for 1 s. Without a pause, 3 workers × 2 requests at a time
    // at 30 ms an answer would be held only by the request limit: 40 in any second.
    provider = await startProvider({ latencyMs: 30, billRatio: 1, rateLimited: { requests: [5], retryAfterMs: 1000 } });
    const run = await runFleet({ redisUrl: server.url, client, provider, workers: 3, items: 160, name: 'pause', windowMs, requestsPerWindow: 40, concurrency: 2 });
    expect(run.completed).toBe(160);
    expect(run.violations).toBe(0);
    const limited = run.arrivals.findIndex((arrival) => arrival.status === 429);
    expect(limited).toBe(5);
    // After the 429, the provider sees a silence of (nearly) the pause from every worker at once:
    // only requests granted before the pause reached Redis may still come in.
    const after = run.arrivals.slice(limited);
    const gaps = after.slice(1).map((arrival, i) => arrival.at - (after[i] as (typeof after)[0]).at);
    const t0 = (after[0] as (typeof after)[0]).at;
    const timeline = after.map((arrival) => `${arrival.worker}@${Math.round(arrival.at - t0)}`).join(' ');
    expect(Math.max(...gaps), timeline).toBeGreaterThan(500);
    const resumed = new Set(after.slice(1 + gaps.indexOf(Math.max(...gaps))).map((arrival) => arrival.worker));
    expect(resumed.size, timeline).toBe(3);
  });

  it('settling to billed tokens lets more requests through, and never more tokens than the limit', { timeout: 120_000 }, async () => {
    await provider.close();
    // Each request reserves ~24 tokens and is billed half. On reservations alone the budget of 120
    // would hold 5 requests a window; settled, up to 10.
    provider = await startProvider({ latencyMs: 30, billRatio: 0.5 });
    const run = await runFleet({ redisUrl: server.url, client, provider, workers: 2, items: 160, name: 'settle', windowMs, tokensPerWindow: 120, concurrency: 2 });
    expect(run.completed).toBe(160);
    expect(run.violations).toBe(0);
    expect(run.busiest.weight).toBeLessThanOrEqual(120);
    expect(run.busiest.requests).toBeGreaterThan(5);
  });
});

if (!hasRedis) {
  describe('a fleet of worker processes sharing one limit', () => {
    it.skip(`skipped: ${INSTALL_HINT}`, () => {});
  });
}
