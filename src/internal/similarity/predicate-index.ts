import { requireObject } from '../options.js';
import { representativeId, similarityThreshold, windowOptions } from './checks.js';
import { normalizeText } from './normalize.js';
import { RepresentativeWindow } from './window.js';

const OWNER = 'createPredicateIndex';

/**
 * The least score a numeric `similar` answer must reach when no threshold is given.
 */
export const DEFAULT_PREDICATE_THRESHOLD = 0.9;

/**
 * A user's similarity: true/false, or a score in [0, 1] compared with the index's threshold.
 */
export type SimilarPredicate = (a: string, b: string) => boolean | number;

/**
 * Options of {@link createPredicateIndex}.
 */
export interface PredicateIndexOptions {
  /** Called with the query text and a representative's text (as given, not normalized). */
  similar: SimilarPredicate;
  /** The least numeric score that matches, in (0, 1]. Default {@link DEFAULT_PREDICATE_THRESHOLD}. */
  threshold?: number;
  /** At most this many representatives; the oldest is evicted. Default 10,000. */
  maxEntries?: number;
  /** A representative is forgotten once `now - addedAt >= ttlMs`. Default: never. */
  ttlMs?: number;
}

/**
 * A representative found similar by the predicate.
 */
export interface PredicateMatch {
  readonly id: number;
  /** 1 for identical normalized texts and for `true`; the predicate's score otherwise. */
  readonly similarity: number;
}

/**
 * A window of representative texts compared with a user predicate by a linear scan (one call per
 * representative that is not identical after normalization; `maxEntries` bounds the work).
 */
export interface PredicateIndex {
  readonly threshold: number;
  readonly maxEntries: number;
  readonly ttlMs: number | undefined;
  readonly size: number;
  /**
   * The best representative (highest score, ties to the older one) that the predicate finds similar
   * and `accept` (if given) lets through; identical normalized texts first, without calling the
   * predicate. A predicate that throws makes `match` throw; one that returns something other than
   * a boolean or a number in [0, 1] makes it throw a TypeError.
   */
  match(text: string, now: number, accept?: (id: number) => boolean): PredicateMatch | undefined;
  /**
   * Adds a representative under a new id, evicting the oldest if full.
   */
  add(id: number, text: string, now: number): void;
  /**
   * Forgets a representative; false if it was not held.
   */
  remove(id: number): boolean;
  /**
   * Whether a representative with this id is held.
   */
  has(id: number): boolean;
}

interface PredicateEntry {
  readonly id: number;
  readonly addedAt: number;
  readonly text: string;
  readonly normalized: string;
}

class LinearPredicateIndex implements PredicateIndex {
  readonly threshold: number;
  readonly maxEntries: number;
  readonly ttlMs: number | undefined;
  readonly #similar: SimilarPredicate;
  readonly #window: RepresentativeWindow<PredicateEntry>;

  constructor(similar: SimilarPredicate, threshold: number, maxEntries: number, ttlMs: number | undefined) {
    this.#similar = similar;
    this.threshold = threshold;
    this.maxEntries = maxEntries;
    this.ttlMs = ttlMs;
    this.#window = new RepresentativeWindow<PredicateEntry>(maxEntries, ttlMs, () => {}, OWNER);
  }

  get size(): number {
    return this.#window.size;
  }

  match(text: string, now: number, accept?: (id: number) => boolean): PredicateMatch | undefined {
    if (typeof text !== 'string') throw new TypeError(`${OWNER}: expected a text string, got ${typeof text}`);
    if (accept !== undefined && typeof accept !== 'function') throw new TypeError(`${OWNER}: match: accept: expected a function, got ${typeof accept}`);
    this.#window.advance(now);
    const normalized = normalizeText(text);
    const found: PredicateMatch[] = [];
    for (const entry of this.#window.values()) {
      const similarity = entry.normalized === normalized ? 1 : this.#score(text, entry.text);
      if (similarity >= this.threshold) found.push({ id: entry.id, similarity });
    }
    found.sort((x, y) => y.similarity - x.similarity || x.id - y.id);
    return accept === undefined ? found[0] : found.find((match) => accept(match.id));
  }

  add(id: number, text: string, now: number): void {
    representativeId(id, OWNER);
    if (typeof text !== 'string') throw new TypeError(`${OWNER}: expected a text string, got ${typeof text}`);
    const addedAt = this.#window.advance(now);
    this.#window.admit({ id, addedAt, text, normalized: normalizeText(text) });
  }

  remove(id: number): boolean {
    return this.#window.remove(id) !== undefined;
  }

  has(id: number): boolean {
    return this.#window.get(id) !== undefined;
  }

  #score(a: string, b: string): number {
    const answer = this.#similar(a, b);
    if (answer === true) return 1;
    if (answer === false) return 0;
    if (typeof answer !== 'number' || Number.isNaN(answer) || answer < 0 || answer > 1) {
      throw new TypeError(`similar: expected a boolean or a number in [0, 1], got ${typeof answer === 'number' ? answer : typeof answer}`);
    }
    return answer;
  }
}

/**
 * Creates an index that compares texts with a user's `similar(a, b)`: for custom notions of "the
 * same request" (a ticket id, a normalized subject) or an external scorer. Bad options throw a
 * TypeError or RangeError naming the option.
 */
export function createPredicateIndex(options: PredicateIndexOptions): PredicateIndex {
  const raw = requireObject(options, OWNER);
  if (typeof raw.similar !== 'function') throw new TypeError(`similar: expected a function (a, b) => boolean | number, got ${raw.similar === null ? 'null' : typeof raw.similar}`);
  const threshold = raw.threshold === undefined ? DEFAULT_PREDICATE_THRESHOLD : similarityThreshold(raw.threshold, 'threshold', 'similarity score');
  const { maxEntries, ttlMs } = windowOptions(raw);
  return new LinearPredicateIndex(raw.similar as SimilarPredicate, threshold, maxEntries, ttlMs);
}
