/**
 * groupByLength against plain bufferByTokens on a long-tailed length distribution: how many batches
 * each forms against the lower bound ceil(total tokens / budget), how full they are, and how much
 * padding a model that pads every input to the batch's longest (embeddings, local models) pays.
 */
import { from, lastValueFrom, toArray } from 'rxjs';
import { bufferByTokens, getTokenizer, groupByLength, type Batch } from '../../src/index.js';
import { makeCorpus } from '../corpus.js';
import type { BenchOptions, BenchResult, BenchRow, Scenario } from '../harness.js';

export interface GroupingBenchOptions extends BenchOptions {
  /** Corpus size. Default 20,000, or 2,000 with `quick`. */
  items?: number;
}

const MAX_TOKENS = 8192;
const MAX_ITEMS = 64;

function measure(name: string, batches: readonly Batch<string>[], lowerBound: number): BenchRow {
  let tokens = 0;
  let padded = 0;
  for (const batch of batches) {
    const counts = batch.itemTokens;
    tokens += counts.reduce((sum, count) => sum + count, 0);
    padded += Math.max(...counts) * counts.length;
  }
  const utilization = batches.reduce((sum, batch) => sum + batch.utilization, 0) / batches.length;
  return {
    name,
    batches: batches.length,
    'vs lower bound': batches.length / lowerBound,
    'mean util': utilization,
    'closed by items': batches.filter((batch) => batch.closeReason === 'items').length,
    'padding waste': (padded - tokens) / tokens,
  };
}

export async function runGrouping(options: GroupingBenchOptions): Promise<BenchResult> {
  const count = options.items ?? (options.quick ? 2_000 : 20_000);
  const items = makeCorpus({ seed: 42, items: count });
  const tokenizer = getTokenizer('o200k_base');
  const total = items.reduce((sum, text) => sum + tokenizer.count(text), 0);
  const lowerBound = Math.ceil(total / MAX_TOKENS);
  const limits = { maxTokens: MAX_TOKENS, maxItems: MAX_ITEMS };

  const plain = await lastValueFrom(from(items).pipe(bufferByTokens(limits), toArray()));
  const grouped = await lastValueFrom(from(items).pipe(groupByLength(limits), toArray()));
  const coarse = await lastValueFrom(from(items).pipe(groupByLength({ ...limits, boundaries: [64, 512, 2048] }), toArray()));
  for (const batches of [plain, grouped, coarse]) {
    if (batches.reduce((sum, batch) => sum + batch.items.length, 0) !== count) throw new Error('grouping bench: an item went missing');
  }
  return {
    scenario: 'grouping',
    title: 'groupByLength vs bufferByTokens on long-tailed lengths',
    rows: [
      measure('bufferByTokens', plain, lowerBound),
      measure('groupByLength (log-scale buckets)', grouped, lowerBound),
      measure('groupByLength (64 / 512 / 2048)', coarse, lowerBound),
    ],
    notes: [
      `corpus: ${count.toLocaleString('en-US')} items (seed 42), ${total.toLocaleString('en-US')} o200k tokens; lengths log-normal, 20 to 8,000 characters`,
      `limits: maxTokens ${MAX_TOKENS}, maxItems ${MAX_ITEMS}; lower bound ceil(total / maxTokens) = ${lowerBound}`,
      'padding waste: tokens a pad-to-longest model adds, over the real tokens (0 = none)',
    ],
  };
}

export const groupingScenario: Scenario = { name: 'grouping', run: (options) => runGrouping(options) };
