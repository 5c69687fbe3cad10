import fc from 'fast-check';
import { from, VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { createStats, mergeBatches, RateLimitError, type BatchHandler } from '../../src/index.js';
import { collect } from '../support/handlers.js';

/** A provider that serves `capacity(now)` calls at once in 100 ms each, and answers 429 at once beyond that. */
function provider(clock: VirtualTimeScheduler, capacity: (now: number) => number) {
  let running = 0;
  const starts: { at: number; running: number }[] = [];
  let rejected = 0;
  const handler: BatchHandler<string, string> = (batch) => {
    if (running >= capacity(clock.now())) {
      rejected++;
      return Promise.reject(new RateLimitError('429', { retryAfterMs: 20 }));
    }
    running++;
    starts.push({ at: clock.now(), running });
    return new Promise((resolve) =>
      clock.schedule(() => {
        running--;
        resolve(batch.items.map((item) => `v:${item}`));
      }, 100),
    );
  };
  return { handler, starts, rejected: () => rejected };
}

const meanRunning = (starts: { at: number; running: number }[], from: number, to: number) => {
  const inPhase = starts.filter((start) => start.at >= from && start.at < to);
  return inPhase.reduce((sum, start) => sum + start.running, 0) / Math.max(1, inPhase.length);
};

describe('mergeBatches: adaptive concurrency', () => {
  it("follows the provider's capacity down when it halves and back up when it recovers, never above max", async () => {
    const clock = new VirtualTimeScheduler();
    const capacity = (now: number) => (now < 3000 ? 8 : now < 6000 ? 4 : 8);
    const { handler, starts } = provider(clock, capacity);
    const stats = createStats({ scheduler: clock });
    const limits: number[] = [];
    stats.onProgress((s) => limits.push(s.calls.concurrency), { intervalMs: 500 });
    const batches = Array.from({ length: 800 }, (_, i) => [`x${i}`]);
    const seen = await collect(
      clock,
      from(batches).pipe(mergeBatches(handler, { scheduler: clock, concurrency: { min: 1, max: 12 }, stats, retry: { maxAttempts: 30, random: () => 0 } })),
    );
    // onProgress keeps its own timer; the run ended once every outcome was out.
    expect(seen).toHaveLength(800);
    // A provider that answers 429 at once whenever it is full lets a batch lose the race for a slot
    // again and again: a few of 800 run out of their 30 attempts (a known limit, see the report).
    expect(seen.filter(({ outcome }) => !outcome.ok).length).toBeLessThanOrEqual(16);
    expect(Math.max(...starts.map((start) => start.running))).toBeLessThanOrEqual(12);
    expect(meanRunning(starts, 1500, 3000)).toBeGreaterThan(5.5);
    expect(meanRunning(starts, 4500, 6000)).toBeLessThanOrEqual(4);
    expect(meanRunning(starts, 7500, 9000)).toBeGreaterThan(5.5);
    expect(Math.max(...limits)).toBeLessThanOrEqual(12);
  });

  it('never runs more calls than max, whatever the provider does (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 10 }),
        async (min, span, capacities) => {
          const max = min + span;
          const clock = new VirtualTimeScheduler();
          const { handler, starts } = provider(clock, (now) => capacities[Math.floor(now / 300) % capacities.length] as number);
          const seen = await collect(
            clock,
            from(Array.from({ length: 120 }, (_, i) => [`x${i}`])).pipe(
              mergeBatches(handler, { scheduler: clock, concurrency: { min, max }, retry: { maxAttempts: 50, baseDelayMs: 5, random: () => 0.5 } }),
            ),
          );
          expect(seen).toHaveLength(120);
          expect(Math.max(...starts.map((start) => start.running))).toBeLessThanOrEqual(max);
        },
      ),
      { numRuns: 40, seed: 2 },
    );
  });

  it("accepts 'auto' and rejects bad bounds by name", () => {
    expect(() => mergeBatches(async () => [], { concurrency: 'auto' })).not.toThrow();
    expect(() => mergeBatches(async () => [], { concurrency: { min: 5, max: 2 } })).toThrow('mergeBatches: concurrency: expected min <= max, got { min: 5, max: 2 }');
    expect(() => mergeBatches(async () => [], { concurrency: 'fast' as never })).toThrow("mergeBatches: concurrency: expected a whole number >= 1, 'auto' or { min, max }");
    expect(() => mergeBatches(async () => [], { concurrency: { mx: 3 } as never })).toThrow("mergeBatches: unknown option 'concurrency.mx'");
  });
});
