import { murmur3Words } from './hash.js';

/**
 * Locality-sensitive hashing of MinHash signatures by banding: a signature of `bands × rows` values
 * is cut into `bands` runs of `rows`; two sets whose Jaccard similarity is s share at least one band
 * with probability 1 − (1 − sʳ)ᵇ, an S-curve whose steep part is placed at the threshold.
 */

/**
 * How a signature is banded.
 */
export interface LshParams {
  bands: number;
  rows: number;
}

/** 1 − (1 − sʳ)ᵇ: the chance that two sets of Jaccard similarity s share a band. */
function candidateProbability(s: number, bands: number, rows: number): number {
  return 1 - (1 - s ** rows) ** bands;
}

/** Simpson's rule over [from, to]; the integrands are smooth polynomials in s. */
function integrate(f: (s: number) => number, from: number, to: number): number {
  const steps = 64;
  const h = (to - from) / steps;
  let sum = f(from) + f(to);
  for (let i = 1; i < steps; i++) sum += f(from + i * h) * (i % 2 === 1 ? 4 : 2);
  return (sum * h) / 3;
}

/**
 * The banding that minimizes the weighted area of false positives (pairs below `threshold` that
 * become candidates) and false negatives (pairs at or above it that do not), over every
 * `bands × rows <= numPerm`: datasketch's `_optimal_param`. Candidates are verified exactly
 * afterwards, so a false positive costs one Jaccard computation while a false negative is a missed
 * duplicate: weigh false negatives more.
 *
 * @param falseNegativeWeight - in (0, 1); false positives weigh `1 − falseNegativeWeight`
 */
export function optimalLshParams(threshold: number, numPerm: number, falseNegativeWeight: number): LshParams {
  let best: LshParams = { bands: 1, rows: 1 };
  let bestError = Number.POSITIVE_INFINITY;
  for (let bands = 1; bands <= numPerm; bands++) {
    for (let rows = 1; bands * rows <= numPerm; rows++) {
      const falsePositive = integrate((s) => candidateProbability(s, bands, rows), 0, threshold);
      const falseNegative = integrate((s) => 1 - candidateProbability(s, bands, rows), threshold, 1);
      const error = (1 - falseNegativeWeight) * falsePositive + falseNegativeWeight * falseNegative;
      if (error < bestError) {
        bestError = error;
        best = { bands, rows };
      }
    }
  }
  return best;
}

/**
 * The LSH buckets: for each band a map from the band's 32-bit key to the entries whose signature has
 * that band. A bucket holds one entry inline and becomes an array only when shared, since most
 * buckets of a window of dissimilar representatives hold one entry. Empty buckets are deleted, so
 * the maps never outgrow the entries they hold.
 */
export class LshBuckets<E extends object> {
  readonly bands: number;
  readonly rows: number;
  private readonly seed: number;
  private readonly maps: Map<number, E | E[]>[];

  /*   */
  constructor(params: LshParams, seed: number) {
    this.bands = params.bands;
    this.rows = params.rows;
    this.seed = seed;
    this.maps = Array.from({ length: params.bands }, () => new Map<number, E | E[]>());
  }

  /**
   * The band keys of a signature, one per band: a 32-bit hash of the band's `rows` values. Two
   * different bands may rarely hash alike; that only adds a candidate, which verification rejects.
   */
  keys(signature: Uint32Array): Uint32Array {
    const keys = new Uint32Array(this.bands);
    // 30 bits: small integers (Smis) hash and store in a Map without allocating.
    for (let band = 0; band < this.bands; band++) keys[band] = murmur3Words(signature, band * this.rows, (band + 1) * this.rows, this.seed) & 0x3fffffff;
    return keys;
  }

  /**
   * Puts an entry into the bucket of each of its band keys.
   */
  insert(entry: E, keys: Uint32Array): void {
    for (let band = 0; band < this.bands; band++) {
      const map = this.maps[band] as Map<number, E | E[]>;
      const key = keys[band] as number;
      const bucket = map.get(key);
      if (bucket === undefined) map.set(key, entry);
      else if (Array.isArray(bucket)) bucket.push(entry);
      else map.set(key, [bucket, entry]);
    }
  }

  /**
   * Takes an entry out of its buckets (the keys it was inserted with), deleting buckets left empty.
   */
  delete(entry: E, keys: Uint32Array): void {
    for (let band = 0; band < this.bands; band++) {
      const map = this.maps[band] as Map<number, E | E[]>;
      const key = keys[band] as number;
      const bucket = map.get(key);
      if (bucket === entry) {
        map.delete(key);
      } else if (Array.isArray(bucket)) {
        const at = bucket.indexOf(entry);
        if (at < 0) throw new Error('LshBuckets.delete: entry is not in its bucket (index corrupted)');
        bucket[at] = bucket[bucket.length - 1] as E;
        bucket.pop();
        if (bucket.length === 1) map.set(key, bucket[0] as E);
      } else {
        throw new Error('LshBuckets.delete: entry is not in its bucket (index corrupted)');
      }
    }
  }

  /**
   * Calls `visit` for each entry sharing a bucket with `keys`, once per shared band (an entry sharing
   * several bands is visited several times: the caller deduplicates).
   */
  forEachCandidate(keys: Uint32Array, visit: (entry: E) => void): void {
    for (let band = 0; band < this.bands; band++) {
      const bucket = (this.maps[band] as Map<number, E | E[]>).get(keys[band] as number);
      if (bucket === undefined) continue;
      if (Array.isArray(bucket)) for (const entry of bucket) visit(entry);
      else visit(bucket);
    }
  }

  /**
   * Buckets in use over all bands, and entries counted in them (`bands` per entry held), counted
   * from the maps themselves so that a leak shows.
   */
  census(): { buckets: number; memberships: number } {
    let buckets = 0;
    let memberships = 0;
    for (const map of this.maps) {
      buckets += map.size;
      for (const bucket of map.values()) memberships += Array.isArray(bucket) ? bucket.length : 1;
    }
    return { buckets, memberships };
  }
}
