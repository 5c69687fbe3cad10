import { from, lastValueFrom, toArray, VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { bufferByTokens, createStats, dedupeSimilar, mergeBatches, RateLimitError, simulatedModel, type ChainStats } from '../src/index.js';
import * as iterable from '../src/iterable.js';
import { RECORDER } from '../src/stats.js';
import { runVirtual } from './support/virtual-time.js';
import { charTokens, collect, timedHandler } from './support/handlers.js';

describe('createStats', () => {
  it('counts items, duplicates, batches, calls, tokens, cost, latency and waits of a chain in virtual time', async () => {
    const clock = new VirtualTimeScheduler();
    const stats = createStats({ scheduler: clock, total: 6 });
    const model = simulatedModel({ task: 'classify', scheduler: clock, latency: { baseMs: 100, perInputTokenMs: 0, perOutputTokenMs: 0, jitter: 0 } });
    const items = ['refund please', 'refund please', 'invoice wrong', 'hello there', 'hello there', 'cancel my plan'];
    const outcomes = await runVirtual(clock, () =>
      lastValueFrom(
        from(items).pipe(
          dedupeSimilar<string>({ method: 'exact', stats, scheduler: clock }),
          bufferByTokens<string>({ maxTokens: 30, maxItems: 2, tokenizer: charTokens, stats, scheduler: clock }),
          mergeBatches(model.handler, { stats, scheduler: clock, concurrency: 1 }),
          toArray(),
        ),
      ),
    );
    expect(outcomes).toHaveLength(6);
    const s = stats.snapshot();
    expect(s.items).toEqual({ in: 6, done: 6, ok: 6, failed: 0, duplicates: 2, cacheHits: 0, inFlight: 0 });
    expect(s.batches.closed).toBe(2);
    expect(s.batches.lastUtilization).toHaveLength(2);
    expect(s.calls).toMatchObject({ made: 2, retries: 0, rateLimited: 0, timeouts: 0, inFlight: 0, concurrency: 1 });
    expect(s.tokens.spent).toBe(model.stats().inputTokens + model.stats().outputTokens);
    expect(s.tokens.saved).toBeGreaterThan(0);
    expect(s.cost.spentUsd).toBeCloseTo(model.stats().costUsd, 12);
    expect(s.cost.savedUsd).toBeGreaterThan(0);
    // Two calls of 100 ms one after the other: the second batch's items wait for the first call.
    expect(s.latency).toEqual({ p50Ms: 100, p99Ms: 200 });
    expect(s.wait).toEqual({ p50Ms: 0, p99Ms: 0 });
    expect(s.elapsedMs).toBe(200);
    expect(s.eta).toEqual({ remainingItems: 0, etaMs: 0 });
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
  });

  it('counts retries, 429s and timeouts', async () => {
    const clock = new VirtualTimeScheduler();
    const stats = createStats({ scheduler: clock });
    const { handler } = timedHandler(clock, (items, attempt) =>
      items[0] === 'r' && attempt === 1 ? new RateLimitError('429', { retryAfterMs: 10 }) : items[0] === 't' && attempt === 1 ? 1000 : 5,
    );
    const seen = await collect(
      clock,
      from([['r'], ['t']]).pipe(mergeBatches(handler, { stats, scheduler: clock, timeoutMs: 100, retry: { maxAttempts: 2, baseDelayMs: 1, random: () => 0 } })),
    );
    expect(seen.every(({ outcome }) => outcome.ok)).toBe(true);
    expect(stats.snapshot().calls).toMatchObject({ made: 4, retries: 2, rateLimited: 1, timeouts: 1, inFlight: 0 });
  });

  it('reports progress on the scheduler every intervalMs, with a moving rate and an ETA, until stopped', async () => {
    const clock = new VirtualTimeScheduler();
    const stats = createStats({ scheduler: clock, total: 4, windowMs: 1000 });
    const { handler } = timedHandler(clock, () => 250);
    const seen: ChainStats[] = [];
    const stop = stats.onProgress((s) => seen.push(s), { intervalMs: 300 });
    await collect(clock, from([['a'], ['b'], ['c'], ['d']]).pipe(mergeBatches(handler, { stats, scheduler: clock, concurrency: 1 })));
    stop();
    expect(seen.map((s) => [s.at, s.items.done])).toEqual([
      [300, 1],
      [600, 2],
      [900, 3],
    ]);
    expect(seen[1]?.eta).toEqual({ remainingItems: 2, etaMs: 600 });
    expect(seen[1]?.throughput.itemsPerSecond).toBeCloseTo(2 / 0.6, 6);
    expect(clock.actions).toHaveLength(0);
  });

  it('works on the iterable face, and reset() starts counting again', async () => {
    const clock = new VirtualTimeScheduler();
    const stats = createStats({ scheduler: clock });
    const run = () =>
      runVirtual(clock, async () => {
        const out = [];
        const batches = iterable.bufferByTokens<string>({ maxTokens: 10, tokenizer: charTokens, stats, scheduler: clock })(iterable.fromObservable(from(['aa', 'bb', 'cc'])));
        for await (const outcome of iterable.mergeBatches(async (batch: { items: readonly string[] }) => batch.items, { stats, scheduler: clock })(batches)) out.push(outcome);
        return out;
      });
    await run();
    expect(stats.snapshot().items.done).toBe(3);
    stats.reset();
    expect(stats.snapshot().items.done).toBe(0);
  });

  it('rejects unknown options and a stats option that is not createStats()', () => {
    expect(() => createStats({ totl: 3 } as never)).toThrow("createStats: unknown option 'totl' (did you mean 'total'?)");
    expect(() => bufferByTokens({ maxTokens: 10, stats: {} as never })).toThrow('bufferByTokens: stats: expected the result of createStats()');
    expect(() => mergeBatches(async () => [], { stats: 1 as never })).toThrow(TypeError);
  });
});

describe('createStats with groupByLength and cache hits', () => {
  it('counts batches per bucket, and cache hits reported through the recorder', async () => {
    const { groupByLength } = await import('../src/index.js');
    const clock = new VirtualTimeScheduler();
    const stats = createStats({ scheduler: clock });
    await runVirtual(clock, () =>
      lastValueFrom(
        from(['a', 'bb', 'cccccccccccccccccccc']).pipe(groupByLength<string>({ maxTokens: 100, boundaries: [5], tokenizer: charTokens, stats, scheduler: clock }), toArray()),
      ),
    );
    expect(stats.snapshot().batches.closed).toBe(2);
    (stats as unknown as { [RECORDER]: { cacheHit(): void } })[RECORDER].cacheHit();
    expect(stats.snapshot().items.cacheHits).toBe(1);
  });
});
