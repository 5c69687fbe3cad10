import { AsyncIterableX } from 'ix/asynciterable/asynciterablex';
import { CHAIN, isChainSource, type Link } from './chain.js';
import { HIDDEN, revealAll, type Core, type OperatorSpec, type Sink } from './core.js';

/**
 * An async iterable of an operator's public values that also offers the operator's raw events to a
 * tokenbatch operator downstream. An ix `AsyncIterableX`, so `.pipe()` chains it further.
 */
export class ChainAsyncIterable<P, O> extends AsyncIterableX<P> {
  readonly [CHAIN]: (link: Link) => AsyncIterable<O>;
  readonly #source: AsyncIterable<unknown>;
  readonly #spec: OperatorSpec<unknown, O, P>;
  constructor(source: AsyncIterable<unknown>, spec: OperatorSpec<unknown, O, P>) {
    super();
    this.#source = source;
    this.#spec = spec;
    this[CHAIN] = (link) => ({ [Symbol.asyncIterator]: () => new PullRunner<unknown, O, O>(source, spec, link, revealAll) });
  }
  [Symbol.asyncIterator](): AsyncIterator<P> {
    return new PullRunner<unknown, O, P>(this.#source, this.#spec, undefined, this.#spec.reveal);
  }
}

/**
 * The async-iterable face of an operator. It pulls from its source only while its core accepts
 * input (for most operators: only while the consumer waits), one pull at a time, so a pipeline
 * holds no more than its operators' bounds. `return()` (a `break` in `for await`) disposes the
 * core, which aborts in-flight work and clears timers, and closes the source.
 */
export function iterableOperator<I, O, P>(spec: OperatorSpec<I, O, P>): (source: AsyncIterable<unknown>) => ChainAsyncIterable<P, O> {
  return (source) => new ChainAsyncIterable<P, O>(source, spec);
}

interface Waiter<V> {
  resolve(result: IteratorResult<V>): void;
  reject(error: unknown): void;
}

class PullRunner<I, O, V> implements AsyncIterator<V> {
  readonly #outputs: O[] = [];
  readonly #waiters: Waiter<V>[] = [];
  readonly #core: Core<I>;
  readonly #iterator: AsyncIterator<unknown>;
  readonly #adopt: (value: unknown) => I;
  readonly #reveal: (output: O) => V | typeof HIDDEN;
  #terminal: { error: unknown } | 'complete' | undefined;
  #pulling = false;
  #sourceDone = false;
  #closed = false;

  constructor(source: AsyncIterable<unknown>, spec: OperatorSpec<I, O, unknown>, link: Link | undefined, reveal: (output: O) => V | typeof HIDDEN) {
    this.#reveal = reveal;
    const sink: Sink<O> = {
      emit: (value) => {
        if (this.#terminal === undefined) this.#outputs.push(value);
      },
      error: (error) => {
        this.#terminal ??= { error };
      },
      complete: () => {
        this.#terminal ??= 'complete';
      },
      flush: () => this.#deliver(),
      wake: () => this.#pump(),
    };
    this.#core = spec.create(sink, link);
    const numbering = { next: 0 };
    if (isChainSource(source)) {
      this.#iterator = (source[CHAIN](this.#core.upstreamLink ?? {}) as AsyncIterable<unknown>)[Symbol.asyncIterator]();
      this.#adopt = (value) => value as I;
    } else {
      this.#iterator = source[Symbol.asyncIterator]();
      this.#adopt = (value) => spec.adopt(value, numbering);
    }
  }

  next(): Promise<IteratorResult<V>> {
    return new Promise<IteratorResult<V>>((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
      this.#deliver();
    });
  }

  async return(): Promise<IteratorResult<V>> {
    this.#close();
    return { done: true, value: undefined };
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#core.dispose();
    for (const waiter of this.#waiters.splice(0)) waiter.resolve({ done: true, value: undefined });
    if (!this.#sourceDone) {
      this.#sourceDone = true;
      // The source may be mid-pull; its own return() settles when it can. Its failure while closing
      // has no one left to tell (as with an RxJS teardown).
      this.#iterator.return?.().catch(() => {});
    }
  }

  /** Hand queued outputs to waiting consumers, then pull if the core wants more. */
  #deliver(): void {
    while (this.#waiters.length > 0 && !this.#closed) {
      if (this.#outputs.length > 0) {
        const shown = this.#reveal(this.#outputs.shift() as O);
        if (shown !== HIDDEN) (this.#waiters.shift() as Waiter<V>).resolve({ done: false, value: shown });
        continue;
      }
      const terminal = this.#terminal;
      if (terminal === undefined) break;
      const waiters = this.#waiters.splice(0);
      this.#close();
      if (terminal === 'complete') for (const waiter of waiters) waiter.resolve({ done: true, value: undefined });
      else {
        (waiters.shift() as Waiter<V>).reject(terminal.error);
        for (const waiter of waiters) waiter.resolve({ done: true, value: undefined });
      }
      return;
    }
    this.#pump();
  }

  #pump(): void {
    if (this.#pulling || this.#sourceDone || this.#closed || this.#terminal !== undefined) return;
    const demand = this.#waiters.length > 0 && this.#outputs.length === 0;
    if (!this.#core.accepts(demand)) return;
    this.#pulling = true;
    let pull: Promise<IteratorResult<unknown>>;
    try {
      pull = this.#iterator.next();
    } catch (error) {
      pull = Promise.reject(error);
    }
    pull.then(
      (result) => {
        this.#pulling = false;
        if (this.#closed) return;
        this.#step(() => {
          if (result.done) {
            this.#sourceDone = true;
            this.#core.end();
          } else this.#core.push(this.#adopt(result.value));
        });
      },
      (error: unknown) => {
        this.#pulling = false;
        this.#sourceDone = true;
        if (this.#closed) return;
        this.#step(() => this.#core.fail(error));
      },
    );
  }

  #step(action: () => void): void {
    try {
      action();
    } catch (error) {
      this.#terminal ??= { error };
    }
    this.#deliver();
  }
}
