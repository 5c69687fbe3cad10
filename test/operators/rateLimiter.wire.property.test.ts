import fc from 'fast-check';
import { from, lastValueFrom, toArray, VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { mergeBatches, rateLimiter, type BatchHandler, type RateLimiter } from '../../src/index.js';
import { at, runVirtual } from '../support/virtual-time.js';
import { collect, timedHandler } from '../support/handlers.js';

/** A shared limiter whose grants reach the caller `lag()` virtual ms late, as a busy event loop delivers them. */
function lagging(shared: RateLimiter, clock: VirtualTimeScheduler, lag: () => number): RateLimiter {
  const late = async <G>(grant: Promise<G>) => {
    const granted = await grant;
    await at(clock, clock.now() + lag());
    return granted;
  };
  return {
    acquire: (tokens, signal) => late(shared.acquire(tokens, signal)),
    reserve: (tokens, signal) => late((shared.reserve as NonNullable<RateLimiter['reserve']>)(tokens, signal)),
    pause: (ms) => shared.pause(ms),
    observe: (hint) => shared.observe(hint),
    get stats() {
      return shared.stats;
    },
  };
}

describe('the rate limit holds at the wire', () => {
  it('requests as sent never exceed the limits in any window, with many pipelines sharing one limiter and grants delivered late', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          pipelines: fc.array(fc.array(fc.integer({ min: 1, max: 60 }), { minLength: 1, maxLength: 12 }), { minLength: 2, maxLength: 6 }),
          rpm: fc.integer({ min: 1, max: 6 }),
          tpm: fc.integer({ min: 60, max: 300 }),
          windowMs: fc.integer({ min: 200, max: 1000 }),
          lags: fc.array(fc.integer({ min: 0, max: 120 }), { minLength: 1, maxLength: 20 }),
          durations: fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 20 }),
          concurrency: fc.integer({ min: 1, max: 4 }),
        }),
        async ({ pipelines, rpm, tpm, windowMs, lags, durations, concurrency }) => {
          const clock = new VirtualTimeScheduler();
          const shared = rateLimiter({ requestsPerMinute: rpm, tokensPerMinute: tpm, windowMs, scheduler: clock });
          let grants = 0;
          let calls = 0;
          const limiter = lagging(shared, clock, () => lags[grants++ % lags.length] as number);
          const sent: { at: number; tokens: number }[] = [];
          const weight = (items: readonly number[]) => items.reduce((sum, n) => sum + n, 0);
          const handler: BatchHandler<number, number> = (batch) => {
            sent.push({ at: clock.now(), tokens: weight(batch.items) });
            const duration = durations[calls++ % durations.length] as number;
            return new Promise((resolve) => clock.schedule(() => resolve(batch.items.map((n) => n * 2)), duration));
          };
          const outcomes = await runVirtual(clock, () =>
            Promise.all(
              pipelines.map((sizes) =>
                lastValueFrom(
                  from(sizes.map((size) => [size])).pipe(
                    mergeBatches(handler, { concurrency, scheduler: clock, rateLimit: limiter, estimateTokens: (batch) => weight(batch.items) }),
                    toArray(),
                  ),
                ),
              ),
            ),
          );
          expect(outcomes.flat().every((outcome) => outcome.ok)).toBe(true);
          expect(sent).toHaveLength(pipelines.flat().length);
          for (const first of sent) {
            const inWindow = sent.filter((request) => request.at >= first.at && request.at < first.at + windowMs);
            expect(inWindow.length).toBeLessThanOrEqual(rpm);
            expect(inWindow.reduce((sum, request) => sum + request.tokens, 0)).toBeLessThanOrEqual(tpm);
          }
        },
      ),
      { numRuns: 60, seed: 14 },
    );
  });

  it('an estimateTokens that returns NaN, a negative number or Infinity fails that call alone; the token limit stays on for the others', async () => {
    const clock = new VirtualTimeScheduler();
    const shared = rateLimiter({ tokensPerMinute: 10, windowMs: 1000, scheduler: clock });
    const { handler, calls } = timedHandler(clock, () => 1);
    const bad = [Number.NaN, -1, Number.POSITIVE_INFINITY];
    const badOutcomes = await collect(
      clock,
      from([['x'], ['y'], ['z']]).pipe(
        mergeBatches(handler, { scheduler: clock, rateLimit: shared, estimateTokens: (batch) => bad[['x', 'y', 'z'].indexOf(batch.items[0] as string)] as number }),
      ),
    );
    expect(badOutcomes.map(({ outcome }) => !outcome.ok && outcome.error.message)).toEqual([
      'mergeBatches: estimateTokens: expected a token count >= 0 for the batch of item 0, got NaN',
      'mergeBatches: estimateTokens: expected a token count >= 0 for the batch of item 1, got -1',
      'mergeBatches: estimateTokens: expected a token count >= 0 for the batch of item 2, got Infinity',
    ]);
    expect(calls).toHaveLength(0);
    // Three calls of 6 tokens against 10 a second: the limit still spaces them.
    const good = await collect(clock, from([['a'], ['b'], ['c']]).pipe(mergeBatches(handler, { scheduler: clock, rateLimit: shared, estimateTokens: () => 6 })));
    expect(good.every(({ outcome }) => outcome.ok)).toBe(true);
    const starts = calls.map((call) => call.start);
    expect(starts[1]! - starts[0]!).toBeGreaterThanOrEqual(1000);
    expect(starts[2]! - starts[1]!).toBeGreaterThanOrEqual(1000);
  });

  it('rateLimiter.acquire rejects a bad token count with a RangeError, and keeps working', async () => {
    const clock = new VirtualTimeScheduler();
    const limiter = rateLimiter({ tokensPerMinute: 10, scheduler: clock });
    await expect(limiter.acquire(Number.NaN)).rejects.toThrow('rateLimiter: acquire: expected a token count >= 0, got NaN');
    await expect(limiter.acquire(-3)).rejects.toThrow(RangeError);
    await expect(limiter.acquire(4)).resolves.toMatchObject({ tokens: 4 });
  });

  it('a reservation released without being sent gives its place back', async () => {
    const clock = new VirtualTimeScheduler();
    const limiter = rateLimiter({ requestsPerMinute: 1, scheduler: clock });
    const granted = await runVirtual(clock, async () => {
      const first = await limiter.reserve!(1);
      first.release!();
      await limiter.reserve!(1);
      return clock.now();
    });
    expect(granted).toBe(0);
  });
});
