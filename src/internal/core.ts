import { Envelope, type Link } from './chain.js';

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
   * an output and none is queued.
   */
  accepts(demand: boolean): boolean;
  /** The feedback link this core hands to its own upstream, if it wants to give feedback. */
  readonly upstreamLink?: Link;
}

/** What a face needs to know to run an operator. */
export interface OperatorSpec<I, O, P> {
  /**
   * Create the core for one subscription. `link` is the feedback channel from a tokenbatch operator
   * downstream; it is undefined when a plain subscriber consumes the operator's public values.
   */
  create: (sink: Sink<O>, link: Link | undefined) => Core<I>;
  /**
   * Turn a value from a plain (non-tokenbatch) source into the core's input. `numbering.next` is the
   * next free item number of this subscription; adopt takes as many numbers as the value has items.
   */
  adopt: (value: unknown, numbering: Numbering) => I;
  /** What a plain subscriber sees of an output, or {@link HIDDEN} for chain-only events. */
  reveal: (output: O) => P | typeof HIDDEN;
}

/** The item counter of one subscription: the first tokenbatch operator in a chain numbers items. */
export interface Numbering {
  next: number;
}

/** Returned by {@link OperatorSpec.reveal} for outputs that only the chain sees. */
export const HIDDEN: unique symbol = Symbol('tokenbatch.hidden');

/** Identity reveal for chain subscriptions. */
export const revealAll = <O>(output: O): O => output;

/**
 * The lifecycle every core shares: once it has completed, failed or been disposed it emits nothing
 * more, and a failure reaches the sink once.
 */
export abstract class CoreBase<I> implements Core<I> {
  protected done = false;
  constructor(protected readonly sink: Sink<unknown>) {}

  abstract push(input: I): void;
  abstract end(): void;
  abstract accepts(demand: boolean): boolean;

  fail(error: unknown): void {
    this.terminate(error);
  }

  dispose(): void {
    this.done = true;
  }

  /**
   * The item in `input`, or undefined after passing `input` on: chain events meant for operators
   * further down (duplicate notices, item failures, batches) go straight through.
   */
  protected itemOf<T>(input: unknown): Envelope<T> | undefined {
    if (input instanceof Envelope) return input as Envelope<T>;
    this.sink.emit(input);
    return undefined;
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
