import { seededUint32 } from './hash.js';

/**
 * MinHash signatures: for each of `numPerm` random permutations π of the 32-bit integers, the
 * minimum of π over a shingle set. Two sets agree at a position with probability equal to their
 * Jaccard similarity.
 *
 * The permutations are π(x) = fmix32(a·x + b mod 2³²) with `a` odd and `b` drawn from a seeded
 * generator: the affine step is a bijection (a is odd) and so is MurmurHash3's finalizer, so each π
 * is a true permutation, and the finalizer's avalanche makes the minima behave as independent
 * min-wise hashes (the tests check collision rates against Jaccard, for random and for consecutive
 * inputs). This keeps to 32-bit integer arithmetic (`Math.imul`), where the textbook
 * `(a·x + b) mod (2⁶¹ − 1)` would need 64-bit products that JavaScript numbers cannot hold.
 */
export class MinHasher {
  readonly numPerm: number;
  private readonly a: Int32Array;
  private readonly b: Int32Array;

  /**
   * @param numPerm - the signature length
   * @param seed - picks the permutations; the same seed gives the same signatures
   */
  constructor(numPerm: number, seed: number) {
    this.numPerm = numPerm;
    this.a = new Int32Array(numPerm);
    this.b = new Int32Array(numPerm);
    const next = seededUint32(seed);
    for (let i = 0; i < numPerm; i++) {
      this.a[i] = next() | 1;
      this.b[i] = next();
    }
  }

  /**
   * The signature of a non-empty shingle set (the empty set has none: all positions would be the
   * maximum, which would make every empty set look identical to the LSH).
   */
  signature(shingles: Uint32Array): Uint32Array {
    const out = new Uint32Array(this.numPerm);
    const n = shingles.length;
    for (let p = 0; p < this.numPerm; p++) {
      const a = this.a[p] as number;
      const b = this.b[p] as number;
      let min = 0xffffffff;
      for (let i = 0; i < n; i++) {
        let h = (Math.imul(a, shingles[i] as number) + b) | 0;
        h ^= h >>> 16;
        h = Math.imul(h, 0x85ebca6b);
        h ^= h >>> 13;
        h = Math.imul(h, 0xc2b2ae35);
        h = (h ^ (h >>> 16)) >>> 0;
        if (h < min) min = h;
      }
      out[p] = min;
    }
    return out;
  }
}
