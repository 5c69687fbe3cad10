import { Observable, Subscription } from 'rxjs';
import { CHAIN, isChainSource, type Link } from './chain.js';
import { HIDDEN, revealAll, type OperatorSpec, type Sink } from './core.js';

type Terminal = { error: unknown } | 'complete';

/**
 * An Observable of an operator's public values that also offers the operator's raw events to a
 * tokenbatch operator downstream.
 */
export class ChainObservable<P, O> extends Observable<P> {
  readonly [CHAIN]: (link: Link) => Observable<O>;
  constructor(source: Observable<unknown>, spec: OperatorSpec<unknown, O, P>) {
    super((subscriber) => run(source, spec, undefined, subscriber, spec.reveal));
    this[CHAIN] = (link) => new Observable<O>((subscriber) => run(source, spec, link, subscriber, revealAll));
  }
}

/**
 * The RxJS face of an operator: lazy until subscribed, one core per subscription, teardown disposes
 * the core (its timers and in-flight work) and unsubscribes from the source.
 */
export function rxOperator<I, O, P>(spec: OperatorSpec<I, O, P>): (source: Observable<unknown>) => ChainObservable<P, O> {
  return (source) => new ChainObservable<P, O>(source, spec);
}

function run<I, O, V>(
  source: Observable<unknown>,
  spec: OperatorSpec<I, O, unknown>,
  link: Link | undefined,
  subscriber: { next(value: V): void; error(error: unknown): void; complete(): void; readonly closed: boolean },
  reveal: (output: O) => V | typeof HIDDEN,
): () => void {
  const queue: O[] = [];
  let terminal: Terminal | undefined;
  let draining = false;
  let finished = false;
  // A holder, so that a shutdown during a synchronous subscribe also closes what subscribe returns.
  const upstream = new Subscription();

  const deliver = (): void => {
    if (draining) return;
    draining = true;
    try {
      while (queue.length > 0 && !finished) {
        const shown = reveal(queue.shift() as O);
        if (shown !== HIDDEN) subscriber.next(shown);
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
  };

  const core = spec.create(sink, link);
  const shutdown = (): void => {
    if (finished) return;
    finished = true;
    upstream.unsubscribe();
    core.dispose();
  };
  // A throwing core is a bug, but it must still reach the subscriber rather than vanish.
  const guard = (step: () => void): void => {
    try {
      step();
    } catch (error) {
      sink.error(error);
    }
    deliver();
  };
  const numbering = { next: 0 };
  const input: Observable<unknown> = isChainSource(source) ? (source[CHAIN](core.upstreamLink ?? {}) as Observable<unknown>) : source;
  const adopt = isChainSource(source) ? (value: unknown) => value as I : (value: unknown) => spec.adopt(value, numbering);
  upstream.add(
    input.subscribe({
    next: (value) => {
      if (finished) return;
      guard(() => core.push(adopt(value)));
    },
    error: (error: unknown) => {
      if (finished) return;
      guard(() => core.fail(error));
    },
    complete: () => {
      if (finished) return;
      guard(() => core.end());
    },
  }),
  );
  return shutdown;
}
