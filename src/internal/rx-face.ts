import { Observable, type OperatorFunction } from 'rxjs';
import { Inlet } from './inlet.js';
import type { OperatorSpec, Sink } from './core.js';
import { Deque } from './deque.js';

type Terminal = { error: unknown } | 'complete';

/**
 * The RxJS face of an operator: lazy until subscribed, one core per subscription, teardown disposes
 * the core (its timers and in-flight work) and unsubscribes from the source.
 */
export function rxOperator<I, O>(spec: OperatorSpec<I, O>): OperatorFunction<unknown, O> {
  return (source) => new Observable<O>((subscriber) => run(source, spec, subscriber));
}

function run<I, O>(
  source: Observable<unknown>,
  spec: OperatorSpec<I, O>,
  subscriber: { next(value: O): void; error(error: unknown): void; complete(): void; readonly closed: boolean },
): () => void {
  const queue = new Deque<O>();
  let terminal: Terminal | undefined;
  let draining = false;
  let finished = false;
  let synchronous = true;

  const deliver = (): void => {
    if (draining) return;
    draining = true;
    try {
      while (queue.length > 0 && !finished) {
        subscriber.next(queue.shift() as O);
        // The consumer went away inside next (take, an error downstream): stop the source now.
        if (subscriber.closed) shutdown();
      }
      if (terminal !== undefined && !finished) {
        shutdown();
        if (terminal === 'complete') subscriber.complete();
        else subscriber.error(terminal.error);
      }
    } finally {
      draining = false;
    }
  };

  const sink: Sink<O> = {
    emit: (value) => {
      if (terminal === undefined) queue.push(value);
    },
    error: (error) => {
      terminal ??= { error };
    },
    complete: () => {
      terminal ??= 'complete';
    },
    flush: deliver,
    wake: () => {},
    get synchronous() {
      return synchronous;
    },
  };

  const core = spec.create(sink);
  // A throwing core is a bug, but it must still reach the subscriber rather than vanish.
  const guard = (step: () => void): void => {
    if (finished) return;
    try {
      step();
    } catch (error) {
      sink.error(error);
    }
    deliver();
  };
  // Values take a path of their own, without a closure per value: it is the hot path.
  const next = (value: unknown): void => {
    if (finished) return;
    try {
      core.push(value as I);
    } catch (error) {
      sink.error(error);
    }
    if (queue.length > 0 || terminal !== undefined) deliver();
  };
  const inlet = new Inlet<unknown>(
    next,
    (error) => guard(() => core.fail(error)),
    () => guard(() => core.end()),
  );
  function shutdown(): void {
    if (finished) return;
    finished = true;
    inlet.unsubscribe();
    core.dispose();
  }
  source.subscribe(inlet);
  synchronous = false;
  return shutdown;
}
