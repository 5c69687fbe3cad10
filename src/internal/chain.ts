/**
 * The values tokenbatch operators pass to each other. Everything the next operator needs (item
 * numbers, duplicates, failed items, cached text and token counts) travels inside the values, so
 * ordinary operators placed in between (`tap`, `map`, `observeOn`, `share`, ix `map`...) change no
 * outcome. The public shapes are {@link IndexedItem}, {@link DuplicateItem}, {@link FailedItem} and
 * {@link Batch}; these classes add caches that only tokenbatch reads.
 */

import { context, trace, type SpanContext } from '@opentelemetry/api';
import type { DuplicateItem, FailedItem, IndexedItem, Outcome } from '../types.js';
import { asError } from './error-utils.js';

/**
 * Marks tokenbatch's own values. A registered symbol, so that values made by a second copy of the
 * library (an ESM and a CommonJS copy in one process) are still recognised.
 */
export const KIND: unique symbol = Symbol.for('tokenbatch.kind') as never;

type Kind = 'item' | 'duplicate' | 'failed' | 'batch';

/** The kind of a tokenbatch value, or undefined for anything else. */
export function kindOf(value: unknown): Kind | undefined {
  return typeof value === 'object' && value !== null ? ((value as { [KIND]?: Kind })[KIND] ?? undefined) : undefined;
}

/** Who settled an outcome: one `mergeBatches` subscription's handler. Duplicates take outcomes from the same handler only. */
export type Settler = object;

/**
 * One input item on its way through a chain: its number, its arrival time, and what operators have
 * learned about it (its text and token counts), so that nothing is computed twice.
 */
export class Envelope<T> implements IndexedItem<T> {
  declare readonly kind: 'item';
  /** The key (text function and tokenizer) `text`, `exact` and `bound` were computed with. */
  meter: unknown = undefined;
  text: string | undefined = undefined;
  /** Exact token count for `meter`, or -1 when not counted yet. */
  exact = -1;
  /** Cheap upper bound for `meter`, or -1 when not known. */
  bound = -1;
  /**
   * The first outcome settled for this item and the handler that settled it, held inline: nearly
   * every item is settled once, and two small allocations per item showed in profiles.
   */
  settledBy: Settler | undefined = undefined;
  settledOutcome: Outcome<unknown, unknown> | undefined = undefined;
  /** Outcomes from further handlers (the item went through more than one mergeBatches). */
  settledMore: { by: Settler; outcome: Outcome<unknown, unknown> }[] | undefined = undefined;
  /** Duplicates waiting for this item's outcome from one handler. */
  waiters: { by: Settler; resolve: (outcome: Outcome<unknown, unknown>) => void }[] | undefined = undefined;
  /** The span that was active where the item arrived: batch spans link to it. */
  spanContext: SpanContext | undefined;
  /** Handler calls this item is waiting for, across every mergeBatches it reached (its duplicates wait while > 0). */
  pending = 0;
  constructor(
    readonly index: number,
    readonly item: T,
    readonly arrivedAt: number,
  ) {
    this.spanContext = trace.getSpanContext(context.active());
  }

  /** The outcome `by` settled for this item, if any. */
  outcomeBy(by: Settler): Outcome<unknown, unknown> | undefined {
    if (this.settledBy === by) return this.settledOutcome;
    if (this.settledMore === undefined) return undefined;
    for (const entry of this.settledMore) if (entry.by === by) return entry.outcome;
    return undefined;
  }

  /** Whether any handler failed this item (a failed representative is not reused). */
  get failed(): boolean {
    if (this.settledOutcome !== undefined && !this.settledOutcome.ok) return true;
    return this.settledMore?.some((entry) => !entry.outcome.ok) ?? false;
  }

  /** Record an outcome and wake the duplicates waiting for it from the same handler. */
  settle(by: Settler, outcome: Outcome<unknown, unknown>): void {
    if (this.settledBy === undefined) {
      this.settledBy = by;
      this.settledOutcome = outcome;
    } else (this.settledMore ??= []).push({ by, outcome });
    const waiters = this.waiters;
    if (waiters === undefined) return;
    this.waiters = waiters.filter((waiter) => waiter.by !== by);
    if (this.waiters.length === 0) this.waiters = undefined;
    for (const waiter of waiters) if (waiter.by === by) waiter.resolve(outcome);
  }
}

/** An item that could not be measured or sent; in a chain it becomes that item's failed outcome. */
export class ItemFailure<T> implements FailedItem<T> {
  declare readonly kind: 'failed';
  readonly index: number;
  readonly item: T;
  readonly error: Error;
  constructor(
    readonly envelope: Envelope<T>,
    error: unknown,
  ) {
    this.index = envelope.index;
    this.item = envelope.item;
    this.error = asError(error);
  }
}

/** A near-duplicate that will not be sent: it receives its representative's outcome. */
export class DuplicateNotice<T> implements DuplicateItem<T> {
  declare readonly kind: 'duplicate';
  readonly index: number;
  readonly item: T;
  readonly duplicateOf: number;
  constructor(
    readonly envelope: Envelope<T>,
    readonly representative: Envelope<T>,
    readonly similarity: number,
  ) {
    this.index = envelope.index;
    this.item = envelope.item;
    this.duplicateOf = representative.index;
  }
}

// The kind lives on the prototypes: recognisable across library copies, free per instance.
for (const [type, kind] of [
  [Envelope, 'item'],
  [ItemFailure, 'failed'],
  [DuplicateNotice, 'duplicate'],
] as const) {
  Object.defineProperty(type.prototype, KIND, { value: kind });
  Object.defineProperty(type.prototype, 'kind', { value: kind, enumerable: true });
}

/** A skipped item: a duplicate to settle from its representative, or an item that already failed. */
export type Skipped<T> = DuplicateNotice<T> | ItemFailure<T>;

/** The item counter of one subscription: the first tokenbatch operator in a chain numbers items. */
export interface Numbering {
  next: number;
}

/** An input value as an item of the chain: tokenbatch's own items as they are, anything else numbered. */
export function asEnvelope<T>(value: unknown, numbering: Numbering, now: number): Envelope<T> {
  return kindOf(value) === 'item' ? (value as Envelope<T>) : new Envelope(numbering.next++, value as T, now);
}
