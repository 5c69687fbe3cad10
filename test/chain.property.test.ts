import fc from 'fast-check';
import { from as ixFrom } from 'ix/asynciterable';
import { merge, timer, map, VirtualTimeScheduler, take, type Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import {
  bufferByTokens,
  ContextOverflowError,
  dedupeSimilar,
  groupByLength,
  mergeBatches,
  orderedResults,
  rateLimiter,
  splitOnOverflow,
  type ChainItem,
  type Outcome,
} from '../src/index.js';
import * as iterable from '../src/iterable.js';
import { createRandom } from '../bench/corpus.js';
import { BAD, HOLE, POISON, scriptedModel, type Call } from './support/model.js';
import { runVirtual, timedSource, trackedScheduler } from './support/virtual-time.js';

// One token per character keeps sizes readable; items embed their index so values can be traced.
const charTokens = (text: string) => text.length;

const scenarioArb = fc.record({
  items: fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 0, maxLength: 60 }),
  // Per item: '' (most), or a poison item (P), an Error result (E), a hole (H).
  marks: fc.array(fc.constantFrom('', '', '', '', '', '', '', '', 'P', 'E', 'H'), { minLength: 60, maxLength: 60 }),
  gaps: fc.integer({ min: 0, max: 5 }),
  seed: fc.integer(),
  maxTokens: fc.integer({ min: 20, max: 120 }),
  maxItems: fc.integer({ min: 1, max: 8 }),
  maxWaitMs: fc.integer({ min: 1, max: 40 }),
  concurrency: fc.integer({ min: 1, max: 5 }),
  maxAttempts: fc.integer({ min: 1, max: 4 }),
  transient: fc.double({ min: 0, max: 0.3, noNaN: true }),
  rateLimited: fc.double({ min: 0, max: 0.2, noNaN: true }),
  short: fc.double({ min: 0, max: 0.2, noNaN: true }),
  contextWindow: fc.integer({ min: 15, max: 150 }),
  requestsPerWindow: fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined }),
  timeoutMs: fc.option(fc.integer({ min: 20, max: 200 }), { nil: undefined }),
  face: fc.constantFrom('rx' as const, 'iterable' as const),
  grouping: fc.boolean(),
  dedupe: fc.boolean(),
  stopAfter: fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined }),
});
type Scenario = typeof scenarioArb extends fc.Arbitrary<infer S> ? S : never;

const WINDOW_MS = 100;

async function runScenario(s: Scenario) {
  const clock = new VirtualTimeScheduler();
  // The library and the model run on a tracked view of the clock; the source runs on the clock itself.
  const scheduler = trackedScheduler(clock);
  const library = scheduler;
  const random = createRandom(s.seed);
  let time = 0;
  const events = s.items.map((length, index) => {
    time += random.int(0, s.gaps);
    // With dedupe on, texts repeat (an item id from a small pool), so duplicates occur.
    const id = s.dedupe ? random.int(0, 5) : index;
    const head = `${id}${s.dedupe ? '' : (s.marks[index] ?? '')}:`;
    const text = head.padEnd(Math.max(length, head.length), 'x');
    return { at: time, value: text };
  });
  const model = scriptedModel(
    { seed: s.seed, baseMs: 5, perItemMs: 2, transient: s.transient, rateLimited: s.rateLimited, short: s.short, contextWindow: s.contextWindow },
    scheduler,
  );
  const limiter = s.requestsPerWindow ? rateLimiter({ requestsPerMinute: s.requestsPerWindow, windowMs: WINDOW_MS, scheduler }) : undefined;
  const buffer = { maxTokens: s.maxTokens, maxItems: s.maxItems, maxWaitMs: s.maxWaitMs, tokenizer: charTokens, scheduler };
  const merging = {
    concurrency: s.concurrency,
    retry: { maxAttempts: s.maxAttempts, baseDelayMs: 10, random: () => random.next() },
    timeoutMs: s.timeoutMs,
    rateLimit: limiter,
    scheduler,
  };
  const outcomes: Outcome<string, string>[] = [];
  let stoppedAt: number | undefined;

  await runVirtual(clock, async () => {
    if (s.face === 'rx') {
      const source: Observable<string> = merge(...events.map((event) => timer(event.at, clock).pipe(map(() => event.value))));
      const batching = s.grouping ? groupByLength<string>({ ...buffer, boundaries: [8, 16] }) : bufferByTokens<string>(buffer);
      const deduped: Observable<string | ChainItem<string>> = s.dedupe ? source.pipe(dedupeSimilar<string>({ method: 'exact' })) : source;
      let chain = deduped.pipe(batching, splitOnOverflow(), mergeBatches(model.handler, merging), orderedResults());
      if (s.stopAfter !== undefined) chain = chain.pipe(take(s.stopAfter));
      await new Promise<void>((resolve, reject) => {
        chain.subscribe({ next: (outcome) => outcomes.push(outcome), error: reject, complete: resolve });
      });
    } else {
      const items = ixFrom(timedSource(clock, events));
      const chain = (s.dedupe ? items.pipe(iterable.dedupeSimilar<string>({ method: 'exact' })) : items).pipe(
        s.grouping ? iterable.groupByLength<string>({ ...buffer, boundaries: [8, 16] }) : iterable.bufferByTokens<string>(buffer),
        iterable.splitOnOverflow(),
        iterable.mergeBatches(model.handler, merging),
        iterable.orderedResults(),
      );
      for await (const outcome of chain) {
        if (s.stopAfter !== undefined && outcomes.length >= s.stopAfter) break;
        outcomes.push(outcome);
      }
    }
    stoppedAt = scheduler.now();
  });
  return { events, outcomes, calls: model.calls, maxInFlight: model.maxInFlight, inFlight: model.inFlight, library, stoppedAt: stoppedAt as number };
}

describe('the processing chain: bufferByTokens or groupByLength, splitOnOverflow, mergeBatches, orderedResults', () => {
  it('gives every item exactly one outcome, in order, within concurrency, attempts and rate limits', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (s) => {
        const { events, outcomes, calls, maxInFlight, inFlight, library, stoppedAt } = await runScenario(s);
        const expected = s.stopAfter === undefined ? events.length : Math.min(s.stopAfter, events.length);

        // (a) completeness and (b) order: exactly one outcome per index, 0..n-1 strictly increasing.
        expect(outcomes.map((outcome) => outcome.index)).toEqual([...Array(expected).keys()]);

        // (f) every value is the handler's value for that very item, also after splits.
        for (const outcome of outcomes) {
          expect(outcome.item).toBe(events[outcome.index]?.value);
          if (outcome.duplicateOf !== undefined) {
            expect(outcome.duplicateOf).toBeLessThan(outcome.index);
            expect(events[outcome.duplicateOf]?.value).toBe(outcome.item);
          }
          if (outcome.ok) expect(outcome.value).toBe(`done:${outcome.item}`);
          else expect(outcome.error).toBeInstanceOf(Error);
          // A marked item never succeeds; an unmarked item never fails because of a marked batch-mate.
          const marked = POISON.test(outcome.item) || BAD.test(outcome.item) || HOLE.test(outcome.item);
          if (marked) expect(outcome.ok).toBe(false);
          else if (!outcome.ok) expect(['BatchRejectedError', 'TypeError']).not.toContain(outcome.error.name);
          if (!outcome.ok && outcome.error.name === 'BatchRejectedError') expect(POISON.test(outcome.item)).toBe(true);
          // Calls that included the item: retries, plus the halves of context-overflow splits and of
          // bisections that isolate a short answer (about 2·log2(batch size) more).
          if (outcome.duplicateOf === undefined)
            expect(outcome.attempts).toBeLessThanOrEqual(s.maxAttempts * (outcome.splitDepth + 1) + 2 * Math.ceil(Math.log2(s.maxItems + 1)) * s.maxAttempts);
          if (!outcome.ok && outcome.error instanceof ContextOverflowError) expect(outcome.item.length).toBeGreaterThan(Math.min(s.contextWindow, s.maxTokens));
        }

        // (c) in-flight handler calls never exceed concurrency.
        expect(maxInFlight).toBeLessThanOrEqual(s.concurrency);

        // (d) attempts of one unit (the same batch object) never exceed maxAttempts.
        const byBatch = new Map<unknown, Call[]>();
        for (const call of calls) byBatch.set(call.batch, [...(byBatch.get(call.batch) ?? []), call]);
        // A unit's attempts are consecutive; a unit that retries only the items that failed alone, or
        // a half of a bisection, goes on from the attempt number where its items were.
        for (const unitCalls of byBatch.values()) {
          const first = (unitCalls[0] as Call).attempt;
          expect(unitCalls.map((call) => call.attempt)).toEqual(unitCalls.map((_, i) => first + i));
          expect((unitCalls.at(-1) as Call).attempt).toBeLessThanOrEqual(s.maxAttempts);
        }

        // (e) no sliding window of WINDOW_MS ever holds more than the request limit.
        if (s.requestsPerWindow !== undefined) {
          for (const call of calls) {
            const inWindow = calls.filter((other) => other.start > call.start - WINDOW_MS && other.start <= call.start).length;
            expect(inWindow).toBeLessThanOrEqual(s.requestsPerWindow);
          }
        }

        // Stopping early (unsubscribe, break) aborts in-flight calls and leaves no timer of ours behind.
        expect(inFlight).toBe(0);
        for (const call of calls) expect(call.start).toBeLessThanOrEqual(stoppedAt);
        expect(library.pending()).toBe(0);
      }),
      { seed: 20261123, numRuns: 1500 },
    );
  }, 120_000);
});
