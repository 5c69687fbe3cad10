import fc from 'fast-check';
import { from, map, mergeMap, timer, VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { BudgetExceededError, mergeBatches, type BatchHandler } from '../../src/index.js';
import { collect, timedHandler } from '../support/handlers.js';

describe('mergeBatches: priority', () => {
  it('starts the batch with the most urgent item at the next free slot (not 11th of 11)', async () => {
    const clock = new VirtualTimeScheduler();
    const { handler, calls } = timedHandler(clock, () => 10);
    const batches = [...Array.from({ length: 10 }, (_, i) => [`low${i}`]), ['URGENT']];
    const seen = await collect(clock, from(batches).pipe(mergeBatches(handler, { scheduler: clock, concurrency: 1, priority: (item: string) => (item === 'URGENT' ? 10 : 0) })));
    expect(calls.map((call) => call.items[0]).slice(0, 2)).toEqual(['low0', 'URGENT']);
    expect(seen).toHaveLength(11);
  });

  it('ages waiting batches, so low priority is never starved by a stream of urgent ones', async () => {
    const run = async (priorityAgingMs: number) => {
      const clock = new VirtualTimeScheduler();
      const { handler, calls } = timedHandler(clock, () => 10);
      // A low-priority batch at 0, then an urgent one every 5 ms for a second: twice what one slot serves.
      const arrivals = [{ at: 0, items: ['first'] }, { at: 0, items: ['low'] }, ...Array.from({ length: 200 }, (_, i) => ({ at: i * 5, items: [`hi${i}`] }))];
      const source = from(arrivals).pipe(mergeMap(({ at, items }) => timer(at, clock).pipe(map(() => items))));
      await collect(clock, source.pipe(mergeBatches(handler, { scheduler: clock, concurrency: 1, priorityAgingMs, priority: (item: string) => (item.startsWith('hi') ? 3 : 0) })));
      return calls.find((call) => call.items[0] === 'low')?.start as number;
    };
    // Aging by 1 per 50 ms: the low batch overtakes the urgent backlog once 0 + t/50 > 3 + (t - t/2)/50, near 300 ms.
    expect(await run(50)).toBeLessThanOrEqual(320);
    // Without aging to speak of, it waits behind every urgent batch.
    expect(await run(1e12)).toBeGreaterThanOrEqual(2000);
  });
});

describe('mergeBatches: budget', () => {
  it('fails the items past a token budget with BudgetExceededError, sending nothing more', async () => {
    const clock = new VirtualTimeScheduler();
    const { handler, calls } = timedHandler(clock, () => 5);
    const seen = await collect(
      clock,
      from([['aaaa'], ['bbbb'], ['cccc']]).pipe(mergeBatches(handler, { scheduler: clock, concurrency: 1, estimateTokens: () => 40, budget: { tokens: 100 } })),
    );
    expect(calls).toHaveLength(2);
    const failed = seen.filter(({ outcome }) => !outcome.ok);
    expect(failed).toHaveLength(1);
    expect((failed[0]?.outcome as { error: Error }).error).toBeInstanceOf(BudgetExceededError);
    expect((failed[0]?.outcome as { error: Error }).error.message).toBe('mergeBatches: budget: the call needs 40 tokens, 20 of 100 are left for this run');
  });

  it("pauses with onExceeded: 'pause' until the window has room", async () => {
    const clock = new VirtualTimeScheduler();
    const { handler, calls } = timedHandler(clock, () => 5);
    const seen = await collect(
      clock,
      from([['a'], ['b'], ['c']]).pipe(
        mergeBatches(handler, { scheduler: clock, concurrency: 3, estimateTokens: () => 40, budget: { tokens: 100, windowMs: 1000, onExceeded: 'pause' } }),
      ),
    );
    expect(seen.every(({ outcome }) => outcome.ok)).toBe(true);
    expect(calls.map((call) => call.start)).toEqual([0, 0, 1000]);
  });

  it('overshoots a money budget only by the in-flight calls’ under-estimate (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ tokens: fc.integer({ min: 1, max: 500 }), factor: fc.double({ min: 0.5, max: 2, noNaN: true }), ms: fc.integer({ min: 1, max: 200 }) }), {
          minLength: 1,
          maxLength: 40,
        }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 100, max: 5000 }),
        async (calls, concurrency, capTokens) => {
          const clock = new VirtualTimeScheduler();
          const price = { inputPerMillion: 1, outputPerMillion: 1 };
          const cap = capTokens / 1_000_000;
          let billed = 0;
          let worstUnder = 0;
          const plan = new Map(calls.map((call, i) => [`c${i}`, call]));
          const handler: BatchHandler<string, string> = (batch, context) => {
            const call = plan.get(batch.items[0] as string)!;
            const actual = Math.round(call.tokens * call.factor);
            worstUnder = Math.max(worstUnder, actual - call.tokens);
            return new Promise((resolve) =>
              clock.schedule(() => {
                billed += actual;
                context.report({ usage: { inputTokens: actual, outputTokens: 0 } });
                resolve(batch.items);
              }, call.ms),
            );
          };
          const seen = await collect(
            clock,
            from(calls.map((_, i) => [`c${i}`])).pipe(
              mergeBatches(handler, { scheduler: clock, concurrency, estimateTokens: (batch) => plan.get(batch.items[0] as string)!.tokens, budget: { usd: cap, price } }),
            ),
          );
          expect(seen).toHaveLength(calls.length);
          const spentUsd = billed / 1_000_000;
          // The documented bound: at most `concurrency` calls in flight, each under-estimated by at most worstUnder.
          expect(spentUsd).toBeLessThanOrEqual(cap + (concurrency * worstUnder) / 1_000_000 + 1e-12);
          for (const { outcome } of seen) if (!outcome.ok) expect(outcome.error).toBeInstanceOf(BudgetExceededError);
        },
      ),
      { numRuns: 100, seed: 4 },
    );
  });

  it('rejects a budget without a cap, a usd budget without a price, and unknown keys', () => {
    expect(() => mergeBatches(async () => [], { budget: {} })).toThrow('mergeBatches: budget: expected tokens and/or usd');
    expect(() => mergeBatches(async () => [], { budget: { usd: 1 } })).toThrow('mergeBatches: budget.usd: needs a price');
    expect(() => mergeBatches(async () => [], { budget: { usd: 1, model: 'gpt-4o-mini' } })).not.toThrow();
    expect(() => mergeBatches(async () => [], { budget: { tokns: 1 } as never })).toThrow("mergeBatches: unknown option 'budget.tokns'");
  });
});
