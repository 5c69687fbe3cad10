/**
 * dedupe-safety: precision and recall of each `dedupeSimilar` method on the labelled pairs of
 * bench/data/dedupe-pairs.ts (resends that should merge against one-fact changes that must not).
 *
 * Each pair runs through the real index: the first text is the only representative, the second is
 * matched against it (with the pair guard as the match-time `accept` callback for guarded rows).
 * Precision = merged pairs that should merge / merged pairs (1 means no wrong answer handed out);
 * recall = merged pairs that should merge / pairs that should merge (the calls saved).
 *
 * The embedding rows use a deterministic local embedding built for the bench (hashed character
 * 3-gram and word counts, 512 dimensions, signed feature hashing), a stand-in with the failure mode
 * of real embeddings: wording dominates, one changed digit or "not" barely moves the vector.
 */
import type { BenchOptions, BenchResult, BenchRow, Scenario } from '../harness.js';
import { labelledPairs, type LabelledPair } from '../data/dedupe-pairs.js';
import { createPairGuard, type GuardOptions } from '../../src/internal/similarity/guards.js';
import { murmur3Words } from '../../src/internal/similarity/hash.js';
import { normalizeText } from '../../src/internal/similarity/normalize.js';
import { codePoints } from '../../src/internal/similarity/shingles.js';
import { createEmbeddingIndex } from '../../src/internal/similarity/embedding-index.js';
import { createSimilarityIndex, DEFAULT_THRESHOLD } from '../../src/internal/similarity/text-index.js';

/** The embedding bench's dimensions and the operator's default cosine threshold. */
export const EMBEDDING_DIMENSIONS = 512;
export const EMBEDDING_THRESHOLD = 0.95;

/**
 * A deterministic local text embedding: counts of character 3-grams (of the normalized text, padded
 * with spaces) and of words, each hashed to one of `dimensions` components with a hashed sign.
 */
export function hashedNgramEmbedding(text: string, dimensions = EMBEDDING_DIMENSIONS): Float64Array {
  const vector = new Float64Array(dimensions);
  const add = (features: Uint32Array, start: number, end: number, weight: number): void => {
    const h = murmur3Words(features, start, end, 7);
    vector[h % dimensions] = (vector[h % dimensions] as number) + (h >>> 31 === 1 ? -weight : weight);
  };
  const normalized = normalizeText(text);
  const cps = codePoints(` ${normalized} `);
  for (let i = 0; i + 3 <= cps.length; i++) add(cps, i, i + 3, 1);
  for (const word of normalized.split(' ')) if (word !== '') add(codePoints(`#${word}`), 0, word.length + 1, 1);
  if (vector.every((x) => x === 0)) vector[0] = 1;
  return vector;
}

/** A method under test: decides whether `b` is merged with the representative `a`. */
export interface Contender {
  name: string;
  merges(a: string, b: string): boolean;
}

/** Drops a greeting line or phrase at the start and a signature at the end: an example `key` normalizer. */
export function stripGreetingAndSignature(text: string): string {
  return text
    .replace(/^\s*(?:hi|hello|hey|dear|good (?:morning|afternoon|evening))\b[^,\n]{0,30},\s*/i, '')
    .replace(/\s*(?:\n\s*--\s*\n[\s\S]*|\n\s*(?:sent from my \w+|thanks!?|thank you[^\n]*|best regards|kind regards[^\n]*|cheers|regards)\s*)$/i, '')
    .replace(/\s+(?:thanks|thank you)!?\s*$/i, '');
}

function textContender(name: string, method: 'exact' | 'minhash', guards: GuardOptions | false, key: (text: string) => string = (text) => text): Contender {
  const guard = createPairGuard(guards, undefined, 'bench');
  return {
    name,
    merges(a, b) {
      const index = createSimilarityIndex({ method, threshold: method === 'exact' ? undefined : DEFAULT_THRESHOLD });
      const [ka, kb] = [key(a), key(b)];
      index.add(0, ka, 0);
      return index.match(kb, 0, guard === undefined ? undefined : () => guard(kb, ka)) !== undefined;
    },
  };
}

function embeddingContender(name: string, threshold: number, guards: GuardOptions | false): Contender {
  const guard = createPairGuard(guards, undefined, 'bench');
  return {
    name,
    merges(a, b) {
      const index = createEmbeddingIndex({ threshold });
      index.add(0, hashedNgramEmbedding(a), 0);
      return index.match(hashedNgramEmbedding(b), 0, guard === undefined ? undefined : () => guard(b, a)) !== undefined;
    },
  };
}

/** Every contender of the table, in order. */
export function contenders(): Contender[] {
  return [
    textContender('exact after normalization (new default)', 'exact', false),
    textContender(`minhash ${DEFAULT_THRESHOLD}, unguarded (old default)`, 'minhash', false),
    textContender(`minhash ${DEFAULT_THRESHOLD}, guarded (default guards)`, 'minhash', {}),
    textContender(`minhash ${DEFAULT_THRESHOLD}, guarded without names`, 'minhash', { names: false }),
    textContender(`minhash ${DEFAULT_THRESHOLD}, guarded + key strips greeting/signature`, 'minhash', {}, stripGreetingAndSignature),
    embeddingContender(`embedding ${EMBEDDING_THRESHOLD}, unguarded`, EMBEDDING_THRESHOLD, false),
    embeddingContender(`embedding ${EMBEDDING_THRESHOLD}, guarded`, EMBEDDING_THRESHOLD, {}),
    embeddingContender('embedding 0.9, unguarded', 0.9, false),
    embeddingContender('embedding 0.9, guarded', 0.9, {}),
  ];
}

/** Counts of one contender over the pairs. */
export interface Score {
  merged: number;
  rightMerges: number;
  wrongMerges: number;
  shouldMerge: number;
  precision: number;
  recall: number;
  /** Kinds of must-not-merge pairs that were merged, with counts. */
  wrongKinds: Record<string, number>;
  /** Kinds of should-merge pairs that were not merged, with counts. */
  missedKinds: Record<string, number>;
}

export function score(contender: Contender, pairs: readonly LabelledPair[]): Score {
  const s: Score = { merged: 0, rightMerges: 0, wrongMerges: 0, shouldMerge: 0, precision: 1, recall: 0, wrongKinds: {}, missedKinds: {} };
  for (const pair of pairs) {
    const merged = contender.merges(pair.a, pair.b);
    if (pair.merge) s.shouldMerge++;
    if (merged) s.merged++;
    if (merged && pair.merge) s.rightMerges++;
    if (merged && !pair.merge) {
      s.wrongMerges++;
      s.wrongKinds[pair.kind] = (s.wrongKinds[pair.kind] ?? 0) + 1;
    }
    if (!merged && pair.merge) s.missedKinds[pair.kind] = (s.missedKinds[pair.kind] ?? 0) + 1;
  }
  s.precision = s.merged === 0 ? 1 : s.rightMerges / s.merged;
  s.recall = s.shouldMerge === 0 ? 1 : s.rightMerges / s.shouldMerge;
  return s;
}

const kinds = (counts: Record<string, number>): string =>
  Object.entries(counts)
    .map(([kind, n]) => `${kind} ${n}`)
    .join(', ') || '-';

export const dedupeSafety: Scenario = {
  name: 'dedupe-safety',
  async run(_options: BenchOptions): Promise<BenchResult> {
    const pairs = labelledPairs();
    const rows: BenchRow[] = [];
    const notes: string[] = [];
    for (const contender of contenders()) {
      const s = score(contender, pairs);
      rows.push({ name: contender.name, precision: s.precision, recall: s.recall, merged: s.merged, 'wrong merges': s.wrongMerges });
      notes.push(`${contender.name}: wrong merges by kind: ${kinds(s.wrongKinds)}; missed resends by kind: ${kinds(s.missedKinds)}`);
    }
    const should = pairs.filter((pair) => pair.merge).length;
    notes.unshift(
      `${pairs.length} labelled pairs (bench/data/dedupe-pairs.ts): ${should} should merge (resends: case, white space, typos, greeting, signature), ${pairs.length - should} must not (one number, negation, name, date, day, month or opposite word changed), incl. the 5 pairs of issue 13`,
      'precision: merged pairs that should merge / merged pairs; recall: merged pairs that should merge / pairs that should merge',
      `embedding rows: hashed character 3-gram + word vectors (${EMBEDDING_DIMENSIONS} dims), a deterministic local stand-in for a model`,
    );
    return { scenario: 'dedupe-safety', title: 'Dedupe methods on labelled pairs: precision and recall', rows, notes };
  },
};
