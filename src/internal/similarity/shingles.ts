import { murmur3Words } from './hash.js';

/**
 * Character shingling of normalized text and the exact Jaccard similarity of shingle sets.
 *
 * A shingle is a run of `size` consecutive Unicode code points (not UTF-16 code units, so an emoji
 * or a CJK extension character is one character and a surrogate pair is never split). Each shingle
 * is stored as its 32-bit MurmurHash3 fingerprint; a set is a sorted `Uint32Array` without repeats.
 */

/**
 * The code points of a string; an unpaired surrogate stands for itself.
 */
export function codePoints(text: string): Uint32Array {
  const out = new Uint32Array(text.length);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        out[n++] = ((unit - 0xd800) << 10) + (next - 0xdc00) + 0x10000;
        i++;
        continue;
      }
    }
    out[n++] = unit;
  }
  return out.subarray(0, n);
}

/**
 * The shingle set of a (normalized) text: the fingerprints of every run of `size` code points,
 * sorted ascending, without repeats. A non-empty text shorter than `size` is one shingle, itself; the
 * empty text has no shingles.
 */
export function shingleSet(text: string, size: number, seed: number): Uint32Array {
  const cps = codePoints(text);
  if (cps.length === 0) return new Uint32Array(0);
  if (cps.length <= size) return Uint32Array.of(murmur3Words(cps, 0, cps.length, seed));
  const count = cps.length - size + 1;
  const hashes = new Uint32Array(count);
  for (let i = 0; i < count; i++) hashes[i] = murmur3Words(cps, i, i + size, seed);
  hashes.sort();
  let unique = 1;
  for (let i = 1; i < count; i++) if (hashes[i] !== hashes[unique - 1]) hashes[unique++] = hashes[i] as number;
  return hashes.slice(0, unique);
}

/**
 * The Jaccard similarity |A ∩ B| / |A ∪ B| of two sorted, repeat-free shingle sets, computed exactly
 * by one merge pass. Two empty sets are identical (1).
 */
export function jaccard(a: Uint32Array, b: Uint32Array): number {
  const na = a.length;
  const nb = b.length;
  if (na === 0 || nb === 0) return na === nb ? 1 : 0;
  let i = 0;
  let j = 0;
  let common = 0;
  while (i < na && j < nb) {
    const x = a[i] as number;
    const y = b[j] as number;
    if (x === y) {
      common++;
      i++;
      j++;
    } else if (x < y) i++;
    else j++;
  }
  return common / (na + nb - common);
}

/**
 * The exact Jaccard similarity of two sorted, repeat-free shingle sets if it is at least
 * `threshold`, else -1, found faster than {@link jaccard} by giving up as soon as one side has
 * more unshared shingles than the threshold allows: J ≥ t needs |A ∩ B| ≥ t(|A| + |B|) / (1 + t),
 * so at most |A| minus that many shingles of A may be missing from B (and the same for B). When it
 * returns a similarity, it is the same number `jaccard` returns.
 */
export function jaccardAtLeast(a: Uint32Array, b: Uint32Array, threshold: number): number {
  const na = a.length;
  const nb = b.length;
  if (na === 0 || nb === 0) return jaccard(a, b) >= threshold ? jaccard(a, b) : -1;
  // The least intersection that can reach the threshold, rounded down a hair so that floating
  // point never makes it stricter than the exact test below.
  const need = Math.ceil((threshold * (na + nb)) / (1 + threshold) - 1e-9);
  let missesLeftA = na - need;
  let missesLeftB = nb - need;
  if (missesLeftA < 0 || missesLeftB < 0) return -1;
  let i = 0;
  let j = 0;
  let common = 0;
  while (i < na && j < nb) {
    const x = a[i] as number;
    const y = b[j] as number;
    if (x === y) {
      common++;
      i++;
      j++;
    } else if (x < y) {
      i++;
      if (--missesLeftA < 0) return -1;
    } else {
      j++;
      if (--missesLeftB < 0) return -1;
    }
  }
  const similarity = common / (na + nb - common);
  return similarity >= threshold ? similarity : -1;
}
