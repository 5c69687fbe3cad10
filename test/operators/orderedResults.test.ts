import { from, VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { mergeBatches, orderedResults } from '../../src/index.js';
import { collect, timedHandler } from '../support/handlers.js';

describe('orderedResults', () => {
  it('streams each prefix as soon as it completes; a slow head holds back at most orderWindow batches', async () => {
    const scheduler = new VirtualTimeScheduler();
    const { handler, calls } = timedHandler(scheduler, (items) => (items[0] === 'a' ? 100 : 10));
    const seen = await collect(scheduler, from([['a'], ['b'], ['c'], ['d'], ['e']]).pipe(mergeBatches(handler, { concurrency: 2, orderWindow: 3, scheduler }), orderedResults()));
    expect(seen.map(({ outcome, at }) => [outcome.index, at])).toEqual([
      [0, 100],
      [1, 100],
      [2, 100],
      [3, 110],
      [4, 110],
    ]);
    // b and c finish behind a; d would be the fourth batch from the head: it waits for a.
    expect(calls.map((call) => [call.items[0], call.start])).toEqual([
      ['a', 0],
      ['b', 0],
      ['c', 10],
      ['d', 100],
      ['e', 100],
    ]);
  });

  it('fails the stream when an outcome index repeats', async () => {
    const outcome = { index: 0, item: 'a', ok: true as const, value: 1, splitDepth: 0, attempts: 1 };
    const error = await new Promise<unknown>((resolve) => from([outcome, outcome]).pipe(orderedResults()).subscribe({ error: resolve }));
    expect(String(error)).toMatch(/a second outcome for item 0/);
  });
});
