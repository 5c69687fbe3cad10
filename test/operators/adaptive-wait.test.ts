import fc from 'fast-check';
import type { Observable } from 'rxjs';
import { from, lastValueFrom, map, mergeMap, timer, toArray, VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { bufferByTokens, createStats, groupByLength, mergeBatches, type Batch } from '../../src/index.js';
import { runVirtual } from '../support/virtual-time.js';
import { charTokens } from '../support/handlers.js';

/** Items arriving at their virtual times. */
function arrivals(clock: VirtualTimeScheduler, times: readonly number[]): Observable<string> {
  return from(times.map((at, i) => ({ at, value: `i${i}` }))).pipe(mergeMap(({ at, value }) => timer(at, clock).pipe(map(() => value))));
}

async function batchesOf(clock: VirtualTimeScheduler, source: Observable<Batch<string>>) {
  const seen: { at: number; batch: Batch<string> }[] = [];
  await runVirtual(clock, () =>
    lastValueFrom(
      source.pipe(
        map((batch) => seen.push({ at: clock.now(), batch })),
        toArray(),
      ),
    ),
  );
  return seen;
}

const every = (stepMs: number, count: number) => Array.from({ length: count }, (_, i) => i * stepMs);

describe('bufferByTokens: latencyTargetMs and minItems', () => {
  it('grows the wait toward the target when traffic is sparse, so batches fill (sizes change with traffic)', async () => {
    const clock = new VirtualTimeScheduler();
    const times = every(40, 60);
    const seen = await batchesOf(
      clock,
      arrivals(clock, times).pipe(bufferByTokens<string>({ maxTokens: 10_000, maxWaitMs: 1000, latencyTargetMs: 400, tokenizer: charTokens, scheduler: clock })),
    );
    const sizes = seen.map(({ batch }) => batch.items.length);
    // It starts at half the target (200 ms: 5 items at one per 40 ms) and grows to the target (400 ms: 10 items).
    expect(sizes[0]).toBe(6);
    expect(Math.max(...sizes)).toBe(11);
    expect(new Set(sizes).size).toBeGreaterThan(2);
    for (const { at, batch } of seen) for (const index of batch.itemIndices) expect(at - (times[index] as number)).toBeLessThanOrEqual(400);
  });

  it('shrinks the wait when the chain misses the latency target (measured through stats)', async () => {
    const clock = new VirtualTimeScheduler();
    const stats = createStats({ scheduler: clock });
    const times = every(40, 60);
    const sizes: number[] = [];
    const slow = (batch: Batch<string>) => {
      sizes.push(batch.items.length);
      return new Promise<readonly string[]>((resolve) => clock.schedule(() => resolve(batch.items), 500));
    };
    await runVirtual(clock, () =>
      lastValueFrom(
        arrivals(clock, times).pipe(
          bufferByTokens<string>({ maxTokens: 10_000, maxWaitMs: 1000, latencyTargetMs: 400, tokenizer: charTokens, scheduler: clock, stats }),
          mergeBatches(slow, { scheduler: clock, stats, concurrency: 100 }),
          toArray(),
        ),
      ),
    );
    // Calls alone take 500 ms, past the 400 ms target: waiting cannot help, so the wait falls toward 0.
    expect(sizes.at(-2)).toBeLessThanOrEqual(2);
    expect(Math.max(...sizes.slice(5))).toBeLessThan(sizes[0] as number);
  });

  it('minItems: an adaptive close waits for minItems; maxWaitMs still closes a smaller batch', async () => {
    const clock = new VirtualTimeScheduler();
    const seen = await batchesOf(
      clock,
      arrivals(clock, [0, 500, 600, 2000]).pipe(
        bufferByTokens<string>({ maxTokens: 10_000, maxWaitMs: 1000, latencyTargetMs: 100, minItems: 3, tokenizer: charTokens, scheduler: clock }),
      ),
    );
    expect(seen.map(({ at, batch }) => [at, batch.items, batch.closeReason])).toEqual([
      [600, ['i0', 'i1', 'i2'], 'time'],
      [2000, ['i3'], 'end'],
    ]);
  });

  it('the time rule wins: no item waits past maxWaitMs, and every item is emitted once (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 500 }),
        fc.integer({ min: 1, max: 800 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 8 }),
        fc.boolean(),
        async (gaps, maxWaitMs, latencyTargetMs, minItems, maxItems, grouped) => {
          const clock = new VirtualTimeScheduler();
          let t = 0;
          const times = gaps.map((gap) => (t += gap));
          const options = { maxTokens: 50, maxItems, maxWaitMs, latencyTargetMs, minItems, tokenizer: (text: string) => text.length * 3, scheduler: clock };
          const operator = grouped ? groupByLength<string>({ ...options, boundaries: [8] }) : bufferByTokens<string>(options);
          const seen = await batchesOf(clock, arrivals(clock, times).pipe(operator));
          const indices = seen.flatMap(({ batch }) => [...batch.itemIndices]).sort((a, b) => a - b);
          expect(indices).toEqual(times.map((_, i) => i));
          for (const { at, batch } of seen) for (const index of batch.itemIndices) expect(at - (times[index] as number)).toBeLessThanOrEqual(maxWaitMs);
        },
      ),
      { numRuns: 80, seed: 3 },
    );
  });

  it('rejects bad values by name', () => {
    expect(() => bufferByTokens({ maxTokens: 10, minItems: 0 })).toThrow('bufferByTokens: minItems: expected a number >= 1, got 0');
    expect(() => groupByLength({ maxTokens: 10, latencyTargetMs: -1 })).toThrow('groupByLength: latencyTargetMs');
  });
});
