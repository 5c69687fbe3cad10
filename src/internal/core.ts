import { kindOf, type Skipped } from './chain.js';

/**
 * Where a core puts its outputs. Outputs are queued and delivered by the face after the call that
 * produced them returns, so a subscriber that pushes into the source while it receives a value
 * cannot reorder outputs or see a half-updated core.
 */
export interface Sink<O> {
  emit(value: O): void;
  error(error: unknown): void;
  complete(): void;
  /** Deliver what was emitted. Cores call it at the end of their own callbacks (timers, promises). */
  flush(): void;
  /** The core can take more input now; pull faces resume pulling. */
  wake(): void;
  /**
   * True while the source delivers synchronously inside the subscription call (an array, `of`,
   * `range`): such values are already in memory, so queueing references to them costs little and a
   * push queue's bound does not apply to them.
   */
  readonly synchronous: boolean;
}

/**
 * An operator's logic, written once, driven by both faces: the RxJS face pushes, the async-iterable
 * face pulls only when {@link Core.accepts} says so.
 */
export interface Core<I> {
  push(input: I): void;
  /** The source completed. */
  end(): void;
  /** The source failed. */
  fail(error: unknown): void;
  /**
   * The consumer went away, or the core's own terminal event was delivered: cancel timers and
   * in-flight work, emit nothing more. Called once.
   */
  dispose(): void;
  /**
   * For pull faces: may another input be pulled now? `demand` is true while the consumer waits for
   * an output and none is queued; `backlog` is the number of outputs not yet taken by the consumer.
   */
  accepts(demand: boolean, backlog: number): boolean;
}

/** What a face needs to run an operator: a core per subscription. */
export interface OperatorSpec<I, O> {
  create: (sink: Sink<O>) => Core<I>;
}

/**
 * The lifecycle every core shares: once it has completed, failed or been disposed it emits nothing
 * more, and a failure reaches the sink once.
 */
export abstract class CoreBase<I> implements Core<I> {
  protected done = false;
  constructor(protected readonly sink: Sink<unknown>) {}

  abstract push(input: I): void;
  abstract end(): void;
  abstract accepts(demand: boolean, backlog: number): boolean;

  fail(error: unknown): void {
    this.terminate(error);
  }

  dispose(): void {
    this.done = true;
  }

  /** Complete, unless already finished. */
  protected finish(): void {
    if (this.done) return;
    this.done = true;
    this.sink.complete();
  }

  /** Fail with `error`, unless already finished, and deliver at once (callers may be timers or promises). */
  protected terminate(error: unknown): void {
    if (this.done) return;
    this.done = true;
    this.sink.error(error);
    this.sink.flush();
  }
}

/** Whether a value is an item that travels without being sent (a duplicate or a failed item). */
export function isSkipped<T>(value: unknown): value is Skipped<T> {
  const kind = kindOf(value);
  return kind === 'duplicate' || kind === 'failed';
}
