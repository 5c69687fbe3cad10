import { requireObject } from '../options.js';
import { seededRandom } from '../random.js';
import { representativeId, similarityThreshold, wholeNumber, windowOptions } from './checks.js';
import { dot, type EmbeddingIndex, type EmbeddingIndexOptions, type EmbeddingMatch, type Vector } from './embedding-index.js';
import { RepresentativeWindow } from './window.js';

const OWNER = 'createAnnEmbeddingIndex';

/**
 * Options of {@link createAnnEmbeddingIndex}: those of the exact index, and how the sketch trades
 * speed for recall.
 *
 * @example
 * ```ts
 * const options: AnnEmbeddingIndexOptions = { threshold: 0.9, maxEntries: 10_000, bits: 256, missProbability: 1e-3 };
 * ```
 */
export interface AnnEmbeddingIndexOptions extends EmbeddingIndexOptions {
  /** Bits in each vector's sketch, one per random hyperplane (a multiple of 32, 32 to 2048). Default 256. */
  bits?: number;
  /**
   * The most a pair at exactly the threshold may be missed, in (0, 0.5): the Hamming radius is the
   * binomial quantile for it. Pairs more similar than the threshold are missed less often. Default 0.001.
   */
  missProbability?: number;
  /** Seed of the hyperplanes (a whole number), so that runs replay. Default 1. */
  seed?: number;
}

/** How many of `n` independent bits with probability `p` may differ before the tail falls under `tail`. */
export function binomialRadius(n: number, p: number, tail: number): number {
  // P(X > h) = 1 - CDF(h), summed in log space to stay finite for large n.
  if (p <= 0) return 0;
  if (p >= 1) return n;
  const logP = Math.log(p);
  const logQ = Math.log1p(-p);
  let logCoefficient = 0; // log C(n, 0)
  let cdf = 0;
  for (let k = 0; k <= n; k++) {
    if (k > 0) logCoefficient += Math.log(n - k + 1) - Math.log(k);
    cdf += Math.exp(logCoefficient + k * logP + (n - k) * logQ);
    if (1 - cdf <= tail) return k;
  }
  return n;
}

interface SketchEntry {
  readonly id: number;
  readonly addedAt: number;
  /** Its row in the slabs; changes when the last row moves into a freed one. */
  slot: number;
}

/** In-place unnormalised fast Walsh-Hadamard transform (the length is a power of two). */
function hadamard(values: Float64Array): void {
  const n = values.length;
  for (let half = 1; half < n; half *= 2) {
    for (let start = 0; start < n; start += half * 2) {
      for (let i = start; i < start + half; i++) {
        const a = values[i] as number;
        const b = values[i + half] as number;
        values[i] = a + b;
        values[i + half] = a - b;
      }
    }
  }
}

/** Bits set in a 32-bit word. */
function popcount(word: number): number {
  word -= (word >>> 1) & 0x55555555;
  word = (word & 0x33333333) + ((word >>> 2) & 0x33333333);
  return Math.imul((word + (word >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
}

/**
 * The exact index's contract, answered faster: each representative also keeps a sign sketch (one
 * bit per random hyperplane, Charikar's SimHash). A query computes its own sketch and rescores, with
 * the exact index's own arithmetic, only the representatives within a Hamming radius of it. The
 * angle between two vectors sets the chance that a bit differs (angle / π), so the radius is the
 * binomial quantile that misses a pair at the threshold with probability `missProbability` at most.
 *
 * Every match it returns is one the exact scan returns, with the same similarity (it never reports
 * a pair below the threshold); it may miss a pair the exact scan finds, rarely. For deduplication
 * that errs on the safe side: an item not recognised as a duplicate is sent.
 */
class AnnIndex implements EmbeddingIndex {
  readonly threshold: number;
  readonly maxEntries: number;
  readonly ttlMs: number | undefined;
  dimensions: number | undefined;
  readonly bits: number;
  /** Hamming distance up to which a representative is rescored. */
  readonly radius: number;
  readonly #words: number;
  readonly #seed: number;
  readonly #window: RepresentativeWindow<SketchEntry>;
  /** Rows 0..size-1: the representatives' unit vectors, densely (a removal moves the last row in). */
  #slab: Float32Array = new Float32Array(0);
  /** Rows 0..size-1: their sketches, `#words` 32-bit words each, in the same order. */
  #sketches: Uint32Array = new Uint32Array(0);
  readonly #slots: SketchEntry[] = [];
  #signs: Float64Array | undefined;
  #padded = 0;
  #blocks = 0;
  #buffer: Float64Array = new Float64Array(0);
  #query: Float64Array = new Float64Array(0);
  #querySketch: Uint32Array;

  constructor(threshold: number, maxEntries: number, ttlMs: number | undefined, dimensions: number | undefined, bits: number, missProbability: number, seed: number) {
    this.threshold = threshold;
    this.maxEntries = maxEntries;
    this.ttlMs = ttlMs;
    this.dimensions = dimensions;
    this.bits = bits;
    this.#words = bits / 32;
    this.#seed = seed;
    this.#querySketch = new Uint32Array(this.#words);
    // Rounding of the stored float32 rows moves a cosine by far less than this: the radius covers it.
    const angle = Math.acos(Math.min(1, threshold)) / Math.PI;
    this.radius = binomialRadius(bits, angle, missProbability);
    this.#window = new RepresentativeWindow<SketchEntry>(maxEntries, ttlMs, (entry) => this.#release(entry), OWNER);
  }

  get size(): number {
    return this.#window.size;
  }

  match(vector: Vector, now: number): EmbeddingMatch | undefined {
    this.#window.advance(now);
    let best: SketchEntry | undefined;
    let bestSimilarity = 0;
    this.#scan(vector, (entry, similarity) => {
      if (best === undefined || similarity > bestSimilarity || (similarity === bestSimilarity && entry.id < best.id)) {
        best = entry;
        bestSimilarity = similarity;
      }
    });
    return best === undefined ? undefined : { id: best.id, similarity: bestSimilarity };
  }

  matches(vector: Vector, now: number): EmbeddingMatch[] {
    this.#window.advance(now);
    const found: EmbeddingMatch[] = [];
    this.#scan(vector, (entry, similarity) => found.push({ id: entry.id, similarity }));
    return found.sort((x, y) => y.similarity - x.similarity || x.id - y.id);
  }

  add(id: number, vector: Vector, now: number): void {
    representativeId(id, OWNER);
    const addedAt = this.#window.advance(now);
    if (this.#window.get(id) !== undefined) throw new RangeError(`${OWNER}: add: id ${id} is already a representative`);
    const unit = this.#unit(vector, new Float32Array(vector.length));
    const entry: SketchEntry = { id, addedAt, slot: -1 };
    this.#window.admit(entry);
    const dims = unit.length;
    const words = this.#words;
    entry.slot = this.#slots.length;
    if ((entry.slot + 1) * dims > this.#slab.length) {
      // Grow by doubling, never past the window bound (admit has made room, so slot < maxEntries).
      const rows = Math.min(this.maxEntries, Math.max(16, entry.slot * 2));
      const slab = new Float32Array(rows * dims);
      slab.set(this.#slab.subarray(0, entry.slot * dims));
      this.#slab = slab;
      const sketches = new Uint32Array(rows * words);
      sketches.set(this.#sketches.subarray(0, entry.slot * words));
      this.#sketches = sketches;
    }
    this.#slab.set(unit, entry.slot * dims);
    this.#sketch(unit, this.#sketches, entry.slot * words);
    this.#slots.push(entry);
  }

  remove(id: number): boolean {
    return this.#window.remove(id) !== undefined;
  }

  has(id: number): boolean {
    return this.#window.get(id) !== undefined;
  }

  /** Checks a vector, fixes the dimensions on first sight, and writes its unit vector to `out`. */
  #unit<A extends Float32Array | Float64Array>(vector: Vector, out: A): A {
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

  /**
   * The random signs of the rotations, drawn once the dimensions are known: `blocks` rotations of
   * `padded` coordinates, three sign vectors each.
   */
  #rotationSigns(): Float64Array {
    if (this.#signs) return this.#signs;
    const dims = this.dimensions as number;
    let padded = 1;
    while (padded < dims) padded *= 2;
    this.#padded = padded;
    this.#blocks = Math.ceil(this.bits / padded);
    const random = seededRandom(this.#seed);
    const signs = new Float64Array(this.#blocks * 3 * padded);
    for (let i = 0; i < signs.length; i++) signs[i] = random() < 0.5 ? -1 : 1;
    this.#buffer = new Float64Array(padded);
    return (this.#signs = signs);
  }

  /**
   * Writes the sign sketch of a unit vector to `out` at `offset`: the signs of the first
   * coordinates of a pseudo-random rotation H·D3·H·D2·H·D1 (H a Walsh-Hadamard transform, D random
   * signs), which behaves as a random rotation (Ailon-Chazelle; Andoni et al., 2015), so each bit is
   * a random hyperplane's side. It costs 3·p·log2(p) additions instead of bits·dims multiply-adds.
   */
  #sketch(unit: Float32Array | Float64Array, out: Uint32Array, offset: number): void {
    const signs = this.#rotationSigns();
    const padded = this.#padded;
    const buffer = this.#buffer;
    const dims = unit.length;
    out.fill(0, offset, offset + this.#words);
    for (let block = 0, bit = 0; block < this.#blocks; block++) {
      const base = block * 3 * padded;
      for (let i = 0; i < padded; i++) buffer[i] = i < dims ? (unit[i] as number) * (signs[base + i] as number) : 0;
      hadamard(buffer);
      for (let round = 1; round < 3; round++) {
        const at = base + round * padded;
        for (let i = 0; i < padded; i++) buffer[i]! *= signs[at + i] as number;
        hadamard(buffer);
      }
      for (let i = 0; i < padded && bit < this.bits; i++, bit++) {
        if ((buffer[i] as number) >= 0) out[offset + (bit >>> 5)]! |= 1 << (bit & 31);
      }
    }
  }

  /** Calls `visit` for each representative within the radius whose exact cosine reaches the threshold. */
  #scan(vector: Vector, visit: (entry: SketchEntry, similarity: number) => void): void {
    if (this.#query.length !== vector.length) this.#query = new Float64Array(vector.length);
    const query = this.#unit(vector, this.#query);
    const rows = this.#slots.length;
    if (rows === 0) return;
    const words = this.#words;
    const sketch = this.#querySketch;
    this.#sketch(query, sketch, 0);
    const sketches = this.#sketches;
    const radius = this.radius;
    for (let slot = 0, offset = 0; slot < rows; slot++, offset += words) {
      let distance = 0;
      for (let word = 0; word < words && distance <= radius; word++) distance += popcount((sketches[offset + word] as number) ^ (sketch[word] as number));
      if (distance > radius) continue;
      const similarity = this.#cosine(query, slot);
      if (similarity >= this.threshold) visit(this.#slots[slot] as SketchEntry, similarity);
    }
  }

  /** The exact index's arithmetic, to the bit: eight float64 accumulators over a float32 row. */
  #cosine(query: Float64Array, slot: number): number {
    return dot(query, this.#slab, slot * query.length, query.length);
  }

  /** Frees an entry's rows by moving the last rows into them. */
  #release(entry: SketchEntry): void {
    const dims = this.dimensions as number;
    const words = this.#words;
    const last = this.#slots.pop() as SketchEntry;
    if (last !== entry) {
      this.#slab.copyWithin(entry.slot * dims, last.slot * dims, (last.slot + 1) * dims);
      this.#sketches.copyWithin(entry.slot * words, last.slot * words, (last.slot + 1) * words);
      last.slot = entry.slot;
      this.#slots[entry.slot] = last;
    }
  }
}

/**
 * Creates an embedding index with the exact index's interface ({@link EmbeddingIndex}) that
 * rescores only the representatives a random-hyperplane sketch puts near the query: every match is
 * exact (same similarity as the linear scan), a pair at the threshold is missed with probability at
 * most `missProbability`. Bad options throw a TypeError or RangeError naming the option.
 *
 * @example
 * ```ts
 * const index = createAnnEmbeddingIndex({ threshold: 0.9, maxEntries: 10_000 });
 * const duplicateOf = index.match(vector, now);
 * if (duplicateOf === undefined) index.add(itemIndex, vector, now);
 * ```
 */
export function createAnnEmbeddingIndex(options: AnnEmbeddingIndexOptions): EmbeddingIndex & { readonly bits: number; readonly radius: number } {
  const raw = requireObject(options, OWNER);
  for (const key of Object.keys(raw)) {
    if (!['threshold', 'maxEntries', 'ttlMs', 'dimensions', 'bits', 'missProbability', 'seed'].includes(key)) {
      throw new TypeError(`${OWNER}: unknown option '${key}' (known: threshold, maxEntries, ttlMs, dimensions, bits, missProbability, seed)`);
    }
  }
  if (raw.threshold === undefined) throw new TypeError('threshold: required (a cosine similarity in (0, 1]; a good one depends on the embedding model)');
  const threshold = similarityThreshold(raw.threshold, 'threshold', 'cosine similarity');
  const { maxEntries, ttlMs } = windowOptions(raw);
  const dimensions = raw.dimensions === undefined ? undefined : wholeNumber(raw.dimensions, 'dimensions', 1, 1 << 20, 1);
  const bits = wholeNumber(raw.bits, 'bits', 32, 2048, 256);
  if (bits % 32 !== 0) throw new RangeError(`bits: expected a multiple of 32, got ${bits}`);
  const missProbability = raw.missProbability === undefined ? 1e-3 : raw.missProbability;
  if (typeof missProbability !== 'number' || !(missProbability > 0 && missProbability < 0.5)) {
    throw new RangeError(`missProbability: expected a number in (0, 0.5), got ${typeof missProbability === 'number' ? missProbability : typeof missProbability}`);
  }
  const seed = wholeNumber(raw.seed, 'seed', 0, 0xffffffff, 1);
  return new AnnIndex(threshold, maxEntries, ttlMs, dimensions, bits, missProbability, seed);
}
