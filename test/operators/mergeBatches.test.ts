import fc from 'fast-check';
import { from as ixFrom } from 'ix/asynciterable';
import { lastValueFrom, toArray, defer, from, Observable, Subject, VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import {
  BatchRejectedError,
  BatchResultMismatchError,
  mergeBatches,
  QueueOverflowError,
  QuotaExhaustedError,
  RateLimitError,
  TimeoutError,
  TransientError,
  type BatchHandler,
  type Outcome,
} from '../../src/index.js';
import * as iterable from '../../src/iterable.js';
import { trackedScheduler } from '../support/virtual-time.js';
import { charTokens, collect, timedHandler } from '../support/handlers.js';

describe('mergeBatches', () => {
  it('runs a sliding window: a new batch starts the moment any one finishes, not in waves', async () => {
    const scheduler = new VirtualTimeScheduler();
    const lengths: Record<string, number> = { a: 100, b: 10, c: 10, d: 10 };
    const { handler, calls } = timedHandler(scheduler, (items) => lengths[items[0] as string] as number);
    await collect(scheduler, from([['a'], ['b'], ['c'], ['d']]).pipe(mergeBatches(handler, { concurrency: 2, scheduler })));
    expect(calls.map((call) => [call.items[0], call.start])).toEqual([
      ['a', 0],
      ['b', 0],
      ['c', 10],
      ['d', 20],
    ]);
  });

  it('emits outcomes in completion order, numbering the items of plain arrays', async () => {
    const scheduler = new VirtualTimeScheduler();
    const { handler } = timedHandler(scheduler, (items) => (items[0] === 'a' ? 50 : 5));
    const seen = await collect(scheduler, from([['a', 'b'], ['c']]).pipe(mergeBatches(handler, { concurrency: 2, scheduler })));
    expect(seen.map(({ outcome, at }) => [outcome.index, outcome.item, outcome.ok && outcome.value, at])).toEqual([
      [2, 'c', 'v:c', 5],
      [0, 'a', 'v:a', 50],
      [1, 'b', 'v:b', 50],
    ]);
  });

  it('retries with backoff, honours retryAfterMs, and reports attempts', async () => {
    const scheduler = new VirtualTimeScheduler();
    const { handler, calls } = timedHandler(scheduler, (_, attempt) =>
      attempt === 1 ? new RateLimitError('slow down', { retryAfterMs: 700 }) : attempt === 2 ? new TransientError('502') : 5,
    );
    const seen = await collect(scheduler, from([['a']]).pipe(mergeBatches(handler, { scheduler, retry: { maxAttempts: 3, baseDelayMs: 100, random: () => 0.5 } })));
    // attempt 1 fails at 1 ms; wait 700 + 10% of a jittered 50 ms; attempt 2 fails 1 ms later; then 0.5 * 200 ms.
    expect(calls.map((call) => call.start)).toEqual([0, 706, 807]);
    expect(seen[0]?.outcome).toMatchObject({ index: 0, ok: true, value: 'v:a', attempts: 3 });
  });

  it('fails items after maxAttempts, never retries quota exhaustion, and keeps the stream alive', async () => {
    const scheduler = new VirtualTimeScheduler();
    const { handler, calls } = timedHandler(scheduler, (items) => (items[0] === 'q' ? new QuotaExhaustedError('no credit') : items[0] === 't' ? new TransientError('503') : 1));
    const seen = await collect(scheduler, from([['q'], ['t'], ['ok']]).pipe(mergeBatches(handler, { scheduler, retry: { maxAttempts: 2, baseDelayMs: 1 } })));
    const byItem = Object.fromEntries(seen.map(({ outcome }) => [outcome.item, outcome]));
    expect(byItem.q).toMatchObject({ ok: false, attempts: 1 });
    expect((byItem.q as { error: Error }).error).toBeInstanceOf(QuotaExhaustedError);
    expect(byItem.t).toMatchObject({ ok: false, attempts: 2 });
    expect(byItem.ok).toMatchObject({ ok: true, value: 'v:ok' });
    expect(calls.filter((call) => call.items[0] === 'q')).toHaveLength(1);
  });

  it('aborts an attempt after timeoutMs with a TimeoutError, and retries it', async () => {
    const scheduler = new VirtualTimeScheduler();
    const { handler, calls } = timedHandler(scheduler, (_, attempt) => (attempt === 1 ? 1000 : 5));
    const seen = await collect(scheduler, from([['a']]).pipe(mergeBatches(handler, { scheduler, timeoutMs: 100, retry: { maxAttempts: 2, baseDelayMs: 10, random: () => 0 } })));
    expect(calls[0]?.signal.aborted).toBe(true);
    expect(calls[0]?.signal.reason).toBeInstanceOf(TimeoutError);
    expect(calls.map((call) => call.start)).toEqual([0, 100]);
    expect(seen[0]?.outcome).toMatchObject({ ok: true, attempts: 2 });
  });

  it('bisects a batch whose handler returns the wrong number of results, so only items that fail alone fail', async () => {
    const seen: Outcome<string, string>[] = [];
    const sizes: number[] = [];
    await new Promise<void>((resolve) =>
      from([['a', 'b', 'c']])
        .pipe(
          mergeBatches(
            async (batch) => {
              sizes.push(batch.items.length);
              return batch.items.includes('b') ? ['too few'].slice(0, batch.items.length - 1) : batch.items.map((item) => item.toUpperCase());
            },
            { retry: false },
          ),
        )
        .subscribe({ next: (outcome) => seen.push(outcome), complete: resolve }),
    );
    expect(sizes).toEqual([3, 2, 1, 1, 1]);
    expect(seen.map((outcome) => [outcome.item, outcome.ok])).toEqual([
      ['a', true],
      ['b', false],
      ['c', true],
    ]);
    const error = (seen[1] as unknown as { error: BatchResultMismatchError }).error;
    expect(error).toBeInstanceOf(BatchResultMismatchError);
  });

  it('accepts handlers that answer with an Observable or an AsyncIterable', async () => {
    const viaObservable: BatchHandler<string, number> = (batch) => defer(() => [batch.items.map((item) => item.length)]);
    const viaIterable: BatchHandler<string, number> = async function* (batch) {
      yield batch.items.map((item) => item.length * 10);
    };
    for (const [handler, expected] of [
      [viaObservable, [1, 2]],
      [viaIterable, [10, 20]],
    ] as const) {
      const values: unknown[] = [];
      await new Promise<void>((resolve, reject) =>
        from([['a', 'bb']])
          .pipe(mergeBatches(handler))
          .subscribe({ next: (outcome) => values.push(outcome.ok && outcome.value), error: reject, complete: resolve }),
      );
      expect(values).toEqual(expected);
    }
  });

  it("with failFast ends the stream with the first failure's error, after emitting its outcome", async () => {
    const seen: Outcome<string, string>[] = [];
    const error = await new Promise<unknown>((resolve) =>
      from([['a'], ['b']])
        .pipe(mergeBatches(async (batch) => (batch.items[0] === 'a' ? Promise.reject(new QuotaExhaustedError('no credit')) : ['v']), { concurrency: 1, failFast: true }))
        .subscribe({ next: (outcome) => seen.push(outcome), error: resolve }),
    );
    expect(error).toBeInstanceOf(QuotaExhaustedError);
    expect(seen.map((outcome) => [outcome.index, outcome.ok])).toEqual([[0, false]]);
  });

  it('unsubscribing aborts every in-flight handler and clears all timers', async () => {
    const clock = new VirtualTimeScheduler();
    const scheduler = trackedScheduler(clock);
    const signals: AbortSignal[] = [];
    const handler: BatchHandler<string, string> = (_batch, { signal }) => {
      signals.push(signal);
      return new Promise(() => {}); // never answers on its own
    };
    const subscription = from([['a'], ['b'], ['c']])
      .pipe(mergeBatches(handler, { concurrency: 2, scheduler, timeoutMs: 1000 }))
      .subscribe();
    expect(signals).toHaveLength(2);
    subscription.unsubscribe();
    expect(signals.map((signal) => signal.aborted)).toEqual([true, true]);
    expect(scheduler.pending()).toBe(0);
  });

  it('bounds the queue of a push source: overflowing batches fail with QueueOverflowError, nothing is lost', async () => {
    const subject = new Subject<string[]>();
    const seen: Outcome<string, string>[] = [];
    const release: (() => void)[] = [];
    subject
      .pipe(
        mergeBatches<string, string>((batch) => new Promise((resolve) => release.push(() => resolve(batch.items.map((item) => `v:${item}`)))), {
          concurrency: 1,
          maxQueuedItems: 2,
        }),
      )
      .subscribe((outcome) => seen.push(outcome));
    for (const name of ['a', 'b', 'c', 'd', 'e']) subject.next([name]);
    // a is running, b and c wait; d and e overflow.
    expect(seen.map((outcome) => [outcome.item, outcome.ok])).toEqual([
      ['d', false],
      ['e', false],
    ]);
    expect((seen[0] as { error: Error }).error).toBeInstanceOf(QueueOverflowError);
    while (release.length > 0) {
      release.shift()?.();
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(seen.map((outcome) => outcome.item).sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it("with overflow: 'error' fails the stream instead", async () => {
    const subject = new Subject<string[]>();
    let failure: unknown;
    subject.pipe(mergeBatches(() => new Promise<string[]>(() => {}), { concurrency: 1, maxQueuedItems: 1, overflow: 'error' })).subscribe({ error: (error) => (failure = error) });
    subject.next(['a']);
    subject.next(['b']);
    subject.next(['c']);
    expect(failure).toBeInstanceOf(QueueOverflowError);
  });

  it('after a source error, finishes the work it received, then errors', async () => {
    const seen: number[] = [];
    const error = await new Promise<unknown>((resolve) =>
      new Observable<string[]>((subscriber) => {
        subscriber.next(['a']);
        subscriber.error(new Error('source broke'));
      })
        .pipe(mergeBatches(async (batch) => batch.items))
        .subscribe({ next: (outcome) => seen.push(outcome.index), error: resolve }),
    );
    expect(seen).toEqual([0]);
    expect(error).toMatchObject({ message: 'source broke' });
  });
});

describe('real backpressure on the async-iterable face', () => {
  it('a 1,000,000-item source with a slow handler never runs ahead of the work', async () => {
    const total = 1_000_000;
    const maxItems = 1000;
    const concurrency = 4;
    let pulled = 0;
    let finished = 0;
    let worst = 0;
    async function* source() {
      for (let i = 0; i < total; i++) {
        pulled++;
        worst = Math.max(worst, pulled - finished);
        yield 'x';
      }
    }
    const handler: BatchHandler<string, number> = async (batch) => {
      for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve)); // slow: it yields the event loop
      return batch.items.map(() => 1);
    };
    const chain = ixFrom(source()).pipe(
      iterable.bufferByTokens({ maxTokens: 1e9, maxItems, tokenizer: () => 1 }),
      iterable.mergeBatches(handler, { concurrency }),
      iterable.orderedResults(),
    );
    let expectedIndex = 0;
    for await (const outcome of chain) {
      if (outcome.index !== expectedIndex++) throw new Error(`out of order at ${outcome.index}`);
      finished++;
    }
    expect(finished).toBe(total);
    expect(worst).toBeLessThanOrEqual(concurrency * maxItems + maxItems + 1);
  }, 120_000);

  it('breaking out of for await aborts in-flight handlers', async () => {
    const signals: AbortSignal[] = [];
    const chain = ixFrom(['a', 'b', 'c', 'd']).pipe(
      iterable.bufferByTokens({ maxTokens: 100, maxItems: 1, tokenizer: charTokens }),
      iterable.mergeBatches<string, string>(
        (batch, { signal }) => {
          signals.push(signal);
          if (batch.items[0] !== 'a') return new Promise(() => {});
          // 'a' answers after a few turns of the event loop, once the other batches have started.
          return (async () => {
            for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
            return ['A'];
          })();
        },
        { concurrency: 3 },
      ),
    );
    for await (const outcome of chain) {
      expect(outcome.item).toBe('a');
      break;
    }
    expect(signals.length).toBeGreaterThan(1);
    // 'a' had finished; every batch still in flight was aborted.
    expect(signals.slice(1).every((signal) => signal.aborted)).toBe(true);
  });
});

describe('per-item failures', () => {
  it('isolates one poison item in a batch of n within 2·log2(n) extra calls; its batch-mates keep their results', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 64 }), fc.nat(), async (n, at) => {
        const poison = at % n;
        let calls = 0;
        const handler: BatchHandler<number, number> = async (batch) => {
          calls++;
          if (batch.items.includes(poison)) throw new BatchRejectedError('refused');
          return batch.items.map((item) => item * 2);
        };
        const outcomes = await lastValueFrom(from([Array.from({ length: n }, (_, i) => i)]).pipe(mergeBatches(handler, { retry: false }), toArray()));
        expect(outcomes).toHaveLength(n);
        for (const outcome of outcomes) {
          if (outcome.item === poison) expect(!outcome.ok && outcome.error.name).toBe('BatchRejectedError');
          else expect(outcome.ok && outcome.value).toBe(outcome.item * 2);
        }
        expect(calls - 1).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(n)));
      }),
      { seed: 12, numRuns: 200 },
    );
  });

  it('accepts array-likes such as typed arrays, and fails a hole alone naming its index', async () => {
    const scores = await new Promise<Outcome<string, number>[]>((resolve) => {
      const seen: Outcome<string, number>[] = [];
      from([['a', 'b', 'c']])
        .pipe(mergeBatches<string, number>(async (batch) => Float32Array.from(batch.items.map((_, i) => i + 0.5)) as unknown as number[]))
        .subscribe({ next: (o) => seen.push(o), complete: () => resolve(seen) });
    });
    expect(scores.map((o) => o.ok && o.value)).toEqual([0.5, 1.5, 2.5]);
    const holes = await new Promise<Outcome<string, string>[]>((resolve) => {
      const seen: Outcome<string, string>[] = [];
      from([['a', 'b', 'c']])
        // eslint-disable-next-line no-sparse-arrays -- the hole is the point: a result the model skipped
        .pipe(mergeBatches<string, string>(async () => ['A', , 'C'] as string[], { retry: false }))
        .subscribe({ next: (o) => seen.push(o), complete: () => resolve(seen) });
    });
    expect(holes.map((o) => (o.ok ? o.value : o.error.name))).toEqual(['A', 'BatchResultMismatchError', 'C']);
    const hole = holes[1] as unknown as { error: BatchResultMismatchError };
    expect(hole.error.itemIndex).toBe(1);
  });

  it('retries only the item whose Error result is retryable, without its batch-mates', async () => {
    const sizes: string[][] = [];
    let failed = false;
    const outcomes = await new Promise<Outcome<string, string>[]>((resolve) => {
      const seen: Outcome<string, string>[] = [];
      from([['a', 'b', 'c']])
        .pipe(
          mergeBatches<string, string>(
            async (batch) => {
              sizes.push([...batch.items]);
              return batch.items.map((item) => {
                if (item === 'b' && !failed) {
                  failed = true;
                  return new TransientError('503 for this item') as unknown as string;
                }
                return item.toUpperCase();
              });
            },
            { retry: { baseDelayMs: 1 } },
          ),
        )
        .subscribe({ next: (o) => seen.push(o), complete: () => resolve(seen) });
    });
    expect(sizes).toEqual([['a', 'b', 'c'], ['b']]);
    expect(outcomes.map((o) => [o.item, o.ok && o.value, o.attempts])).toEqual([
      ['a', 'A', 1],
      ['c', 'C', 1],
      ['b', 'B', 2],
    ]);
  });
});

describe('mergeBatches with a result cache', () => {
  it('a second run of the same job sends no request and gives the same outcomes, flagged cached', async () => {
    const { createMemoryCache, isCached } = await import('../../src/index.js');
    const store = createMemoryCache();
    let calls = 0;
    const handler: BatchHandler<string, string> = async (batch) => {
      calls++;
      return batch.items.map((item) => (item.includes('bad') ? new TypeError('no answer') : item.toUpperCase()));
    };
    const job = (batches: string[][]) => lastValueFrom(from(batches).pipe(mergeBatches(handler, { cache: { store, identity: { model: 'm', handler: 'upper@1' } } }), toArray()));
    const view = (outcomes: Outcome<string, string>[]) => outcomes.map((o) => [o.index, o.ok ? o.value : o.error.name]).sort((a, b) => (a[0] as number) - (b[0] as number));
    const first = await job([['a', 'b'], ['bad'], ['c']]);
    expect(calls).toBe(3);
    expect(first.some((outcome) => isCached(outcome))).toBe(false);
    calls = 0;
    const second = await job([['a', 'b'], ['bad'], ['c']]);
    expect(view(second)).toEqual(view(first));
    // Only the failure is asked again: failures are never cached.
    expect(calls).toBe(1);
    expect(
      second
        .filter((outcome) => isCached(outcome))
        .map((outcome) => outcome.item)
        .sort(),
    ).toEqual(['a', 'b', 'c']);
    // The key is the normalized text: case and white space do not make a new question.
    const { createStats } = await import('../../src/index.js');
    const stats = createStats();
    await lastValueFrom(from([['a', 'c']]).pipe(mergeBatches(handler, { stats, cache: { store, identity: { model: 'm', handler: 'upper@1' } } }), toArray()));
    expect(stats.snapshot().items.cacheHits).toBe(2);
    const third = await job([['  A', 'B']]);
    expect(third.map((outcome) => [outcome.ok && outcome.value, isCached(outcome)])).toEqual([
      ['A', true],
      ['B', true],
    ]);
  });

  it('rejects a cache option without an identity, naming it', () => {
    expect(() => mergeBatches(async () => [], { cache: { store: {} } as never })).toThrow(/mergeBatches: cache/);
  });
});
