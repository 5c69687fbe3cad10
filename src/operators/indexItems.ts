import type { OperatorFunction, SchedulerLike } from 'rxjs';
import { asEnvelope, type Numbering } from '../internal/chain.js';
import { CoreBase, type OperatorSpec, type Sink } from '../internal/core.js';
import { OptionReader } from '../internal/options.js';
import { rxOperator } from '../internal/rx-face.js';
import type { IndexedItem } from '../types.js';

class IndexCore<T> extends CoreBase<unknown> {
  readonly #numbering: Numbering = { next: 0 };
  constructor(
    sink: Sink<unknown>,
    readonly now: () => number,
  ) {
    super(sink);
  }
  accepts(demand: boolean): boolean {
    return demand;
  }
  push(input: unknown): void {
    if (!this.done) this.sink.emit(asEnvelope<T>(input, this.#numbering, this.now()));
  }
  end(): void {
    this.finish();
  }
}

/**
 * Options of {@link indexItems}.
 *
 * @example
 * ```ts
 * const options: IndexItemsOptions = { scheduler: testScheduler };
 * ```
 */
export interface IndexItemsOptions {
  /** Where arrival times come from (item wait metrics). Default: RxJS `asyncScheduler`. */
  scheduler?: SchedulerLike;
}

/** The operator's logic for both faces. */
export function indexItemsSpec<T>(options?: IndexItemsOptions): OperatorSpec<unknown, IndexedItem<T>> {
  const scheduler = new OptionReader('indexItems', options, ['scheduler']).scheduler();
  return { create: (sink) => new IndexCore<T>(sink, () => scheduler.now()) };
}

/**
 * Numbers items 0, 1, 2, ... as `{ kind: 'item', index, item }`, the numbers every later tokenbatch
 * operator keeps. The first tokenbatch operator of a chain numbers items anyway; use this one to
 * number them *before* a split of the stream, such as RxJS `groupBy` for batching per key (tenant,
 * model, language), so that one `orderedResults` after the merge puts every key's outcomes back in
 * input order. Items that are already numbered pass as they are.
 *
 * @example
 * ```ts
 * import { groupBy, mergeMap } from 'rxjs';
 * import { bufferByTokens, indexItems, mergeBatches, orderedResults } from 'tokenbatch';
 *
 * tickets$.pipe(
 *   indexItems(),
 *   groupBy((entry) => entry.item.tenant),
 *   mergeMap((tenant$) => tenant$.pipe(bufferByTokens({ maxTokens: 4000, text: (t) => t.body }), mergeBatches(classify))),
 *   orderedResults(),
 * );
 * ```
 */
export function indexItems<T>(options?: IndexItemsOptions): OperatorFunction<T | IndexedItem<T>, IndexedItem<T>> {
  return rxOperator(indexItemsSpec<T>(options));
}
