import { Observable, Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { QueueOverflowError } from '../src/index.js';
import { bufferByTokens, fromObservable } from '../src/iterable.js';

describe('fromObservable', () => {
  it('is lazy, yields every value in order, and feeds the iterable operators', async () => {
    let subscribed = 0;
    const source = new Observable<string>((subscriber) => {
      subscribed++;
      for (const word of ['one', 'two', 'three']) subscriber.next(word);
      subscriber.complete();
    });
    const batches = fromObservable(source).pipe(bufferByTokens({ maxTokens: 2 }));
    expect(subscribed).toBe(0);
    const seen: string[][] = [];
    for await (const batch of batches) seen.push([...batch.items]);
    expect(seen).toEqual([['one', 'two'], ['three']]);
    expect(subscribed).toBe(1);
  });

  it('ends with a QueueOverflowError when the producer outruns maxBuffered', async () => {
    const subject = new Subject<number>();
    const iterator = fromObservable(subject, { maxBuffered: 2 })[Symbol.asyncIterator]();
    const first = iterator.next();
    for (let i = 0; i < 5; i++) subject.next(i); // 0 goes to the waiting consumer, 1 and 2 are held, 3 overflows
    expect(await first).toEqual({ done: false, value: 0 });
    expect(await iterator.next()).toEqual({ done: false, value: 1 });
    expect(await iterator.next()).toEqual({ done: false, value: 2 });
    await expect(iterator.next()).rejects.toBeInstanceOf(QueueOverflowError);
    expect(subject.observed).toBe(false);
  });

  it('sheds load with drop-oldest, reporting what it dropped', async () => {
    const subject = new Subject<number>();
    const dropped: unknown[] = [];
    const iterator = fromObservable(subject, { maxBuffered: 2, overflow: 'drop-oldest', onDrop: (value) => dropped.push(value) })[Symbol.asyncIterator]();
    const first = iterator.next();
    for (let i = 0; i < 5; i++) subject.next(i);
    subject.complete();
    const values = [(await first).value];
    for (let result = await iterator.next(); !result.done; result = await iterator.next()) values.push(result.value);
    expect(values).toEqual([0, 3, 4]);
    expect(dropped).toEqual([1, 2]);
  });

  it('unsubscribes when the loop breaks', async () => {
    const subject = new Subject<number>();
    const loop = (async () => {
      for await (const value of fromObservable(subject)) if (value === 2) break;
    })();
    await Promise.resolve();
    for (let i = 0; i < 5; i++) subject.next(i);
    await loop;
    expect(subject.observed).toBe(false);
  });

  it('validates its options', () => {
    expect(() => fromObservable(new Subject(), { maxBuffered: 0 })).toThrow(RangeError);
    expect(() => fromObservable(new Subject(), { overflow: 'drop' as never })).toThrow(/overflow/);
  });
});
