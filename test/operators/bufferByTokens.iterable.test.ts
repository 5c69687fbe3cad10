import { toArray } from 'ix/asynciterable';
import { from as ixFrom } from 'ix/asynciterable';
import { VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { bufferByTokens } from '../../src/iterable.js';
import { charTokens } from '../support/batches.js';
import { at, runVirtual } from '../support/virtual-time.js';

/** A source that records how far it has been pulled and whether it was closed. */
function countingSource(items: string[]) {
  const state = { pulls: 0, returned: false };
  const iterable: AsyncIterable<string> = {
    [Symbol.asyncIterator]() {
      let i = 0;
      return {
        next: async () => {
          state.pulls++;
          return i < items.length ? { done: false, value: items[i++] as string } : { done: true, value: undefined };
        },
        return: async () => {
          state.returned = true;
          return { done: true, value: undefined };
        },
      };
    },
  };
  return { iterable, state };
}

describe('bufferByTokens on async iterables', () => {
  it('pulls from its source only while the consumer waits (no eager draining)', async () => {
    const { iterable, state } = countingSource(['aa', 'bb', 'cc', 'dd', 'ee', 'ff', 'gg', 'hh']);
    const batches = ixFrom(iterable).pipe(bufferByTokens({ maxTokens: 4, tokenizer: charTokens }));
    const iterator = batches[Symbol.asyncIterator]();
    expect(state.pulls).toBe(0); // lazy until asked
    const first = await iterator.next();
    expect(first.value?.items).toEqual(['aa', 'bb']);
    // It had to read 'cc' to know the batch was full, and nothing beyond.
    expect(state.pulls).toBe(3);
    await new Promise((resolve) => setImmediate(resolve));
    expect(state.pulls).toBe(3);
    await iterator.return?.();
    expect(state.returned).toBe(true);
  });

  it('closes a batch on time while the source is silent, and break clears the timer', async () => {
    const scheduler = new VirtualTimeScheduler();
    const seen: { items: readonly string[]; at: number; reason: string }[] = [];
    await runVirtual(scheduler, async () => {
      async function* slow() {
        yield 'a';
        await at(scheduler, 100); // silence well past maxWaitMs
        yield 'b';
        await at(scheduler, 1_000_000); // never reached: the consumer breaks first
        yield 'c';
      }
      for await (const batch of ixFrom(slow()).pipe(bufferByTokens({ maxTokens: 10, maxWaitMs: 5, tokenizer: charTokens, scheduler }))) {
        seen.push({ items: batch.items, at: scheduler.now(), reason: batch.closeReason });
        if (seen.length === 2) break;
      }
    });
    expect(seen).toEqual([
      { items: ['a'], at: 5, reason: 'time' },
      { items: ['b'], at: 105, reason: 'time' },
    ]);
    // Only the source's own pending wait remains; no batch timer is left behind.
    expect(scheduler.actions.map((action) => action.delay)).toEqual([1_000_000]);
  });

  it('emits the open batch, then rethrows the source error', async () => {
    async function* failing() {
      yield 'aa';
      throw new Error('source broke');
    }
    const seen: string[][] = [];
    const run = async () => {
      for await (const batch of ixFrom(failing()).pipe(bufferByTokens({ maxTokens: 10, tokenizer: charTokens }))) seen.push([...batch.items]);
    };
    await expect(run()).rejects.toThrow('source broke');
    expect(seen).toEqual([['aa']]);
  });

  it('gives a non-string item without a text option a failed item in batch.skipped; the stream and its batch-mates go on', async () => {
    const batches = await toArray(ixFrom<unknown>(['aa', 42, 'bb']).pipe(bufferByTokens<unknown>({ maxTokens: 10, tokenizer: charTokens })));
    expect(batches.map((batch) => batch.items)).toEqual([['aa', 'bb']]);
    const skipped = batches.flatMap((batch) => batch.skipped);
    expect(skipped.map((item) => [item.kind, item.index])).toEqual([['failed', 1]]);
    expect(skipped[0]?.kind === 'failed' && skipped[0].error.message).toMatch(/item 1: the text option threw: item is number/);
  });
});
