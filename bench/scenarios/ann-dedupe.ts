/**
 * Embedding dedupe at a full window: the exact linear scan (createEmbeddingIndex) against the
 * random-hyperplane sketch index (createAnnEmbeddingIndex), 10,000 representatives of 1,536
 * dimensions, threshold 0.9. Recall is measured against the exact scan at the same threshold, over
 * every pair the exact scan reports.
 *
 * The vectors are synthetic but shaped like text embeddings: every vector shares a common
 * direction (two unrelated vectors have a cosine near 0.3, as on current embedding models), and the
 * queries are a mix of planted near-duplicates (cosine 0.88 to 1 with a representative), near
 * misses (0.75 to 0.9) and unrelated vectors.
 */
import { createAnnEmbeddingIndex } from '../../src/internal/similarity/ann-index.js';
import { createEmbeddingIndex, type EmbeddingIndex } from '../../src/internal/similarity/embedding-index.js';
import { createRandom, type Random } from '../corpus.js';
import type { BenchOptions, BenchResult, BenchRow, Scenario } from '../harness.js';

const SEED = 11;
const THRESHOLD = 0.9;
const DIMS = 1536;

function gaussian(random: Random): number {
  return Math.sqrt(-2 * Math.log(1 - random.next())) * Math.cos(2 * Math.PI * random.next());
}

function unitGaussian(random: Random, dims: number): Float64Array {
  const v = new Float64Array(dims);
  let norm = 0;
  for (let i = 0; i < dims; i++) norm += (v[i] = gaussian(random)) ** 2;
  const scale = 1 / Math.sqrt(norm);
  for (let i = 0; i < dims; i++) v[i]! *= scale;
  return v;
}

/** a·x + b·y, as a Float32Array (what an embeddings API returns). */
function mix(a: number, x: Float64Array, b: number, y: Float64Array): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = a * (x[i] as number) + b * (y[i] as number);
  return out;
}

function toUnit(v: Float32Array): Float64Array {
  let norm = 0;
  for (const x of v) norm += x * x;
  const out = new Float64Array(v.length);
  const scale = 1 / Math.sqrt(norm);
  for (let i = 0; i < v.length; i++) out[i] = (v[i] as number) * scale;
  return out;
}

/** Runs the scenario. */
export async function runAnnDedupe({ quick }: BenchOptions): Promise<BenchResult> {
  const windowSize = quick ? 2000 : 10_000;
  const queryCount = quick ? 300 : 2000;
  const random = createRandom(SEED);
  const common = unitGaussian(random, DIMS);
  // Two unrelated vectors: cosine ≈ 0.55² = 0.3.
  const background = () => mix(0.55, common, Math.sqrt(1 - 0.55 ** 2), unitGaussian(random, DIMS));
  const window = Array.from({ length: windowSize }, background);
  const units = window.map(toUnit);
  const queries: Float32Array[] = [];
  for (let q = 0; q < queryCount; q++) {
    const kind = q % 3;
    if (kind === 2) {
      queries.push(background());
      continue;
    }
    const near = units[random.int(0, windowSize - 1)] as Float64Array;
    const similarity = kind === 0 ? 0.88 + 0.12 * random.next() : 0.75 + 0.15 * random.next();
    queries.push(mix(similarity, near, Math.sqrt(1 - similarity ** 2), unitGaussian(random, DIMS)));
  }

  const exact = createEmbeddingIndex({ threshold: THRESHOLD, maxEntries: windowSize });
  const ann = createAnnEmbeddingIndex({ threshold: THRESHOLD, maxEntries: windowSize });
  const fill = (index: EmbeddingIndex) => {
    const start = performance.now();
    window.forEach((vector, id) => index.add(id, vector, 0));
    return performance.now() - start;
  };
  const fillExact = fill(exact);
  const fillAnn = fill(ann);

  const time = (index: EmbeddingIndex, count: number) => {
    const start = performance.now();
    let found = 0;
    for (let q = 0; q < count; q++) if (index.match(queries[q] as Float32Array, 0) !== undefined) found++;
    return { ms: performance.now() - start, found };
  };
  // The exact scan is slow: time it on a share of the queries (queries/s is a rate either way).
  const exactCount = Math.min(queryCount, quick ? 100 : 300);
  time(exact, 10);
  time(ann, 50);
  const exactTime = time(exact, exactCount);
  const annTime = time(ann, queryCount);

  // Recall over every pair the exact scan reports, on every query; precision over the ANN's pairs.
  let exactPairs = 0;
  let foundPairs = 0;
  let annPairs = 0;
  let wrong = 0;
  for (const query of queries) {
    const truth = new Map(exact.matches(query, 0).map((m) => [m.id, m.similarity]));
    const got = ann.matches(query, 0);
    exactPairs += truth.size;
    annPairs += got.length;
    for (const m of got) {
      if (truth.get(m.id) === m.similarity) foundPairs++;
      else wrong++;
    }
  }
  const recall = exactPairs === 0 ? 1 : foundPairs / exactPairs;
  const exactRate = exactCount / (exactTime.ms / 1000);
  const annRate = queryCount / (annTime.ms / 1000);
  const rows: BenchRow[] = [
    { name: 'exact linear scan (createEmbeddingIndex)', 'queries/s': Math.round(exactRate), 'fill ms': fillExact, recall: 1, 'wrong pairs': 0, 'vs exact': 1 },
    {
      name: `sketch ${ann.bits} bits, radius ${ann.radius} (createAnnEmbeddingIndex)`,
      'queries/s': Math.round(annRate),
      'fill ms': fillAnn,
      recall,
      'wrong pairs': wrong,
      'vs exact': annRate / exactRate,
    },
  ];
  return {
    scenario: 'ann-dedupe',
    title: 'Embedding dedupe at a full window: exact scan vs random-hyperplane sketch',
    rows,
    ratios: [
      {
        id: 'ann-dedupe.queries-per-second',
        label: `sketch index queries/s at a window of ${windowSize.toLocaleString('en-US')} × ${DIMS}`,
        value: annRate,
        goal: quick ? 0 : 1000,
      },
      { id: 'ann-dedupe.recall', label: `recall against the exact scan at threshold ${THRESHOLD}`, value: recall, goal: 0.99 },
    ],
    notes: [
      `${windowSize.toLocaleString('en-US')} representatives × ${DIMS} dims, threshold ${THRESHOLD}; ${queryCount.toLocaleString('en-US')} queries: a third planted near-duplicates (cosine 0.88-1), a third near misses (0.75-0.9), a third unrelated (≈ 0.3, the common direction of text embeddings)`,
      `recall over the ${exactPairs.toLocaleString('en-US')} pairs at or above the threshold the exact scan reports; the sketch index returned ${annPairs.toLocaleString('en-US')} pairs, ${wrong} not reported by the exact scan with the same similarity`,
      `exact scan timed on ${exactCount} queries, the sketch index on all ${queryCount}; fill = adding the whole window`,
    ],
  };
}

/**
 * The scenario as the harness runs it.
 *
 * @example
 * ```ts
 * const result = await annDedupe.run({ quick: true });
 * ```
 */
export const annDedupe: Scenario = { name: 'ann-dedupe', run: runAnnDedupe };
