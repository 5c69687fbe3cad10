import type { ChunkOptions, Tokenizer } from '../types.js';
import type { Envelope } from './chain.js';
import type { TokenMeter } from '../tokens/meter.js';


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
 * Cut `text` into pieces of at most `budget` tokens, each after the first starting about
 * `overlapTokens` before the end of the previous one. Works with any tokenizer that only counts:
 * prefixes are found by binary search over character positions, snapped back to white space when
 * there is some near the cut, and never inside a surrogate pair.
 */
export function chunkText(text: string, budget: number, overlapTokens: number, tokenizer: Tokenizer): string[] {
  const limit = Math.max(1, Math.floor(budget));
  const overlap = Math.min(Math.max(0, overlapTokens), Math.floor(limit / 2));
  const chunks: string[] = [];
  let start = 0;
  while (start < text.length) {
    let end = largestFit(text, start, limit, tokenizer);
    if (end < text.length) end = snapToSpace(text, start, end);
    chunks.push(text.slice(start, end));
    if (end >= text.length) break;
    const next = overlap > 0 ? overlapStart(text, start, end, overlap, tokenizer) : end;
    start = next > start ? next : end;
  }
  return chunks;
}

const codeUnitBoundary = (text: string, at: number): number => {
  const code = text.charCodeAt(at);
  return at > 0 && at < text.length && code >= 0xdc00 && code < 0xe000 ? at - 1 : at;
};

/** The largest end such that text[start, end) has at most `limit` tokens (at least one character). */
function largestFit(text: string, start: number, limit: number, tokenizer: Tokenizer): number {
  let low = start + 1;
  let high = text.length;
  if (tokenizer.count(text.slice(start, high)) <= limit) return high;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (tokenizer.count(text.slice(start, mid)) <= limit) low = mid;
    else high = mid - 1;
  }
  const end = codeUnitBoundary(text, low);
  return end > start ? end : Math.min(text.length, start + 2);
}

function snapToSpace(text: string, start: number, end: number): number {
  const floor = start + Math.floor((end - start) * 0.8);
  for (let i = end; i > floor; i--) if (/\s/.test(text.charAt(i - 1))) return i;
  return end;
}

/** The smallest start in (from, end) such that text[start, end) has at most `overlap` tokens. */
function overlapStart(text: string, from: number, end: number, overlap: number, tokenizer: Tokenizer): number {
  let low = from + 1;
  let high = end;
  while (low < high) {
    const mid = Math.floor((low + high) / 2);
    if (tokenizer.count(text.slice(mid, end)) <= overlap) high = mid;
    else low = mid + 1;
  }
  return codeUnitBoundary(text, low);
}
