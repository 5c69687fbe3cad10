/**
 * Out-of-order packing (src/batching/packing.ts) against greedy in-order packing, on the bench
 * corpus with exact o200k_base counts: calls against the lower bound ceil(Σ tokens / budget), mean
 * utilization, and each item's wait from arrival to its batch closing, for a stream arriving at a
 * steady rate with a `maxWaitMs` timer per batch (simulated time: deterministic).
 */
import { BestFitPacker, packingLowerBound, type PackedBatch } from '../../src/batching/packing.js';
import { getTokenizer } from '../../src/index.js';
import { makeCorpus } from '../corpus.js';
import type { BenchOptions, BenchResult, BenchRow, Scenario } from '../harness.js';

const SEED = 42;
const MAX_TOKENS = 8000;
const BATCH_OVERHEAD = 120;
const ITEM_OVERHEAD = 4;
const ARRIVAL_MS = 2;
const MAX_WAIT_MS = 1000;

interface Packed {
  calls: number;
  utilization: number;
  p99WaitMs: number;
  maxWaitMs: number;
}

/** Feeds the stream through a packer in simulated time: item i arrives at i·ARRIVAL_MS. */
function simulate(tokens: readonly number[], maxOpenBatches: number, lookaheadItems: number): Packed {
  const packer = new BestFitPacker<number>({ maxTokens: MAX_TOKENS, batchOverheadTokens: BATCH_OVERHEAD, itemOverheadTokens: ITEM_OVERHEAD, maxOpenBatches, lookaheadItems });
  const arrival = (i: number) => i * ARRIVAL_MS;
  const waits: number[] = [];
  let calls = 0;
  let used = 0;
  const emit = (batches: PackedBatch<number>[], at: (batch: PackedBatch<number>) => number) => {
    for (const batch of batches) {
      calls++;
      used += batch.tokens / MAX_TOKENS;
      for (const index of batch.entries) waits.push(at(batch) - arrival(index));
    }
  };
  tokens.forEach((count, i) => {
    const now = arrival(i);
    // The timers due before this arrival fire first, at their own time.
    for (let due = packer.oldestOpenedAt; due !== undefined && due + MAX_WAIT_MS <= now; due = packer.oldestOpenedAt) {
      emit(packer.expire(due + MAX_WAIT_MS, MAX_WAIT_MS), () => due + MAX_WAIT_MS);
    }
    emit(packer.add(i, count, now), () => now);
  });
  const end = arrival(tokens.length - 1);
  emit(packer.flush(), () => end);
  waits.sort((a, b) => a - b);
  return { calls, utilization: used / calls, p99WaitMs: waits[Math.ceil(0.99 * waits.length) - 1] as number, maxWaitMs: waits[waits.length - 1] as number };
}

/** Runs the scenario. */
export async function runPacking({ quick }: BenchOptions): Promise<BenchResult> {
  const items = makeCorpus({ seed: SEED, items: quick ? 2000 : 20_000 });
  const tokenizer = getTokenizer('o200k_base');
  const tokens = items.map((item) => tokenizer.count(item));
  const bound = packingLowerBound(tokens, { maxTokens: MAX_TOKENS, batchOverheadTokens: BATCH_OVERHEAD, itemOverheadTokens: ITEM_OVERHEAD });
  const variants = [
    { name: 'greedy, in order (1 open batch)', open: 1, lookahead: Number.MAX_SAFE_INTEGER },
    { name: 'best fit, 4 open, lookahead 64', open: 4, lookahead: 64 },
    { name: 'best fit, 16 open, lookahead 256 (defaults)', open: 16, lookahead: 256 },
    { name: 'best fit, 32 open, lookahead 1024', open: 32, lookahead: 1024 },
  ];
  const rows: BenchRow[] = [];
  const results = variants.map((variant) => simulate(tokens, variant.open, variant.lookahead));
  variants.forEach((variant, i) => {
    const result = results[i] as Packed;
    rows.push({
      name: variant.name,
      calls: result.calls,
      'vs lower bound': result.calls / bound,
      'mean utilization': result.utilization,
      'p99 wait ms': result.p99WaitMs,
      'max wait ms': result.maxWaitMs,
    });
  });
  const greedy = results[0] as Packed;
  const defaults = results[2] as Packed;
  return {
    scenario: 'packing',
    title: 'Out-of-order best-fit packing vs greedy in-order packing (simulated time)',
    rows,
    ratios: [
      { id: 'packing.best-fit-vs-lower-bound', label: 'best-fit packing (defaults) calls vs the lower bound', value: defaults.calls / bound, goal: 1.02, better: 'lower' },
      { id: 'packing.greedy-vs-lower-bound', label: 'greedy in-order packing calls vs the lower bound (reference)', value: greedy.calls / bound, goal: 1.1, better: 'lower' },
      {
        id: 'packing.best-fit-max-wait-vs-max-wait-ms',
        label: 'best-fit packing longest item wait / maxWaitMs',
        value: defaults.maxWaitMs / MAX_WAIT_MS,
        goal: 1,
        better: 'lower',
      },
    ],
    notes: [
      `${tokens.length.toLocaleString('en-US')} corpus items (makeCorpus seed ${SEED}), exact o200k_base counts; maxTokens ${MAX_TOKENS}, batch overhead ${BATCH_OVERHEAD}, item overhead ${ITEM_OVERHEAD}; lower bound ceil(Σ (tokens + ${ITEM_OVERHEAD}) / (${MAX_TOKENS} - ${BATCH_OVERHEAD})) = ${bound.toLocaleString('en-US')} calls`,
      `one item every ${ARRIVAL_MS} ms, maxWaitMs ${MAX_WAIT_MS} (each batch's timer runs from its first item's arrival); wait = arrival to batch close; the last batches close at the last arrival`,
    ],
  };
}

/**
 * The scenario as the harness runs it.
 *
 * @example
 * ```ts
 * const result = await packingScenario.run({ quick: true });
 * ```
 */
export const packingScenario: Scenario = { name: 'packing', run: runPacking };
