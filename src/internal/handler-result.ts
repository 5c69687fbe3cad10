import { isObservable, type Observable } from 'rxjs';

/**
 * A handler may answer with a Promise, an Observable or an AsyncIterable of its one result array.
 * This turns any of them into a promise that settles with the first array, and rejects at once
 * when `signal` aborts, whether or not the handler honours the signal itself.
 */
export function handlerResult<V>(value: PromiseLike<V> | AsyncIterable<V> | Observable<V>, signal: AbortSignal): Promise<V> {
  return new Promise<V>((resolve, reject) => {
    let cancel: () => void = () => {};
    const onAbort = () => {
      cancel();
      reject(signal.reason);
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    const done = (settle: () => void) => {
      signal.removeEventListener('abort', onAbort);
      settle();
    };
    const empty = () => new Error('the handler completed without a result');

    if (isObservable(value)) {
      let settled = false;
      const subscription = value.subscribe({
        next: (result) => {
          if (settled) return;
          settled = true;
          done(() => resolve(result));
          queueMicrotask(() => subscription?.unsubscribe());
        },
        error: (error: unknown) => done(() => reject(error)),
        complete: () => {
          if (!settled) done(() => reject(empty()));
        },
      });
      cancel = () => subscription.unsubscribe();
      if (settled) subscription.unsubscribe();
    } else if (value !== null && typeof value === 'object' && Symbol.asyncIterator in value) {
      const iterator = value[Symbol.asyncIterator]();
      cancel = () => void iterator.return?.().catch(() => {});
      iterator.next().then(
        (first) => {
          done(() => (first.done ? reject(empty()) : resolve(first.value)));
          if (!first.done) void iterator.return?.().catch(() => {});
        },
        (error: unknown) => done(() => reject(error)),
      );
    } else {
      Promise.resolve(value).then(
        (result) => done(() => resolve(result)),
        (error: unknown) => done(() => reject(error)),
      );
    }
  });
}
