import { createPairGuard, resolveGuardOptions, type CustomGuard, type GuardOptions, type PairGuard } from './guards.js';
import type { SimilarPredicate } from './predicate-index.js';

/**
 * The safety options of `dedupeSimilar`, resolved in one place so that the operator only wires
 * them: which method, which guard, how an item becomes the text that is compared.
 */

/**
 * The options this module reads (the operator's other options are its own).
 */
export interface DedupeSafetyOptions<T> {
  /** `'exact'` (default), `'minhash'` or `'embedding'`; leave unset with `similar`. */
  method?: 'exact' | 'minhash' | 'embedding';
  /** Built-in guards for the near-duplicate methods: an object of switches, or `false`. Default: all on. */
  guards?: GuardOptions | false;
  /** An extra veto, run on pairs the built-in guards let through: true when they may merge. */
  guard?: CustomGuard;
  /** The text an item is compared by (strip timestamps, signatures). Default: the operator's `text`. */
  key?: (item: T) => string;
  /** A custom similarity, instead of a method: true/false or a score in [0, 1] against `threshold`. */
  similar?: SimilarPredicate;
}

/**
 * What the operator needs: the method (`'custom'` when `similar` is given), the guard to pass to the
 * index as `accept` (undefined: nothing to check), and the functions it was given.
 */
export interface DedupeSafety<T> {
  readonly method: 'exact' | 'minhash' | 'embedding' | 'custom';
  readonly guard: PairGuard | undefined;
  readonly key: ((item: T) => string) | undefined;
  readonly similar: SimilarPredicate | undefined;
}

const METHODS = ['exact', 'minhash', 'embedding'] as const;

/**
 * Checks and resolves the safety options at creation; throws a TypeError or RangeError naming the
 * owner and the option. The default method is `'exact'`; the near-duplicate methods and `similar`
 * are guarded unless `guards: false`. With `'exact'` the built-in guards have nothing to catch
 * (identical normalized texts carry the same numbers, negations and names), so only a custom
 * `guard` applies.
 */
export function resolveDedupeSafety<T>(options: DedupeSafetyOptions<T>, owner: string): DedupeSafety<T> {
  const { method, guards, guard, key, similar } = options;
  if (method !== undefined && !(METHODS as readonly unknown[]).includes(method)) {
    const expected = METHODS.map((m) => `'${m}'`).join(', ');
    if (typeof method !== 'string') throw new TypeError(`${owner}: method: expected one of ${expected}`);
    throw new RangeError(`${owner}: method: expected one of ${expected}, got '${method}'`);
  }
  if (key !== undefined && typeof key !== 'function') throw new TypeError(`${owner}: key: expected a function (item) => string, got ${describe(key)}`);
  if (similar !== undefined && typeof similar !== 'function') throw new TypeError(`${owner}: similar: expected a function (a, b) => boolean | number, got ${describe(similar)}`);
  if (similar !== undefined && method !== undefined) throw new RangeError(`${owner}: similar: replaces method, leave method unset (got '${method}')`);
  const resolved = similar === undefined ? (method ?? 'exact') : 'custom';
  resolveGuardOptions(guards, owner); // checked whatever the method
  const pairGuard = createPairGuard(resolved === 'exact' ? false : guards, guard, owner);
  return { method: resolved, guard: pairGuard, key, similar };
}

function describe(value: unknown): string {
  return value === null ? 'null' : typeof value;
}

/**
 * The `accept` callback of an index's `match` for one query: a candidate is accepted when it is
 * still usable (say, its outcome has not failed) and the guard lets the pair through. Candidates
 * whose text is unknown are refused.
 */
export function acceptCandidate(
  guard: PairGuard | undefined,
  query: string,
  textOf: (id: number) => string | undefined,
  usable: (id: number) => boolean = () => true,
): (id: number) => boolean {
  return (id) => {
    if (!usable(id)) return false;
    if (guard === undefined) return true;
    const text = textOf(id);
    return text !== undefined && guard(query, text);
  };
}
