/**
 * The processing chain (bufferByTokens → splitOnOverflow → mergeBatches → orderedResults) against
 * the simulated hosted model, in virtual time, versus plain-TypeScript ways of calling the same
 * model: one call per item in a loop, fixed batches of 4 on a pool of 4 workers with results at the
 * end, and one call per item on a pool of 4 workers.
 *
 * Every contender gets its own model (same seed, same limits, same faults) and its own virtual
 * clock starting at 0, with the whole corpus available at once (a job). The baselines are written
 * fairly: they retry transient errors with the same backoff as the chain, and they respect the
 * rate limit reactively, waiting exactly the `retryAfterMs` the model asks for. Virtual time makes
 * every figure deterministic: the same table on every run and every machine.
 */
import { from, VirtualTimeScheduler } from 'rxjs';
import {
  bufferByTokens,
  ContextOverflowError,
  mergeBatches,
  orderedResults,
  RateLimitError,
  simulatedClassify,
  simulatedModel,
  splitOnOverflow,
  TransientError,
  type Batch,
  type HandlerContext,
  type SimulatedLatency,
  type SimulatedModelStats,
} from '../../src/index.js';
import { createRandom, makeCorpus, type Random } from '../corpus.js';
import type { BenchOptions, BenchResult, BenchRow, Scenario } from '../harness.js';
import { at, runVirtual } from '../virtual-time.js';

/** Options of this scenario beyond the harness's: the test suite shrinks the input further. */
export interface ProcessingBenchOptions extends BenchOptions {
  /** Corpus size. Default 5,000, or 500 with `quick`. */
  items?: number;
}

const SEED = 42;
/** A small hosted chat model at a low usage tier (the limits of OpenAI's tier 1 for gpt-4o-mini). */
const MODEL = {
  contextWindow: 16_384,
  /** The classification instructions and label list, sent with every call. */
  promptTokens: 200,
  rpm: 500,
  tpm: 200_000,
  latency: { baseMs: 250, perInputTokenMs: 0.02, perOutputTokenMs: 8, jitter: 0.2 } satisfies Required<SimulatedLatency>,
  transient: 0.02,
} as const;
/** Numbering and separators per item of a batched prompt (a single-item call needs none). */
const ITEM_OVERHEAD = 4;
/** Output tokens an item's answer may take at most (the longest label): the chain reserves this much. */
const MAX_OUTPUT_TOKENS_PER_ITEM = 2;
const CONCURRENCY = 4;
const FIXED_BATCH = 4;
/** Attempts per call (transient errors); rate-limit waits do not use them up in the baselines. */
const MAX_ATTEMPTS = 6;
const BASE_DELAY_MS = 500;
/** The chain's batch budget: whatever the context window leaves after the instructions. */
const MAX_TOKENS = MODEL.contextWindow - MODEL.promptTokens;
const MAX_WAIT_MS = 200;
const TIMEOUT_MS = 30_000;
const WINDOW_MS = 60_000;

/** An item's result as delivered to the caller: the label, or the error it failed with, and when. */
export interface Delivery {
  index: number;
  value: string | Error;
  /** Virtual time (ms) at which the caller had it. Every item arrived at 0. */
  at: number;
}

/** One model call as the wrapped handler saw it, for the latency bound. */
interface CallRecord {
  items: number;
  ms: number;
  ok: boolean;
}

/** What a contender gets to work with: its clock, its model's handler, and where results go. */
interface Workbench {
  readonly items: readonly string[];
  readonly clock: VirtualTimeScheduler;
  readonly handler: (batch: Batch<string>, context: HandlerContext) => Promise<readonly string[]>;
  readonly random: Random;
  readonly deliver: (index: number, value: string | Error) => void;
}

interface Contender {
  name: string;
  baseline: boolean;
  run(bench: Workbench): Promise<void>;
}

interface Measured {
  contender: Contender;
  deliveries: Delivery[];
  stats: SimulatedModelStats;
  calls: CallRecord[];
  endMs: number;
}

/**
 * Checks that every item got exactly one result, and that each label is the right one for its
 * item. Returns the number of failed items; throws naming the contender on a missing, repeated,
 * out-of-range or wrong result.
 *
 * @example
 * ```ts
 * checkComplete('loop', [{ index: 0, value: 'bug', at: 300 }], ['the app crashes']); // 0
 * ```
 */
export function checkComplete(name: string, deliveries: readonly Delivery[], items: readonly string[]): number {
  const seen = new Uint8Array(items.length);
  let failed = 0;
  for (const { index, value } of deliveries) {
    if (!Number.isInteger(index) || index < 0 || index >= items.length) throw new Error(`${name}: a result for item ${index}, which does not exist`);
    if (seen[index]) throw new Error(`${name}: a second result for item ${index}`);
    seen[index] = 1;
    if (value instanceof Error) failed++;
    else if (value !== simulatedClassify(items[index] as string))
      throw new Error(`${name}: item ${index} labelled "${value}", expected "${simulatedClassify(items[index] as string)}"`);
  }
  const missing = seen.indexOf(0);
  if (missing >= 0) throw new Error(`${name}: no result for item ${missing} (${items.length - deliveries.length} missing)`);
  return failed;
}

/** The corpus in batches of `size` items, formed by bufferByTokens so they carry real token counts. */
function fixedBatches(items: readonly string[], size: number, itemOverheadTokens: number): Batch<string>[] {
  const out: Batch<string>[] = [];
  from(items)
    .pipe(bufferByTokens<string>({ maxTokens: Number.MAX_SAFE_INTEGER, maxItems: size, itemOverheadTokens, telemetry: false }))
    .subscribe((batch) => out.push(batch));
  return out;
}

const sleep = (clock: VirtualTimeScheduler, ms: number): Promise<void> => at(clock, clock.now() + ms);

/** The chain's backoff: full jitter under a ceiling that doubles per failure. */
const backoff = (failures: number, random: Random): number => random.next() * Math.min(30_000, BASE_DELAY_MS * 2 ** (failures - 1));

type CallResult = { ok: true; values: readonly string[] } | { ok: false; error: Error };

/**
 * How a careful hand-written client calls the model: on a 429 it waits the `retryAfterMs` it was
 * told and tries again; on a transient error it backs off and retries, up to MAX_ATTEMPTS.
 */
async function callUntilDone(bench: Workbench, batch: Batch<string>): Promise<CallResult> {
  const signal = new AbortController().signal;
  let failures = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      const values = await bench.handler(batch, { signal, attempt, splitDepth: 0, report: () => undefined });
      if (values.length !== batch.items.length) throw new Error(`${values.length} results for ${batch.items.length} items`);
      return { ok: true, values };
    } catch (error) {
      if (error instanceof RateLimitError) {
        await sleep(bench.clock, error.retryAfterMs ?? 1000);
        continue;
      }
      if (error instanceof TransientError && ++failures < MAX_ATTEMPTS) {
        await sleep(bench.clock, backoff(failures, bench.random));
        continue;
      }
      return { ok: false, error: error instanceof Error ? error : new Error(String(error)) };
    }
  }
}

/** Runs `work` on `size` workers, each taking the next unit as soon as it is free. */
async function pool<W>(size: number, work: readonly W[], run: (unit: W) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < work.length) await run(work[next++] as W);
  };
  await Promise.all(Array.from({ length: size }, worker));
}

/** Hands each item of a call its result (or the call's error). */
const deliverAll = (indices: readonly number[], result: CallResult, deliver: (index: number, value: string | Error) => void): void => {
  indices.forEach((index, i) => deliver(index, result.ok ? (result.values[i] as string) : result.error));
};

const sequential: Contender = {
  name: '1 call/item, sequential',
  baseline: true,
  async run(bench) {
    for (const batch of fixedBatches(bench.items, 1, 0)) deliverAll(batch.itemIndices, await callUntilDone(bench, batch), bench.deliver);
  },
};

const fixedAtEnd: Contender = {
  name: `batches of ${FIXED_BATCH}, ${CONCURRENCY} workers, results at end`,
  baseline: true,
  async run(bench) {
    const results: [readonly number[], CallResult][] = [];
    await pool(CONCURRENCY, fixedBatches(bench.items, FIXED_BATCH, ITEM_OVERHEAD), async (batch) => {
      const result = await callUntilDone(bench, batch);
      if (!result.ok && result.error instanceof ContextOverflowError) {
        // Too long together: fall back to one call per item.
        for (const single of fixedBatches(batch.items, 1, 0)) {
          const indices = single.itemIndices.map((i) => batch.itemIndices[i] as number);
          results.push([indices, await callUntilDone(bench, single)]);
        }
        return;
      }
      results.push([batch.itemIndices, result]);
    });
    for (const [indices, result] of results) deliverAll(indices, result, bench.deliver);
  },
};

const pooled: Contender = {
  name: `1 call/item, ${CONCURRENCY} workers`,
  baseline: true,
  async run(bench) {
    await pool(CONCURRENCY, fixedBatches(bench.items, 1, 0), async (batch) => deliverAll(batch.itemIndices, await callUntilDone(bench, batch), bench.deliver));
  },
};

const chain: Contender = {
  name: 'tokenbatch chain',
  baseline: false,
  run: (bench) =>
    new Promise<void>((resolve, reject) => {
      const { clock } = bench;
      from(bench.items)
        .pipe(
          bufferByTokens<string>({ maxTokens: MAX_TOKENS, maxWaitMs: MAX_WAIT_MS, itemOverheadTokens: ITEM_OVERHEAD, scheduler: clock, telemetry: false }),
          splitOnOverflow(),
          mergeBatches(bench.handler, {
            concurrency: CONCURRENCY,
            rateLimit: { requestsPerMinute: MODEL.rpm, tokensPerMinute: MODEL.tpm },
            // The model bills the instructions and the answers too: reserve them, settle to usage.
            estimateTokens: (batch) => batch.tokens + MODEL.promptTokens + MAX_OUTPUT_TOKENS_PER_ITEM * batch.items.length,
            retry: { maxAttempts: MAX_ATTEMPTS, baseDelayMs: BASE_DELAY_MS, random: () => bench.random.next() },
            timeoutMs: TIMEOUT_MS,
            scheduler: clock,
            telemetry: false,
          }),
          orderedResults(),
        )
        .subscribe({
          next: (outcome) => bench.deliver(outcome.index, outcome.ok ? outcome.value : outcome.error),
          error: reject,
          complete: resolve,
        });
    }),
};

const CONTENDERS = [sequential, fixedAtEnd, pooled, chain];

async function measure(contender: Contender, items: readonly string[]): Promise<Measured> {
  const clock = new VirtualTimeScheduler();
  const model = simulatedModel({
    task: 'classify',
    contextWindow: MODEL.contextWindow,
    promptTokens: MODEL.promptTokens,
    rpm: MODEL.rpm,
    tpm: MODEL.tpm,
    latency: MODEL.latency,
    faults: { transient: MODEL.transient },
    seed: SEED,
    scheduler: clock,
  });
  const calls: CallRecord[] = [];
  const deliveries: Delivery[] = [];
  const bench: Workbench = {
    items,
    clock,
    random: createRandom(SEED + 1),
    handler: async (batch, context) => {
      const start = clock.now();
      let ok = false;
      try {
        const values = await model.handler(batch, context);
        ok = true;
        return values;
      } finally {
        calls.push({ items: batch.items.length, ms: clock.now() - start, ok });
      }
    },
    deliver: (index, value) => void deliveries.push({ index, value, at: clock.now() }),
  };
  await runVirtual(clock, () => contender.run(bench));
  const endMs = deliveries.reduce((end, delivery) => Math.max(end, delivery.at), 0);
  return { contender, deliveries, stats: model.stats(), calls, endMs };
}

/** Nearest-rank percentile of item latencies, in seconds. */
function percentile(sortedMs: readonly number[], p: number): number {
  if (sortedMs.length === 0) return 0;
  return (sortedMs[Math.max(0, Math.ceil(p * sortedMs.length) - 1)] as number) / 1000;
}

const fmt = (value: number, digits = 1): string => value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** Runs the scenario. Exported with its extra options for the test suite. */
export async function runProcessing(options: ProcessingBenchOptions): Promise<BenchResult> {
  const itemCount = options.items ?? (options.quick ? 500 : 5000);
  if (!Number.isInteger(itemCount) || itemCount < 1) throw new RangeError(`items: expected a whole number >= 1, got ${itemCount}`);
  const items = makeCorpus({ seed: SEED, items: itemCount });
  const measured: Measured[] = [];
  for (const contender of CONTENDERS) measured.push(await measure(contender, items));

  const failed = measured.map(({ contender, deliveries }) => checkComplete(contender.name, deliveries, items));
  const throughput = (m: Measured): number => (m.endMs > 0 ? itemCount / (m.endMs / 1000) : 0);
  const baselines = measured.filter((m) => m.contender.baseline);
  const sequentialRun = measured[0] as Measured;
  const best = baselines.reduce((a, b) => (throughput(b) > throughput(a) ? b : a));

  const rows: BenchRow[] = measured.map((m, i) => {
    const latencies = m.deliveries.map((d) => d.at).sort((a, b) => a - b);
    return {
      name: m.contender.name,
      'items/s': throughput(m),
      'end s': m.endMs / 1000,
      calls: m.stats.calls,
      '429s': m.stats.failures.rateLimit,
      '500s': m.stats.failures.transient,
      'items/call': m.stats.answered > 0 ? m.stats.items / m.stats.answered : 0,
      'billed tok': m.stats.inputTokens + m.stats.outputTokens,
      'cost $': Math.round(m.stats.costUsd * 10_000) / 10_000,
      'p50 s': percentile(latencies, 0.5),
      'p99 s': percentile(latencies, 0.99),
      failed: failed[i] as number,
      'vs sequential': throughput(m) / throughput(sequentialRun),
      'vs best baseline': throughput(m) / throughput(best),
    };
  });

  // The bound the limits imply at the chain's batch size, and the chain's share of it.
  const chainRun = measured.find((m) => m.contender === chain) as Measured;
  const billed = chainRun.stats.inputTokens + chainRun.stats.outputTokens;
  const itemsPerCall = chainRun.stats.items / chainRun.stats.answered;
  const tokensPerItem = billed / itemCount;
  const answered = chainRun.calls.filter((call) => call.ok);
  const meanCallMs = answered.reduce((sum, call) => sum + call.ms, 0) / answered.length;
  const rpmBound = (MODEL.rpm / 60) * itemsPerCall;
  const tpmBound = MODEL.tpm / 60 / tokensPerItem;
  const concurrencyBound = (CONCURRENCY * itemsPerCall) / (meanCallMs / 1000);
  const bound = Math.min(rpmBound, tpmBound, concurrencyBound);
  const binding = bound === tpmBound ? 'TPM' : bound === rpmBound ? 'RPM' : 'concurrency/latency';
  // A finite job also gets the first minute's allowance at once. Admissions in any 60 s span stay
  // within the limits, so admitting W billed tokens (failed calls only add to W) takes at least
  // (ceil(W / TPM) - 1) minutes, and the last call then takes at least the model's shortest latency.
  // Independently, the calls' time spread over the slots is a floor too.
  const shortestCallMs = MODEL.latency.baseMs * (1 - MODEL.latency.jitter);
  const windowFloorMs = Math.max((Math.ceil(billed / MODEL.tpm) - 1) * WINDOW_MS, (Math.ceil(chainRun.stats.answered / MODEL.rpm) - 1) * WINDOW_MS) + shortestCallMs;
  const slotFloorMs = answered.reduce((sum, call) => sum + call.ms, 0) / CONCURRENCY;
  const jobBound = itemCount / (Math.max(windowFloorMs, slotFloorMs) / 1000);
  const chainThroughput = throughput(chainRun);

  const notes = [
    `virtual time: every contender runs on its own VirtualTimeScheduler from t=0, so these figures are deterministic (the same on every run and machine); the run itself takes real seconds only for tokenizing and bookkeeping`,
    `corpus: ${itemCount.toLocaleString('en-US')} items (makeCorpus seed ${SEED}, default mix), all available at t=0 (a job); item latency = time from t=0 until the caller has the item's result`,
    `model: simulatedModel classify, context window ${MODEL.contextWindow.toLocaleString('en-US')}, ${MODEL.promptTokens} prompt tokens per call, latency ${MODEL.latency.baseMs} ms + ${MODEL.latency.perInputTokenMs} ms/input token + ${MODEL.latency.perOutputTokenMs} ms/output token, ±${MODEL.latency.jitter * 100}% seeded jitter, ${MODEL.transient * 100}% transient 500s; limits ${MODEL.rpm} RPM, ${MODEL.tpm.toLocaleString('en-US')} TPM (sliding minute); $0.15 / $0.60 per million input / output tokens`,
    `chain: bufferByTokens({ maxTokens: ${MAX_TOKENS.toLocaleString('en-US')} (window - prompt), maxWaitMs: ${MAX_WAIT_MS}, itemOverheadTokens: ${ITEM_OVERHEAD} }) → splitOnOverflow() → mergeBatches({ concurrency: ${CONCURRENCY}, rateLimit: ${MODEL.rpm} RPM / ${MODEL.tpm.toLocaleString('en-US')} TPM, estimateTokens: batch + prompt + ${MAX_OUTPUT_TOKENS_PER_ITEM}/item, retry: ${MAX_ATTEMPTS} attempts, timeoutMs: ${TIMEOUT_MS.toLocaleString('en-US')} }) → orderedResults()`,
    `baselines: plain TypeScript; on a 429 they wait retryAfterMs and retry, on a 500 they back off (full jitter, ${BASE_DELAY_MS} ms doubling) up to ${MAX_ATTEMPTS} attempts; batches of ${FIXED_BATCH} carry ${ITEM_OVERHEAD} tokens/item of numbering and fall back to single calls on context overflow`,
    `calls: handler calls including rejected ones; billed tok: input + output of answered calls (model.stats()); vs columns: items/s ratios (best baseline: ${best.contender.name})`,
    `bound at the chain's batch size (${fmt(itemsPerCall)} items/call, ${fmt(tokensPerItem)} billed tokens/item, ${fmt(meanCallMs / 1000, 2)} s mean call): RPM ${fmt(rpmBound)} items/s, TPM ${fmt(tpmBound)} items/s, concurrency x items/call / latency ${fmt(concurrencyBound)} items/s → ${fmt(bound)} items/s (${binding}); the chain reaches ${fmt((100 * chainThroughput) / bound)}% of this steady-state bound (a job of a few minutes can beat it: the first minute's allowance is there at t=0)`,
    `this job's bound (the first minute's allowance counted: admitting the chain's ${billed.toLocaleString('en-US')} billed tokens takes ≥ ${fmt((Math.ceil(billed / MODEL.tpm) - 1) * 60, 0)} s, the last call ≥ ${fmt(shortestCallMs, 0)} ms; the calls spread over ${CONCURRENCY} slots ≥ ${fmt(slotFloorMs / 1000)} s): ${fmt(jobBound)} items/s; the chain reaches ${fmt((100 * chainThroughput) / jobBound)}% of it`,
    `completeness check passed: every item got exactly one result in all ${measured.length} contenders, and every label matches simulatedClassify`,
  ];
  return { scenario: 'processing', title: 'processing a job against a rate-limited model (virtual time)', rows, notes };
}

/**
 * The scenario as the harness runs it.
 *
 * @example
 * ```ts
 * const result = await processingScenario.run({ quick: true, items: 60 });
 * ```
 */
export const processingScenario: Scenario & { run(options: ProcessingBenchOptions): Promise<BenchResult> } = {
  name: 'processing',
  run: runProcessing,
};
