import type { MonoTypeOperatorFunction } from 'rxjs';
import { OutcomeOrderError, TokenbatchError } from '../errors.js';
import { CoreBase, type OperatorSpec, type Sink } from '../internal/core.js';
import { OptionReader } from '../internal/options.js';
import { rxOperator } from '../internal/rx-face.js';
import type { Outcome } from '../types.js';

/**
 * Options of {@link orderedResults}.
 *
 * @example
 * ```ts
 * const options: OrderedResultsOptions = { maxBuffered: 50_000 };
 * ```
 */
export interface OrderedResultsOptions {
  /**
   * Outcomes that may wait for an earlier one; past it the stream fails. `mergeBatches` bounds
   * this by its `orderWindow`, so the default, 1,000,000, is a guard against a source that never
   * delivers some item, not a limit a chain should reach.
   */
  maxBuffered?: number;
}

/** Outcomes at most this far ahead of the next one wait in the ring; farther ones in a Map. */
const MAX_RING = 1 << 16;

class OrderedCore extends CoreBase<unknown> {
  readonly #maxBuffered: number;
  /**
   * Outcomes waiting for an earlier one, by `index - next` in a ring that doubles when an index
   * lands past it: item numbers are dense, so this is a Map without hashing or rehashing.
   */
  #ring: (Outcome<unknown, unknown> | undefined)[] = new Array<Outcome<unknown, unknown> | undefined>(64);
  #waitingCount = 0;
  readonly #far = new Map<number, Outcome<unknown, unknown>>();
  #next = 0;

  constructor(sink: Sink<unknown>, maxBuffered: number) {
    super(sink);
    this.#maxBuffered = maxBuffered;
  }

  accepts(demand: boolean): boolean {
    return demand;
  }

  push(input: unknown): void {
    if (this.done) return;
    const index = (input as Outcome<unknown, unknown> | undefined)?.index;
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0) {
      return this.terminate(new TypeError('orderedResults: expected outcomes with a whole-number index (from mergeBatches)'));
    }
    const offset = index - this.#next;
    if (offset < 0 || (offset < this.#ring.length && this.#ring[index & (this.#ring.length - 1)] !== undefined)) {
      return this.terminate(
        new OutcomeOrderError(
          `orderedResults: a second outcome for item ${index}: two items got the same number, because an operator between tokenbatch operators replaced their values, or the stream was split (groupBy) without indexItems() before the split`,
          index,
        ),
      );
    }
    if (offset === 0 && this.#waitingCount === 0) {
      // In order and nothing waiting: the common case, no buffering at all.
      this.sink.emit(input);
      this.#next++;
      return;
    }
    if (offset >= MAX_RING) {
      // Far ahead (a sparse numbering): held aside rather than growing the ring to the gap.
      if (this.#far.has(index)) return this.terminate(new OutcomeOrderError(`orderedResults: a second outcome for item ${index}`, index));
      this.#far.set(index, input as Outcome<unknown, unknown>);
    } else {
      while (offset >= this.#ring.length) this.#grow();
      this.#ring[index & (this.#ring.length - 1)] = input as Outcome<unknown, unknown>;
    }
    this.#waitingCount++;
    const ring = this.#ring;
    const mask = ring.length - 1;
    for (;;) {
      let ready = ring[this.#next & mask];
      if (ready !== undefined) ring[this.#next & mask] = undefined;
      else if (this.#far.size > 0 && (ready = this.#far.get(this.#next)) !== undefined) this.#far.delete(this.#next);
      else break;
      this.#waitingCount--;
      this.sink.emit(ready);
      this.#next++;
    }
    if (this.#waitingCount > this.#maxBuffered) {
      this.terminate(new TokenbatchError(`orderedResults: more than maxBuffered (${this.#maxBuffered}) outcomes wait for item ${this.#next}`));
    }
  }

  /** Double the ring, keeping each waiting outcome at `index & mask`. */
  #grow(): void {
    const old = this.#ring;
    const ring = new Array<Outcome<unknown, unknown> | undefined>(old.length * 2);
    for (const outcome of old) if (outcome !== undefined) ring[outcome.index & (ring.length - 1)] = outcome;
    this.#ring = ring;
  }

  end(): void {
    if (this.#waitingCount === 0) return this.finish();
    this.terminate(
      new OutcomeOrderError(
        `orderedResults: the source ended without an outcome for item ${this.#next}: an operator between tokenbatch operators dropped it (a filter after the first tokenbatch operator, say)`,
        this.#next,
      ),
    );
  }

  override dispose(): void {
    super.dispose();
    this.#ring = [];
    this.#far.clear();
    this.#waitingCount = 0;
  }
}

/** The operator's logic for both faces. */
export function orderedResultsSpec<T, R>(options?: OrderedResultsOptions): OperatorSpec<unknown, Outcome<T, R>> {
  const reader = new OptionReader('orderedResults', options, ['maxBuffered']);
  const maxBuffered = reader.optionalPositive('maxBuffered', { integer: true, min: 1 }) ?? 1_000_000;
  return { create: (sink) => new OrderedCore(sink, maxBuffered) };
}

/**
 * Re-sequences outcomes into input order, emitting each one as soon as every earlier item's
 * outcome has been emitted: results stream as each prefix completes, not at the end. This is the
 * ordered concurrent map long asked of RxJS (rxjs#5519).
 *
 * It relies only on each outcome's `index`, so ordinary operators may stand between it and
 * `mergeBatches`. Memory stays bounded by mergeBatches' `orderWindow`: a slow batch holds back at
 * most that many finished ones. An outcome missing at the end, or a repeated index, fails the stream
 * with an {@link OutcomeOrderError} that names the item: never silence.
 *
 * @example
 * ```ts
 * import { bufferByTokens, mergeBatches, orderedResults } from 'tokenbatch';
 *
 * lines$.pipe(bufferByTokens({ maxTokens: 2000 }), mergeBatches(handler, { concurrency: 8 }), orderedResults())
 *   .subscribe((outcome) => console.log(outcome.index)); // 0, 1, 2, ... in order
 * ```
 */
export function orderedResults<T, R>(options?: OrderedResultsOptions): MonoTypeOperatorFunction<Outcome<T, R>> {
  return rxOperator(orderedResultsSpec<T, R>(options));
}
