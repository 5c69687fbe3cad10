import fc from 'fast-check';
import { from as ixFrom } from 'ix/asynciterable';
import * as ixOps from 'ix/asynciterable/operators';
import { asapScheduler, concatMap, delay, filter, map, merge, observeOn, of, share, tap, timer, VirtualTimeScheduler, type Observable, type OperatorFunction } from 'rxjs';
import { describe, expect, it } from 'vitest';
import {
  BatchRejectedError,
  ContextOverflowError,
  bufferByTokens,
  dedupeSimilar,
  groupByLength,
  mergeBatches,
  orderedResults,
  splitOnOverflow,
  type BatchHandler,
  type Outcome,
} from '../src/index.js';
import * as iterable from '../src/iterable.js';
import { runVirtual, timedSource } from './support/virtual-time.js';

// The composability law: inserting ordinary operators that pass values through unchanged between
// any two tokenbatch operators, on either face, changes no outcome (count, index, ok, value or error
// name, duplicateOf, order).

const charTokens = (text: string) => text.length;

/** A handler whose answer for an item depends on that item alone, so timing cannot change outcomes. */
function itemwiseHandler(scheduler: VirtualTimeScheduler, contextWindow: number): BatchHandler<string, string> {
  return (batch, { signal }) =>
    new Promise((resolve, reject) => {
      const work = scheduler.schedule(() => {
        if (batch.tokens > contextWindow) return reject(new ContextOverflowError('too long'));
        // A poison item makes the whole call fail: the batch is bisected to find it.
        if (batch.items.some((item) => item.includes('P'))) return reject(new BatchRejectedError('a poison item'));
        // A bad item fails alone, inside the result array.
        resolve(batch.items.map((item) => (item.includes('E') ? (new TypeError(`bad ${item}`) as unknown as string) : `done:${item}`)));
      }, 3 + batch.items.length);
      signal.addEventListener('abort', () => {
        work.unsubscribe();
        reject(signal.reason);
      });
    });
}

const rxPassThrough = (clock: VirtualTimeScheduler): Record<string, () => OperatorFunction<unknown, unknown>> => ({
  tap: () => tap(() => {}),
  map: () => map((value) => value),
  filter: () => filter(() => true),
  observeOnAsap: () => observeOn(asapScheduler),
  observeOnClock: () => observeOn(clock),
  delay0: () => delay(0, clock),
  share: () => share(),
  concatMapOf: () => concatMap((value) => of(value)),
});
const ixPassThrough: Record<string, () => (source: AsyncIterable<unknown>) => AsyncIterable<unknown>> = {
  map: () => ixOps.map((value: unknown) => value),
  tap: () => ixOps.tap(() => {}),
  filter: () => ixOps.filter(() => true),
};

const scenarioArb = fc.record({
  items: fc.array(fc.record({ length: fc.integer({ min: 1, max: 20 }), id: fc.integer({ min: 0, max: 12 }), mark: fc.constantFrom('', '', '', '', 'E', 'P') }), { maxLength: 40 }),
  gaps: fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 40, maxLength: 40 }),
  dedupe: fc.boolean(),
  batching: fc.constantFrom('buffer', 'group', 'buffer-twice', 'group-then-buffer'),
  split: fc.boolean(),
  ordered: fc.boolean(),
  maxTokens: fc.integer({ min: 25, max: 80 }),
  maxItems: fc.integer({ min: 1, max: 6 }),
  maxWaitMs: fc.integer({ min: 1, max: 20 }),
  concurrency: fc.integer({ min: 1, max: 4 }),
  contextWindow: fc.integer({ min: 25, max: 120 }),
  face: fc.constantFrom('rx' as const, 'iterable' as const),
  inserts: fc.array(fc.record({ at: fc.nat(), op: fc.nat() }), { minLength: 1, maxLength: 4 }),
});
type Scenario = typeof scenarioArb extends fc.Arbitrary<infer S> ? S : never;

function texts(s: Scenario): { at: number; value: string }[] {
  let time = 0;
  return s.items.map((item, i) => {
    time += s.gaps[i] ?? 0;
    // Dedupe scenarios draw ids from a small pool, so that duplicates occur.
    const head = `${s.dedupe ? item.id : i}${item.mark}:`;
    return { at: time, value: head.padEnd(Math.max(item.length, head.length), 'x') };
  });
}

interface Stage {
  rx: (clock: VirtualTimeScheduler) => OperatorFunction<unknown, unknown>;
  ix: (clock: VirtualTimeScheduler) => (source: AsyncIterable<unknown>) => AsyncIterable<unknown>;
}

function stages(s: Scenario, handler: BatchHandler<string, string>): Stage[] {
  const buffer = (clock: VirtualTimeScheduler) => ({ maxTokens: s.maxTokens, maxItems: s.maxItems, maxWaitMs: s.maxWaitMs, tokenizer: charTokens, scheduler: clock });
  const list: Stage[] = [];
  if (s.dedupe)
    list.push({
      rx: (clock) => dedupeSimilar<string>({ method: 'exact', scheduler: clock }) as OperatorFunction<unknown, unknown>,
      ix: (clock) => iterable.dedupeSimilar<string>({ method: 'exact', scheduler: clock }) as never,
    });
  const bufferStage: Stage = {
    rx: (clock) => bufferByTokens<string>(buffer(clock)) as OperatorFunction<unknown, unknown>,
    ix: (clock) => iterable.bufferByTokens<string>(buffer(clock)) as never,
  };
  const groupStage: Stage = {
    rx: (clock) => groupByLength<string>({ ...buffer(clock), boundaries: [8, 16] }) as OperatorFunction<unknown, unknown>,
    ix: (clock) => iterable.groupByLength<string>({ ...buffer(clock), boundaries: [8, 16] }) as never,
  };
  if (s.batching === 'buffer') list.push(bufferStage);
  if (s.batching === 'group') list.push(groupStage);
  if (s.batching === 'buffer-twice') list.push(bufferStage, bufferStage);
  if (s.batching === 'group-then-buffer') list.push(groupStage, bufferStage);
  if (s.split) list.push({ rx: () => splitOnOverflow() as OperatorFunction<unknown, unknown>, ix: () => iterable.splitOnOverflow() as never });
  list.push({
    rx: (clock) =>
      mergeBatches(handler, { concurrency: s.concurrency, retry: { maxAttempts: 2, baseDelayMs: 5, random: () => 0.5 }, scheduler: clock }) as OperatorFunction<unknown, unknown>,
    ix: (clock) => iterable.mergeBatches(handler, { concurrency: s.concurrency, retry: { maxAttempts: 2, baseDelayMs: 5, random: () => 0.5 }, scheduler: clock }) as never,
  });
  if (s.ordered) list.push({ rx: () => orderedResults() as OperatorFunction<unknown, unknown>, ix: () => iterable.orderedResults() as never });
  return list;
}

type Seen = { index: number; ok: boolean; value?: string; error?: string; duplicateOf?: number };

async function run(s: Scenario, withInserts: boolean): Promise<{ outcomes: Seen[]; error?: unknown }> {
  const clock = new VirtualTimeScheduler();
  // Without splitOnOverflow a refused batch fails whole, which depends on how items were batched.
  const handler = itemwiseHandler(clock, s.split ? s.contextWindow : Infinity);
  const events = texts(s);
  const chain = stages(s, handler);
  // Positions between tokenbatch operators: after stage k (0..length-2).
  const inserts = new Map<number, number[]>();
  if (withInserts && chain.length > 1)
    for (const insert of s.inserts) inserts.set(insert.at % (chain.length - 1), [...(inserts.get(insert.at % (chain.length - 1)) ?? []), insert.op]);
  const outcomes: Outcome<string, string>[] = [];
  let error: unknown;
  await runVirtual(clock, async () => {
    if (s.face === 'rx') {
      const ops = rxPassThrough(clock);
      const names = Object.keys(ops);
      let stream: Observable<unknown> = merge(...events.map((event) => timer(event.at, clock).pipe(map(() => event.value))));
      chain.forEach((stage, k) => {
        stream = stream.pipe(stage.rx(clock));
        for (const op of inserts.get(k) ?? []) stream = stream.pipe((ops[names[op % names.length] as string] as () => OperatorFunction<unknown, unknown>)());
      });
      await new Promise<void>((resolve) =>
        stream.subscribe({ next: (outcome) => outcomes.push(outcome as Outcome<string, string>), error: (e: unknown) => ((error = e), resolve()), complete: resolve }),
      );
    } else {
      const names = Object.keys(ixPassThrough);
      let stream: AsyncIterable<unknown> = ixFrom(timedSource(clock, events));
      chain.forEach((stage, k) => {
        stream = stage.ix(clock)(stream);
        for (const op of inserts.get(k) ?? [])
          stream = (ixPassThrough[names[op % names.length] as string] as () => (source: AsyncIterable<unknown>) => AsyncIterable<unknown>)()(stream);
      });
      try {
        for await (const outcome of stream) outcomes.push(outcome as Outcome<string, string>);
      } catch (e) {
        error = e;
      }
    }
  });
  return {
    error,
    outcomes: outcomes.map((o) => ({
      index: o.index,
      ok: o.ok,
      ...(o.ok ? { value: o.value } : { error: o.error.name }),
      ...(o.duplicateOf === undefined ? {} : { duplicateOf: o.duplicateOf }),
    })),
  };
}

const byIndex = (outcomes: Seen[]) => [...outcomes].sort((a, b) => a.index - b.index);

describe('composability: ordinary operators between tokenbatch operators change no outcome', () => {
  it('holds for random chains with random pass-through operators inserted, on both faces', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (s) => {
        const plain = await run(s, false);
        const mixed = await run(s, true);
        expect(plain.error).toBeUndefined();
        expect(mixed.error).toBeUndefined();
        // Completeness: exactly one outcome per item, whatever the chain.
        expect(byIndex(plain.outcomes).map((o) => o.index)).toEqual([...Array(s.items.length).keys()]);
        expect(byIndex(mixed.outcomes)).toEqual(byIndex(plain.outcomes));
        if (s.ordered) expect(mixed.outcomes).toEqual(plain.outcomes);
        // A bad item fails alone: never because of a batch-mate.
        for (const outcome of plain.outcomes) {
          const text = texts(s)[outcome.index]?.value ?? '';
          const bad = /^\d+[EP]:/.test(text);
          if (outcome.duplicateOf === undefined && !bad && (!s.split || text.length <= s.contextWindow)) expect(outcome).toMatchObject({ ok: true, value: `done:${text}` });
        }
      }),
      { seed: 20261129, numRuns: 500 },
    );
  }, 120_000);
});
