import type { OperatorFunction } from 'rxjs';
import { adoptBatch, type PlainRules } from '../batching/adopt.js';
import type { TokenBatch } from '../batching/batch.js';
import { ContextOverflowError } from '../errors.js';
import { type Envelope, ItemFailure, type Numbering, type Skipped } from '../internal/chain.js';
import { CoreBase, type OperatorSpec, type Sink } from '../internal/core.js';
import { OptionReader } from '../internal/options.js';
import { rxOperator } from '../internal/rx-face.js';
import type { SplitPolicy } from '../internal/splitting.js';
import { itemAsText, type TextOf } from '../internal/item-text.js';
import { TokenMeter } from '../tokens/meter.js';
import { resolveTokenizer } from '../tokens/tokenizers.js';
import type { Batch, ChunkOptions, TokenizerSpec } from '../types.js';

/**
 * Options of {@link splitOnOverflow}.
 *
 * @example
 * ```ts
 * const options: SplitOnOverflowOptions<string, string> = {
 *   maxTokens: 8000,
 *   chunk: { overlapTokens: 100, merge: (parts) => parts.join('\n') },
 * };
 * ```
 */
export interface SplitOnOverflowOptions<T, R> {
  /** The budget batches are made to fit before they are sent. Default: each batch's own `maxTokens`. */
  maxTokens?: number;
  /** How many times a batch may be halved (and an item chunked) after the model refuses it. Default 12. */
  maxSplitDepth?: number;
  /**
   * Cut an item that is too long even alone into overlapping chunks and merge their results. Without
   * it, such an item's outcome fails with `ContextOverflowError`.
   */
  chunk?: ChunkOptions<T, R>;
  /** For plain arrays only (batches from tokenbatch carry their own): the text of an item. */
  text?: (item: T) => string;
  /** For plain arrays only: how tokens are counted. Default `'o200k_base'`. */
  tokenizer?: TokenizerSpec;
  /** For plain arrays only: tokens paid once per batch. Default 0. */
  batchOverheadTokens?: number;
  /** For plain arrays only: tokens paid per item. Default 0. */
  itemOverheadTokens?: number;
}

interface Settings {
  maxTokens: number | undefined;
  maxSplitDepth: number;
  chunk: SplitPolicy['chunk'];
  plain: PlainRules<unknown>;
}

const KEYS = ['maxTokens', 'maxSplitDepth', 'chunk', 'text', 'tokenizer', 'batchOverheadTokens', 'itemOverheadTokens'];

class SplitCore<T> extends CoreBase<unknown> {
  readonly #settings: Settings;
  readonly #numbering: Numbering = { next: 0 };

  constructor(settings: Settings, sink: Sink<unknown>) {
    super(sink);
    this.#settings = settings;
  }

  accepts(demand: boolean): boolean {
    return demand;
  }

  push(input: unknown): void {
    if (this.done) return;
    const batch = adoptBatch<T>(input, this.#numbering, 0, this.#settings.plain);
    const maxTokens = this.#settings.maxTokens ?? batch.maxTokens;
    const policy: SplitPolicy = { maxTokens, maxSplitDepth: this.#settings.maxSplitDepth, chunk: this.#settings.chunk };
    const parts: [Envelope<T>[], boolean][] = [];
    const skipped: Skipped<T>[] = [...batch.skipped];
    for (const [entries, oversize] of this.#fit(batch, maxTokens, skipped)) {
      if (oversize && !policy.chunk) {
        const entry = entries[0] as Envelope<T>;
        const error = new ContextOverflowError(
          `item ${entry.index} has ${batch.meter.exact(entry)} tokens, more than fit in maxTokens (${maxTokens}) even alone, and no chunk option is set`,
        );
        skipped.push(new ItemFailure(entry, error));
      } else parts.push([entries, oversize]);
    }
    // Skipped items ride with the first part, or go on in a batch of their own.
    if (parts.length === 0) {
      if (skipped.length > 0) this.sink.emit(batch.regroup([], false, maxTokens, policy, skipped));
      return;
    }
    parts.forEach(([entries, oversize], i) => this.sink.emit(batch.regroup(entries, oversize, maxTokens, policy, i === 0 ? skipped : [])));
  }

  /**
   * Re-pack a batch in order into runs that fit `maxTokens`; a run of one that cannot is flagged
   * oversize; an item that cannot be measured joins `failed`.
   */
  *#fit(batch: TokenBatch<T>, maxTokens: number, failed: Skipped<T>[]): Generator<[Envelope<T>[], boolean]> {
    if (batch.entries.length === 0) return;
    let fits: boolean;
    try {
      fits = !Number.isFinite(maxTokens) || (batch.tokens <= maxTokens && !batch.oversize);
    } catch {
      fits = false; // some item cannot be measured: found below, item by item
    }
    if (fits) {
      yield [[...batch.entries], batch.oversize];
      return;
    }
    const { meter, batchOverheadTokens, itemOverheadTokens } = batch;
    let run: Envelope<T>[] = [];
    let total = batchOverheadTokens;
    for (const entry of batch.entries) {
      let cost: number;
      try {
        cost = meter.exact(entry) + itemOverheadTokens;
      } catch (error) {
        failed.push(new ItemFailure(entry, error));
        continue;
      }
      if (run.length > 0 && total + cost > maxTokens) {
        yield [run, false];
        run = [];
        total = batchOverheadTokens;
      }
      if (batchOverheadTokens + cost > maxTokens) {
        yield [[entry], true];
        continue;
      }
      run.push(entry);
      total += cost;
    }
    if (run.length > 0) yield [run, false];
  }

  end(): void {
    this.finish();
  }
}

/** The operator's logic for both faces. */
export function splitOnOverflowSpec<T, R>(raw: SplitOnOverflowOptions<T, R> = {}): OperatorSpec<unknown, Batch<T>> {
  const options = new OptionReader('splitOnOverflow', raw, KEYS);
  let chunk: SplitPolicy['chunk'];
  if (options.raw.chunk !== undefined) {
    const chunkOptions = options.nested('chunk', ['overlapTokens', 'toItem', 'merge']);
    const merge = chunkOptions.fn<ChunkOptions<T, R>['merge']>('merge');
    if (!merge) throw new TypeError('splitOnOverflow: chunk.merge: required, a function (chunkResults, item) => result');
    chunk = {
      overlapTokens: chunkOptions.nonNegative('overlapTokens', 100),
      toItem: chunkOptions.fn<(text: string) => unknown>('toItem') ?? ((text: string) => text),
      merge: merge as (results: unknown[], item: unknown) => unknown,
    };
  }
  const textOf = options.fn<TextOf<unknown>>('text') ?? itemAsText;
  const maxTokens = options.optionalPositive('maxTokens');
  const settings: Settings = {
    maxTokens,
    maxSplitDepth: options.optionalPositive('maxSplitDepth', { integer: true, min: 1 }) ?? 12,
    chunk,
    plain: {
      meter: new TokenMeter(textOf, resolveTokenizer(options.raw.tokenizer as TokenizerSpec | undefined, options.name('tokenizer'))),
      maxTokens: maxTokens ?? Number.POSITIVE_INFINITY,
      batchOverheadTokens: options.nonNegative('batchOverheadTokens', 0),
      itemOverheadTokens: options.nonNegative('itemOverheadTokens', 0),
    },
  };
  return { create: (sink) => new SplitCore<T>(settings, sink) };
}

/**
 * Makes batches fit the context window, before and after they are sent. Before: a batch over
 * `maxTokens` is re-packed, in order, into batches that fit. After: when the handler of the
 * `mergeBatches` downstream fails with `ContextOverflowError` (the model's own count disagreed with
 * ours), the batch is split in halves of about equal tokens and each half is retried, recursively,
 * down to single items; a single item that still overflows is cut into overlapping chunks (with the
 * `chunk` option) or fails with `ContextOverflowError`. The split depth shows on each outcome.
 *
 * It cooperates with `mergeBatches` rather than wrapping the handler: it marks the batches it emits
 * with how they may be split, and mergeBatches runs every half and chunk as a request of its own,
 * with its retries, timeout, rate limit and concurrency slot, so no limit is bypassed by a split.
 *
 * @example
 * ```ts
 * import { bufferByTokens, mergeBatches, orderedResults, splitOnOverflow } from 'tokenbatch';
 *
 * items$.pipe(
 *   bufferByTokens({ maxTokens: 8000 }),
 *   splitOnOverflow({ chunk: { overlapTokens: 100, merge: (parts) => parts.join(' ') } }),
 *   mergeBatches(summarize, { concurrency: 4 }),
 *   orderedResults(),
 * );
 * ```
 */
export function splitOnOverflow<T, R = unknown>(options?: SplitOnOverflowOptions<T, R>): OperatorFunction<Batch<T> | readonly T[], Batch<T>> {
  return rxOperator(splitOnOverflowSpec(options));
}
