/**
 * Per-item overhead: what tokenbatch's chain costs per item with an instant handler, against the
 * native operators a user would otherwise write. Token counts are supplied by the user (a counter
 * that reads the item's length), so nothing here measures a tokenizer: only the chain.
 *
 * - RxJS face: `bufferByTokens` → `mergeBatches` → `orderedResults` against `bufferCount(16)` +
 *   `mergeMap(handler, 4)` (completion order, no outcomes, no ordering: the floor).
 * - bufferByTokens alone against `bufferCount(16)` alone.
 * - The iterable face: the same chain from `tokenbatch/iterable` against ix's `buffer(16)` +
 *   `flatMap(handler, 4)`.
 */
import { AsyncIterableX, from as ixFrom } from 'ix/asynciterable';
import { buffer as ixBuffer, flatMap as ixFlatMap } from 'ix/asynciterable/operators';
import { bufferCount, from, mergeMap, type Observable } from 'rxjs';
import { bufferByTokens, mergeBatches, orderedResults, type BatchHandler, type Tokenizer } from '../../src/index.js';
import { bufferByTokens as bufferByTokensIterable, mergeBatches as mergeBatchesIterable, orderedResults as orderedResultsIterable } from '../../src/iterable.js';
import type { BenchOptions, BenchResult, BenchRow, Ratio, Scenario } from '../harness.js';

/** Options of this scenario beyond the harness's: the test suite shrinks the input further. */
export interface OverheadBenchOptions extends BenchOptions {
  /** Items per run. Default 200,000 (RxJS) and 50,000 (iterable), a tenth with `quick`. */
  items?: number;
  /** Interleaved timed rounds (the best counts). Default 7, or 1 with `quick`. */
  rounds?: number;
}

const MAX_ITEMS = 16;
const CONCURRENCY = 4;

/** Token counts supplied by the user: a cheap function of the text, no tokenizer. */
export const userCounts: Tokenizer = { name: 'user-counts', count: (text) => (text.length + 3) >> 2 };

const handler: BatchHandler<string, number> = async (batch) => batch.items.map((text) => text.length);
const nativeHandler = async (items: readonly string[]): Promise<number[]> => items.map((text) => text.length);

const chainOptions = { maxTokens: 1_000_000, maxItems: MAX_ITEMS, tokenizer: userCounts, telemetry: false } as const;

function drain<V>(source: Observable<V>, expect: number, check: (value: V) => number): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = 0;
    source.subscribe({
      next: (value) => void (seen += check(value)),
      error: reject,
      complete: () => (seen === expect ? resolve() : reject(new Error(`${seen} results for ${expect} items`))),
    });
  });
}

async function drainIterable<V>(source: AsyncIterable<V>, expect: number, check: (value: V) => number): Promise<void> {
  let seen = 0;
  for await (const value of source) seen += check(value);
  if (seen !== expect) throw new Error(`${seen} results for ${expect} items`);
}

interface Contender {
  name: string;
  run(): Promise<void>;
}

async function race(contenders: readonly Contender[], rounds: number): Promise<Map<string, number>> {
  const best = new Map<string, number>();
  for (const contender of contenders) await contender.run();
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < contenders.length; i++) {
      const contender = contenders[(i + round) % contenders.length] as Contender;
      const start = performance.now();
      await contender.run();
      const ms = performance.now() - start;
      best.set(contender.name, Math.min(ms, best.get(contender.name) ?? Number.POSITIVE_INFINITY));
    }
  }
  return best;
}

function items(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `ticket ${i}: the app crashes on start`);
}

/** Runs the scenario. Exported with its extra options for the test suite. */
export async function runOverhead(options: OverheadBenchOptions): Promise<BenchResult> {
  const rounds = options.rounds ?? (options.quick ? 1 : 7);
  const rxCount = options.items ?? (options.quick ? 20_000 : 200_000);
  const ixCount = options.items ?? (options.quick ? 5_000 : 50_000);
  const rx = items(rxCount);
  const ix = items(ixCount);
  // Every outcome checked: ok, in order, with the right value.
  const ordered = (data: readonly string[]) => {
    let next = 0;
    return (outcome: { index: number; ok: boolean; value?: unknown }) => {
      if (outcome.index !== next || !outcome.ok || outcome.value !== (data[next] as string).length) throw new Error(`outcome ${outcome.index} (expected ${next}) is wrong`);
      next++;
      return 1;
    };
  };

  const rxContenders: Contender[] = [
    { name: 'rx: bufferCount + mergeMap', run: () => drain(from(rx).pipe(bufferCount(MAX_ITEMS), mergeMap(nativeHandler, CONCURRENCY)), rxCount, (values) => values.length) },
    {
      name: 'rx: bufferByTokens → mergeBatches → orderedResults',
      run: () =>
        drain(from(rx).pipe(bufferByTokens<string>(chainOptions), mergeBatches(handler, { concurrency: CONCURRENCY, telemetry: false }), orderedResults()), rxCount, ordered(rx)),
    },
    { name: 'rx: bufferCount', run: () => drain(from(rx).pipe(bufferCount(MAX_ITEMS)), rxCount, (batch) => batch.length) },
    { name: 'rx: bufferByTokens (user counts)', run: () => drain(from(rx).pipe(bufferByTokens<string>(chainOptions)), rxCount, (batch) => batch.items.length) },
  ];
  const ixContenders: Contender[] = [
    {
      name: 'ix: buffer + flatMap',
      run: () =>
        drainIterable(
          ixFrom(ix).pipe(
            ixBuffer(MAX_ITEMS),
            ixFlatMap((batch: string[]) => AsyncIterableX.from(nativeHandler(batch)), CONCURRENCY),
          ),
          ixCount,
          (values: number[]) => values.length,
        ),
    },
    {
      name: 'ix: bufferByTokens → mergeBatches → orderedResults',
      run: () =>
        drainIterable(
          ixFrom(ix).pipe(bufferByTokensIterable<string>(chainOptions), mergeBatchesIterable(handler, { concurrency: CONCURRENCY, telemetry: false }), orderedResultsIterable()),
          ixCount,
          ordered(ix),
        ),
    },
  ];
  const rxBest = await race(rxContenders, rounds);
  const ixBest = await race(ixContenders, rounds);

  const perItem = (ms: number, count: number) => (ms * 1000) / count;
  const rows: BenchRow[] = [];
  const add = (best: Map<string, number>, count: number, baseline: string) => {
    for (const [name, ms] of best) {
      const base = best.get(baseline) as number;
      rows.push({ name, 'best ms': ms, 'µs/item': perItem(ms, count), 'items/s': Math.round(count / (ms / 1000)), 'vs native': base / ms });
    }
  };
  const get = (best: Map<string, number>, name: string) => best.get(name) as number;
  add(new Map([...rxBest].slice(0, 2)), rxCount, 'rx: bufferCount + mergeMap');
  add(new Map([...rxBest].slice(2)), rxCount, 'rx: bufferCount');
  add(ixBest, ixCount, 'ix: buffer + flatMap');
  const ratios: Ratio[] = [
    {
      id: 'overhead.rx-chain-vs-native',
      label: 'RxJS chain per item vs bufferCount + mergeMap (instant handler)',
      value: get(rxBest, 'rx: bufferCount + mergeMap') / get(rxBest, 'rx: bufferByTokens → mergeBatches → orderedResults'),
      goal: 0.5,
    },
    {
      id: 'overhead.buffer-by-tokens-vs-buffer-count',
      label: 'bufferByTokens (user-supplied counts) vs bufferCount',
      value: get(rxBest, 'rx: bufferCount') / get(rxBest, 'rx: bufferByTokens (user counts)'),
      goal: 0.8,
    },
    {
      id: 'overhead.iterable-chain-vs-ix',
      label: "iterable chain vs ix's buffer + flatMap",
      value: get(ixBest, 'ix: buffer + flatMap') / get(ixBest, 'ix: bufferByTokens → mergeBatches → orderedResults'),
      goal: 0.9,
    },
  ];
  return {
    scenario: 'overhead',
    title: 'Per-item overhead with an instant handler, against native operators',
    rows,
    ratios,
    notes: [
      `${rxCount.toLocaleString('en-US')} items (RxJS) and ${ixCount.toLocaleString('en-US')} items (ix), batches of ${MAX_ITEMS}, concurrency ${CONCURRENCY}, telemetry: false; counts supplied by the user (a function of the text, no tokenizer)`,
      `best of ${rounds} interleaved rounds after a warm-up round; every chain run checks each outcome (ok, in order, right value)`,
      'the native pipelines emit in completion order with no per-item outcome, error isolation or ordering: they are the floor',
    ],
  };
}

/**
 * The scenario as the harness runs it.
 *
 * @example
 * ```ts
 * const result = await overheadScenario.run({ quick: true, items: 500 });
 * ```
 */
export const overheadScenario: Scenario & { run(options: OverheadBenchOptions): Promise<BenchResult> } = {
  name: 'overhead',
  run: runOverhead,
};
