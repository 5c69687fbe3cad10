import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fmix32, murmur3Words, seededUint32 } from '../../src/internal/similarity/hash.js';
import { codePoints, shingleSet } from '../../src/internal/similarity/shingles.js';

/** Reference MurmurHash3_x86_32 over bytes, written from the spec, checked on published vectors below. */
function murmur3Bytes(bytes: Uint8Array, seed: number): number {
  let h = seed >>> 0;
  const blocks = bytes.length >>> 2;
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  for (let b = 0; b < blocks; b++) {
    const i = b * 4;
    let k = (bytes[i] as number) | ((bytes[i + 1] as number) << 8) | ((bytes[i + 2] as number) << 16) | ((bytes[i + 3] as number) << 24);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = blocks * 4;
  let k = 0;
  switch (bytes.length & 3) {
    case 3:
      k ^= (bytes[tail + 2] as number) << 16;
    // falls through
    case 2:
      k ^= (bytes[tail + 1] as number) << 8;
    // falls through
    case 1:
      k ^= bytes[tail] as number;
      k = Math.imul(k, c1);
      k = (k << 15) | (k >>> 17);
      k = Math.imul(k, c2);
      h ^= k;
  }
  h ^= bytes.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function utf32le(text: string): Uint8Array {
  const cps = [...text].map((c) => c.codePointAt(0) as number);
  const out = new Uint8Array(cps.length * 4);
  const view = new DataView(out.buffer);
  cps.forEach((cp, i) => view.setUint32(i * 4, cp, true));
  return out;
}

describe('murmur3Words', () => {
  it('the byte reference reproduces published MurmurHash3_x86_32 vectors', () => {
    const ascii = (s: string) => new TextEncoder().encode(s);
    expect(murmur3Bytes(ascii(''), 0)).toBe(0);
    expect(murmur3Bytes(ascii(''), 1)).toBe(0x514e28b7);
    expect(murmur3Bytes(ascii(''), 0xffffffff)).toBe(0x81f16f39);
    expect(murmur3Bytes(new Uint8Array(4), 0)).toBe(0x2362f9de);
    expect(murmur3Bytes(ascii('test'), 0)).toBe(0xba6bd213);
    expect(murmur3Bytes(ascii('Hello, world!'), 0x9747b28c)).toBe(0x24884cba);
    expect(murmur3Bytes(ascii('The quick brown fox jumps over the lazy dog'), 0x9747b28c)).toBe(0x2fa826cd);
  });

  it('equals MurmurHash3_x86_32 of the UTF-32LE bytes, for any Unicode text (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 30 }), fc.integer({ min: 0, max: 0xffffffff }), (text, seed) => {
        const cps = codePoints(text);
        expect(murmur3Words(cps, 0, cps.length, seed)).toBe(murmur3Bytes(utf32le(text), seed));
      }),
      { seed: 3, numRuns: 1000 },
    );
  });

  it('hashes only the given range', () => {
    const cps = codePoints('xabcx');
    expect(murmur3Words(cps, 1, 4, 7)).toBe(murmur3Words(codePoints('abc'), 0, 3, 7));
  });
});

describe('shingle fingerprints of non-ASCII text', () => {
  it('differ for characters that agree in their low byte (the murmurhash-js collision)', () => {
    // U+0438 'и' and U+0038 '8' share the low byte 0x38; so do 'ł' (U+0142) and 'B' (U+0042).
    expect(shingleSet('при', 3, 1)[0]).not.toBe(shingleSet('пр8', 3, 1)[0]);
    expect(shingleSet('łódź', 4, 1)[0]).not.toBe(shingleSet('Bódź', 4, 1)[0]);
    expect(shingleSet('日本語', 3, 1)[0]).not.toBe(shingleSet('日本誤', 3, 1)[0]);
    expect(shingleSet('😀ab', 3, 1)[0]).not.toBe(shingleSet('😁ab', 3, 1)[0]);
  });

  it('differ whenever two shingles differ in one character (property, any code points)', () => {
    const char = fc.string({ unit: 'binary', minLength: 1, maxLength: 1 });
    fc.assert(
      fc.property(fc.array(char, { minLength: 3, maxLength: 3 }), fc.integer({ min: 0, max: 2 }), char, (chars, at, replacement) => {
        fc.pre(replacement !== chars[at]);
        const changed = [...chars];
        changed[at] = replacement;
        expect(shingleSet(changed.join(''), 3, 1)).not.toEqual(shingleSet(chars.join(''), 3, 1));
      }),
      { seed: 4, numRuns: 1000 },
    );
  });
});

describe('seededUint32 and fmix32', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    const a = seededUint32(42);
    const b = seededUint32(42);
    const c = seededUint32(43);
    const first = [a(), a(), a()];
    expect([b(), b(), b()]).toEqual(first);
    expect([c(), c(), c()]).not.toEqual(first);
  });

  it('spreads evenly over 16 buckets of the high bits (chi-square)', () => {
    const next = seededUint32(9);
    const counts = new Array<number>(16).fill(0);
    const n = 160_000;
    for (let i = 0; i < n; i++) {
      const bucket = next() >>> 28;
      counts[bucket] = (counts[bucket] as number) + 1;
    }
    const expected = n / 16;
    const chi = counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
    expect(chi).toBeLessThan(37.7); // p = 0.001 for 15 degrees of freedom
  });

  it('fmix32 is a bijection on a sample (no collisions among 100,000 consecutive inputs)', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 100_000; i++) seen.add(fmix32(i));
    expect(seen.size).toBe(100_000);
  });
});
