import fc from 'fast-check';
import { from as ixFrom, toArray as ixToArray } from 'ix/asynciterable';
import { groupBy as ixGroupBy, flatMap as ixFlatMap } from 'ix/asynciterable/operators';
import { firstValueFrom, from, groupBy, lastValueFrom, mergeMap, Observable, take, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import {
  bufferByTokens,
  dedupeSimilar,
  groupByLength,
  indexItems,
  mergeBatches,
  orderedResults,
  OutcomeOrderError,
  splitOnOverflow,
  type BatchHandler,
  type Outcome,
} from '../src/index.js';
import * as iterable from '../src/iterable.js';
import { fromObservable } from '../src/iterable.js';

const charTokens = (text: string) => text.length;
const echo: BatchHandler<string, string> = async (batch) => batch.items.map((item) => `done:${item}`);

/** A synchronous source that, like RxJS's own, checks `closed` between values, and counts what it produced. */
function countingSource(limit: number) {
  const state = { produced: 0 };
  const source = new Observable<string>((subscriber) => {
    for (let i = 0; i < limit && !subscriber.closed; i++) {
      state.produced++;
      subscriber.next(`item ${i}`);
    }
    subscriber.complete();
  });
  return { source, state };
}

describe('the RxJS operator contract: a synchronous source stops as soon as the subscriber is closed', () => {
  const cases: [string, (source: Observable<string>) => Observable<unknown>][] = [
    ['bufferByTokens', (source) => source.pipe(bufferByTokens({ maxTokens: 1000, maxItems: 2 }))],
    ['groupByLength', (source) => source.pipe(groupByLength({ maxTokens: 1000, maxItems: 2, boundaries: [100] }))],
    ['dedupeSimilar', (source) => source.pipe(dedupeSimilar())],
    ['indexItems', (source) => source.pipe(indexItems())],
    ['splitOnOverflow', (source) => source.pipe(bufferByTokens({ maxTokens: 1000, maxItems: 2 }), splitOnOverflow())],
  ];
  for (const [name, chain] of cases) {
    it(`${name}: take(1) stops the source at once`, async () => {
      const { source, state } = countingSource(2_000_000);
      await firstValueFrom(chain(source).pipe(take(1)));
      expect(state.produced).toBeLessThanOrEqual(2);
    });
  }

  it('the full chain: unsubscribing stops a synchronous source, and the first outcomes still arrive', async () => {
    const { source, state } = countingSource(20_000);
    const outcomes = await firstValueFrom(source.pipe(bufferByTokens({ maxTokens: 1000, maxItems: 2 }), mergeBatches(echo), orderedResults(), take(3), toArray()));
    expect(outcomes.map((outcome) => outcome.index)).toEqual([0, 1, 2]);
    // Everything is produced synchronously before the first (asynchronous) outcome, then take(3)
    // unsubscribes: what matters is that nothing keeps running after that.
    expect(state.produced).toBe(20_000);
  });

  it('an error downstream closes the subscriber, and the source stops', async () => {
    const { map } = await import('rxjs');
    const { source, state } = countingSource(1_000_000);
    let failure: unknown;
    source
      .pipe(
        bufferByTokens({ maxTokens: 1000, maxItems: 1 }),
        map(() => {
          throw new Error('bug downstream');
        }),
      )
      .subscribe({ error: (error) => (failure = error) });
    expect(String(failure)).toMatch(/bug downstream/);
    expect(state.produced).toBeLessThanOrEqual(1);
  });

  it('fromObservable stops a synchronous source as soon as its buffer overflows', async () => {
    const { source, state } = countingSource(2_000_000);
    const error = await ixToArray(fromObservable(source, { maxBuffered: 10 })).catch((e: unknown) => e);
    expect(String(error)).toMatch(/QueueOverflowError|maxBuffered/);
    expect(state.produced).toBeLessThanOrEqual(11);
  });
});

describe('finite sources on the RxJS face', () => {
  it('from(array) of 50,000 items through the chain with default options: every item processed', async () => {
    const items = Array.from({ length: 50_000 }, (_, i) => `ticket ${i}: the app crashes on start`);
    const outcomes = await lastValueFrom(from(items).pipe(bufferByTokens({ maxTokens: 400 }), mergeBatches(echo), orderedResults(), toArray()));
    expect(outcomes).toHaveLength(50_000);
    expect(outcomes.every((outcome, i) => outcome.index === i && outcome.ok)).toBe(true);
  });

  it('a hot source that overruns maxQueuedItems fails the overflow with one shared QueueOverflowError, nothing lost', async () => {
    let release: (() => void) | undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const source = new Observable<string>((subscriber) => {
      // Asynchronous: a hot source, so the queue bound applies. The handler's gate opens only once
      // every item has arrived: no timing decides how many overflow.
      setTimeout(() => {
        for (let i = 0; i < 100; i++) subscriber.next(`item ${i}`);
        subscriber.complete();
        release?.();
      });
    });
    const handler: BatchHandler<string, string> = async (batch) => {
      await gate;
      return batch.items;
    };
    const done = lastValueFrom(source.pipe(bufferByTokens({ maxTokens: 1000, maxItems: 1 }), mergeBatches(handler, { concurrency: 1, maxQueuedItems: 10 }), toArray()));
    const outcomes = await done;
    expect(outcomes).toHaveLength(100);
    const failures = outcomes.filter((outcome) => !outcome.ok).map((outcome) => (outcome as { error: Error }).error);
    expect(failures.length).toBe(89);
    expect(new Set(failures).size).toBe(1);
    expect(failures[0]?.name).toBe('QueueOverflowError');
  });
});

describe('keyed pipelines: indexItems, groupBy, per-key batching, one ordered outcome stream', () => {
  const scenario = fc.record({
    items: fc.array(fc.record({ key: fc.constantFrom('acme', 'globex', 'initech'), text: fc.string({ minLength: 1, maxLength: 12 }) }), { maxLength: 60 }),
    maxItems: fc.integer({ min: 1, max: 5 }),
    dedupe: fc.boolean(),
  });

  it('gives every item exactly one outcome, in input order, with its own value (RxJS groupBy)', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ items, maxItems, dedupe }) => {
        type Ticket = { key: string; text: string };
        const handler: BatchHandler<Ticket, string> = async (batch) => batch.items.map((ticket) => `${ticket.key}/${ticket.text}`);
        const numbered = from(items).pipe(dedupe ? dedupeSimilar<Ticket>({ method: 'exact', text: (t) => t.text }) : indexItems<Ticket>());
        const outcomes = await lastValueFrom(
          numbered.pipe(
            groupBy((entry) => entry.item.key),
            mergeMap((group$) => group$.pipe(bufferByTokens<Ticket>({ maxTokens: 1000, maxItems, text: (t) => t.text, tokenizer: charTokens }), mergeBatches(handler))),
            orderedResults(),
            toArray(),
          ),
        );
        expect(outcomes.map((outcome) => outcome.index)).toEqual([...items.keys()]);
        for (const outcome of outcomes) {
          expect(outcome.ok).toBe(true);
          const representative = items[outcome.duplicateOf ?? outcome.index] as Ticket;
          expect(outcome.ok && outcome.value).toBe(`${representative.key}/${representative.text}`);
          if (outcome.duplicateOf !== undefined) expect(items[outcome.duplicateOf]?.text).toBe(outcome.item.text);
        }
      }),
      { seed: 7, numRuns: 150 },
    );
  });

  it('works the same with ix groupBy on the iterable face', async () => {
    type Ticket = { key: string; text: string };
    const items: Ticket[] = Array.from({ length: 30 }, (_, i) => ({ key: ['a', 'b', 'c'][i % 3] as string, text: `text ${i}` }));
    const handler: BatchHandler<Ticket, string> = async (batch) => batch.items.map((ticket) => ticket.text.toUpperCase());
    const outcomes = await ixToArray(
      ixFrom(items).pipe(
        iterable.indexItems<Ticket>(),
        ixGroupBy((entry) => entry.item.key),
        ixFlatMap((group) => group.pipe(iterable.bufferByTokens<Ticket>({ maxTokens: 1000, maxItems: 4, text: (t) => t.text }), iterable.mergeBatches(handler))),
        iterable.orderedResults(),
      ),
    );
    expect(outcomes.map((outcome: Outcome<Ticket, string>) => outcome.index)).toEqual([...items.keys()]);
    expect(outcomes.every((outcome: Outcome<Ticket, string>) => outcome.ok && outcome.value === outcome.item.text.toUpperCase())).toBe(true);
  });

  it('without indexItems before groupBy, the numbers collide and orderedResults says so', async () => {
    const error = await lastValueFrom(
      from(['a', 'b', 'c', 'd']).pipe(
        groupBy((text) => text < 'c'),
        mergeMap((group$) => group$.pipe(bufferByTokens({ maxTokens: 100 }), mergeBatches(echo))),
        orderedResults(),
      ),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutcomeOrderError);
    expect(String(error)).toMatch(/second outcome for item 0.*indexItems/);
  });
});

describe('two batching operators in a row re-batch', () => {
  it('groupByLength then bufferByTokens: the items are batched again under the second rules, numbers kept', async () => {
    const items = ['a', 'bbbbbbbbbbbbbbbbbbbb', 'cc', 'ddd', 'eeeeeeeeeeeeeeeeeeeeeeeeee'];
    const batches = await lastValueFrom(
      from(items).pipe(
        groupByLength({ maxTokens: 100, boundaries: [10], tokenizer: charTokens }),
        bufferByTokens({ maxTokens: 100, maxItems: 2, tokenizer: charTokens }),
        toArray(),
      ),
    );
    expect(batches.flatMap((batch) => batch.itemIndices).sort()).toEqual([0, 1, 2, 3, 4]);
    expect(batches.every((batch) => batch.items.length <= 2)).toBe(true);
  });

  it('bufferByTokens twice then the chain: every item one outcome, in order', async () => {
    const outcomes = await lastValueFrom(
      from(['x', 'y', 'z', 'w', 'v']).pipe(
        bufferByTokens({ maxTokens: 100, maxItems: 3 }),
        bufferByTokens({ maxTokens: 100, maxItems: 2 }),
        mergeBatches(echo),
        orderedResults(),
        toArray(),
      ),
    );
    expect(outcomes.map((outcome) => [outcome.index, outcome.ok && outcome.value])).toEqual([
      [0, 'done:x'],
      [1, 'done:y'],
      [2, 'done:z'],
      [3, 'done:w'],
      [4, 'done:v'],
    ]);
  });
});

describe('a value dropped between tokenbatch operators is named, never silent', () => {
  it('an outcome filtered out before orderedResults fails the stream naming the item', async () => {
    const { filter } = await import('rxjs');
    const error = await lastValueFrom(
      from(['a', 'b', 'c']).pipe(
        bufferByTokens({ maxTokens: 100, maxItems: 1 }),
        mergeBatches(echo),
        filter((o) => o.index !== 1),
        orderedResults(),
      ),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutcomeOrderError);
    expect((error as OutcomeOrderError).itemIndex).toBe(1);
  });

  it('a representative dropped between dedupeSimilar and mergeBatches: its duplicate fails with an explicit error', async () => {
    const { filter } = await import('rxjs');
    const outcomes = await lastValueFrom(
      from(['same', 'same', 'other']).pipe(
        dedupeSimilar({ method: 'exact' }),
        filter((value) => !(value.kind === 'item' && value.index === 0)),
        bufferByTokens({ maxTokens: 100 }),
        mergeBatches(echo),
        toArray(),
      ),
    );
    const duplicate = outcomes.find((outcome) => outcome.index === 1);
    expect(duplicate?.ok).toBe(false);
    expect(!duplicate?.ok && duplicate?.error.message).toMatch(/duplicate of item 0, which never reached this mergeBatches/);
  });
});
