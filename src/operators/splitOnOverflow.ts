import type { OperatorFunction } from 'rxjs';
import { resolveTokenizer } from '../tokens/tokenizers.js';
import { ContextOverflowError } from '../errors.js';
import { TokenBatch } from '../internal/batcher.js';
import { Envelope, ItemFailure, type Link } from '../internal/chain.js';
import { CoreBase, HIDDEN, type OperatorSpec, type Sink } from '../internal/core.js';
import { itemAsText, TokenMeter, type TextOf } from '../tokens/meter.js';
import { nonNegative, optionalFunction, optionalPositive, requireObject } from '../internal/options.js';
import { rxOperator } from '../internal/rx-face.js';
import type { ChunkOptions, SplitPolicy } from '../internal/splitting.js';
import type { Batch, TokenizerSpec } from '../types.js';

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
  meter: TokenMeter<unknown>;
  batchOverheadTokens: number;
  itemOverheadTokens: number;
}

class SplitCore<T> extends CoreBase<unknown> {
  readonly #settings: Settings;
  readonly #chained: boolean;

  constructor(settings: Settings, sink: Sink<unknown>, link: Link | undefined) {
    super(sink);
    this.#settings = settings;
    this.#chained = link !== undefined;
  }

  accepts(demand: boolean): boolean {
    return demand;
  }

  push(input: unknown): void {
    if (this.done) return;
    if (!(input instanceof TokenBatch)) {
      this.sink.emit(input); // duplicates and failures are for operators further down
      return;
    }
    const batch = input as TokenBatch<T>;
    const maxTokens = this.#settings.maxTokens ?? batch.maxTokens;
    const policy: SplitPolicy = { maxTokens, maxSplitDepth: this.#settings.maxSplitDepth, chunk: this.#settings.chunk };
    try {
      for (const [entries, oversize] of this.#fit(batch, maxTokens)) {
        if (oversize && !policy.chunk) {
          const entry = entries[0] as Envelope<T>;
          const error = new ContextOverflowError(`item ${entry.index} has ${batch.meter.exact(entry)} tokens, more than fit in maxTokens (${maxTokens}) even alone, and no chunk option is set`);
          if (this.#chained) this.sink.emit(new ItemFailure(entry, error));
          else return this.terminate(error);
        } else this.sink.emit(batch.regroup(entries, oversize, maxTokens, policy));
      }
    } catch (error) {
      this.terminate(error);
    }
  }

  /** Re-pack a batch in order into runs that fit `maxTokens`; a run of one that cannot is flagged oversize. */
  *#fit(batch: TokenBatch<T>, maxTokens: number): Generator<[Envelope<T>[], boolean]> {
    if (!Number.isFinite(maxTokens) || (batch.tokens <= maxTokens && !batch.oversize)) {
      yield [[...batch.entries], batch.oversize];
      return;
    }
    const { meter, batchOverheadTokens, itemOverheadTokens } = batch;
    let run: Envelope<T>[] = [];
    let total = batchOverheadTokens;
    for (const entry of batch.entries) {
      const cost = meter.exact(entry) + itemOverheadTokens;
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
export function splitOnOverflowSpec<T, R>(options: SplitOnOverflowOptions<T, R> = {}): OperatorSpec<unknown, unknown, Batch<T>> {
  requireObject(options, 'splitOnOverflow');
  let chunk: SplitPolicy['chunk'];
  if (options.chunk !== undefined) {
    const raw = requireObject(options.chunk, 'chunk') as unknown as ChunkOptions<T, R>;
    const merge = optionalFunction<ChunkOptions<T, R>['merge']>(raw.merge, 'chunk.merge');
    if (!merge) throw new TypeError('chunk.merge: required, a function (chunkResults, item) => result');
    chunk = {
      overlapTokens: nonNegative(raw.overlapTokens, 'chunk.overlapTokens', 100),
      toItem: (optionalFunction(raw.toItem, 'chunk.toItem') ?? ((text: string) => text)),
      merge: merge as (results: unknown[], item: unknown) => unknown,
    };
  }
  const textOf = optionalFunction<TextOf<unknown>>(options.text, 'text') ?? itemAsText;
  const settings: Settings = {
    maxTokens: optionalPositive(options.maxTokens, 'maxTokens'),
    maxSplitDepth: optionalPositive(options.maxSplitDepth, 'maxSplitDepth', { integer: true, min: 1 }) ?? 12,
    chunk,
    meter: new TokenMeter(textOf, resolveTokenizer(options.tokenizer)),
    batchOverheadTokens: nonNegative(options.batchOverheadTokens, 'batchOverheadTokens', 0),
    itemOverheadTokens: nonNegative(options.itemOverheadTokens, 'itemOverheadTokens', 0),
  };
  return {
    create: (sink, link) => new SplitCore<T>(settings, sink, link),
    adopt: (value, numbering) => {
      if (value instanceof TokenBatch) return value;
      const items: readonly unknown[] = Array.isArray(value) ? value : [value];
      const entries = items.map((item) => new Envelope(numbering.next++, item, 0));
      return new TokenBatch(entries, -1, 'end', false, settings.maxTokens ?? Number.POSITIVE_INFINITY, settings.meter, settings.batchOverheadTokens, settings.itemOverheadTokens);
    },
    reveal: (output) => (output instanceof TokenBatch ? (output as TokenBatch<T>) : HIDDEN),
  };
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
