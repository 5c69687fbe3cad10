/**
 * The 32-bit hashing core of near-duplicate detection: MurmurHash3 (x86, 32-bit) over 32-bit words
 * and a seeded generator for hash-family coefficients. Written here rather than taken from npm
 * because the library keeps its dependencies to a few, and the common packages get Unicode wrong
 * (murmurhash-js hashes `charCodeAt(i) & 0xff`, so texts differing only in a non-Latin-1 letter
 * collide).
 */

/**
 * MurmurHash3's finalizer: a bijection on 32-bit integers with full avalanche.
 */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * MurmurHash3_x86_32 of `words[start..end)` taken as 32-bit little-endian blocks: for Unicode code
 * points this is exactly the MurmurHash3 of the text's UTF-32LE bytes, so every code point counts in
 * full (no truncation to a byte) and the result matches any standard implementation fed those bytes.
 */
export function murmur3Words(words: ArrayLike<number>, start: number, end: number, seed: number): number {
  let h = seed | 0;
  for (let i = start; i < end; i++) {
    let k = Math.imul(words[i] as number, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  return fmix32(h ^ ((end - start) * 4));
}

/**
 * A seeded generator of uniformly distributed unsigned 32-bit integers (SplitMix32: a Weyl sequence
 * through the MurmurHash3 finalizer). Deterministic for a seed; for hash coefficients and for
 * reproducible benchmarks, not for cryptography.
 */
export function seededUint32(seed: number): () => number {
  let state = seed | 0;
  return () => {
    state = (state + 0x9e3779b9) | 0;
    return fmix32(state);
  };
}
