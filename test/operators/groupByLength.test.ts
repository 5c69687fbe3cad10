import fc from 'fast-check';
import { from as ixFrom } from 'ix/asynciterable';
import { map, merge, timer, VirtualTimeScheduler } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { groupByLength, logBoundaries, type Batch } from '../../src/index.js';
import { groupByLength as groupByLengthIterable } from '../../src/iterable.js';
import { charTokens, summarize } from '../support/batches.js';
import { runVirtual, timedSource } from '../support/virtual-time.js';

const shape = (batch: Batch<string>) => ({ items: batch.items.join(','), reason: batch.closeReason });

describe('groupByLength', () => {
  it('batches each length bucket on its own, each with its own timer', () => {
    const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
    scheduler.run(({ cold, expectObservable }) => {
      // Buckets: under 3 tokens, and the rest. Short items a, c; long items B, D.
      const values = { a: 'a', B: 'BBBB', c: 'cc', D: 'DDDD', e: 'e' };
      const input = cold('aB-c-D------e|', values);
      const output = input.pipe(groupByLength<string>({ maxTokens: 8, maxWaitMs: 6, boundaries: [3], tokenizer: charTokens, scheduler }), map(shape));
      expectObservable(output).toBe('------xy-----(z|)', {
        // Each bucket's timer counts from its own first item: a at 0 closes at 6, BBBB at 1 closes at 7.
        x: { items: 'a,cc', reason: 'time' },
        y: { items: 'BBBB,DDDD', reason: 'time' },
        z: { items: 'e', reason: 'end' },
      });
    });
  });

  it('flushes the open buckets oldest first on completion', () => {
    const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
    scheduler.run(({ cold, expectObservable }) => {
      const input = cold('Ba|', { a: 'a', B: 'BBBB' });
      const output = input.pipe(groupByLength<string>({ maxTokens: 8, boundaries: [3], tokenizer: charTokens }), map(shape));
      expectObservable(output).toBe('--(yx|)', { y: { items: 'BBBB', reason: 'end' }, x: { items: 'a', reason: 'end' } });
    });
  });

  it('defaults to log-scale boundaries below maxTokens', () => {
    expect(logBoundaries(300)).toEqual([16, 32, 64, 128, 256]);
  });

  it('rejects boundaries that are not increasing positive numbers', () => {
    expect(() => groupByLength({ maxTokens: 10, boundaries: [4, 2] })).toThrow(/boundaries: expected strictly increasing/);
    expect(() => groupByLength({ maxTokens: 10, boundaries: [0] })).toThrow(RangeError);
    expect(() => groupByLength({ maxTokens: 10, boundaries: 'x' as never })).toThrow(TypeError);
  });

  it('property: every item once, buckets homogeneous, no item waits past maxWaitMs, both faces alike', async () => {
    const boundaries = [4, 8];
    const bucket = (text: string) => boundaries.filter((b) => text.length >= b).length;
    const eventsArb = fc.array(fc.record({ gap: fc.integer({ min: 1, max: 5 }).map((n) => n * 2), text: fc.string({ maxLength: 12 }) }), { maxLength: 40 });
    await fc.assert(
      fc.asyncProperty(
        eventsArb,
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 8 }).map((n) => n * 2 + 1),
        async (raw, maxTokens, maxItems, maxWaitMs) => {
          let time = 0;
          const events = raw.map(({ gap, text }) => ({ at: (time += gap), value: text }));
          const options = { maxTokens, maxItems, maxWaitMs, boundaries, tokenizer: charTokens };

          const rxScheduler = new VirtualTimeScheduler();
          const rxOut: { batch: ReturnType<typeof summarize>; at: number }[] = [];
          merge(...events.map((event) => timer(event.at, rxScheduler).pipe(map(() => event.value))))
            .pipe(groupByLength({ ...options, scheduler: rxScheduler }))
            .subscribe((batch) => rxOut.push({ batch: summarize(batch), at: rxScheduler.now() }));
          rxScheduler.flush();

          const ixScheduler = new VirtualTimeScheduler();
          const ixOut: typeof rxOut = [];
          await runVirtual(ixScheduler, async () => {
            for await (const batch of ixFrom(timedSource(ixScheduler, events)).pipe(groupByLengthIterable({ ...options, scheduler: ixScheduler }))) {
              ixOut.push({ batch: summarize(batch), at: ixScheduler.now() });
            }
          });
          expect(ixOut).toEqual(rxOut);

          const indices = rxOut.flatMap(({ batch }) => batch.indices).sort((a, b) => a - b);
          expect(indices).toEqual(events.map((_, i) => i));
          for (const { batch, at } of rxOut) {
            expect(new Set((batch.items as string[]).map(bucket)).size).toBe(1);
            expect(batch.items.length).toBeLessThanOrEqual(maxItems);
            for (const index of batch.indices) expect(at - (events[index] as { at: number }).at).toBeLessThanOrEqual(maxWaitMs);
            // Within a bucket, arrival order is kept.
            expect([...batch.indices].sort((a, b) => a - b)).toEqual(batch.indices);
          }
        },
      ),
      { seed: 11, numRuns: 300 },
    );
  });
});
