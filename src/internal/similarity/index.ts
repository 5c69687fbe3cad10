/**
 * The near-duplicate machinery behind `dedupeSimilar`: pure, synchronous, no RxJS. Texts go
 * through {@link createSimilarityIndex} (`'exact'` or `'minhash'`), caller-computed embeddings
 * through {@link createEmbeddingIndex}.
 *
 * @packageDocumentation
 */
export {
  createSimilarityIndex,
  DEFAULT_MAX_ENTRIES,
  DEFAULT_NUM_PERM,
  DEFAULT_SEED,
  DEFAULT_SHINGLE_SIZE,
  DEFAULT_THRESHOLD,
  PreparedText,
  type SimilarityIndex,
  type SimilarityIndexOptions,
  type SimilarityIndexStats,
  type SimilarityMatch,
  type TextSimilarityMethod,
} from './text-index.js';
export { createEmbeddingIndex, type EmbeddingIndex, type EmbeddingIndexOptions, type EmbeddingMatch, type Vector } from './embedding-index.js';
export { normalizeText } from './normalize.js';
export {
  calendarAgree,
  calendarTokens,
  createPairGuard,
  namesAgree,
  nameTokens,
  negationCount,
  negationsAgree,
  numbersAgree,
  numberTokens,
  oppositesAgree,
  oppositeTokens,
  resolveGuardOptions,
  type CustomGuard,
  type GuardOptions,
  type PairGuard,
} from './guards.js';
export {
  createPredicateIndex,
  DEFAULT_PREDICATE_THRESHOLD,
  type PredicateIndex,
  type PredicateIndexOptions,
  type PredicateMatch,
  type SimilarPredicate,
} from './predicate-index.js';
export { acceptCandidate, resolveDedupeSafety, type DedupeSafety, type DedupeSafetyOptions } from './dedupe-safety.js';
