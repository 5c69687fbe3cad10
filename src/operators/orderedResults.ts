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

class OrderedCore extends CoreBase<unknown> {
  readonly #maxBuffered: number;
  readonly #waiting = new Map<number, Outcome<unknown, unknown>>();
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
    if (index < this.#next || this.#waiting.has(index)) {
      return this.terminate(
        new OutcomeOrderError(
          `orderedResults: a second outcome for item ${index}: two items got the same number, because an operator between tokenbatch operators replaced their values, or the stream was split (groupBy) without indexItems() before the split`,
          index,
        ),
      );
    }
    this.#waiting.set(index, input as Outcome<unknown, unknown>);
    for (let ready = this.#waiting.get(this.#next); ready !== undefined; ready = this.#waiting.get(this.#next)) {
      this.#waiting.delete(this.#next);
      this.sink.emit(ready);
      this.#next++;
    }
    if (this.#waiting.size > this.#maxBuffered) {
      this.terminate(new TokenbatchError(`orderedResults: more than maxBuffered (${this.#maxBuffered}) outcomes wait for item ${this.#next}`));
    }
  }

  end(): void {
    if (this.#waiting.size === 0) return this.finish();
    this.terminate(
      new OutcomeOrderError(
        `orderedResults: the source ended without an outcome for item ${this.#next}: an operator between tokenbatch operators dropped it (a filter after the first tokenbatch operator, say)`,
        this.#next,
      ),
    );
  }

  override dispose(): void {
    super.dispose();
    this.#waiting.clear();
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
