import { AsyncIterableX } from 'ix/asynciterable/asynciterablex';
import type { Core, OperatorSpec, Sink } from './core.js';
import { Deque } from './deque.js';

/**
 * An async iterable of an operator's values. An ix `AsyncIterableX`, so `.pipe()` chains it further.
 */
class OperatorIterable<O> extends AsyncIterableX<O> {
  readonly #source: AsyncIterable<unknown>;
  readonly #spec: OperatorSpec<unknown, O>;
  constructor(source: AsyncIterable<unknown>, spec: OperatorSpec<unknown, O>) {
    super();
    this.#source = source;
    this.#spec = spec;
  }
  [Symbol.asyncIterator](): AsyncIterator<O> {
    return new PullRunner<unknown, O>(this.#source, this.#spec);
  }
}

/**
 * The async-iterable face of an operator. It pulls from its source only while its core accepts
 * input (for most operators: only while the consumer waits), one pull at a time, so a pipeline
 * holds no more than its operators' bounds. `return()` (a `break` in `for await`) disposes the
 * core, which aborts in-flight work and clears timers, and closes the source.
 */
export function iterableOperator<I, O>(spec: OperatorSpec<I, O>): (source: AsyncIterable<unknown>) => AsyncIterableX<O> {
  return (source) => new OperatorIterable<O>(source, spec);
}

interface Waiter<V> {
  resolve(result: IteratorResult<V>): void;
  reject(error: unknown): void;
}

class PullRunner<I, O> implements AsyncIterator<O> {
  readonly #outputs = new Deque<O>();
  readonly #waiters = new Deque<Waiter<O>>();
  readonly #core: Core<I>;
  readonly #iterator: AsyncIterator<unknown>;
  #terminal: { error: unknown } | 'complete' | undefined;
  #pulling = false;
  #sourceDone = false;
  #closed = false;

  constructor(source: AsyncIterable<unknown>, spec: OperatorSpec<I, O>) {
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
      synchronous: false,
    };
    this.#core = spec.create(sink);
    this.#iterator = source[Symbol.asyncIterator]();
  }

  next(): Promise<IteratorResult<O>> {
    return new Promise<IteratorResult<O>>((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
      this.#deliver();
    });
  }

  async return(): Promise<IteratorResult<O>> {
    this.#close();
    return { done: true, value: undefined };
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#core.dispose();
    for (let waiter = this.#waiters.shift(); waiter; waiter = this.#waiters.shift()) waiter.resolve({ done: true, value: undefined });
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
        (this.#waiters.shift() as Waiter<O>).resolve({ done: false, value: this.#outputs.shift() as O });
        continue;
      }
      const terminal = this.#terminal;
      if (terminal === undefined) break;
      const first = this.#waiters.shift() as Waiter<O>;
      const rest: Waiter<O>[] = [];
      for (let waiter = this.#waiters.shift(); waiter; waiter = this.#waiters.shift()) rest.push(waiter);
      this.#close();
      if (terminal === 'complete') first.resolve({ done: true, value: undefined });
      else first.reject(terminal.error);
      for (const waiter of rest) waiter.resolve({ done: true, value: undefined });
      return;
    }
    this.#pump();
  }

  #pump(): void {
    if (this.#pulling || this.#sourceDone || this.#closed || this.#terminal !== undefined) return;
    const demand = this.#waiters.length > 0 && this.#outputs.length === 0;
    if (!this.#core.accepts(demand, this.#outputs.length)) return;
    this.#pulling = true;
    let pull: Promise<IteratorResult<unknown>>;
    try {
      pull = this.#iterator.next();
    } catch (error) {
      pull = Promise.reject(error);
    }
    pull.then(this.#pulled, this.#pullFailed);
  }

  // One pair of handlers for every pull, not two closures each.
  readonly #pulled = (result: IteratorResult<unknown>): void => {
    this.#pulling = false;
    if (this.#closed) return;
    try {
      if (result.done) {
        this.#sourceDone = true;
        this.#core.end();
      } else this.#core.push(result.value as I);
    } catch (error) {
      this.#terminal ??= { error };
    }
    this.#deliver();
  };

  readonly #pullFailed = (error: unknown): void => {
    this.#pulling = false;
    this.#sourceDone = true;
    if (this.#closed) return;
    this.#step(() => this.#core.fail(error));
  };

  #step(action: () => void): void {
    try {
      action();
    } catch (error) {
      this.#terminal ??= { error };
    }
    this.#deliver();
  }
}
