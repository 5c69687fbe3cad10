/**
 * The protocol between tokenbatch operators of one chain.
 *
 * Each operator returns a stream of its public values (what a subscriber sees) that also carries,
 * under the {@link CHAIN} symbol, a way to subscribe to its raw events. A tokenbatch operator whose
 * source carries that symbol reads the raw events instead, so item numbers, token counts and
 * duplicates travel down the chain while a plain subscriber still sees plain values.
 */

import { context, trace, type SpanContext } from '@opentelemetry/api';
import type { Outcome } from '../types.js';

/** The key under which a tokenbatch stream offers its raw chain events. */
export const CHAIN: unique symbol = Symbol('tokenbatch.chain');

/**
 * Feedback from a downstream operator to the one above it, set up per subscription.
 * The upstream core fills in what it offers; the downstream core calls it.
 */
export interface Link {
  /** Set by the downstream when it holds emitted outcomes until they can go out in order. */
  holdsOutcomes?: boolean;
  /** Installed by the upstream: the downstream has let `count` held outcomes go. */
  release?: (count: number) => void;
}

/** Something that can produce a chain's raw events for one subscription. */
export interface ChainSource<E, S> {
  [CHAIN](link: Link): S;
  /** Present only to make the event type visible to TypeScript. */
  readonly __events?: E;
}

export function isChainSource(value: unknown): value is ChainSource<unknown, unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { [CHAIN]?: unknown })[CHAIN] === 'function';
}

/**
 * One input item on its way through a chain: its number, its arrival time, and what operators have
 * learned about it (its text and token counts), so that nothing is computed twice.
 */
export class Envelope<T> {
  /** The key (text function and tokenizer) `text`, `exact` and `bound` were computed with. */
  meter: unknown = undefined;
  text: string | undefined = undefined;
  /** Exact token count for `meter`, or -1 when not counted yet. */
  exact = -1;
  /** Cheap upper bound for `meter`, or -1 when not known. */
  bound = -1;
  /** The item's outcome once settled: duplicates of it take theirs from here. */
  outcome: Outcome<T, unknown> | undefined = undefined;
  /** Duplicates waiting for this item's outcome. */
  waiters: DuplicateNotice<T>[] | undefined = undefined;
  /** The span that was active where the item arrived: batch spans link to it. */
  spanContext: SpanContext | undefined = undefined;
  constructor(
    readonly index: number,
    readonly item: T,
    readonly arrivedAt: number,
  ) {
    this.spanContext = trace.getSpanContext(context.active());
  }
}

/** An item that could not be measured or sent; in a chain it becomes that item's failed outcome. */
export class ItemFailure<T> {
  constructor(
    readonly envelope: Envelope<T>,
    readonly error: unknown,
  ) {}
}

/**
 * A near-duplicate that will not be sent: it receives its representative's outcome. It travels down
 * the chain (hidden from plain subscribers) to the operator that settles outcomes.
 */
export class DuplicateNotice<T> {
  constructor(
    readonly envelope: Envelope<T>,
    readonly representative: Envelope<T>,
    readonly similarity: number,
  ) {}
}
