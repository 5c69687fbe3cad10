import type { OperatorFunction, SchedulerLike, Subscription } from 'rxjs';
import { asEnvelope, DuplicateNotice, type Envelope, ItemFailure, kindOf, type Numbering } from '../internal/chain.js';
import { CoreBase, isSkipped, type OperatorSpec, type Sink } from '../internal/core.js';
import { itemAsText, type TextOf } from '../internal/item-text.js';
import { TokenMeter } from '../tokens/meter.js';
import { getTokenizer } from '../tokens/tokenizers.js';
import { OptionReader } from '../internal/options.js';
import type { ChainItem, TelemetryOptions, Vector } from '../types.js';
import { rxOperator } from '../internal/rx-face.js';
import { createAnnEmbeddingIndex } from '../internal/similarity/ann-index.js';
import type { EmbeddingIndex } from '../internal/similarity/embedding-index.js';
import { createSimilarityIndex, type SimilarityIndex } from '../internal/similarity/text-index.js';
import { acceptCandidate, resolveDedupeSafety, type DedupeSafety } from '../internal/similarity/dedupe-safety.js';
import type { CustomGuard, GuardOptions } from '../internal/similarity/guards.js';
import { createPredicateIndex, type PredicateIndex, type SimilarPredicate } from '../internal/similarity/predicate-index.js';
import { Telemetry, telemetrySettings } from '../internal/telemetry.js';
import { AbortError } from '../errors.js';
import { scheduleAfter } from '../internal/timers.js';
import { statsRecorder, type Stats, type StatsRecorder } from '../stats.js';

/**
 * Options of {@link dedupeSimilar}.
 *
 * @example
 * ```ts
 * const options: DedupeSimilarOptions<Ticket> = { method: 'minhash', text: (ticket) => ticket.body, threshold: 0.6, maxEntries: 5000, ttlMs: 600_000 };
 * ```
 */
export interface DedupeSimilarOptions<T> {
  /**
   * How items are compared. `'exact'` (default): identical after normalization (Unicode NFKC,
   * case, white space), which never merges texts that differ in content. `'minhash'`: Jaccard
   * similarity of character shingles, found through MinHash and LSH and verified exactly.
   * `'embedding'`: cosine similarity of vectors from `embed`. The near-duplicate methods are
   * guarded (see `guards`). Exact matches are always tried first for text methods.
   */
  method?: 'exact' | 'minhash' | 'embedding';
  /**
   * For `'minhash'`, `'embedding'` and `similar`: pairs that are never merged however similar, whose
   * numbers (digits, amounts, ids, versions, dates, times), negations (not, no, never, n't… and
   * French, German, Spanish, Italian, Portuguese), weekdays and months, names, or opposite words
   * (enable/disable, increase/decrease…) differ. An object
   * switches guards one by one (`{ names: false }`); `false` switches them all off, at the risk of
   * handing "refund order 123457" the answer of "refund order 123456". Default: all on.
   */
  guards?: GuardOptions | false;
  /** An extra veto on a candidate pair (the item's compared text, the representative's): true when they may be merged. */
  guard?: CustomGuard;
  /** The text an item is compared by, such as its text without timestamps or signature. Default: `text`. */
  key?: (item: T) => string;
  /** A custom similarity instead of `method`: true/false, or a score in [0, 1] compared with `threshold` (default 0.9). Guarded too. */
  similar?: SimilarPredicate;
  /** The least similarity that makes a duplicate: verified Jaccard of character 3-gram sets for `'minhash'` (default 0.7), cosine for `'embedding'` (default 0.95). */
  threshold?: number;
  /** Representatives remembered at most (the oldest is forgotten first). Default 10,000. */
  maxEntries?: number;
  /** Representatives are forgotten this long after they arrived. Default: only by `maxEntries`. */
  ttlMs?: number;
  /** The text of an item. Default: the item itself, which must then be a string. */
  text?: (item: T) => string;
  /** For `'embedding'`: vectors for texts, one per text, in order. Calls are batched (see `embedBatch`). */
  embed?: (texts: string[], signal: AbortSignal) => Promise<readonly Vector[]>;
  /** For `'embedding'`: how embed calls are batched. Default 64 texts or 50 ms, whichever comes first. */
  embedBatch?: { maxItems?: number; maxWaitMs?: number };
  /** Called for each duplicate that is not sent, with its representative and their similarity. */
  onDuplicate?: (item: T, representative: T, similarity: number) => void;
  /** `'minhash'`: shingle length in characters. Default 3 (suits short texts). */
  shingleSize?: number;
  /** `'minhash'`: signature length. Default 128. */
  numPerm?: number;
  /** `'minhash'`: seed of the hash functions. Default 1. */
  seed?: number;
  /** Where time comes from (`ttlMs`, embed batching). Default: RxJS `asyncScheduler`. */
  scheduler?: SchedulerLike;
  /** Tracer and meter, or `false` for none. Default: the global OpenTelemetry API. */
  telemetry?: TelemetryOptions | false;
  /** Where to count items and duplicates (see {@link createStats}). */
  stats?: Stats;
}

const DEDUPE_KEYS = [
  'method',
  'guards',
  'guard',
  'key',
  'similar',
  'threshold',
  'maxEntries',
  'ttlMs',
  'text',
  'embed',
  'embedBatch',
  'onDuplicate',
  'shingleSize',
  'numPerm',
  'seed',
  'scheduler',
  'telemetry',
  'stats',
];

interface Settings<T> {
  method: 'exact' | 'minhash' | 'embedding' | 'custom';
  safety: DedupeSafety<T>;
  newPredicateIndex: (() => PredicateIndex) | undefined;
  /** Reads items' text (the tokenizer is never used here). */
  meter: TokenMeter<T>;
  newTextIndex: (() => SimilarityIndex) | undefined;
  newEmbeddingIndex: (() => EmbeddingIndex) | undefined;
  embed: DedupeSimilarOptions<T>['embed'];
  embedMaxItems: number;
  embedMaxWaitMs: number;
  onDuplicate: DedupeSimilarOptions<T>['onDuplicate'];
  scheduler: SchedulerLike;
  telemetry: ReturnType<typeof telemetrySettings>;
  stats: StatsRecorder | undefined;
}

/**
 * Compares each item only against representatives (an item that matched is never one itself, so
 * matches cannot chain), in a window bounded by `maxEntries` and `ttlMs`. A representative whose
 * outcome failed is forgotten, so a later item can take its place.
 */
class DedupeCore<T> extends CoreBase<unknown> {
  readonly #settings: Settings<T>;
  readonly #numbering: Numbering = { next: 0 };
  readonly #telemetry: Telemetry;
  readonly #textIndex: SimilarityIndex | undefined;
  readonly #vectorIndex: EmbeddingIndex | undefined;
  readonly #predicateIndex: PredicateIndex | undefined;
  readonly #representatives = new Map<number, Envelope<T>>();
  /** Each representative's compared text, for the guards. */
  readonly #texts = new Map<number, string>();
  /** Items waiting for their embedding, in arrival order. */
  readonly #pending: { envelope: Envelope<T>; text: string }[] = [];
  #embedding: AbortController | undefined;
  #timer: Subscription | undefined;
  #ended = false;

  constructor(settings: Settings<T>, sink: Sink<unknown>) {
    super(sink);
    this.#settings = settings;
    this.#telemetry = new Telemetry(settings.telemetry, 'dedupe');
    this.#textIndex = settings.newTextIndex?.();
    this.#vectorIndex = settings.newEmbeddingIndex?.();
    this.#predicateIndex = settings.newPredicateIndex?.();
  }

  accepts(demand: boolean): boolean {
    return demand && this.#pending.length < this.#settings.embedMaxItems;
  }

  push(input: unknown): void {
    if (this.done) return;
    // Skipped items and batches are for operators further down.
    if (isSkipped(input) || kindOf(input) === 'batch') return this.sink.emit(input);
    const envelope = asEnvelope<T>(input, this.#numbering, this.#settings.scheduler.now());
    this.#settings.stats?.arrived(envelope.index, envelope.arrivedAt);
    this.#telemetry.itemsIn(1);
    let text: string;
    try {
      const key = this.#settings.safety.key;
      text = key === undefined ? this.#settings.meter.text(envelope) : key(envelope.item);
      if (typeof text !== 'string') throw new TypeError(`dedupeSimilar: key: expected a string, got ${typeof text}`);
      const index = this.#textIndex;
      const predicates = this.#predicateIndex;
      // A predicate that throws fails this item alone, as a text that cannot be read does.
      if (index)
        this.#decide(
          envelope,
          text,
          index.prepare(text),
          (prepared, now, accept) => index.match(prepared, now, accept),
          (prepared, now) => index.add(envelope.index, prepared, now),
        );
      else if (predicates)
        this.#decide(
          envelope,
          text,
          text,
          (t, now, accept) => predicates.match(t, now, accept),
          (t, now) => predicates.add(envelope.index, t, now),
        );
      else this.#queueForEmbedding(envelope, text);
    } catch (error) {
      // An item without text fails alone: it goes down as a failed item, the stream goes on.
      this.sink.emit(new ItemFailure(envelope, error));
      return;
    }
  }

  end(): void {
    this.#ended = true;
    if (this.#pending.length > 0) this.#flushEmbeddings();
    this.#completeIfIdle();
  }

  override dispose(): void {
    super.dispose();
    this.#timer?.unsubscribe();
    this.#embedding?.abort(new AbortError('the consumer went away'));
    this.#representatives.clear();
    this.#texts.clear();
  }

  /** Match against representatives; a duplicate goes down as a notice, anything else as a new representative. */
  #decide<K>(
    envelope: Envelope<T>,
    text: string,
    key: K,
    match: (key: K, now: number, accept: (id: number) => boolean) => { id: number; similarity: number } | undefined,
    add: (key: K, now: number) => void,
  ): void {
    const now = this.#settings.scheduler.now();
    const failed: number[] = [];
    const usable = (id: number): boolean => {
      const representative = this.#representatives.get(id);
      if (representative && !representative.failed) return true;
      failed.push(id);
      return false;
    };
    // Guards veto candidates at match time: the index goes on to the next best one.
    const found = match(
      key,
      now,
      acceptCandidate(this.#settings.safety.guard, text, (id) => this.#texts.get(id), usable),
    );
    // A representative whose request failed is not remembered as a result.
    for (const id of failed) this.#forget(id);
    if (found) {
      const representative = this.#representatives.get(found.id) as Envelope<T>;
      this.#telemetry.duplicate();
      this.#settings.onDuplicate?.(envelope.item, representative.item, found.similarity);
      this.#settings.stats?.duplicateFound();
      this.sink.emit(new DuplicateNotice(envelope, representative, found.similarity));
      return;
    }
    add(key, now);
    this.#representatives.set(envelope.index, envelope);
    this.#texts.set(envelope.index, text);
    this.#prune();
    this.sink.emit(envelope);
  }

  #forget(id: number): void {
    this.#textIndex?.remove(id);
    this.#vectorIndex?.remove(id);
    this.#predicateIndex?.remove(id);
    this.#representatives.delete(id);
    this.#texts.delete(id);
  }

  /** Drop representatives the index has evicted (oldest first, as both evict). */
  #prune(): void {
    const index = this.#textIndex ?? this.#vectorIndex ?? this.#predicateIndex;
    if (!index) return;
    for (const id of this.#representatives.keys()) {
      if (index.has(id)) break;
      this.#representatives.delete(id);
      this.#texts.delete(id);
    }
  }

  #queueForEmbedding(envelope: Envelope<T>, text: string): void {
    this.#pending.push({ envelope, text });
    if (this.#pending.length >= this.#settings.embedMaxItems) this.#flushEmbeddings();
    else if (!this.#timer) {
      this.#timer = scheduleAfter(this.#settings.scheduler, this.#settings.embedMaxWaitMs, () => {
        this.#timer = undefined;
        this.#flushEmbeddings();
      });
    }
  }

  /** Embed the pending items in one call, then decide them in arrival order. One call at a time keeps order. */
  #flushEmbeddings(): void {
    if (this.#embedding || this.#pending.length === 0 || this.done) return;
    this.#timer?.unsubscribe();
    this.#timer = undefined;
    const group = this.#pending.splice(0, this.#settings.embedMaxItems);
    const controller = new AbortController();
    this.#embedding = controller;
    const embed = this.#settings.embed as NonNullable<DedupeSimilarOptions<T>['embed']>;
    Promise.resolve()
      .then(() =>
        embed(
          group.map((entry) => entry.text),
          controller.signal,
        ),
      )
      .then((vectors) => {
        if (!Array.isArray(vectors) || vectors.length !== group.length)
          throw new Error(`embed returned ${Array.isArray(vectors) ? vectors.length : 'no'} vectors for ${group.length} texts`);
        return vectors as readonly Vector[];
      })
      .then(
        (vectors) => {
          if (this.done) return;
          group.forEach(({ envelope, text }, i) => {
            const vector = vectors[i] as Vector;
            try {
              this.#decide(
                envelope,
                text,
                vector,
                (v, now, accept) => this.#vectorIndex?.match(v, now, accept),
                (v, now) => this.#vectorIndex?.add(envelope.index, v, now),
              );
            } catch {
              // A vector the index refuses (wrong length, zero): the item is sent, not deduplicated.
              this.sink.emit(envelope);
            }
          });
        },
        () => {
          // Without vectors nothing can be compared: the items go on undeduplicated, none is lost.
          if (!this.done) for (const { envelope } of group) this.sink.emit(envelope);
        },
      )
      .finally(() => {
        this.#embedding = undefined;
        if (this.done) return;
        if (this.#pending.length >= this.#settings.embedMaxItems || (this.#ended && this.#pending.length > 0)) this.#flushEmbeddings();
        else if (this.#pending.length > 0 && !this.#timer) this.#flushEmbeddings();
        this.#completeIfIdle();
        this.sink.flush();
        this.sink.wake();
      })
      .catch((error: unknown) => this.terminate(error));
  }

  #completeIfIdle(): void {
    if (this.#ended && !this.#embedding && this.#pending.length === 0) this.finish();
  }
}

/** The operator's logic for both faces. */
export function dedupeSimilarSpec<T>(raw: DedupeSimilarOptions<T> = {}): OperatorSpec<unknown, ChainItem<T>> {
  const options = new OptionReader('dedupeSimilar', raw, DEDUPE_KEYS);
  const safety = resolveDedupeSafety<T>({ method: raw.method, guards: raw.guards, guard: raw.guard, key: raw.key, similar: raw.similar }, 'dedupeSimilar');
  const method = safety.method;
  const maxEntries = options.optionalPositive('maxEntries', { integer: true, min: 1 }) ?? 10_000;
  const ttlMs = options.optionalPositive('ttlMs');
  const embed = options.fn<NonNullable<DedupeSimilarOptions<T>['embed']>>('embed');
  if (method === 'embedding' && !embed) throw new TypeError("dedupeSimilar: embed: required with method 'embedding', a function (texts, signal) => Promise<vectors>");
  const embedBatch = options.nested('embedBatch', ['maxItems', 'maxWaitMs']);
  let newTextIndex: (() => SimilarityIndex) | undefined;
  let newEmbeddingIndex: (() => EmbeddingIndex) | undefined;
  let newPredicateIndex: (() => PredicateIndex) | undefined;
  if (method === 'custom') {
    const predicateOptions = { similar: safety.similar as SimilarPredicate, threshold: options.raw.threshold as number | undefined, maxEntries, ttlMs };
    try {
      createPredicateIndex(predicateOptions); // validates now, at creation
    } catch (error) {
      if (error instanceof Error) error.message = `dedupeSimilar: ${error.message}`;
      throw error;
    }
    newPredicateIndex = () => createPredicateIndex(predicateOptions);
  } else if (method === 'exact' && options.raw.threshold !== undefined) {
    throw new RangeError("dedupeSimilar: threshold: applies to 'minhash', 'embedding' or similar, and method is 'exact' (the default)");
  } else if (method === 'embedding') {
    const threshold = options.optionalPositive('threshold') ?? 0.95;
    if (threshold > 1) throw new RangeError(`dedupeSimilar: threshold: expected a number in (0, 1], got ${threshold}`);
    createAnnEmbeddingIndex({ threshold, maxEntries, ttlMs }); // validates now, at creation
    newEmbeddingIndex = () => createAnnEmbeddingIndex({ threshold, maxEntries, ttlMs });
  } else {
    const indexOptions = {
      method,
      threshold: method === 'exact' ? undefined : (options.raw.threshold as number | undefined),
      maxEntries,
      ttlMs,
      shingleSize: options.raw.shingleSize as number | undefined,
      numPerm: options.raw.numPerm as number | undefined,
      seed: options.raw.seed as number | undefined,
    };
    try {
      createSimilarityIndex(indexOptions); // validates now, at creation
    } catch (error) {
      if (error instanceof Error) error.message = `dedupeSimilar: ${error.message}`;
      throw error;
    }
    newTextIndex = () => createSimilarityIndex(indexOptions);
  }
  const settings: Settings<T> = {
    method,
    safety,
    newPredicateIndex,
    meter: new TokenMeter(options.fn<TextOf<T>>('text') ?? itemAsText, getTokenizer('o200k_base')),
    newTextIndex,
    newEmbeddingIndex,
    embed,
    embedMaxItems: embedBatch.optionalPositive('maxItems', { integer: true, min: 1 }) ?? 64,
    embedMaxWaitMs: embedBatch.optionalPositive('maxWaitMs') ?? 50,
    onDuplicate: options.fn('onDuplicate'),
    scheduler: options.scheduler(),
    telemetry: telemetrySettings(raw.telemetry, options.name('telemetry')),
    stats: statsRecorder(options),
  };
  if (method !== 'embedding') settings.embedMaxItems = Number.POSITIVE_INFINITY;
  return {
    create: (sink) => new DedupeCore<T>(settings, sink),
  };
}

/**
 * Suppresses near-duplicates: an item whose text is near-identical to a recent representative is
 * not sent again. It emits each item numbered, as `{ kind: 'item', index, item }`, and each duplicate
 * as `{ kind: 'duplicate', index, item, duplicateOf, similarity }`; the batching operators carry
 * duplicates to `mergeBatches`, which gives each its representative's value (or error), with
 * `duplicateOf`, never before that result exists. Used alone, keep the items with
 * `filter((value) => value.kind === 'item')`; `onDuplicate` and metrics report the duplicates.
 *
 * Items are compared only with representatives (similarity is not transitive, so matches never
 * chain), within a window bounded by `maxEntries` and `ttlMs`. If a representative fails, its
 * duplicates fail with the same error and it is forgotten, so a later item can become the new one.
 *
 * @example
 * ```ts
 * import { bufferByTokens, dedupeSimilar, mergeBatches, orderedResults } from 'tokenbatch';
 *
 * tickets$.pipe(
 *   dedupeSimilar({ method: 'minhash', text: (ticket) => ticket.body, threshold: 0.6 }),
 *   bufferByTokens({ maxTokens: 4000, text: (ticket) => ticket.body }),
 *   mergeBatches(classify),
 *   orderedResults(),
 * ).subscribe((outcome) => console.log(outcome.index, outcome.duplicateOf ?? '-', outcome.ok));
 * ```
 */
export function dedupeSimilar<T>(options?: DedupeSimilarOptions<T>): OperatorFunction<T | ChainItem<T>, ChainItem<T>> {
  return rxOperator(dedupeSimilarSpec(options));
}
