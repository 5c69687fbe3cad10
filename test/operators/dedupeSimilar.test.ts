import { from as ixFrom, toArray as ixToArray } from 'ix/asynciterable';
import { filter, firstValueFrom, from, map, Subject, toArray } from 'rxjs';
import { filter as ixFilter, map as ixMap } from 'ix/asynciterable/operators';
import { describe, expect, it } from 'vitest';
import { bufferByTokens, dedupeSimilar, mergeBatches, orderedResults, TransientError, type BatchHandler, type ChainItem, type IndexedItem, type Outcome } from '../../src/index.js';

// Alone, dedupeSimilar emits numbered items and duplicates: the items are what a plain stream keeps.
const isItem = <T>(value: ChainItem<T>): value is IndexedItem<T> => value.kind === 'item';
const itemsOnly = <T>() => [filter(isItem<T>), map((entry: IndexedItem<T>) => entry.item)] as const;
import * as iterable from '../../src/iterable.js';

const tickets = [
  'My order 1234 has not arrived yet',
  'The app crashes when I open settings',
  'my order 1234 has not arrived yet!', // near-duplicate of 0
  'MY ORDER   1234 HAS NOT ARRIVED YET', // exact after normalization
  'Completely different: please reset my password',
];

describe('dedupeSimilar on a plain stream', () => {
  it('is exact by default, and guarded when fuzzy: the pairs of issue 13 are never merged', async () => {
    const pairs = [
      ['I can log in to my account after the update.', "I can't log in to my account after the update."],
      ['Please refund order 123456, it arrived broken.', 'Please refund order 123457, it arrived broken.'],
      ['The payment of $1,000 failed', 'The payment of $9,000 failed'],
      ['Translate to French: The meeting is on Monday.', 'Translate to French: The meeting is on Tuesday.'],
      ['ticket 0: app crashes on start 0', 'ticket 2: app crashes on start 62'],
    ];
    const run = async (options: Parameters<typeof dedupeSimilar<string>>[0], texts: string[]) =>
      firstValueFrom(from(texts).pipe(dedupeSimilar(options), ...itemsOnly<string>(), toArray()));
    for (const pair of pairs) {
      expect(await run(undefined, pair)).toEqual(pair);
      expect(await run({ method: 'minhash' }, pair)).toEqual(pair);
      expect(await run({ method: 'minhash', threshold: 0.7, guards: false }, pair)).toEqual([pair[0]]); // the old default's mistake, on purpose
    }
    expect(await run(undefined, ['Refund order 1', '  REFUND   order 1 '])).toEqual(['Refund order 1']);
  });

  it('takes a key normalizer, a custom guard and a custom similar', async () => {
    const run = async (options: Parameters<typeof dedupeSimilar<string>>[0], texts: string[]) =>
      firstValueFrom(from(texts).pipe(dedupeSimilar(options), ...itemsOnly<string>(), toArray()));
    const signed = ['Where is my parcel?\n-- Sent at 10:02', 'Where is my parcel?\n-- Sent at 10:07'];
    expect(await run(undefined, signed)).toEqual(signed);
    expect(await run({ key: (text) => text.replace(/\n-- .*$/s, '') }, signed)).toEqual([signed[0]]);
    const texts = ['VIP: printer on fire', 'VIP: printer on fire!'];
    expect(await run({ method: 'minhash' }, texts)).toEqual([texts[0]]);
    expect(await run({ method: 'minhash', guard: (a) => !a.startsWith('VIP') }, texts)).toEqual(texts);
    const subject = (text: string) => text.split(':')[0];
    expect(await run({ similar: (a, b) => subject(a) === subject(b) }, ['Re order 5: late', 'Re order 5: still late', 'Re order 6: late'])).toEqual([
      'Re order 5: late',
      'Re order 6: late',
    ]);
    expect(await run({ similar: (a, b) => subject(a) === subject(b), guards: { numbers: true } }, ['Billing: charged $5', 'Billing: charged $6'])).toEqual([
      'Billing: charged $5',
      'Billing: charged $6',
    ]);
  });

  it('emits only representatives and reports duplicates through onDuplicate', async () => {
    const reported: [string, string, number][] = [];
    const out = await firstValueFrom(
      from(tickets).pipe(dedupeSimilar({ method: 'minhash', onDuplicate: (item, rep, similarity) => reported.push([item, rep, similarity]) }), ...itemsOnly<string>(), toArray()),
    );
    expect(out).toEqual([tickets[0], tickets[1], tickets[4]]);
    expect(reported.map(([item, rep]) => [item, rep])).toEqual([
      [tickets[2], tickets[0]],
      [tickets[3], tickets[0]],
    ]);
    expect(reported[1]?.[2]).toBe(1); // identical once normalized
    expect(reported[0]?.[2]).toBeGreaterThanOrEqual(0.5);
    expect(reported[0]?.[2]).toBeLessThan(1);
  });

  it("with method 'exact' only normalization makes a duplicate", async () => {
    const out = await firstValueFrom(from(tickets).pipe(dedupeSimilar({ method: 'exact' }), ...itemsOnly<string>(), toArray()));
    expect(out).toEqual([tickets[0], tickets[1], tickets[2], tickets[4]]);
  });

  it('compares with representatives only: matches never chain', async () => {
    // b is within the threshold of a; c is within it of b but not of a: c must be sent.
    const a = 'abcdefghij klmnop';
    const b = 'abcdefghij klmnop qrstuv';
    const c = 'klmnop qrstuv wxyz0123';
    const out = await firstValueFrom(from([a, b, c]).pipe(dedupeSimilar({ method: 'minhash', threshold: 0.4 }), ...itemsOnly<string>(), toArray()));
    expect(out).toEqual([a, c]);
  });

  it('forgets representatives beyond maxEntries', async () => {
    const out = await firstValueFrom(
      from(['alpha beta gamma', 'delta epsilon zeta', 'alpha beta gamma']).pipe(dedupeSimilar({ method: 'exact', maxEntries: 1 }), ...itemsOnly<string>(), toArray()),
    );
    expect(out).toHaveLength(3);
  });

  it('works the same on async iterables', async () => {
    const out = await ixToArray(
      ixFrom(tickets).pipe(
        iterable.dedupeSimilar<string>({ method: 'minhash' }),
        ixFilter(isItem<string>),
        ixMap((entry: IndexedItem<string>) => entry.item),
      ),
    );
    expect(out).toEqual([tickets[0], tickets[1], tickets[4]]);
  });

  it("with method 'embedding' batches the embed calls and compares by cosine", async () => {
    const calls: string[][] = [];
    const vectorOf = (text: string) => (text.toLowerCase().includes('order') ? [1, 0.05, 0] : text.includes('crash') ? [0, 1, 0] : [0, 0, 1]);
    const out = await firstValueFrom(
      from(tickets).pipe(
        dedupeSimilar({
          method: 'embedding',
          threshold: 0.99,
          embed: async (texts) => {
            calls.push(texts);
            return texts.map(vectorOf);
          },
          embedBatch: { maxItems: 2 },
        }),
        ...itemsOnly<string>(),
        toArray(),
      ),
    );
    expect(out).toEqual([tickets[0], tickets[1], tickets[4]]);
    expect(calls.map((texts) => texts.length)).toEqual([2, 2, 1]);
  });

  it('validates its options at creation', () => {
    expect(() => dedupeSimilar({ method: 'embedding' })).toThrow(/embed: required/);
    expect(() => dedupeSimilar({ method: 'fuzzy' as 'exact' })).toThrow(RangeError);
    expect(() => dedupeSimilar({ maxEntries: 0 })).toThrow(/maxEntries/);
    expect(() => dedupeSimilar({ threshold: 2 })).toThrow(/threshold/);
    expect(() => dedupeSimilar({ threshold: 0.8 })).toThrow(
      new RangeError("dedupeSimilar: threshold: applies to 'minhash', 'embedding' or similar, and method is 'exact' (the default)"),
    );
    expect(() => dedupeSimilar({ method: 'minhash', guards: { digits: false } as never })).toThrow(
      new TypeError("dedupeSimilar: unknown option 'guards.digits' (known: numbers, negations, calendar, names, opposites)"),
    );
    expect(() => dedupeSimilar({ similar: () => true, method: 'minhash' })).toThrow(new RangeError("dedupeSimilar: similar: replaces method, leave method unset (got 'minhash')"));
    expect(() => dedupeSimilar({ key: 'body' as never })).toThrow(new TypeError('dedupeSimilar: key: expected a function (item) => string, got string'));
    expect(() => dedupeSimilar({ similar: () => true, threshold: 1.5 })).toThrow(/threshold/);
  });
});

describe('dedupeSimilar in a chain', () => {
  const run = async (items: string[], handler: BatchHandler<string, string>) => {
    const chain = from(items).pipe(dedupeSimilar({ method: 'exact' }), bufferByTokens({ maxTokens: 1000, maxItems: 1 }), mergeBatches(handler, { retry: false, concurrency: 4 }));
    const emitted = await firstValueFrom(chain.pipe(toArray()));
    const ordered = await firstValueFrom(chain.pipe(orderedResults(), toArray()));
    return { ordered, emitted };
  };

  it('gives each duplicate its own outcome with the representative value and duplicateOf', async () => {
    const calls: string[] = [];
    const { ordered, emitted } = await run(['a', 'b', 'A', 'b '], async (batch) => {
      calls.push(...batch.items);
      // 'a' answers last, so its duplicate must wait for it.
      for (let i = 0; i < (batch.items[0] === 'a' ? 5 : 1); i++) await new Promise((resolve) => setImmediate(resolve));
      return batch.items.map((item) => `v:${item}`);
    });
    expect(calls).toEqual(['a', 'b', 'a', 'b']); // two runs of the chain
    const position = (index: number) => emitted.findIndex((outcome) => outcome.index === index);
    expect(position(2)).toBeGreaterThan(position(0));
    expect(position(3)).toBeGreaterThan(position(1));
    expect(ordered.map((outcome) => [outcome.index, outcome.item, outcome.ok && outcome.value, outcome.duplicateOf])).toEqual([
      [0, 'a', 'v:a', undefined],
      [1, 'b', 'v:b', undefined],
      [2, 'A', 'v:a', 0],
      [3, 'b ', 'v:b', 1],
    ]);
  });

  it('fails the duplicates of a failed representative with its error, and forgets it', async () => {
    const subject = new Subject<string>();
    const outcomes: Outcome<string, string>[] = [];
    let calls = 0;
    const done = new Promise<void>((resolve) =>
      subject
        .pipe(
          dedupeSimilar({ method: 'exact' }),
          bufferByTokens({ maxTokens: 1000, maxItems: 1 }),
          mergeBatches(
            async (batch) => {
              calls++;
              if (calls === 1) throw new TransientError('503');
              return batch.items.map((item) => `v:${item}`);
            },
            { retry: false },
          ),
          orderedResults(),
        )
        .subscribe({ next: (outcome) => outcomes.push(outcome), complete: resolve }),
    );
    subject.next('same text'); // the representative: its call fails
    subject.next('same text'); // waits for it, then fails with the same error
    await new Promise((resolve) => setImmediate(resolve));
    subject.next('same text'); // the failed representative is forgotten: this one is sent
    subject.complete();
    await done;
    expect(outcomes.map((outcome) => [outcome.index, outcome.ok, outcome.duplicateOf])).toEqual([
      [0, false, undefined],
      [1, false, 0],
      [2, true, undefined],
    ]);
    expect((outcomes[1] as { error: Error }).error).toBe((outcomes[0] as { error: Error }).error);
    expect(calls).toBe(2);
  });
});
