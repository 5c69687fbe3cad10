/**
 * A byte-keyed rank table for a byte-level BPE encoding: every token's bytes in one buffer and an
 * open-addressing hash table over them, so a rank is found from a span of bytes and its hash,
 * without building a string. Built from gpt-tokenizer's rank arrays.
 */

/** The multiplier of the polynomial byte hash: hash(bytes) = fold of hash * HASH_MULTIPLIER + byte. */
export const HASH_MULTIPLIER = 0x01000193;

/** What gpt-tokenizer ships per encoding: a token's text, or its bytes when they are not valid UTF-8. */
export type RawRanks = readonly (string | readonly number[])[];

const EMPTY = -1;

/**
 * Whether `bytes[start, end)` is valid UTF-8 (no overlong forms, surrogates or code points past
 * U+10FFFF): gpt-tokenizer looks up valid sequences by text and the others by bytes, and the
 * counter must find exactly the entries it finds.
 */
export function isValidUtf8(bytes: Uint8Array, start: number, end: number): boolean {
  let i = start;
  while (i < end) {
    const lead = bytes[i] as number;
    if (lead < 0x80) {
      i++;
      continue;
    }
    let size: number;
    let point: number;
    if (lead >= 0xc2 && lead < 0xe0) {
      size = 2;
      point = lead & 0x1f;
    } else if (lead >= 0xe0 && lead < 0xf0) {
      size = 3;
      point = lead & 0x0f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      size = 4;
      point = lead & 0x07;
    } else return false;
    if (i + size > end) return false;
    for (let j = 1; j < size; j++) {
      const next = bytes[i + j] as number;
      if ((next & 0xc0) !== 0x80) return false;
      point = (point << 6) | (next & 0x3f);
    }
    if (size === 3 && (point < 0x800 || (point >= 0xd800 && point <= 0xdfff))) return false;
    if (size === 4 && (point < 0x10000 || point > 0x10ffff)) return false;
    i += size;
  }
  return true;
}

/** Appends the UTF-8 encoding of `text` to `out` at `at` (lone surrogates as U+FFFD); returns the new end. */
export function encodeUtf8(text: string, start: number, end: number, out: Uint8Array, at: number): number {
  for (let i = start; i < end; i++) {
    let code = text.charCodeAt(i);
    if (code < 0x80) {
      out[at++] = code;
      continue;
    }
    if (code < 0x800) {
      out[at++] = 0xc0 | (code >> 6);
      out[at++] = 0x80 | (code & 0x3f);
      continue;
    }
    if (code >= 0xd800 && code < 0xe000) {
      const next = i + 1 < end ? text.charCodeAt(i + 1) : 0;
      if (code < 0xdc00 && next >= 0xdc00 && next < 0xe000) {
        code = 0x10000 + ((code - 0xd800) << 10) + (next - 0xdc00);
        i++;
        out[at++] = 0xf0 | (code >> 18);
        out[at++] = 0x80 | ((code >> 12) & 0x3f);
        out[at++] = 0x80 | ((code >> 6) & 0x3f);
        out[at++] = 0x80 | (code & 0x3f);
        continue;
      }
      code = 0xfffd;
    }
    out[at++] = 0xe0 | (code >> 12);
    out[at++] = 0x80 | ((code >> 6) & 0x3f);
    out[at++] = 0x80 | (code & 0x3f);
  }
  return at;
}

/** The polynomial hash of `bytes[start, end)`. */
export function hashBytes(bytes: Uint8Array, start: number, end: number): number {
  let hash = 0;
  for (let i = start; i < end; i++) hash = (Math.imul(hash, HASH_MULTIPLIER) + (bytes[i] as number)) | 0;
  return hash;
}

/**
 * Int32s per slot of the hash table: hash, rank | length << 18, and the first 8 bytes, so a lookup
 * of a token up to 8 bytes long reads one cache line.
 */
const RECORD = 4;

/** Up to 4 bytes of bytes[start, end) as one little-endian int32, zero-padded. */
function packWord(bytes: Uint8Array, start: number, end: number): number {
  let word = 0;
  for (let k = 0; k < 4 && start + k < end; k++) word |= (bytes[start + k] as number) << (8 * k);
  return word;
}

function slotOf(hash: number, mask: number): number {
  let h = hash ^ (hash >>> 16);
  h = Math.imul(h, 0x45d9f3b);
  h ^= h >>> 16;
  return h & mask;
}

/**
 * Builds a {@link RankTable} in steps, so an async load can yield to the event loop between them.
 */
export class RankTableBuilder {
  readonly #ranks: RawRanks;
  #bytes: Uint8Array;
  readonly #offsets: Int32Array;
  readonly #lengths: Uint8Array;
  readonly #slots: Int32Array;
  readonly #mask: number;
  #used = 0;
  #maxLength = 0;
  #next = 0;

  constructor(ranks: RawRanks) {
    const count = ranks.length;
    this.#ranks = ranks;
    this.#bytes = new Uint8Array(count * 8 + 1024);
    this.#offsets = new Int32Array(count).fill(-1);
    this.#lengths = new Uint8Array(count);
    let size = 1;
    while (size < count * 2) size <<= 1;
    this.#slots = new Int32Array(size * RECORD);
    for (let i = 1; i < this.#slots.length; i += RECORD) this.#slots[i] = EMPTY;
    this.#mask = size - 1;
  }

  /** Whether every rank has been added. */
  get done(): boolean {
    return this.#next >= this.#ranks.length;
  }

  /** Adds up to `limit` more ranks. */
  step(limit: number): void {
    const ranks = this.#ranks;
    const end = Math.min(ranks.length, this.#next + limit);
    for (let rank = this.#next; rank < end; rank++) {
      const entry = ranks[rank];
      if (entry === undefined) continue;
      if (this.#bytes.length - this.#used < 4 * 256) {
        const grown = new Uint8Array(this.#bytes.length * 2);
        grown.set(this.#bytes.subarray(0, this.#used));
        this.#bytes = grown;
      }
      const bytes = this.#bytes;
      const start = this.#used;
      let used = start;
      if (typeof entry === 'string') used = encodeUtf8(entry, 0, entry.length, bytes, used);
      else {
        for (const byte of entry) bytes[used++] = byte;
        // gpt-tokenizer reads valid UTF-8 back as text (dropping a leading BOM), so it never finds
        // these entries by their bytes; neither may the counter.
        if (isValidUtf8(bytes, start, used)) continue;
      }
      const length = used - start;
      if (length === 0 || length > 255) throw new RangeError(`rank table: token ${rank} has ${length} bytes`);
      this.#used = used;
      this.#offsets[rank] = start;
      this.#lengths[rank] = length;
      const hash = hashBytes(bytes, start, used);
      if (length > this.#maxLength) this.#maxLength = length;
      let slot = slotOf(hash, this.#mask);
      while (this.#slots[slot * RECORD + 1] !== EMPTY) slot = (slot + 1) & this.#mask;
      const record = slot * RECORD;
      this.#slots[record] = hash;
      this.#slots[record + 1] = rank | (length << 18);
      this.#slots[record + 2] = packWord(bytes, start, used);
      this.#slots[record + 3] = packWord(bytes, start + 4, used);
    }
    this.#next = end;
  }

  /** The finished table (adds what is left first). */
  finish(): RankTable {
    this.step(Number.POSITIVE_INFINITY);
    return new RankTable(this.#bytes.slice(0, this.#used), this.#offsets, this.#lengths, this.#slots, this.#maxLength);
  }
}

/** Builds a whole {@link RankTable} at once. */
export function buildRankTable(ranks: RawRanks): RankTable {
  return new RankTableBuilder(ranks).finish();
}

/** Ranks by bytes: every token's bytes in one buffer, found through an open-addressing table of hashes. */
export class RankTable {
  /** The longest token in bytes: longer spans are never tokens. */
  readonly maxLength: number;
  /** The rank of each single byte. */
  readonly byteRanks: Int32Array;
  /** The rank of each two-byte sequence (first byte << 8 | second), or 0x7fffffff. */
  readonly bytePairs: Int32Array;
  readonly #bytes: Uint8Array;
  readonly #offsets: Int32Array;
  readonly #lengths: Uint8Array;
  readonly #slots: Int32Array;
  readonly #mask: number;

  constructor(bytes: Uint8Array, offsets: Int32Array, lengths: Uint8Array, slots: Int32Array, maxLength: number) {
    this.#bytes = bytes;
    this.#offsets = offsets;
    this.#lengths = lengths;
    this.#slots = slots;
    this.#mask = slots.length / RECORD - 1;
    this.maxLength = maxLength;
    const probe = new Uint8Array(2);
    this.byteRanks = new Int32Array(256);
    this.bytePairs = new Int32Array(65536).fill(0x7fffffff);
    for (let first = 0; first < 256; first++) {
      probe[0] = first;
      const rank = this.find(probe, 0, 1, first);
      if (rank < 0) throw new RangeError(`rank table: byte ${first} has no token`);
      this.byteRanks[first] = rank;
    }
    for (let rank = 0; rank < lengths.length; rank++) {
      if (lengths[rank] !== 2) continue;
      const offset = offsets[rank] as number;
      this.bytePairs[((bytes[offset] as number) << 8) | (bytes[offset + 1] as number)] = rank;
    }
  }

  /** The rank of the token whose bytes are `bytes[start, end)` (hash given), or -1. */
  find(bytes: Uint8Array, start: number, end: number, hash: number): number {
    const length = end - start;
    if (length > this.maxLength) return -1;
    const slots = this.#slots;
    const mask = this.#mask;
    const first = packWord(bytes, start, end);
    const second = length > 4 ? packWord(bytes, start + 4, end) : 0;
    for (let slot = slotOf(hash, mask); ; slot = (slot + 1) & mask) {
      const record = slot * RECORD;
      const meta = slots[record + 1] as number;
      if (meta === EMPTY) return -1;
      if (slots[record] !== hash || meta >>> 18 !== length || slots[record + 2] !== first || slots[record + 3] !== second) continue;
      const rank = meta & 0x3ffff;
      if (length <= 8 || this.#same(rank, bytes, start, length)) return rank;
    }
  }

  /** {@link find} for a token of at most 8 bytes given as two little-endian int32s (zero-padded). */
  findPacked(length: number, hash: number, first: number, second: number): number {
    const slots = this.#slots;
    const mask = this.#mask;
    for (let slot = slotOf(hash, mask); ; slot = (slot + 1) & mask) {
      const record = slot * RECORD;
      const meta = slots[record + 1] as number;
      if (meta === EMPTY) return -1;
      if (slots[record] === hash && meta >>> 18 === length && slots[record + 2] === first && slots[record + 3] === second) return meta & 0x3ffff;
    }
  }

  #same(rank: number, bytes: Uint8Array, start: number, length: number): boolean {
    const own = this.#bytes;
    const offset = this.#offsets[rank] as number;
    for (let i = 0; i < length; i++) if (own[offset + i] !== bytes[start + i]) return false;
    return true;
  }

  /** The byte length of token `rank`. */
  lengthOf(rank: number): number {
    return this.#lengths[rank] as number;
  }
}
