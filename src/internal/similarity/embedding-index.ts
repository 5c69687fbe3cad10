import { requireObject } from '../options.js';
import { representativeId, similarityThreshold, wholeNumber, windowOptions } from './checks.js';
import { RepresentativeWindow } from './window.js';

const OWNER = 'createEmbeddingIndex';

/**
 * Options of {@link createEmbeddingIndex}.
 */
export interface EmbeddingIndexOptions {
  /**
   * The least cosine similarity that matches, in (0, 1]. Required: a good value depends on the
   * embedding model (near-duplicates typically score 0.9 to 0.98 on current text embedding models).
   */
  threshold: number;
  /** At most this many representatives (whole number >= 1); the oldest is evicted. Default 10,000. */
  maxEntries?: number;
  /** A representative is forgotten once `now - addedAt >= ttlMs` (> 0). Default: never. */
  ttlMs?: number;
  /** The vector length (whole number >= 1). Default: taken from the first vector seen. */
  dimensions?: number;
}

/**
 * A representative found similar to a query vector.
 */
export interface EmbeddingMatch {
  readonly id: number;
  /** The cosine similarity, summed in double precision over float32 unit vectors. */
  readonly similarity: number;
}

export type { Vector } from '../../types.js';
import type { Vector } from '../../types.js';

/**
 * A window of representative embeddings, matched by cosine similarity with a linear scan over one
 * contiguous `Float32Array` of unit vectors (one multiply-add per dimension and representative).
 * Only representatives are compared with, so matches never chain.
 */
export interface EmbeddingIndex {
  readonly threshold: number;
  readonly maxEntries: number;
  readonly ttlMs: number | undefined;
  /** The vector length, once known. */
  readonly dimensions: number | undefined;
  /** Representatives held now. */
  readonly size: number;
  /**
   * The most similar representative at or above the threshold (ties to the lower id), or undefined.
   * Expires representatives older than `ttlMs` first.
   *
   * With `accept`, a representative it refuses (a guard's veto, a failed outcome) is skipped and the
   * search goes on to the next most similar one. `accept` is called in that order and must not
   * change the index.
   */
  match(vector: Vector, now: number, accept?: (id: number) => boolean): EmbeddingMatch | undefined;
  /**
   * Every representative at or above the threshold, by decreasing similarity, then increasing id.
   */
  matches(vector: Vector, now: number): EmbeddingMatch[];
  /**
   * Adds a representative under a new id (a RangeError if held), evicting the oldest if full. The
   * vector must have the index's length, finite components and a non-zero norm (else a RangeError).
   */
  add(id: number, vector: Vector, now: number): void;
  /**
   * Forgets a representative; false if it was not held.
   */
  remove(id: number): boolean;
  /**
   * Whether a representative with this id is held.
   */
  has(id: number): boolean;
}

interface VectorEntry {
  readonly id: number;
  readonly addedAt: number;
  /** Its row in the slab; changes when the last row moves into a freed one. */
  slot: number;
}

class VectorIndex implements EmbeddingIndex {
  readonly threshold: number;
  readonly maxEntries: number;
  readonly ttlMs: number | undefined;
  dimensions: number | undefined;
  private readonly window: RepresentativeWindow<VectorEntry>;
  /** Rows 0..size-1 hold the representatives' unit vectors, densely: a removal moves the last row in. */
  private slab: Float32Array = new Float32Array(0);
  private readonly slots: VectorEntry[] = [];
  /** The last query's unit vector, in double precision (rows are stored in single). */
  private query: Float64Array = new Float64Array(0);

  constructor(threshold: number, maxEntries: number, ttlMs: number | undefined, dimensions: number | undefined) {
    this.threshold = threshold;
    this.maxEntries = maxEntries;
    this.ttlMs = ttlMs;
    this.dimensions = dimensions;
    this.window = new RepresentativeWindow<VectorEntry>(maxEntries, ttlMs, (entry) => this.release(entry), OWNER);
  }

  get size(): number {
    return this.window.size;
  }

  match(vector: Vector, now: number, accept?: (id: number) => boolean): EmbeddingMatch | undefined {
    if (accept !== undefined) {
      if (typeof accept !== 'function') throw new TypeError(`${OWNER}: match: accept: expected a function, got ${typeof accept}`);
      for (const found of this.matches(vector, now)) if (accept(found.id)) return found;
      return undefined;
    }
    this.window.advance(now);
    let best: VectorEntry | undefined;
    let bestSimilarity = 0;
    this.scan(vector, (entry, similarity) => {
      if (best === undefined || similarity > bestSimilarity || (similarity === bestSimilarity && entry.id < best.id)) {
        best = entry;
        bestSimilarity = similarity;
      }
    });
    return best === undefined ? undefined : { id: best.id, similarity: bestSimilarity };
  }

  matches(vector: Vector, now: number): EmbeddingMatch[] {
    this.window.advance(now);
    const found: EmbeddingMatch[] = [];
    this.scan(vector, (entry, similarity) => found.push({ id: entry.id, similarity }));
    return found.sort((x, y) => y.similarity - x.similarity || x.id - y.id);
  }

  add(id: number, vector: Vector, now: number): void {
    representativeId(id, OWNER);
    const addedAt = this.window.advance(now);
    if (this.window.get(id) !== undefined) throw new RangeError(`${OWNER}: add: id ${id} is already a representative`);
    const unit = this.unit(vector, new Float32Array(vector.length));
    const entry: VectorEntry = { id, addedAt, slot: -1 };
    this.window.admit(entry);
    const dims = unit.length;
    entry.slot = this.slots.length;
    if ((entry.slot + 1) * dims > this.slab.length) {
      // Grow by doubling, never past the window bound (admit has made room, so slot < maxEntries).
      const grown = new Float32Array(Math.min(this.maxEntries, Math.max(16, entry.slot * 2)) * dims);
      grown.set(this.slab.subarray(0, entry.slot * dims));
      this.slab = grown;
    }
    this.slab.set(unit, entry.slot * dims);
    this.slots.push(entry);
  }

  remove(id: number): boolean {
    return this.window.remove(id) !== undefined;
  }

  has(id: number): boolean {
    return this.window.get(id) !== undefined;
  }

  /** Checks a vector, fixes the dimensions on first sight, and writes its unit vector to `out` (of its length). */
  private unit<A extends Float32Array | Float64Array>(vector: Vector, out: A): A {
    if (!(vector instanceof Float32Array || vector instanceof Float64Array || Array.isArray(vector))) {
      throw new TypeError(`${OWNER}: expected a vector (Float32Array, Float64Array or number[])`);
    }
    if (vector.length === 0) throw new RangeError(`${OWNER}: expected a non-empty vector`);
    this.dimensions ??= vector.length;
    if (vector.length !== this.dimensions) throw new RangeError(`${OWNER}: expected a vector of ${this.dimensions} dimensions, got ${vector.length}`);
    let norm = 0;
    for (let i = 0; i < vector.length; i++) {
      const x = vector[i] as number;
      if (typeof x !== 'number' || !Number.isFinite(x)) throw new RangeError(`${OWNER}: vector component ${i} is not a finite number`);
      norm += x * x;
    }
    if (norm === 0) throw new RangeError(`${OWNER}: a zero vector has no direction to compare`);
    const scale = 1 / Math.sqrt(norm);
    for (let i = 0; i < vector.length; i++) out[i] = (vector[i] as number) * scale;
    return out;
  }

  /** Calls `visit` for each representative whose cosine with the vector reaches the threshold. */
  private scan(vector: Vector, visit: (entry: VectorEntry, similarity: number) => void): void {
    if (this.query.length !== vector.length) this.query = new Float64Array(vector.length);
    const query = this.unit(vector, this.query);
    const dims = query.length;
    const slab = this.slab;
    const threshold = this.threshold;
    const rows = this.slots.length;
    for (let slot = 0, base = 0; slot < rows; slot++, base += dims) {
      const similarity = dot(query, slab, base, dims);
      if (similarity >= threshold) visit(this.slots[slot] as VectorEntry, similarity);
    }
  }

  /** Frees an entry's row by moving the last row into it. */
  private release(entry: VectorEntry): void {
    const dims = this.dimensions as number;
    const last = this.slots.pop() as VectorEntry;
    if (last !== entry) {
      this.slab.copyWithin(entry.slot * dims, last.slot * dims, (last.slot + 1) * dims);
      last.slot = entry.slot;
      this.slots[entry.slot] = last;
    }
  }
}

/**
 * Creates the index behind embedding-based near-duplicate suppression: a bounded window of
 * representative vectors (the caller computes the embeddings), matched by cosine similarity with a
 * linear scan. Bad options throw a TypeError or RangeError naming the option.
 */
export function createEmbeddingIndex(options: EmbeddingIndexOptions): EmbeddingIndex {
  const raw = requireObject(options, OWNER);
  if (raw.threshold === undefined) throw new TypeError('threshold: required (a cosine similarity in (0, 1]; a good one depends on the embedding model)');
  const threshold = similarityThreshold(raw.threshold, 'threshold', 'cosine similarity');
  const { maxEntries, ttlMs } = windowOptions(raw);
  const dimensions = raw.dimensions === undefined ? undefined : wholeNumber(raw.dimensions, 'dimensions', 1, 1 << 20, 1);
  return new VectorIndex(threshold, maxEntries, ttlMs, dimensions);
}

/**
 * The dot product of `query` with the `dims` numbers of `slab` from `base` (unit vectors: their
 * cosine). Eight accumulators break the dependency chain of one running sum (measured: 0.5 ns a
 * multiply-add against 0.8 with one).
 */
export function dot(query: Float64Array, slab: Float64Array | Float32Array, base: number, dims: number): number {
  const wide = dims - (dims % 8);
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let s4 = 0;
  let s5 = 0;
  let s6 = 0;
  let s7 = 0;
  let i = 0;
  for (let j = base; i < wide; i += 8, j += 8) {
    s0 += (query[i] as number) * (slab[j] as number);
    s1 += (query[i + 1] as number) * (slab[j + 1] as number);
    s2 += (query[i + 2] as number) * (slab[j + 2] as number);
    s3 += (query[i + 3] as number) * (slab[j + 3] as number);
    s4 += (query[i + 4] as number) * (slab[j + 4] as number);
    s5 += (query[i + 5] as number) * (slab[j + 5] as number);
    s6 += (query[i + 6] as number) * (slab[j + 6] as number);
    s7 += (query[i + 7] as number) * (slab[j + 7] as number);
  }
  for (; i < dims; i++) s0 += (query[i] as number) * (slab[base + i] as number);
  return s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7;
}
