import type { MonoTypeOperatorFunction } from 'rxjs';
import { TokenbatchError } from '../errors.js';
import type { Link } from '../internal/chain.js';
import { CoreBase, type OperatorSpec, type Sink } from '../internal/core.js';
import { optionalPositive, requireObject } from '../internal/options.js';
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
   * Outcomes that may wait for an earlier one when the source is not a tokenbatch `mergeBatches`
   * (which instead pauses intake while its outcomes wait, so no buffer grows). Past it the stream
   * fails. Default 100,000.
   */
  maxBuffered?: number;
}

class OrderedCore extends CoreBase<unknown> {
  readonly upstreamLink: Link = { holdsOutcomes: true };
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
    const outcome = input as Outcome<unknown, unknown>;
    const index = outcome?.index;
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0) {
      return this.terminate(new TypeError('orderedResults: expected outcomes with a whole-number index'));
    }
    if (index < this.#next || this.#waiting.has(index)) {
      return this.terminate(new TokenbatchError(`orderedResults: a second outcome for item ${index}`));
    }
    this.#waiting.set(index, outcome);
    while (this.#waiting.has(this.#next)) {
      const ready = this.#waiting.get(this.#next) as Outcome<unknown, unknown>;
      this.#waiting.delete(this.#next);
      this.sink.emit(ready);
      this.upstreamLink.release?.(this.#next);
      this.#next++;
    }
    if (this.upstreamLink.release === undefined && this.#waiting.size > this.#maxBuffered) {
      this.terminate(new TokenbatchError(`orderedResults: more than maxBuffered (${this.#maxBuffered}) outcomes wait for item ${this.#next}`));
    }
  }

  end(): void {
    if (this.#waiting.size > 0) this.terminate(new TokenbatchError(`orderedResults: the source ended without an outcome for item ${this.#next}`));
    else this.finish();
  }

  override dispose(): void {
    super.dispose();
    this.#waiting.clear();
  }
}

/** The operator's logic for both faces. */
export function orderedResultsSpec<T, R>(options: OrderedResultsOptions = {}): OperatorSpec<unknown, unknown, Outcome<T, R>> {
  requireObject(options, 'orderedResults');
  const maxBuffered = optionalPositive(options.maxBuffered, 'maxBuffered', { integer: true, min: 1 }) ?? 100_000;
  return {
    create: (sink) => new OrderedCore(sink, maxBuffered),
    adopt: (value) => value,
    reveal: (output) => output as Outcome<T, R>,
  };
}

/**
 * Re-sequences outcomes into input order, emitting each one as soon as every earlier item's
 * outcome has been emitted: results stream as each prefix completes, not at the end.
 *
 * Memory stays bounded: right after `mergeBatches`, outcomes that wait for a slow earlier item keep
 * their batch's concurrency slot (as Pekko's ordered `mapAsync` does), so a slow head pauses intake
 * instead of growing a buffer. This is the ordered concurrent map long asked of RxJS (rxjs#5519).
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
