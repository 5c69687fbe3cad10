import { HASH_MULTIPLIER, hashBytes, isValidUtf8, type RankTable } from './rank-table.js';

const NONE = 0x7fffffff;
/** Pieces up to this many bytes merge by scanning for the lowest pair; longer ones through a heap. */
const SCAN_LIMIT = 48;
const PAIR_CACHE_MASK = (1 << 18) - 1;
/** Pieces up to this many bytes have their counts remembered. */
const MEMO_PIECE_BYTES = 64;
const MEMO_ENTRIES = 1 << 14;
const MEMO_BYTES = 1 << 19;

/**
 * A bounded memo of piece counts keyed by bytes: an open-addressing table over a byte buffer,
 * emptied at once when full (16,384 pieces or 512 KB), so its memory is fixed.
 */
class PieceMemo {
  readonly #slots = new Int32Array(MEMO_ENTRIES * 2).fill(-1);
  readonly #hashes = new Int32Array(MEMO_ENTRIES);
  readonly #offsets = new Int32Array(MEMO_ENTRIES);
  readonly #lengths = new Int32Array(MEMO_ENTRIES);
  readonly #counts = new Int32Array(MEMO_ENTRIES);
  readonly #bytes = new Uint8Array(MEMO_BYTES);
  #entries = 0;
  #used = 0;

  #slotOf(hash: number): number {
    const h = Math.imul(hash ^ (hash >>> 15), 0x2c1b3c6d);
    return (h ^ (h >>> 13)) & (MEMO_ENTRIES * 2 - 1);
  }

  /** The remembered count of bytes[0, length), or -1. */
  find(bytes: Uint8Array, length: number, hash: number): number {
    const mask = MEMO_ENTRIES * 2 - 1;
    for (let slot = this.#slotOf(hash); ; slot = (slot + 1) & mask) {
      const entry = this.#slots[slot] as number;
      if (entry < 0) return -1;
      if (this.#hashes[entry] !== hash || this.#lengths[entry] !== length) continue;
      const offset = this.#offsets[entry] as number;
      let same = true;
      for (let i = 0; i < length; i++) {
        if (this.#bytes[offset + i] !== bytes[i]) {
          same = false;
          break;
        }
      }
      if (same) return this.#counts[entry] as number;
    }
  }

  add(bytes: Uint8Array, length: number, hash: number, count: number): void {
    if (this.#entries >= MEMO_ENTRIES || this.#used + length > MEMO_BYTES) {
      this.#slots.fill(-1);
      this.#entries = 0;
      this.#used = 0;
    }
    const entry = this.#entries++;
    this.#hashes[entry] = hash;
    this.#offsets[entry] = this.#used;
    this.#lengths[entry] = length;
    this.#counts[entry] = count;
    this.#bytes.set(bytes.subarray(0, length), this.#used);
    this.#used += length;
    const mask = MEMO_ENTRIES * 2 - 1;
    let slot = this.#slotOf(hash);
    while (this.#slots[slot] !== -1) slot = (slot + 1) & mask;
    this.#slots[slot] = entry;
  }
}

/**
 * Counts the tokens of one pre-tokenizer piece by byte-pair merging, exactly as gpt-tokenizer's
 * BytePairEncodingCore (lowest rank first, leftmost on ties), without building token arrays or
 * strings. Short pieces merge by scanning; long ones through a heap, so a long piece costs
 * O(n log n) instead of O(n^2).
 */
export class PieceCounter {
  readonly #table: RankTable;
  #bytes = new Uint8Array(1024);
  // Scratch for the scanning merge: part starts, part hashes, pair ranks.
  readonly #starts = new Int32Array(SCAN_LIMIT + 1);
  readonly #ranks = new Int32Array(SCAN_LIMIT + 1);
  readonly #pairs = new Int32Array(SCAN_LIMIT + 1);
  // A direct-mapped cache of merges: (left rank, right rank) -> merged rank or NONE.
  readonly #pairKeys = new Float64Array(PAIR_CACHE_MASK + 1).fill(-1);
  readonly #pairValues = new Int32Array(PAIR_CACHE_MASK + 1);
  /** Counts of recent pieces that are not single tokens: words repeat, and merging is the expensive part. */
  readonly #memo = new PieceMemo();
  /** Whether the current piece holds a U+FEFF (whose bytes gpt-tokenizer's lookups treat specially). */
  #bom = false;

  constructor(table: RankTable) {
    this.#table = table;
  }

  /** The token count of `text[start, end)`, a piece the pre-tokenizer produced. */
  count(text: string, start: number, end: number): number {
    const chars = end - start;
    if (chars === 1 && text.charCodeAt(start) < 0x80) return 1;
    if (chars <= 8) {
      // Short ASCII pieces, most words: their hash and bytes as two int32s, one probe, nothing written.
      let hash = 0;
      let first = 0;
      let second = 0;
      let i = start;
      for (; i < end; i++) {
        const code = text.charCodeAt(i);
        if (code >= 0x80) break;
        hash = (Math.imul(hash, HASH_MULTIPLIER) + code) | 0;
        const k = i - start;
        if (k < 4) first |= code << (k << 3);
        else second |= code << ((k - 4) << 3);
      }
      if (i === end) {
        if (chars === 2) return this.#table.bytePairs[((first & 0xff) << 8) | (first >>> 8)] === NONE ? 2 : 1;
        if (this.#table.findPacked(chars, hash, first, second) >= 0) return 1;
      }
    }
    if (this.#bytes.length < chars * 3) this.#bytes = new Uint8Array(Math.max(chars * 3, this.#bytes.length * 2));
    const bytes = this.#bytes;
    // One pass: UTF-8 bytes (lone surrogates as U+FFFD, as TextEncoder writes them) and their hash.
    let hash = 0;
    let at = 0;
    let lone = false;
    let bom = false;
    let ascii = start;
    for (; ascii < end; ascii++) {
      const code = text.charCodeAt(ascii);
      if (code >= 0x80) break;
      bytes[at++] = code;
      hash = (Math.imul(hash, HASH_MULTIPLIER) + code) | 0;
    }
    for (let i = ascii; i < end; i++) {
      let code = text.charCodeAt(i);
      if (code < 0x80) {
        bytes[at++] = code;
        hash = (Math.imul(hash, HASH_MULTIPLIER) + code) | 0;
        continue;
      }
      if (code < 0x800) {
        const first = 0xc0 | (code >> 6);
        const second = 0x80 | (code & 0x3f);
        bytes[at++] = first;
        bytes[at++] = second;
        hash = (Math.imul((Math.imul(hash, HASH_MULTIPLIER) + first) | 0, HASH_MULTIPLIER) + second) | 0;
        continue;
      }
      if (code >= 0xd800 && code < 0xe000) {
        const next = i + 1 < end ? text.charCodeAt(i + 1) : 0;
        if (code < 0xdc00 && next >= 0xdc00 && next < 0xe000) {
          code = 0x10000 + ((code - 0xd800) << 10) + (next - 0xdc00);
          i++;
          const b0 = 0xf0 | (code >> 18);
          const b1 = 0x80 | ((code >> 12) & 0x3f);
          const b2 = 0x80 | ((code >> 6) & 0x3f);
          const b3 = 0x80 | (code & 0x3f);
          bytes[at++] = b0;
          bytes[at++] = b1;
          bytes[at++] = b2;
          bytes[at++] = b3;
          hash = (Math.imul(hash, HASH_MULTIPLIER) + b0) | 0;
          hash = (Math.imul(hash, HASH_MULTIPLIER) + b1) | 0;
          hash = (Math.imul(hash, HASH_MULTIPLIER) + b2) | 0;
          hash = (Math.imul(hash, HASH_MULTIPLIER) + b3) | 0;
          continue;
        }
        code = 0xfffd;
        lone = true;
      } else if (code === 0xfeff) bom = true;
      const b0 = 0xe0 | (code >> 12);
      const b1 = 0x80 | ((code >> 6) & 0x3f);
      const b2 = 0x80 | (code & 0x3f);
      bytes[at++] = b0;
      bytes[at++] = b1;
      bytes[at++] = b2;
      hash = (Math.imul(hash, HASH_MULTIPLIER) + b0) | 0;
      hash = (Math.imul(hash, HASH_MULTIPLIER) + b1) | 0;
      hash = (Math.imul(hash, HASH_MULTIPLIER) + b2) | 0;
    }
    // Two bytes are one token or two (no lone surrogate or BOM is two bytes long).
    if (at === 2) return this.#table.bytePairs[((bytes[0] as number) << 8) | (bytes[1] as number)] === NONE ? 2 : 1;
    // The whole piece is looked up by its text first: a text with a lone surrogate is never a token.
    if (!lone && at <= this.#table.maxLength && this.#table.find(bytes, 0, at, hash) >= 0) return 1;
    const memoized = at <= MEMO_PIECE_BYTES;
    if (memoized) {
      const known = this.#memo.find(bytes, at, hash);
      if (known >= 0) return known;
    }
    this.#bom = bom;
    const count = at <= SCAN_LIMIT ? this.#scanMerge(at) : this.#heapMerge(at);
    if (memoized) this.#memo.add(bytes, at, hash, count);
    return count;
  }

  /** The rank of the bytes [start, end) as gpt-tokenizer finds it, given their hash; NONE when absent. */
  #rank(start: number, end: number, hash: number): number {
    const table = this.#table;
    const bytes = this.#bytes;
    if (this.#bom && bytes[start] === 0xef && bytes[start + 1] === 0xbb && bytes[start + 2] === 0xbf && isValidUtf8(bytes, start, end)) {
      // gpt-tokenizer decodes valid UTF-8 to text to look it up, and the decoder drops a leading BOM.
      if (end - start === 3) return NONE;
      const rank = table.find(bytes, start + 3, end, hashBytes(bytes, start + 3, end));
      return rank < 0 ? NONE : rank;
    }
    if (end - start > table.maxLength) return NONE;
    const rank = table.find(bytes, start, end, hash);
    return rank < 0 ? NONE : rank;
  }

  /** The rank of parts (rank `left`, bytes [start, middle)) and (rank `right`, bytes [middle, end)) merged. */
  #pair(left: number, right: number, start: number, end: number): number {
    if (end - start > this.#table.maxLength && !this.#bom) return NONE;
    // A part's rank stands for its bytes except after gpt-tokenizer's BOM quirk: then skip the cache.
    if (this.#bom) return this.#rank(start, end, hashBytes(this.#bytes, start, end));
    const key = left * 262144 + right;
    let slot = (Math.imul(left, 0x9e3779b1) ^ right) | 0;
    slot = (slot ^ (slot >>> 15)) & PAIR_CACHE_MASK;
    if (this.#pairKeys[slot] === key) return this.#pairValues[slot] as number;
    const rank = this.#rank(start, end, hashBytes(this.#bytes, start, end));
    this.#pairKeys[slot] = key;
    this.#pairValues[slot] = rank;
    return rank;
  }

  #scanMerge(length: number): number {
    const bytes = this.#bytes;
    // Parts are named by their first byte: next part, the part's rank, the rank of it merged with the next.
    const next = this.#starts;
    const ranks = this.#ranks;
    const pairs = this.#pairs;
    const byteRanks = this.#table.byteRanks;
    const bytePairs = this.#table.bytePairs;
    for (let i = 0; i < length; i++) {
      next[i] = i + 1;
      ranks[i] = byteRanks[bytes[i] as number] as number;
      pairs[i] = i + 1 < length ? (bytePairs[((bytes[i] as number) << 8) | (bytes[i + 1] as number)] as number) : NONE;
    }
    let parts = length;
    for (;;) {
      let lowest = NONE;
      let at = -1;
      let before = -1;
      for (let i = 0, previous = -1; i < length; previous = i, i = next[i] as number) {
        const rank = pairs[i] as number;
        if (rank < lowest) {
          lowest = rank;
          at = i;
          before = previous;
        }
      }
      if (at < 0) return parts;
      const end = next[next[at] as number] as number;
      ranks[at] = lowest;
      next[at] = end;
      parts--;
      pairs[at] = end < length ? this.#pair(lowest, ranks[end] as number, at, next[end] as number) : NONE;
      if (before >= 0) pairs[before] = this.#pair(ranks[before] as number, lowest, before, end);
    }
  }

  // Scratch for the heap merge, grown as needed.
  #next = new Int32Array(0);
  #prev = new Int32Array(0);
  #partRank = new Int32Array(0);
  #pairRankAt = new Int32Array(0);
  #heap = new Float64Array(0);

  #heapMerge(length: number): number {
    if (this.#next.length < length + 1) {
      const size = Math.max(length + 1, this.#next.length * 2);
      this.#next = new Int32Array(size);
      this.#prev = new Int32Array(size);
      this.#partRank = new Int32Array(size);
      this.#pairRankAt = new Int32Array(size);
      // Stale entries stay in the heap: n - 1 pairs at first, at most two more per merge.
      this.#heap = new Float64Array(3 * size);
    }
    const bytes = this.#bytes;
    const next = this.#next;
    const prev = this.#prev;
    const partRank = this.#partRank;
    const byteRanks = this.#table.byteRanks;
    const pairRankAt = this.#pairRankAt;
    const heap = this.#heap;
    // Parts are named by their first byte; a merged-away part has prev -2.
    for (let i = 0; i < length; i++) {
      next[i] = i + 1;
      prev[i] = i - 1;
      partRank[i] = byteRanks[bytes[i] as number] as number;
    }
    let size = 0;
    const push = (key: number): void => {
      let at = size++;
      while (at > 0) {
        const parent = (at - 1) >> 1;
        if ((heap[parent] as number) <= key) break;
        heap[at] = heap[parent] as number;
        at = parent;
      }
      heap[at] = key;
    };
    const pop = (): number => {
      const top = heap[0] as number;
      const last = heap[--size] as number;
      let at = 0;
      for (;;) {
        let child = 2 * at + 1;
        if (child >= size) break;
        if (child + 1 < size && (heap[child + 1] as number) < (heap[child] as number)) child++;
        if ((heap[child] as number) >= last) break;
        heap[at] = heap[child] as number;
        at = child;
      }
      heap[at] = last;
      return top;
    };
    // A pair's key orders by rank, then by position: the leftmost of equal ranks merges first.
    const rankPair = (start: number): number => {
      const middle = next[start] as number;
      if (middle >= length) return NONE;
      return this.#pair(partRank[start] as number, partRank[middle] as number, start, next[middle] as number);
    };
    for (let i = 0; i < length - 1; i++) {
      const rank = rankPair(i);
      pairRankAt[i] = rank;
      if (rank !== NONE) push(rank * 4294967296 + i);
    }
    pairRankAt[length - 1] = NONE;
    let parts = length;
    while (size > 0) {
      const key = pop();
      const start = key % 4294967296;
      const rank = (key - start) / 4294967296;
      if (prev[start] === -2 || pairRankAt[start] !== rank) continue; // stale
      const middle = next[start] as number;
      const end = next[middle] as number;
      partRank[start] = rank;
      next[start] = end;
      if (end < length) prev[end] = start;
      prev[middle] = -2;
      parts--;
      const after = rankPair(start);
      pairRankAt[start] = after;
      if (after !== NONE) push(after * 4294967296 + start);
      const before = prev[start] as number;
      if (before >= 0) {
        const rankBefore = rankPair(before);
        pairRankAt[before] = rankBefore;
        if (rankBefore !== NONE) push(rankBefore * 4294967296 + before);
      }
    }
    return parts;
  }
}
