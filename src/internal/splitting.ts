import type { ChunkOptions, Tokenizer } from '../types.js';
import type { Envelope } from './chain.js';
import type { TokenMeter } from '../tokens/meter.js';
import type { ExactCounter } from '../tokens/counter.js';
import { exactCounterOf } from '../tokens/tokenizers.js';

/** What `splitOnOverflow` attaches to a batch for `mergeBatches`: how to split it if the model refuses it. */
export interface SplitPolicy {
  readonly maxTokens: number;
  readonly maxSplitDepth: number;
  readonly chunk: Required<ChunkOptions<unknown, unknown>> | undefined;
}

/** Split entries in two halves of about equal tokens, each non-empty. */
export function halve<T>(entries: readonly Envelope<T>[], meter: TokenMeter<T>): [Envelope<T>[], Envelope<T>[]] {
  const weights = entries.map((entry) => safeEstimate(meter, entry));
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  let running = 0;
  let cut = 1;
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < entries.length - 1; i++) {
    running += weights[i] as number;
    const imbalance = Math.abs(2 * running - total);
    if (imbalance < best) {
      best = imbalance;
      cut = i + 1;
    }
  }
  return [entries.slice(0, cut), entries.slice(cut)];
}

function safeEstimate<T>(meter: TokenMeter<T>, entry: Envelope<T>): number {
  try {
    return meter.exact(entry);
  } catch {
    return 1;
  }
}

/**
 * Cut `text` into chunks of at most `budget` tokens, each after the first starting about
 * `overlapTokens` before the end of the previous one. All chunks at once: see {@link chunkTextLazily}.
 */
export function chunkText(text: string, budget: number, overlapTokens: number, tokenizer: Tokenizer): string[] {
  return [...chunkTextLazily(text, budget, overlapTokens, tokenizer)];
}

/**
 * Cut `text` into chunks of at most `budget` tokens, each after the first starting about
 * `overlapTokens` before the end of the previous one, one chunk per `next()`: a caller that sends
 * each chunk before asking for the next never holds more than one, and no step blocks the event
 * loop for longer than counting about one chunk and its overlap.
 *
 * With tokenbatch's own encodings the text's pre-tokenizer pieces are counted once as the walk goes
 * (linear in the text), chunks are cut at piece boundaries (words keep their leading space), and
 * each chunk is counted again as a whole before it is yielded, so a chunk never exceeds the budget.
 * A piece longer than the budget on its own (a long run without spaces) is cut inside, by search.
 * Any other tokenizer only counts: chunk ends are found by galloping then binary search over
 * character positions (O(n log n) in all), snapped back to white space when there is some near the
 * cut. No chunk ends inside a surrogate pair.
 */
export function* chunkTextLazily(text: string, budget: number, overlapTokens: number, tokenizer: Tokenizer): Generator<string, void, undefined> {
  for (const [start, end] of chunkRanges(text, budget, overlapTokens, tokenizer)) yield text.slice(start, end);
}

/** A chunk as code-unit positions in the text: [start, end). */
export type ChunkRange = [start: number, end: number];

/** Where {@link chunkTextLazily}'s chunks start and end. */
export function chunkRanges(text: string, budget: number, overlapTokens: number, tokenizer: Tokenizer): Generator<ChunkRange, void, undefined> {
  const limit = Math.max(1, Math.floor(budget));
  const overlap = Math.min(Math.max(0, overlapTokens), Math.floor(limit / 2));
  const counter = exactCounterOf(tokenizer);
  return counter ? exactChunks(text, limit, overlap, counter) : searchedChunks(text, limit, overlap, tokenizer);
}

function* exactChunks(text: string, limit: number, overlap: number, counter: ExactCounter): Generator<ChunkRange, void, undefined> {
  const count = (part: string): number => counter.count(part);
  // The current chunk's piece boundaries after its start, and the tokens of the piece ending at each.
  const ends: number[] = [];
  const tokens: number[] = [];
  // A piece over the budget on its own is cut inside, part by part, without scanning it again.
  let longEnd = -1;
  let start = 0;
  let previousEnd = 0;
  while (start < text.length) {
    if (start < longEnd) {
      const end = largestFit(text, start, limit, count, longEnd);
      yield [start, end];
      start = previousEnd = end;
      continue;
    }
    ends.length = 0;
    tokens.length = 0;
    let total = 0;
    for (let at = start; at < text.length;) {
      const end = counter.pieceEnd(text, at);
      // Every token stands for at most maxTokenBytes bytes, and a code unit for at least one byte.
      const piece = end - at > (limit - total) * counter.maxTokenBytes ? Number.POSITIVE_INFINITY : counter.countPiece(text, at, end);
      if (total + piece > limit) {
        if (ends.length === 0 && piece > limit) longEnd = end;
        break;
      }
      ends.push(end);
      tokens.push(piece);
      total += piece;
      at = end;
    }
    if (ends.length === 0) continue; // start < longEnd now
    let end = ends[ends.length - 1] as number;
    if (end <= previousEnd) {
      // Only overlap fits before a long piece: start the next chunk where the last one ended.
      start = previousEnd;
      continue;
    }
    // Pieces counted alone add up to the chunk's count except where the pattern looks ahead past
    // the cut: count the chunk itself, and give back pieces in the rare case it is over.
    let chunk = text.slice(start, end);
    while (counter.count(chunk) > limit) {
      if (ends.length === 1) {
        end = largestFit(text, start, limit, count, end);
        break;
      }
      ends.pop();
      tokens.pop();
      end = ends[ends.length - 1] as number;
      chunk = text.slice(start, end);
    }
    yield [start, end];
    if (end >= text.length) return;
    previousEnd = end;
    start = overlapStart(ends, tokens, end, overlap);
  }
}

/** The earliest piece boundary after the chunk's start whose suffix up to `end` has at most `overlap` tokens. */
function overlapStart(ends: readonly number[], tokens: readonly number[], end: number, overlap: number): number {
  let suffix = 0;
  let next = end;
  // ends[i - 1] starts the piece that ends at ends[i].
  for (let i = ends.length - 1; i >= 1; i--) {
    suffix += tokens[i] as number;
    if (suffix > overlap) break;
    next = ends[i - 1] as number;
  }
  return next;
}

function* searchedChunks(text: string, limit: number, overlap: number, tokenizer: Tokenizer): Generator<ChunkRange, void, undefined> {
  const count = (part: string): number => tokenizer.count(part);
  let start = 0;
  let previousEnd = 0;
  while (start < text.length) {
    let end = largestFit(text, start, limit, count);
    if (end < text.length) {
      const snapped = snapToSpace(text, start, end);
      if (snapped > previousEnd) end = snapped;
    }
    if (end <= previousEnd) {
      // The overlap left no room for progress: go on from the end of the last chunk.
      start = previousEnd;
      continue;
    }
    yield [start, end];
    if (end >= text.length) return;
    previousEnd = end;
    const next = overlap > 0 ? searchOverlapStart(text, start, end, overlap, count) : end;
    start = next > start ? next : end;
  }
}

const codeUnitBoundary = (text: string, at: number): number => {
  const code = text.charCodeAt(at);
  return at > 0 && at < text.length && code >= 0xdc00 && code < 0xe000 ? at - 1 : at;
};

/**
 * An end such that text[start, end) has at most `limit` tokens and at least 97% of them, or is the
 * largest such end (at least one code point): galloping from a few characters a token, then
 * interpolation alternating with bisection, so each step costs about the chunk's length times a
 * few counts, not the whole remainder's.
 */
function largestFit(text: string, start: number, limit: number, count: (part: string) => number, until = text.length): number {
  let low = start;
  let lowCount = 0;
  let high = Math.min(until, start + Math.max(16, limit * 4));
  let highCount = count(text.slice(start, high));
  while (highCount <= limit) {
    if (high >= until) return until;
    low = high;
    lowCount = highCount;
    high = Math.min(until, start + (high - start) * 2);
    highCount = count(text.slice(start, high));
  }
  for (let round = 0; high - low > 1 && lowCount < limit * 0.97; round++) {
    let mid = round % 2 === 0 ? low + Math.floor(((high - low) * (limit - lowCount)) / (highCount - lowCount)) : (low + high) >> 1;
    mid = Math.min(high - 1, Math.max(low + 1, mid));
    const midCount = count(text.slice(start, mid));
    if (midCount <= limit) {
      low = mid;
      lowCount = midCount;
    } else {
      high = mid;
      highCount = midCount;
    }
  }
  const end = codeUnitBoundary(text, low);
  if (end > start) return end;
  const code = text.charCodeAt(start);
  return Math.min(until, start + (code >= 0xd800 && code < 0xdc00 ? 2 : 1));
}

function snapToSpace(text: string, start: number, end: number): number {
  const floor = start + Math.floor((end - start) * 0.8);
  for (let i = end; i > floor; i--) if (/\s/.test(text.charAt(i - 1))) return i;
  return end;
}

/** The smallest start in (from, end) such that text[start, end) has at most `overlap` tokens. */
function searchOverlapStart(text: string, from: number, end: number, overlap: number, count: (part: string) => number): number {
  let low = from + 1;
  let high = end;
  while (low < high) {
    const mid = Math.floor((low + high) / 2);
    if (count(text.slice(mid, end)) <= overlap) high = mid;
    else low = mid + 1;
  }
  return codeUnitBoundary(text, low);
}
