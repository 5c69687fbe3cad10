import type { Observable } from 'rxjs';
import { Inlet } from './internal/inlet.js';
import { AsyncIterableX } from 'ix/asynciterable/asynciterablex';
import { QueueOverflowError } from './errors.js';
import { OptionReader } from './internal/options.js';

/**
 * Options of {@link fromObservable}.
 *
 * @example
 * ```ts
 * const options: FromObservableOptions = { maxBuffered: 10_000, overflow: 'error' };
 * ```
 */
export interface FromObservableOptions {
  /** Values held while the consumer is slower than the observable. Default 1,024. */
  maxBuffered?: number;
  /**
   * When the buffer is full: `'error'` (default) ends the iteration with a `QueueOverflowError` (the
   * producer is too fast to bridge without loss); `'drop-oldest'` and `'drop-newest'` shed load and
   * report each dropped value to `onDrop`.
   */
  overflow?: 'error' | 'drop-oldest' | 'drop-newest';
  /** Called with each value dropped by a `drop-*` policy. */
  onDrop?: (value: unknown) => void;
}

/**
 * Turns an Observable into an async iterable with a bounded buffer: it subscribes when iteration
 * starts, holds at most `maxBuffered` values the consumer has not taken yet, and unsubscribes when
 * the loop ends or breaks. (ix's own `from(observable)` buffers without bound.)
 *
 * @example
 * ```ts
 * import { fromObservable, bufferByTokens } from 'tokenbatch/iterable';
 * for await (const batch of fromObservable(messages$, { maxBuffered: 5000 }).pipe(bufferByTokens({ maxTokens: 4000 }))) {
 *   await send(batch);
 * }
 * ```
 */
export function fromObservable<T>(observable: Observable<T>, options: FromObservableOptions = {}): AsyncIterableX<T> {
  const reader = new OptionReader('fromObservable', options, ['maxBuffered', 'overflow', 'onDrop']);
  const maxBuffered = reader.optionalPositive('maxBuffered', { integer: true, min: 1 }) ?? 1024;
  const overflow = reader.oneOf('overflow', ['error', 'drop-oldest', 'drop-newest'], 'error');
  const onDrop = reader.fn<(value: unknown) => void>('onDrop');
  return new ObservableIterable(observable, maxBuffered, overflow, onDrop);
}

class ObservableIterable<T> extends AsyncIterableX<T> {
  constructor(
    readonly observable: Observable<T>,
    readonly maxBuffered: number,
    readonly overflow: 'error' | 'drop-oldest' | 'drop-newest',
    readonly onDrop: ((value: unknown) => void) | undefined,
  ) {
    super();
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    const buffer: T[] = [];
    const waiters: { resolve(result: IteratorResult<T>): void; reject(error: unknown): void }[] = [];
    let ended: { error: unknown } | 'complete' | undefined;
    let subscription: Inlet<T> | undefined;
    const settle = () => {
      while (waiters.length > 0 && buffer.length > 0) waiters.shift()?.resolve({ done: false, value: buffer.shift() as T });
      if (ended === undefined || buffer.length > 0) return;
      for (const waiter of waiters.splice(0)) {
        if (ended === 'complete') waiter.resolve({ done: true, value: undefined });
        else {
          waiter.reject(ended.error);
          ended = 'complete';
        }
      }
    };
    const finish = (how: { error: unknown } | 'complete') => {
      ended ??= how;
      subscription?.unsubscribe();
      settle();
    };
    const start = () => {
      if (subscription) return;
      // An Inlet, so that a synchronous source stops as soon as we finish, even inside subscribe.
      subscription = new Inlet<T>(
        (value) => {
          if (ended) return;
          if (waiters.length > 0) return waiters.shift()?.resolve({ done: false, value });
          if (buffer.length < this.maxBuffered) return void buffer.push(value);
          if (this.overflow === 'drop-newest') return this.onDrop?.(value);
          if (this.overflow === 'drop-oldest') {
            this.onDrop?.(buffer.shift());
            return void buffer.push(value);
          }
          finish({ error: new QueueOverflowError(`fromObservable: more than maxBuffered (${this.maxBuffered}) values waiting for the consumer`) });
        },
        (error: unknown) => finish({ error }),
        () => finish('complete'),
      );
      this.observable.subscribe(subscription);
    };
    return {
      next: () => {
        start();
        return new Promise<IteratorResult<T>>((resolve, reject) => {
          waiters.push({ resolve, reject });
          settle();
        });
      },
      return: async () => {
        buffer.length = 0;
        finish('complete');
        return { done: true, value: undefined };
      },
    };
  }
}
