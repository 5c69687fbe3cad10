/**
 * The pre-tokenizers of o200k_base and cl100k_base as hand-written scanners: each returns where
 * the piece that starts at a position ends, exactly where gpt-tokenizer's split pattern (a
 * JavaScript regular expression with the `u` flag, alternatives tried in order, greedy with
 * backtracking) ends its match, without allocating a match or a string. The differential tests
 * hold them to the patterns on arbitrary Unicode.
 */

const LETTER = 1; // \p{L}
const UPPER = 2; // [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]
const LOWER = 4; // [\p{Ll}\p{Lm}\p{Lo}\p{M}]
const NUMBER = 8; // \p{N}
const SPACE = 16; // \s
const NEWLINE = 32; // [\r\n]
/** Characters that may open a word: [^\r\n\p{L}\p{N}]. */
const NOT_PREFIX = LETTER | NUMBER | NEWLINE;
/** [^\s\p{L}\p{N}]: punctuation, symbols, marks, emoji. */
const NOT_OTHER = LETTER | NUMBER | SPACE;

const TESTS: readonly [RegExp, number][] = [
  [/\p{L}/u, LETTER],
  [/[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]/u, UPPER],
  [/[\p{Ll}\p{Lm}\p{Lo}\p{M}]/u, LOWER],
  [/\p{N}/u, NUMBER],
  [/\s/u, SPACE],
];

/** Classes by code point, in blocks of 256 classified on first sight (the pattern's own tests). */
const blocks: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(0x1100);

function classifyBlock(block: number): Uint8Array {
  const classes = new Uint8Array(256);
  for (let i = 0; i < 256; i++) {
    const point = (block << 8) | i;
    // A lone surrogate is a code point of its own (category Cs) to a `u` pattern.
    if (point >= 0xd800 && point < 0xe000) continue;
    const char = String.fromCodePoint(point);
    let flags = point === 10 || point === 13 ? NEWLINE : 0;
    for (const [test, flag] of TESTS) if (test.test(char)) flags |= flag;
    classes[i] = flags;
  }
  blocks[block] = classes;
  return classes;
}

const ASCII = /* @__PURE__ */ classifyBlock(0).subarray(0, 128);

/** The width in code units of the code point last read by {@link classAt}. */
let width = 1;

/** The classes of the code point at `i` (a surrogate pair is one code point; sets `width`). */
function classAt(text: string, i: number): number {
  const code = text.charCodeAt(i);
  if (code < 0x80) {
    width = 1;
    return ASCII[code] as number;
  }
  let point = code;
  width = 1;
  if (code >= 0xd800 && code < 0xdc00 && i + 1 < text.length) {
    const next = text.charCodeAt(i + 1);
    if (next >= 0xdc00 && next < 0xe000) {
      point = 0x10000 + ((code - 0xd800) << 10) + (next - 0xdc00);
      width = 2;
    }
  }
  const block = blocks[point >> 8] ?? classifyBlock(point >> 8);
  return block[point & 0xff] as number;
}

/** {@link classAt} with the ASCII case inline. */
function classOf(text: string, i: number): number {
  const code = text.charCodeAt(i);
  if (code < 0x80) {
    width = 1;
    return ASCII[code] as number;
  }
  return classAt(text, i);
}

/** Past an optional contraction ('s 'd 'm 't 'll 've 're, either case) at `i`. */
function contraction(text: string, i: number): number {
  if (i + 1 >= text.length || text.charCodeAt(i) !== 0x27) return i;
  const first = text.charCodeAt(i + 1) | 0x20;
  if (first === 0x73 || first === 0x64 || first === 0x6d || first === 0x74) return i + 2; // s d m t
  if (i + 2 >= text.length) return i;
  const second = text.charCodeAt(i + 2) | 0x20;
  if ((first === 0x6c && second === 0x6c) || (first === 0x76 && second === 0x65) || (first === 0x72 && second === 0x65)) return i + 3; // ll ve re
  return i;
}

/** o200k's first word pattern at `j`: [UPPER]*[LOWER]+ then a contraction; -1 when it fails. */
function lowerWord(text: string, j: number): number {
  const length = text.length;
  let k = j;
  let lastLower = -1;
  let flags = 0;
  let step = 1;
  while (k < length) {
    const code = text.charCodeAt(k);
    if (code < 0x80) {
      flags = ASCII[code] as number;
      step = 1;
    } else {
      flags = classAt(text, k);
      step = width;
    }
    if (!(flags & UPPER)) break;
    k += step;
    if (flags & LOWER) lastLower = k;
  }
  if (k < length && flags & LOWER) {
    // The run of [LOWER] starts right where the [UPPER] run ends.
    k += step;
    while (k < length) {
      const code = text.charCodeAt(k);
      if (code < 0x80) {
        if (!((ASCII[code] as number) & LOWER)) break;
        k++;
      } else {
        if (!(classAt(text, k) & LOWER)) break;
        k += width;
      }
    }
    return contraction(text, k);
  }
  // Backtracking: the last [LOWER] inside the [UPPER] run ends the word.
  return lastLower < 0 ? -1 : contraction(text, lastLower);
}

/** o200k's second word pattern at `j`: [UPPER]+[LOWER]* then a contraction; -1 when it fails. */
function upperWord(text: string, j: number): number {
  const length = text.length;
  if (j >= length || !(classOf(text, j) & UPPER)) return -1;
  let k = j + width;
  while (k < length && classOf(text, k) & UPPER) k += width;
  while (k < length && classOf(text, k) & LOWER) k += width;
  return contraction(text, k);
}

/** The end of a run of white space starting at `i`, and the index after its last \r or \n (or -1). */
let lastNewlineEnd = -1;
function spaceRun(text: string, i: number): number {
  const length = text.length;
  let k = i;
  lastNewlineEnd = -1;
  while (k < length) {
    const code = text.charCodeAt(k);
    if (code === 10 || code === 13) lastNewlineEnd = k + 1;
    else if (code < 0x80 ? !((ASCII[code] as number) & SPACE) : !(classAt(text, k) & SPACE)) break;
    k++; // white space is all in the BMP
  }
  return k;
}

/** ` ?[^\s\p{L}\p{N}]+` at `i` followed by a run of `tail` characters; -1 when it fails. */
function symbols(text: string, i: number, first: number, withSlash: boolean): number {
  const length = text.length;
  let k = i;
  if (text.charCodeAt(i) === 0x20) {
    if (i + 1 >= length || classOf(text, i + 1) & NOT_OTHER) return -1;
    k = i + 1;
  } else if (first & NOT_OTHER) return -1;
  while (k < length) {
    const code = text.charCodeAt(k);
    if (code < 0x80) {
      if ((ASCII[code] as number) & NOT_OTHER) break;
      k++;
    } else {
      if (classAt(text, k) & NOT_OTHER) break;
      k += width;
    }
  }
  while (k < length) {
    const code = text.charCodeAt(k);
    if (code !== 10 && code !== 13 && !(withSlash && code === 0x2f)) break;
    k++;
  }
  return k;
}

function isBetween(code: number, low: number, high: number): boolean {
  return code >= low && code <= high;
}

function isAsciiLetter(code: number): boolean {
  return (code | 0x20) >= 0x61 && (code | 0x20) <= 0x7a;
}

function digits(text: string, i: number): number {
  let k = i;
  for (let n = 0; n < 3 && k < text.length && classOf(text, k) & NUMBER; n++) k += width;
  return k;
}

/** Where o200k_base's piece starting at `i` (< text.length) ends. */
export function o200kPieceEnd(text: string, i: number): number {
  // The common case first: an ASCII word, maybe after a space, that ASCII ends.
  const length = text.length;
  let k = text.charCodeAt(i) === 0x20 ? i + 1 : i;
  const wordStart = k;
  while (k < length && isBetween(text.charCodeAt(k), 0x41, 0x5a)) k++; // [A-Z]*
  const upperEnd = k;
  while (k < length && isBetween(text.charCodeAt(k), 0x61, 0x7a)) k++; // [a-z]*
  if (k > wordStart && (k === length || text.charCodeAt(k) < 0x80)) {
    // [UPPER]*[LOWER]+ when there are lower-case letters, else [UPPER]+ with no [LOWER] after it.
    return contraction(text, k > upperEnd ? k : upperEnd);
  }
  const first = classOf(text, i);
  const firstWidth = width;
  const prefix = !(first & NOT_PREFIX);
  let end: number;
  if (prefix && (end = lowerWord(text, i + firstWidth)) >= 0) return end;
  if ((end = lowerWord(text, i)) >= 0) return end;
  if (prefix && (end = upperWord(text, i + firstWidth)) >= 0) return end;
  if ((end = upperWord(text, i)) >= 0) return end;
  if (first & NUMBER) return digits(text, i);
  if ((end = symbols(text, i, first, true)) >= 0) return end;
  const runEnd = spaceRun(text, i);
  if (lastNewlineEnd >= 0) return lastNewlineEnd; // \s*[\r\n]+
  if (runEnd === text.length || runEnd - i < 2) return runEnd; // \s+(?!\S) at the end, or \s+
  return runEnd - 1; // \s+(?!\S): leave the last space to the next word
}

/** Where cl100k_base's piece starting at `i` (< text.length) ends. */
export function cl100kPieceEnd(text: string, i: number): number {
  const length = text.length;
  const code = text.charCodeAt(i);
  // The common case first: an ASCII word, maybe after a space, that ASCII ends.
  let k = code === 0x20 ? i + 1 : i;
  const wordStart = k;
  while (k < length && isAsciiLetter(text.charCodeAt(k))) k++;
  if (k > wordStart && (k === length || text.charCodeAt(k) < 0x80)) return k;
  if (code === 0x27) {
    const end = contraction(text, i);
    if (end > i) return end;
  }
  const first = classOf(text, i);
  const firstWidth = width;
  let start = -1;
  if (!(first & NOT_PREFIX) && i + firstWidth < length && classOf(text, i + firstWidth) & LETTER) start = i + firstWidth;
  else if (first & LETTER) start = i;
  if (start >= 0) {
    let k = start;
    while (k < length) {
      const code = text.charCodeAt(k);
      if (code < 0x80) {
        if (!((ASCII[code] as number) & LETTER)) break;
        k++;
      } else {
        if (!(classAt(text, k) & LETTER)) break;
        k += width;
      }
    }
    return k;
  }
  if (first & NUMBER) return digits(text, i);
  const end = symbols(text, i, first, false);
  if (end >= 0) return end;
  const runEnd = spaceRun(text, i);
  if (runEnd === length) return runEnd; // \s+$
  if (lastNewlineEnd >= 0) return lastNewlineEnd; // \s*[\r\n]
  if (runEnd - i >= 2) return runEnd - 1; // \s+(?!\S)
  return i + 1; // \s
}
