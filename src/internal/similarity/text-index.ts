import { oneOf, requireObject } from '../options.js';
import { DEFAULT_MAX_ENTRIES, representativeId, similarityThreshold, wholeNumber, windowOptions } from './checks.js';
import { LshBuckets, optimalLshParams, type LshParams } from './lsh.js';
import { MinHasher } from './minhash.js';
import { normalizeText } from './normalize.js';
import { jaccardAtLeast, shingleSet } from './shingles.js';
import { RepresentativeWindow } from './window.js';

/**
 * How texts are compared: `'exact'` (identical after normalization) or `'minhash'` (Jaccard).
 */
export type TextSimilarityMethod = 'exact' | 'minhash';

/**
 * The default Jaccard threshold over character 3-gram sets. On the dedupe bench (support tickets
 * and chat lines with planted typos, swapped words, whitespace and case changes; a window of
 * 10,000), 0.7 catches 96% to 97% of planted near-duplicates while 99% of matches are the original
 * text (the rest are unrelated texts that really are that alike, mostly short ones); 0.6 catches
 * 99% but one match in 20 is an unrelated text. Dropping an item wrongly loses information, sending
 * a duplicate only costs tokens: hence the higher value.
 */
export const DEFAULT_THRESHOLD = 0.7;
/**
 * The default shingle size, in code points. Each character edit changes up to `n` shingles, so short
 * texts need a small `n`; 2-grams are too few to tell unrelated texts apart. On the bench, 3-grams
 * keep the most planted near-duplicates for the same rate of unrelated matches.
 */
export const DEFAULT_SHINGLE_SIZE = 3;
/**
 * The default MinHash signature length: with the threshold 0.7 it bands as 20 × 6, so pairs at
 * Jaccard 0.7 / 0.75 / 0.8 become candidates with probability 0.92 / 0.98 / 0.998. 64 finds about as
 * many pairs on the bench in half the hashing time but fewer of those just above the threshold.
 */
export const DEFAULT_NUM_PERM = 128;
/**
 * The default seed of the shingle fingerprints and MinHash permutations.
 */
export const DEFAULT_SEED = 1;
/**
 * How much the LSH banding weighs missed pairs against extra candidates (see
 * {@link optimalLshParams}); candidates are verified exactly, so extra ones cost only time. With
 * datasketch's default of 0.5 the index missed about 5% of the pairs on the bench.
 */
export const FALSE_NEGATIVE_WEIGHT = 0.9;

export { DEFAULT_MAX_ENTRIES };

const OWNER = 'createSimilarityIndex';

/**
 * Options of {@link createSimilarityIndex}.
 */
export interface SimilarityIndexOptions {
  /** `'minhash'` (default) or `'exact'`. */
  method?: TextSimilarityMethod;
  /**
   * `'minhash'`: the least Jaccard similarity of shingle sets that matches, in (0, 1]. Default
   * {@link DEFAULT_THRESHOLD}. `'exact'` matches identical normalized texts only and takes no
   * threshold but 1.
   */
  threshold?: number;
  /** At most this many representatives (whole number >= 1); the oldest is evicted. Default {@link DEFAULT_MAX_ENTRIES}. */
  maxEntries?: number;
  /** A representative is forgotten once `now - addedAt >= ttlMs` (> 0). Default: never. */
  ttlMs?: number;
  /** `'minhash'`: shingle length in code points (whole number, 1 to 16). Default {@link DEFAULT_SHINGLE_SIZE}. */
  shingleSize?: number;
  /** `'minhash'`: signature length (whole number, 2 to 1024). Default {@link DEFAULT_NUM_PERM}. */
  numPerm?: number;
  /** Seeds the fingerprints and permutations (whole number, 0 to 2³² − 1). Default {@link DEFAULT_SEED}. */
  seed?: number;
  /**
   * `'minhash'`, advanced: the LSH banding, given together (whole numbers, `bands × rows <=
   * numPerm`). Default: chosen for the threshold by {@link optimalLshParams}. More rows make fewer
   * candidates (faster) and miss more pairs just above the threshold.
   */
  bands?: number;
  rows?: number;
}

/**
 * A representative found similar to a query.
 */
export interface SimilarityMatch {
  /** The representative's id, as given to `add`. */
  readonly id: number;
  /** 1 for identical normalized texts; otherwise the exact Jaccard similarity of the shingle sets. */
  readonly similarity: number;
}

/**
 * What an index holds, counted from its structures (all zero once every representative is gone).
 */
export interface SimilarityIndexStats {
  representatives: number;
  /** Distinct normalized texts in the exact map. */
  exactKeys: number;
  /** LSH buckets in use (0 for `'exact'`). */
  buckets: number;
  /** Representatives counted once per bucket they are in (`bands` each, for non-empty texts). */
  bucketMemberships: number;
  /** Queries (`match` and `matches` calls) so far. */
  queries: number;
  /** Distinct LSH candidates checked so far (by set sizes, then by exact Jaccard): the verification work. */
  candidates: number;
}

/**
 * A text prepared once by {@link SimilarityIndex.prepare} for `match` and then `add`: normalized at
 * once; shingles and band keys computed on first need and kept.
 */
export class PreparedText {
  /** The normalized text (see `normalizeText`). */
  readonly normalized: string;
  /** @internal */
  readonly owner: object;
  /** @internal */
  shingles: Uint32Array | undefined = undefined;
  /** @internal */
  keys: Uint32Array | undefined = undefined;

  /** @internal */
  constructor(owner: object, normalized: string) {
    this.owner = owner;
    this.normalized = normalized;
  }
}

/**
 * A window of representative texts to compare new texts against. Only representatives are ever
 * compared with: an item that matched is not added, so matches never chain (A ~ B and B ~ C does not
 * make C match A). Synchronous and deterministic for a seed.
 */
export interface SimilarityIndex {
  readonly method: TextSimilarityMethod;
  /** The Jaccard threshold (1 for `'exact'`). */
  readonly threshold: number;
  readonly maxEntries: number;
  readonly ttlMs: number | undefined;
  /** LSH bands × rows chosen for the threshold (0 × 0 for `'exact'`). */
  readonly bands: number;
  readonly rows: number;
  /** Representatives held now (expired ones are dropped on the next call that passes a time). */
  readonly size: number;
  /**
   * Normalizes a text once for a `match` and an `add` of this index.
   */
  prepare(text: string): PreparedText;
  /**
   * The best representative at or above the threshold, or undefined. Identical normalized texts are
   * looked up first (similarity 1, the oldest such representative); then LSH candidates are verified
   * by exact Jaccard similarity, so a match below the threshold is never returned. Ties go to the
   * lower id. Expires representatives older than `ttlMs` first.
   *
   * With `accept`, a representative it refuses (a guard's veto, a failed outcome) is skipped and the
   * search goes on to the next best one, so a refused candidate never hides an acceptable one.
   * `accept` is called in that order and must not change the index.
   */
  match(text: string | PreparedText, now: number, accept?: (id: number) => boolean): SimilarityMatch | undefined;
  /**
   * Every representative at or above the threshold, by decreasing similarity, then increasing id.
   */
  matches(text: string | PreparedText, now: number): SimilarityMatch[];
  /**
   * Adds a representative under a new id (a RangeError if the id is held), evicting the oldest one
   * first if the window is full.
   */
  add(id: number, text: string | PreparedText, now: number): void;
  /**
   * Forgets a representative (say, its request failed); false if it was not held.
   */
  remove(id: number): boolean;
  /**
   * Whether a representative with this id is held (as of the last time passed in).
   */
  has(id: number): boolean;
  /**
   * Counts taken from the index's structures.
   */
  stats(): SimilarityIndexStats;
}

interface TextEntry {
  readonly id: number;
  readonly addedAt: number;
  readonly normalized: string;
  readonly shingles: Uint32Array | undefined;
  readonly keys: Uint32Array | undefined;
  /** The last query that met this entry, to verify each candidate once per query. */
  stamp: number;
}

interface ResolvedOptions {
  method: TextSimilarityMethod;
  threshold: number;
  maxEntries: number;
  ttlMs: number | undefined;
  shingleSize: number;
  numPerm: number;
  seed: number;
  lsh: LshParams | undefined;
}

function resolveOptions(raw: unknown): ResolvedOptions {
  const options = requireObject(raw, OWNER) as SimilarityIndexOptions;
  const method = oneOf(options.method, 'method', ['exact', 'minhash'], 'minhash');
  if (method === 'exact') {
    for (const name of ['shingleSize', 'numPerm', 'bands', 'rows'] as const) {
      if (options[name] !== undefined) throw new RangeError(`${name}: applies to method 'minhash' only, not 'exact'`);
    }
    if (options.threshold !== undefined && options.threshold !== 1) {
      throw new RangeError(`threshold: method 'exact' matches identical normalized texts only (threshold 1), got ${String(options.threshold)}`);
    }
  }
  let threshold = 1;
  if (method === 'minhash') threshold = options.threshold === undefined ? DEFAULT_THRESHOLD : similarityThreshold(options.threshold, 'threshold', 'Jaccard similarity');
  return {
    method,
    threshold,
    ...windowOptions(options),
    shingleSize: wholeNumber(options.shingleSize, 'shingleSize', 1, 16, DEFAULT_SHINGLE_SIZE),
    numPerm: wholeNumber(options.numPerm, 'numPerm', 2, 1024, DEFAULT_NUM_PERM),
    seed: wholeNumber(options.seed, 'seed', 0, 0xffffffff, DEFAULT_SEED),
    lsh: banding(options),
  };
}

function banding(options: SimilarityIndexOptions): LshParams | undefined {
  if (options.bands === undefined && options.rows === undefined) return undefined;
  if (options.bands === undefined || options.rows === undefined) throw new RangeError(`${options.bands === undefined ? 'bands' : 'rows'}: give bands and rows together`);
  const numPerm = wholeNumber(options.numPerm, 'numPerm', 2, 1024, DEFAULT_NUM_PERM);
  const bands = wholeNumber(options.bands, 'bands', 1, numPerm, 1);
  const rows = wholeNumber(options.rows, 'rows', 1, numPerm, 1);
  if (bands * rows > numPerm) throw new RangeError(`bands: bands × rows must be at most numPerm (${numPerm}), got ${bands} × ${rows}`);
  return { bands, rows };
}

class TextIndex implements SimilarityIndex {
  readonly method: TextSimilarityMethod;
  readonly threshold: number;
  readonly maxEntries: number;
  readonly ttlMs: number | undefined;
  readonly bands: number;
  readonly rows: number;
  private readonly shingleSize: number;
  private readonly shingleSeed: number;
  private readonly hasher: MinHasher | undefined;
  private readonly buckets: LshBuckets<TextEntry> | undefined;
  private readonly exact = new Map<string, TextEntry[]>();
  private readonly window: RepresentativeWindow<TextEntry>;
  private stamp = 0;
  private queries = 0;
  private candidates = 0;

  constructor(options: ResolvedOptions) {
    this.method = options.method;
    this.threshold = options.threshold;
    this.maxEntries = options.maxEntries;
    this.ttlMs = options.ttlMs;
    this.shingleSize = options.shingleSize;
    // Separate streams for the fingerprints, the permutations and the band keys.
    this.shingleSeed = options.seed;
    if (options.method === 'minhash') {
      const params = options.lsh ?? optimalLshParams(options.threshold, options.numPerm, FALSE_NEGATIVE_WEIGHT);
      this.hasher = new MinHasher(params.bands * params.rows, options.seed ^ 0x5bd1e995);
      this.buckets = new LshBuckets<TextEntry>(params, options.seed ^ 0x27d4eb2f);
      this.bands = params.bands;
      this.rows = params.rows;
    } else {
      this.bands = 0;
      this.rows = 0;
    }
    this.window = new RepresentativeWindow<TextEntry>(options.maxEntries, options.ttlMs, (entry) => this.unindex(entry), OWNER);
  }

  get size(): number {
    return this.window.size;
  }

  prepare(text: string): PreparedText {
    if (typeof text !== 'string') throw new TypeError(`${OWNER}: expected a text string, got ${typeof text}`);
    return new PreparedText(this, normalizeText(text));
  }

  match(text: string | PreparedText, now: number, accept?: (id: number) => boolean): SimilarityMatch | undefined {
    if (accept !== undefined) return this.firstAccepted(text, now, accept);
    this.window.advance(now);
    this.queries++;
    const prepared = this.prepared(text);
    const same = this.exact.get(prepared.normalized);
    if (same !== undefined) return { id: (same[0] as TextEntry).id, similarity: 1 };
    let best: TextEntry | undefined;
    let bestSimilarity = 0;
    this.forEachVerified(prepared, (entry, similarity) => {
      if (similarity > bestSimilarity || (similarity === bestSimilarity && entry.id < (best as TextEntry).id)) {
        best = entry;
        bestSimilarity = similarity;
      }
    });
    return best === undefined ? undefined : { id: best.id, similarity: bestSimilarity };
  }

  matches(text: string | PreparedText, now: number): SimilarityMatch[] {
    this.window.advance(now);
    this.queries++;
    const prepared = this.prepared(text);
    const found: SimilarityMatch[] = [];
    const stamp = ++this.stamp;
    for (const entry of this.exact.get(prepared.normalized) ?? []) {
      entry.stamp = stamp;
      found.push({ id: entry.id, similarity: 1 });
    }
    this.forEachVerified(prepared, (entry, similarity) => found.push({ id: entry.id, similarity }), stamp);
    return found.sort((x, y) => y.similarity - x.similarity || x.id - y.id);
  }

  add(id: number, text: string | PreparedText, now: number): void {
    representativeId(id, OWNER);
    const addedAt = this.window.advance(now);
    if (this.window.get(id) !== undefined) throw new RangeError(`${OWNER}: add: id ${id} is already a representative`);
    const prepared = this.prepared(text);
    const shingles = this.hasher === undefined ? undefined : this.shinglesOf(prepared);
    const keys = shingles === undefined || shingles.length === 0 ? undefined : this.keysOf(prepared);
    const entry: TextEntry = { id, addedAt, normalized: prepared.normalized, shingles, keys, stamp: 0 };
    this.window.admit(entry);
    const same = this.exact.get(entry.normalized);
    if (same === undefined) this.exact.set(entry.normalized, [entry]);
    else same.push(entry);
    if (keys !== undefined) this.buckets?.insert(entry, keys);
  }

  remove(id: number): boolean {
    return this.window.remove(id) !== undefined;
  }

  has(id: number): boolean {
    return this.window.get(id) !== undefined;
  }

  stats(): SimilarityIndexStats {
    const census = this.buckets?.census() ?? { buckets: 0, memberships: 0 };
    return {
      representatives: this.window.size,
      exactKeys: this.exact.size,
      buckets: census.buckets,
      bucketMemberships: census.memberships,
      queries: this.queries,
      candidates: this.candidates,
    };
  }

  /** `match` with a veto: every match in `matches` order, up to the first one accepted. */
  private firstAccepted(text: string | PreparedText, now: number, accept: (id: number) => boolean): SimilarityMatch | undefined {
    if (typeof accept !== 'function') throw new TypeError(`${OWNER}: match: accept: expected a function, got ${typeof accept}`);
    for (const found of this.matches(text, now)) if (accept(found.id)) return found;
    return undefined;
  }

  private prepared(text: string | PreparedText): PreparedText {
    if (text instanceof PreparedText) {
      if (text.owner !== this) throw new TypeError(`${OWNER}: a PreparedText is for the index that prepared it`);
      return text;
    }
    return this.prepare(text);
  }

  private shinglesOf(prepared: PreparedText): Uint32Array {
    prepared.shingles ??= shingleSet(prepared.normalized, this.shingleSize, this.shingleSeed);
    return prepared.shingles;
  }

  private keysOf(prepared: PreparedText): Uint32Array {
    prepared.keys ??= (this.buckets as LshBuckets<TextEntry>).keys((this.hasher as MinHasher).signature(this.shinglesOf(prepared)));
    return prepared.keys;
  }

  /** Calls `visit` once for each LSH candidate whose exact Jaccard similarity reaches the threshold. */
  private forEachVerified(prepared: PreparedText, visit: (entry: TextEntry, similarity: number) => void, stamp = ++this.stamp): void {
    if (this.buckets === undefined || this.window.size === 0) return;
    const shingles = this.shinglesOf(prepared);
    if (shingles.length === 0) return;
    const threshold = this.threshold;
    this.buckets.forEachCandidate(this.keysOf(prepared), (entry) => {
      if (entry.stamp === stamp) return;
      entry.stamp = stamp;
      this.candidates++;
      const similarity = jaccardAtLeast(shingles, entry.shingles as Uint32Array, threshold);
      if (similarity >= 0) visit(entry, similarity);
    });
  }

  private unindex(entry: TextEntry): void {
    const same = this.exact.get(entry.normalized);
    if (same !== undefined) {
      const at = same.indexOf(entry);
      if (at >= 0) same.splice(at, 1);
      if (same.length === 0) this.exact.delete(entry.normalized);
    }
    if (entry.keys !== undefined) this.buckets?.delete(entry, entry.keys);
  }
}

/**
 * Creates the similarity index behind near-duplicate suppression: a bounded window of representative
 * texts, matched by identical normalized text (`'exact'`) or by the Jaccard similarity of character
 * shingle sets found through MinHash LSH and verified exactly (`'minhash'`, the default). Bad options
 * throw a TypeError or RangeError naming the option.
 */
export function createSimilarityIndex(options: SimilarityIndexOptions = {}): SimilarityIndex {
  return new TextIndex(resolveOptions(options));
}
