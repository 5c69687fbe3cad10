import { map, Subject, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { bufferByTokens, OversizeItemError, type Batch, type BufferByTokensOptions } from '../../src/index.js';
import { charTokens } from '../support/batches.js';

// Items are strings weighing one token per character, so each marble value shows its weight.
const values = { a: 'aa', b: 'bbb', c: 'c', d: 'dddd', e: 'eeeeeeeeee', f: 'ff', g: 'g' };

function scheduler() {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

const shape = (batch: Batch<string>) => ({ items: batch.items.join(','), reason: batch.closeReason, oversize: batch.oversize, tokens: batch.tokens });

function run(
  options: Partial<BufferByTokensOptions<string>>,
  source: string,
  expected: string,
  batches: Record<string, ReturnType<typeof shape>>,
  error?: unknown,
  subscription?: string,
) {
  const testScheduler = scheduler();
  testScheduler.run(({ cold, expectObservable }) => {
    const input = cold(source, values, error);
    const output = input.pipe(bufferByTokens<string>({ maxTokens: 6, tokenizer: charTokens, scheduler: testScheduler, ...options }), map(shape));
    expectObservable(output, subscription).toBe(expected, batches, error);
  });
}

const batch = (items: string, reason: Batch<string>['closeReason'], tokens: number, oversize = false) => ({ items, reason, oversize, tokens });

describe('bufferByTokens closing rules (marbles)', () => {
  it('closes when the next item would exceed maxTokens; that item opens the next batch', () => {
    // aa + bbb = 5; + dddd would be 9 > 6, so d opens the next batch.
    run({}, '-a-b-d-|', '-----x-(y|)', { x: batch('aa,bbb', 'tokens', 5), y: batch('dddd', 'end', 4) });
  });

  it('is greedy: an item that still fits goes in, up to exactly maxTokens', () => {
    run({}, '-a-b-c-|', '-------(x|)', { x: batch('aa,bbb,c', 'end', 6) });
  });

  it('closes at maxItems at once, without waiting for the next item', () => {
    run({ maxItems: 2 }, '-c-g---c-|', '---x-----(y|)', { x: batch('c,g', 'items', 2), y: batch('c', 'end', 1) });
  });

  it('closes on maxWaitMs counted from the first item of the batch', () => {
    run({ maxWaitMs: 5 }, '-c-g-------c---|', '------x--------(y|)', { x: batch('c,g', 'time', 2), y: batch('c', 'end', 1) });
  });

  it('restarts the timer after a size flush: it counts from the new batch first item', () => {
    // a(2)+b(3)=5; d at frame 5 does not fit: flush, d opens a batch at frame 5, its timer fires at 5 + 4 = 9.
    run({ maxWaitMs: 4 }, '-a-b-d------|', '-----x---y--|', { x: batch('aa,bbb', 'tokens', 5), y: batch('dddd', 'time', 4) });
  });

  it('never emits an empty batch, neither on an idle timer tick nor at completion', () => {
    run({ maxWaitMs: 2 }, '-c-------|', '---x-----|', { x: batch('c', 'time', 1) });
    run({ maxWaitMs: 2 }, '------|', '------|', {});
  });

  it('flushes the last pending item when the source completes', () => {
    run({ maxWaitMs: 100 }, '-a|', '--(x|)', { x: batch('aa', 'end', 2) });
  });

  it('emits a heavy item alone, flagged oversize, after closing the open batch', () => {
    run({}, '-a-e-c-|', '---(xy)(z|)', { x: batch('aa', 'tokens', 2), y: batch('eeeeeeeeee', 'tokens', 10, true), z: batch('c', 'end', 1) });
  });

  it("with oversize: 'error' emits the open batch, then fails naming the item", () => {
    const testScheduler = scheduler();
    testScheduler.run(({ cold, expectObservable }) => {
      const output = cold('-a-e-c-|', values).pipe(bufferByTokens<string>({ maxTokens: 6, tokenizer: charTokens, oversize: 'error', scheduler: testScheduler }), map(shape));
      expectObservable(output).toBe('---(x#)', { x: batch('aa', 'tokens', 2) }, new OversizeItemError(1, 10, 6));
    });
  });

  it('counts batch and item overheads', () => {
    // overhead 1 + (2+1) + (1+1) = 6 = maxTokens: no item can fit any more (each costs >= 1), so it closes at once.
    run({ batchOverheadTokens: 1, itemOverheadTokens: 1 }, '-a-c-g-|', '---x---(y|)', { x: batch('aa,c', 'tokens', 6), y: batch('g', 'end', 3) });
  });

  it('emits the open batch before a source error', () => {
    run({}, '-a-c-#', '-----(x#)', { x: batch('aa,c', 'end', 3) }, 'boom-error');
  });

  it('unsubscribing cancels the timer and emits nothing more', () => {
    const testScheduler = scheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const input = cold('-a-c------|', values);
      const output = input.pipe(bufferByTokens<string>({ maxTokens: 6, tokenizer: charTokens, maxWaitMs: 5, scheduler: testScheduler }), map(shape));
      expectObservable(output, '^--!').toBe('----');
      expectSubscriptions(input.subscriptions).toBe('^--!');
    });
    // Teardown left nothing scheduled: the batch timer was cancelled.
    expect(testScheduler.actions).toHaveLength(0);
  });

  it('is lazy: nothing subscribes to the source until the result is subscribed', () => {
    const testScheduler = scheduler();
    testScheduler.run(({ cold, expectSubscriptions }) => {
      const input = cold('-a-|', values);
      input.pipe(bufferByTokens<string>({ maxTokens: 6, tokenizer: charTokens }));
      expectSubscriptions(input.subscriptions).toBe([]);
    });
  });

  it('a subscriber that pushes into the source while it receives a batch does not corrupt the buffer', () => {
    const subject = new Subject<string>();
    const seen: string[][] = [];
    subject.pipe(bufferByTokens({ maxTokens: 4, tokenizer: charTokens })).subscribe((received) => {
      seen.push([...received.items]);
      // Reentrant pushes: one that fits in a fresh batch, and a heavy one that goes alone.
      if (received.index === 0) {
        subject.next('x');
        subject.next('yyyyyy');
      }
    });
    subject.next('aa');
    subject.next('bb');
    subject.next('ccc'); // closes [aa, bb]; ccc opens the next batch
    subject.complete();
    expect(seen).toEqual([['aa', 'bb'], ['ccc', 'x'], ['yyyyyy']]);
  });
});

describe('bufferByTokens batch fields', () => {
  it('numbers batches and items, and reports utilization against maxTokens', () => {
    const received: Batch<string>[] = [];
    const subject = new Subject<string>();
    (subject as Observable<string>).pipe(bufferByTokens({ maxTokens: 4, tokenizer: charTokens })).subscribe((b) => received.push(b));
    for (const text of ['aa', 'bb', 'c', 'dddd']) subject.next(text);
    subject.complete();
    expect(received.map((b) => [b.index, [...b.itemIndices], [...b.itemTokens], b.utilization])).toEqual([
      [0, [0, 1], [2, 2], 1],
      [1, [2], [1], 0.25],
      [2, [3], [4], 1],
    ]);
    expect(received.every((b) => b.maxTokens === 4)).toBe(true);
  });
});
