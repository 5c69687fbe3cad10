import type { Meter, Tracer } from '@opentelemetry/api';
import type { Observable } from 'rxjs';

/**
 * Why a batch was closed.
 * - `'tokens'`: the next item would have pushed it past `maxTokens` (or nothing more can fit).
 * - `'items'`: it holds `maxItems` items.
 * - `'time'`: `maxWaitMs` passed since its first item arrived.
 * - `'end'`: the source completed or failed, and the partial batch was flushed.
 * - `'skipped'`: no item to send, only {@link Batch.skipped} items (duplicates, failed items), passed on at once.
 *
 * @example
 * ```ts
 * const reason: CloseReason = batch.closeReason;
 * ```
 */
export type CloseReason = 'tokens' | 'items' | 'time' | 'end' | 'skipped';

/**
 * A batch of items that fits a token budget.
 *
 * Token counts are exact for the tokenizer in use: `tokens` never understates the real count.
 * They are computed lazily, so a batch that was proven to fit by a cheap bound is only tokenized
 * when something reads `tokens`, `itemTokens` or `utilization` (and then only once per item).
 *
 * @example
 * ```ts
 * batches$.subscribe((batch) =>
 *   console.log(`#${batch.index}: ${batch.items.length} items, ${batch.tokens} tokens, ${batch.closeReason}`),
 * );
 * ```
 */
export interface Batch<T> {
  /** The items, in arrival order. */
  readonly items: readonly T[];
  /** Each item's 0-based position in the chain's input (the numbering of the first tokenbatch operator). */
  readonly itemIndices: readonly number[];
  /** Each item's own token count (without overheads), in the order of `items`. */
  readonly itemTokens: readonly number[];
  /** Total tokens of the batch: items, plus `batchOverheadTokens` once and `itemOverheadTokens` per item. */
  readonly tokens: number;
  /** 0-based sequence number of this batch among the batches the operator emitted. */
  readonly index: number;
  /** True for a single item that exceeds `maxTokens` even alone (emitted with `oversize: 'alone'`). */
  readonly oversize: boolean;
  /** Why the batch was closed. */
  readonly closeReason: CloseReason;
  /** The budget the batch was formed under. */
  readonly maxTokens: number;
  /** `tokens / maxTokens`: how full the context window is (above 1 only for an oversize item). */
  readonly utilization: number;
  /**
   * Items that arrived while this batch was open but are not to be sent: near-duplicates (settled
   * from their representative's result by `mergeBatches`) and items that already failed (their text
   * could not be read, say). They ride with the batch so that `mergeBatches` gives each its outcome.
   * A batch may hold only such items (`items` empty, `closeReason` `'skipped'`).
   */
  readonly skipped: readonly SkippedItem<T>[];
}

/**
 * An input item with its 0-based position in the chain's input: what `indexItems` and
 * `dedupeSimilar` emit, and what the batching operators read. The number is given once, by the
 * first tokenbatch operator of a chain, and every later operator keeps it, so outcomes line up with
 * the input whatever ordinary operators stand in between.
 *
 * @example
 * ```ts
 * deduped$.pipe(filter((value) => value.kind === 'item')).subscribe((entry) => console.log(entry.index, entry.item));
 * ```
 */
export interface IndexedItem<T> {
  readonly kind: 'item';
  /** The item's 0-based position in the chain's input. */
  readonly index: number;
  /** The input item itself. */
  readonly item: T;
}

/**
 * A near-duplicate that `dedupeSimilar` will not send: it receives its representative's outcome
 * (value or error) from `mergeBatches`, with `duplicateOf` set.
 *
 * @example
 * ```ts
 * if (value.kind === 'duplicate') console.log(`${value.index} repeats ${value.duplicateOf} (${value.similarity})`);
 * ```
 */
export interface DuplicateItem<T> {
  readonly kind: 'duplicate';
  readonly index: number;
  readonly item: T;
  /** The index of the representative whose outcome this item receives. */
  readonly duplicateOf: number;
  /** Their similarity (1 for an exact match after normalization). */
  readonly similarity: number;
}

/**
 * An item that failed before it could be sent (its text could not be read, or it cannot fit the
 * context window): `mergeBatches` turns it into that item's failed outcome; its batch-mates go on.
 *
 * @example
 * ```ts
 * for (const skipped of batch.skipped) if (skipped.kind === 'failed') console.error(skipped.index, skipped.error.message);
 * ```
 */
export interface FailedItem<T> {
  readonly kind: 'failed';
  readonly index: number;
  readonly item: T;
  readonly error: Error;
}

/**
 * An item that travels down a chain without being sent: a {@link DuplicateItem} or a {@link FailedItem}.
 *
 * @example
 * ```ts
 * const describe = (skipped: SkippedItem<string>) => (skipped.kind === 'duplicate' ? `dup of ${skipped.duplicateOf}` : skipped.error.name);
 * ```
 */
export type SkippedItem<T> = DuplicateItem<T> | FailedItem<T>;

/**
 * What `dedupeSimilar` and `indexItems` emit, and what the batching operators accept besides plain items.
 *
 * @example
 * ```ts
 * const itemsOnly = (value: ChainItem<string>) => (value.kind === 'item' ? [value.item] : []);
 * ```
 */
export type ChainItem<T> = IndexedItem<T> | SkippedItem<T>;

/**
 * Counts tokens. tokenbatch ships exact counters for OpenAI encodings (see {@link getTokenizer}),
 * and any object of this shape can be passed instead.
 *
 * @example
 * ```ts
 * const words: Tokenizer = { name: 'words', count: (text) => text.split(/\s+/).filter(Boolean).length };
 * ```
 */
export interface Tokenizer {
  /** A name for telemetry and error messages. */
  readonly name: string;
  /** The exact token count of `text`. */
  readonly count: (text: string) => number;
  /**
   * Optional: a cheap count that is never below `count(text)`. When present, batches that provably
   * fit are formed without exact tokenization. For byte-level BPE encodings the UTF-8 length is one.
   */
  readonly upperBound?: (text: string) => number;
}

/**
 * Where tokens come from: a {@link Tokenizer}, a plain counting function, or the name of an
 * encoding that tokenbatch ships (`'o200k_base'`, `'cl100k_base'`).
 *
 * @example
 * ```ts
 * const byName: TokenizerSpec = 'cl100k_base';
 * const byFunction: TokenizerSpec = (text) => Math.ceil(text.length / 4);
 * ```
 */
export type TokenizerSpec = Tokenizer | ((text: string) => number) | EncodingName;

/**
 * The encodings tokenbatch counts exactly, through gpt-tokenizer.
 *
 * @example
 * ```ts
 * const encoding: EncodingName = 'o200k_base';
 * ```
 */
export type EncodingName = 'o200k_base' | 'cl100k_base';

/**
 * Token usage of one model call, as the provider billed it.
 *
 * @example
 * ```ts
 * const usage: Usage = { inputTokens: 1200, outputTokens: 80 };
 * ```
 */
export interface Usage {
  readonly inputTokens: number;
  readonly outputTokens: number;
}

/**
 * What a provider said about the caller's remaining rate limits (for example from
 * `x-ratelimit-remaining-requests` and `x-ratelimit-remaining-tokens`), so a shared limiter can slow
 * down before a 429 happens.
 *
 * @example
 * ```ts
 * context.report({ rateLimit: { remainingRequests: 10, remainingTokens: 20000, resetTokensMs: 6000 } });
 * ```
 */
export interface RateLimitHint {
  readonly remainingRequests?: number;
  readonly remainingTokens?: number;
  readonly resetRequestsMs?: number;
  readonly resetTokensMs?: number;
}

/**
 * What a batch handler receives besides its batch.
 *
 * @example
 * ```ts
 * const handler: BatchHandler<string, string> = async (batch, { signal, attempt, report }) => {
 *   const response = await fetch(url, { method: 'POST', body: JSON.stringify(batch.items), signal });
 *   const body = await response.json();
 *   report({ usage: { inputTokens: body.usage.prompt_tokens, outputTokens: body.usage.completion_tokens } });
 *   return body.results;
 * };
 * ```
 */
export interface HandlerContext {
  /** Aborted when the attempt times out or the consumer goes away. Pass it to `fetch` or the SDK. */
  readonly signal: AbortSignal;
  /** 1 for the first attempt, 2 for the first retry, and so on. */
  readonly attempt: number;
  /** How deep `splitOnOverflow` has split this batch (0: not split). */
  readonly splitDepth: number;
  /** Report billed usage and rate-limit headers: they settle the rate limiter and feed telemetry. */
  report(facts: { usage?: Usage; rateLimit?: RateLimitHint; model?: string; operation?: string }): void;
}

/**
 * Processes one batch: one result per item, in the same order (the DataLoader contract). It may
 * return a Promise, an Observable or an AsyncIterable of that one array.
 *
 * @example
 * ```ts
 * const classify: BatchHandler<string, string> = async (batch) => batch.items.map((text) => (text.includes('refund') ? 'billing' : 'other'));
 * ```
 */
export type BatchHandler<T, R> = (batch: Batch<T>, context: HandlerContext) => PromiseLike<HandlerResults<R>> | AsyncIterable<HandlerResults<R>> | Observable<HandlerResults<R>>;

/**
 * What a {@link BatchHandler} answers for a batch: one entry per item, in order. An `Error` entry
 * fails that item alone; a typed array (a `Float32Array` of scores, say) is as good as an array.
 *
 * @example
 * ```ts
 * const results: HandlerResults<string> = ['billing', new Error('the model skipped this one'), 'bug'];
 * ```
 */
export type HandlerResults<R> = readonly (R | Error)[] | (ArrayLike<R> & Iterable<R>);

/**
 * The result of one input item at the end of a chain: its value, or an explicit error. Every input
 * item gets exactly one.
 *
 * @example
 * ```ts
 * outcomes$.subscribe((outcome) => {
 *   if (outcome.ok) console.log(outcome.index, outcome.value);
 *   else console.error(outcome.index, outcome.error.name);
 * });
 * ```
 */
export type Outcome<T, R> = SuccessOutcome<T, R> | FailureOutcome<T>;

/**
 * Shared fields of every {@link Outcome}.
 *
 * @example
 * ```ts
 * const where = (outcome: OutcomeBase<string>) => `item ${outcome.index} after ${outcome.attempts} attempts`;
 * ```
 */
export interface OutcomeBase<T> {
  /** The item's 0-based position in the chain's input. */
  readonly index: number;
  /** The input item. */
  readonly item: T;
  /** For a near-duplicate: the index of the representative whose result it received. */
  readonly duplicateOf?: number;
  /** How many times the item's batch was split on context overflow (0: never). */
  readonly splitDepth: number;
  /** Handler calls made for this item (0 for a duplicate or an item that never reached a handler). */
  readonly attempts: number;
  /** The model that answered, when the handler reported it (`report({ model })`), as with `withFallbacks`. */
  readonly model?: string;
  /** True when the value came from `mergeBatches`' result cache rather than a call (never for a failure). */
  readonly cached?: true;
}

/**
 * A successful {@link Outcome}.
 *
 * @example
 * ```ts
 * if (outcome.ok) use(outcome.value);
 * ```
 */
export interface SuccessOutcome<T, R> extends OutcomeBase<T> {
  readonly ok: true;
  readonly value: R;
}

/**
 * A failed {@link Outcome}: the error says why (see the error taxonomy).
 *
 * @example
 * ```ts
 * if (!outcome.ok) console.error(outcome.error.name, outcome.error.message);
 * ```
 */
export interface FailureOutcome<T> extends OutcomeBase<T> {
  readonly ok: false;
  readonly error: Error;
}

/**
 * Per-operator telemetry settings. By default tracer and meter come from the global OpenTelemetry
 * API (instrumentation scope `tokenbatch`, the package version), looked up when the chain is
 * subscribed: register the SDK before subscribing. With no SDK registered tokenbatch records
 * nothing and skips the work that only telemetry would need (spans, exact token counts).
 *
 * Each handler attempt gets a `tokenbatch.batch` span, a child of the span active where the chain
 * was subscribed, linked to the spans active where its items arrived.
 *
 * @example
 * ```ts
 * bufferByTokens({ maxTokens: 4000, telemetry: { tracer: myTracer, meter: myMeter } });
 * mergeBatches(handler, { telemetry: false }); // no spans or metrics from this operator
 * ```
 */
export interface TelemetryOptions {
  /** The tracer for batch spans. Default: `trace.getTracer('tokenbatch', version)`. */
  tracer?: Tracer;
  /** The meter for instruments. Default: `metrics.getMeter('tokenbatch', version)`. */
  meter?: Meter;
  /** Record the items' text on batch spans (`tokenbatch.batch.items.text`). Default false: text is never recorded. */
  recordText?: boolean;
  /**
   * `'batch'` (default): `tokenbatch.item.wait` and `tokenbatch.item.latency` are recorded once per
   * batch (or per group of outcomes emitted together), with the longest value; `'item'`: every item's.
   */
  itemHistograms?: 'batch' | 'item';
}

/**
 * What to do with one item that overflows the context window even alone: cut its text into
 * overlapping chunks, process each, and merge the chunk results into the item's result.
 *
 * @example
 * ```ts
 * const chunk: ChunkOptions<string, string> = {
 *   overlapTokens: 100,
 *   merge: (summaries) => summaries.join(' '),
 * };
 * ```
 */
export interface ChunkOptions<T, R> {
  /** Tokens each chunk repeats from the end of the one before, so no sentence is cut blind. Default 100. */
  overlapTokens?: number;
  /** Turns a chunk's text into an item for the handler. Default: the text itself (for string items). */
  toItem?: (chunkText: string, item: T, chunkIndex: number) => T;
  /** Combines the chunk results, in chunk order, into the item's result. */
  merge: (chunkResults: R[], item: T) => R;
}

/**
 * A vector as an embedding API returns it.
 *
 * @example
 * ```ts
 * const vector: Vector = response.data[0].embedding; // number[]
 * ```
 */
export type Vector = Float32Array | Float64Array | readonly number[];
