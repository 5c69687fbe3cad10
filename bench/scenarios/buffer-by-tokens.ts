/**
 * bufferByTokens throughput: what token-budgeted batching costs on a realistic corpus, against
 * tokenizing every item (what a naive token batcher does) and against RxJS `bufferCount` over
 * precomputed counts (the floor: a batcher that does no token work at all).
 */
import { from as ixFrom } from 'ix/asynciterable';
import { bufferCount, from, map } from 'rxjs';
import { bufferByTokens, getTokenizer, type Batch, type Tokenizer } from '../../src/index.js';
import { bufferByTokens as bufferByTokensIterable } from '../../src/iterable.js';
import { tiktokenTokenizer } from '../../src/tiktoken.js';
import { corpusMegabytes, makeCorpus } from '../corpus.js';
import type { BenchOptions, BenchResult, BenchRow, Scenario } from '../harness.js';

/** Options of this scenario beyond the harness's: the test suite shrinks the input further. */
export interface BufferByTokensBenchOptions extends BenchOptions {
  /** Corpus size. Default 20,000, or 2,000 with `quick`. */
  items?: number;
  /** Timed runs per contender (the best counts). Default 3, or 1 with `quick`. */
  repeats?: number;
}

const SEED = 42;
const MAX_TOKENS = 8000;
const BATCH_OVERHEAD = 120; // a system prompt
const ITEM_OVERHEAD = 4; // numbering and separators

/** The batch limits compared; each has its own "every item" baseline row. */
const SETTINGS = [
  { label: `${MAX_TOKENS} tok`, maxItems: undefined },
  { label: `${MAX_TOKENS} tok, 16 items`, maxItems: 16 },
] as const;

type Setting = (typeof SETTINGS)[number];

/** What a contender's run leaves behind, in a common shape: each batch's item numbers. */
interface Emitted {
  indices: readonly number[];
  /** The batch as emitted, for bufferByTokens contenders (its token counts are checked). */
  batch?: Batch<string>;
}

interface Contender {
  name: string;
  setting: Setting;
  /** Counts exact tokenizer calls, when the contender tokenizes. */
  counter?: CallCounter;
  /** bufferByTokens contenders must form budget-respecting batches with exact token totals. */
  checked: boolean;
  baseline: boolean;
  run(): Emitted[] | Promise<Emitted[]>;
}

/** A tokenizer wrapped to count its exact `count` calls. */
interface CallCounter {
  tokenizer: Tokenizer;
  calls: number;
}

function counting(base: Tokenizer, withBound: boolean): CallCounter {
  const upperBound = withBound ? base.upperBound?.bind(base) : undefined;
  const counter: CallCounter = {
    calls: 0,
    tokenizer: {
      name: base.name,
      count: (text) => {
        counter.calls++;
        return base.count(text);
      },
      ...(upperBound ? { upperBound } : {}),
    },
  };
  return counter;
}

function optionsFor(setting: Setting, tokenizer: Tokenizer) {
  return {
    maxTokens: MAX_TOKENS,
    ...(setting.maxItems === undefined ? {} : { maxItems: setting.maxItems }),
    batchOverheadTokens: BATCH_OVERHEAD,
    itemOverheadTokens: ITEM_OVERHEAD,
    tokenizer,
  };
}

function rxContender(name: string, setting: Setting, counter: CallCounter, items: readonly string[], baseline = false): Contender {
  return {
    name,
    setting,
    counter,
    checked: true,
    baseline,
    run: () => {
      const out: Emitted[] = [];
      from(items)
        .pipe(bufferByTokens<string>(optionsFor(setting, counter.tokenizer)))
        .subscribe((batch) => out.push({ indices: batch.itemIndices, batch }));
      return out;
    },
  };
}

function iterableContender(name: string, setting: Setting, counter: CallCounter, items: readonly string[]): Contender {
  return {
    name,
    setting,
    counter,
    checked: true,
    baseline: false,
    run: async () => {
      const out: Emitted[] = [];
      for await (const batch of ixFrom(items).pipe(bufferByTokensIterable<string>(optionsFor(setting, counter.tokenizer)))) {
        out.push({ indices: batch.itemIndices, batch });
      }
      return out;
    },
  };
}

function floorContender(setting: Setting, size: number, counts: readonly number[]): Contender {
  const records = counts.map((tokens, index) => ({ index, tokens }));
  return {
    name: `rxjs bufferCount(${size}), counts precomputed`,
    setting,
    checked: false,
    baseline: false,
    run: () => {
      const out: Emitted[] = [];
      from(records)
        .pipe(
          bufferCount(size),
          map((group) => {
            let tokens = BATCH_OVERHEAD;
            for (const record of group) tokens += record.tokens + ITEM_OVERHEAD;
            return { indices: group.map((record) => record.index), tokens };
          }),
        )
        .subscribe((batch) => out.push({ indices: batch.indices }));
      return out;
    },
  };
}

interface Measured {
  contender: Contender;
  bestMs: number;
  calls: number | undefined;
  emitted: Emitted[];
}

/**
 * Checks a bufferByTokens contender's output: every item exactly once and in order, every batch's
 * `tokens` equal to its exact item counts plus overheads, within budget unless flagged oversize.
 * Returns the total tokens; throws on any mismatch.
 */
function verify(name: string, emitted: readonly Emitted[], exact: readonly number[], setting: Setting): number {
  let next = 0;
  let total = 0;
  for (const { indices, batch } of emitted) {
    if (!batch) throw new Error(`${name}: no batch to check`);
    let expected = BATCH_OVERHEAD;
    for (const index of indices) {
      if (index !== next) throw new Error(`${name}: item ${index} where item ${next} was due`);
      next++;
      expected += (exact[index] as number) + ITEM_OVERHEAD;
    }
    if (batch.tokens !== expected) throw new Error(`${name}: batch ${batch.index} reports ${batch.tokens} tokens, exact counts give ${expected}`);
    if (!batch.oversize && batch.tokens > MAX_TOKENS) throw new Error(`${name}: batch ${batch.index} has ${batch.tokens} tokens > ${MAX_TOKENS}`);
    if (setting.maxItems !== undefined && indices.length > setting.maxItems) throw new Error(`${name}: batch ${batch.index} has ${indices.length} items`);
    total += batch.tokens;
  }
  if (next !== exact.length) throw new Error(`${name}: emitted ${next} of ${exact.length} items`);
  return total;
}

/** Same partition into batches? */
function samePartition(a: readonly Emitted[], b: readonly Emitted[]): boolean {
  return (
    a.length === b.length &&
    a.every((batch, i) => {
      const other = (b[i] as Emitted).indices;
      return batch.indices.length === other.length && batch.indices.every((index, j) => index === other[j]);
    })
  );
}

/** Runs the scenario. Exported with its extra options for the test suite. */
export async function runBufferByTokens(options: BufferByTokensBenchOptions): Promise<BenchResult> {
  const itemCount = options.items ?? (options.quick ? 2000 : 20_000);
  const repeats = options.repeats ?? (options.quick ? 1 : 3);
  const items = makeCorpus({ seed: SEED, items: itemCount });
  const megabytes = corpusMegabytes(items);
  const gpt = getTokenizer('o200k_base');
  const exact = items.map((text) => gpt.count(text));
  const exactTotal = exact.reduce((sum, count) => sum + count, 0);
  const tiktoken = tiktokenTokenizer('o200k_base'); // built here, outside the timed runs

  const contenders: Contender[] = [];
  for (const setting of SETTINGS) {
    contenders.push(
      rxContender('every item tokenized (no bound)', setting, counting(gpt, false), items, true),
      rxContender('bufferByTokens (gpt-tokenizer)', setting, counting(gpt, true), items),
      rxContender('bufferByTokens (tiktoken)', setting, counting(tiktoken, true), items),
      iterableContender('iterable bufferByTokens (gpt-tokenizer)', setting, counting(gpt, true), items),
    );
  }

  // Runs interleave contenders round by round, so drift (GC, heat) spreads over all of them.
  const measured = new Map<Contender, Measured>();
  const measure = async (contender: Contender): Promise<void> => {
    if (contender.counter) contender.counter.calls = 0;
    const start = performance.now();
    const emitted = await contender.run();
    const elapsed = performance.now() - start;
    const previous = measured.get(contender);
    measured.set(contender, { contender, bestMs: Math.min(elapsed, previous?.bestMs ?? Number.POSITIVE_INFINITY), calls: contender.counter?.calls, emitted });
  };
  for (let round = 0; round < repeats; round++) for (const contender of contenders) await measure(contender);

  // The floor batches as many items as the default bufferByTokens row of the same setting did.
  const floors = SETTINGS.map((setting) => {
    const reference = (measured.get(contenders.find((c) => c.setting === setting && c.name === 'bufferByTokens (gpt-tokenizer)') as Contender) as Measured).emitted;
    return floorContender(setting, setting.maxItems ?? Math.max(1, Math.round(itemCount / reference.length)), exact);
  });
  for (let round = 0; round < repeats; round++) for (const floor of floors) await measure(floor);
  contenders.push(...floors);

  // Correctness, after timing: reading batch.tokens may tokenize (lazily) and must not be timed.
  const notes: string[] = [];
  const checkedNames: string[] = [];
  for (const setting of SETTINGS) {
    const ofSetting = contenders.filter((c) => c.setting === setting && c.checked);
    const reference = (measured.get(ofSetting[0] as Contender) as Measured).emitted;
    for (const contender of ofSetting) {
      const { emitted } = measured.get(contender) as Measured;
      const total = verify(`${contender.name} [${setting.label}]`, emitted, exact, setting);
      const expected = exactTotal + BATCH_OVERHEAD * emitted.length + ITEM_OVERHEAD * itemCount;
      if (total !== expected) throw new Error(`${contender.name} [${setting.label}]: ${total} tokens in batches, expected ${expected}`);
      if (!samePartition(emitted, reference)) throw new Error(`${contender.name} [${setting.label}]: batches differ from ${ofSetting[0]?.name}`);
      checkedNames.push(`${contender.name} [${setting.label}]`);
    }
  }

  const rows: BenchRow[] = [];
  for (const setting of SETTINGS) {
    const baseline = measured.get(contenders.find((c) => c.setting === setting && c.baseline) as Contender) as Measured;
    for (const contender of contenders.filter((c) => c.setting === setting)) {
      const { bestMs, calls, emitted } = measured.get(contender) as Measured;
      let utilization = 0;
      let overBudget = 0;
      for (const { indices } of emitted) {
        let tokens = BATCH_OVERHEAD;
        for (const index of indices) tokens += (exact[index] as number) + ITEM_OVERHEAD;
        utilization += tokens / MAX_TOKENS;
        if (tokens > MAX_TOKENS && indices.length > 1) overBudget++;
      }
      rows.push({
        name: contender.name,
        limits: setting.label,
        'items/s': Math.round(itemCount / (bestMs / 1000)),
        'MB/s': megabytes / (bestMs / 1000),
        batches: emitted.length,
        'mean util': utilization / emitted.length,
        'over budget': overBudget,
        'exact calls': calls ?? 0,
        'vs every item': baseline.bestMs / bestMs,
      });
    }
  }

  notes.push(
    `corpus: ${itemCount.toLocaleString('en-US')} items (seed ${SEED}, default mix), ${megabytes.toFixed(2)} MB UTF-8, ${exactTotal.toLocaleString('en-US')} o200k tokens`,
    `budget: maxTokens ${MAX_TOKENS}, batchOverheadTokens ${BATCH_OVERHEAD}, itemOverheadTokens ${ITEM_OVERHEAD}; best of ${repeats} run(s), rounds interleaved`,
    `"every item tokenized": bufferByTokens with a tokenizer that has no upperBound, so each item is counted exactly (the baseline of its limits)`,
    `bufferCount: the floor, no token work (its batches may exceed the budget, see "over budget")`,
    `exact calls: tokenizer.count calls during one run (tokenizers wrapped to count them)`,
    `token-count check passed: ${checkedNames.length} bufferByTokens rows, each batch's tokens = exact counts + overheads, within budget, same batches across rows of the same limits`,
  );
  return { scenario: 'buffer-by-tokens', title: 'bufferByTokens throughput on a mixed corpus', rows, notes };
}

/**
 * The scenario as the harness runs it.
 *
 * @example
 * ```ts
 * const result = await bufferByTokensScenario.run({ quick: true, items: 200 });
 * ```
 */
export const bufferByTokensScenario: Scenario & { run(options: BufferByTokensBenchOptions): Promise<BenchResult> } = {
  name: 'buffer-by-tokens',
  run: runBufferByTokens,
};
