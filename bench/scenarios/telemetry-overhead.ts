/**
 * What OpenTelemetry costs a chain: bufferByTokens + mergeBatches (an instant in-process handler) +
 * orderedResults over many short items, with telemetry off (`telemetry: false`, the baseline), with
 * the global API and no SDK registered (the no-op path every user without an SDK gets), and with
 * the SDK (in-memory span exporter, a metric reader collected after each run).
 */
import { createNoopMeter, metrics, trace, type Meter, type Tracer } from '@opentelemetry/api';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type MetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { from, type Observable } from 'rxjs';
import { bufferByTokens, mergeBatches, orderedResults, type BatchHandler, type Outcome, type TelemetryOptions } from '../../src/index.js';
import { createRandom } from '../corpus.js';
import type { BenchOptions, BenchResult, BenchRow, Scenario } from '../harness.js';

/** Options of this scenario beyond the harness's: the test suite shrinks the input further. */
export interface TelemetryOverheadBenchOptions extends BenchOptions {
  /** Items per run. Default 50,000, or 5,000 with `quick`. */
  items?: number;
  /** Interleaved rounds with the SDK (the best run of each contender counts), three times as many without. Default 20, or 1 with `quick`. */
  rounds?: number;
}

const SEED = 7;
const MAX_TOKENS = 2000;
const MAX_ITEMS = 32;

/** Short items, like chat messages or log lines: a few words each. */
function shortItems(count: number): string[] {
  const random = createRandom(SEED);
  const words = ['refund', 'order', 'login', 'crash', 'thanks', 'invoice', 'the', 'app', 'is', 'not', 'working', 'please', 'help', 'my', 'account'];
  return Array.from({ length: count }, (_, i) => {
    const length = random.int(3, 12);
    const parts = [`#${i}`];
    for (let w = 0; w < length; w++) parts.push(random.pick(words));
    return parts.join(' ');
  });
}

const handler: BatchHandler<string, number> = async (batch) => batch.items.map((text) => text.length);

function chain(items: readonly string[], telemetry: TelemetryOptions | false | undefined): Observable<Outcome<string, number>> {
  const options = telemetry === undefined ? {} : { telemetry };
  return from(items).pipe(
    bufferByTokens<string>({ maxTokens: MAX_TOKENS, maxItems: MAX_ITEMS, ...options }),
    // A push source delivers every batch before the first handler call settles: let them all queue.
    mergeBatches(handler, { concurrency: 4, maxQueuedItems: items.length, ...options }),
    orderedResults(),
  );
}

/** Run the chain to completion and check every outcome: all ok, in order, with the right value. */
function runChain(items: readonly string[], telemetry: TelemetryOptions | false | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let next = 0;
    chain(items, telemetry).subscribe({
      next: (outcome) => {
        if (outcome.index !== next || !outcome.ok || outcome.value !== (items[next] as string).length) {
          reject(new Error(`outcome ${outcome.index} (expected ${next}) is ${outcome.ok ? `ok ${outcome.value}` : outcome.error.name}`));
        }
        next++;
      },
      error: reject,
      complete: () => (next === items.length ? resolve() : reject(new Error(`${next} outcomes for ${items.length} items`))),
    });
  });
}

/** An SDK as an application would set one up, with in-memory exporters so nothing leaves the process. */
function inMemorySdk() {
  const spans = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  // The periodic reader never fires during a run (its interval is an hour); the scenario exports by hand.
  const reader: MetricReader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  const tracer: Tracer = tracerProvider.getTracer('bench');
  const meter: Meter = meterProvider.getMeter('bench');
  return {
    telemetry: { tracer, meter } satisfies TelemetryOptions,
    /** Export what the run recorded (inside the timed run, as an application's reader would eventually) and check it. */
    async drain(items: number, withSpans = true): Promise<void> {
      await reader.forceFlush();
      const recorded = metricExporter.getMetrics().flatMap((resource) => resource.scopeMetrics.flatMap((scope) => scope.metrics));
      const outcomes = recorded.find((metric) => metric.descriptor.name === 'tokenbatch.outcomes');
      const total = outcomes?.dataPoints.reduce((sum, point) => sum + (point.value as number), 0);
      if ((withSpans && spans.getFinishedSpans().length === 0) || total === undefined) throw new Error('the SDK recorded nothing');
      if (total % items !== 0) throw new Error(`the SDK counted ${total} outcomes, not a multiple of ${items}`);
      spans.reset();
      metricExporter.reset();
    },
    shutdown: () => Promise.all([tracerProvider.shutdown(), meterProvider.shutdown()]),
  };
}

/** The no-op row is only honest if nothing registered an SDK globally in this process. */
function assertNoGlobalSdk(): void {
  const noop = createNoopMeter().createHistogram('probe');
  if (metrics.getMeter('probe').createHistogram('probe') !== noop || trace.getTracer('probe').startSpan('probe').isRecording()) {
    throw new Error('telemetry-overhead: an OpenTelemetry SDK is registered globally, so the no-op row would not measure the no-op path');
  }
}

interface Contender {
  name: string;
  run: () => Promise<void>;
}

/** Best time of each contender over `rounds` rounds after untimed warm-up rounds, in rotating order. */
async function race(contenders: readonly Contender[], rounds: number, warmUp: number): Promise<Map<string, number>> {
  const best = new Map<string, number>();
  for (let round = 0; round < warmUp; round++) for (const contender of contenders) await contender.run();
  for (let round = 0; round < rounds; round++) {
    // Each round starts with another contender, so drift (GC, heat) does not favour one.
    for (let i = 0; i < contenders.length; i++) {
      const contender = contenders[(i + round) % contenders.length] as Contender;
      const start = performance.now();
      await contender.run();
      const elapsed = performance.now() - start;
      best.set(contender.name, Math.min(elapsed, best.get(contender.name) ?? Number.POSITIVE_INFINITY));
    }
  }
  return best;
}

/** Runs the scenario. Exported with its extra options for the test suite. */
export async function runTelemetryOverhead(options: TelemetryOverheadBenchOptions): Promise<BenchResult> {
  const itemCount = options.items ?? (options.quick ? 5000 : 50_000);
  const rounds = options.rounds ?? (options.quick ? 1 : 20);
  const items = shortItems(itemCount);
  assertNoGlobalSdk();
  const off: Contender = { name: 'telemetry: false', run: () => runChain(items, false) };

  // Phase 1, before any SDK code runs: an application without an SDK never runs SDK code, whose
  // garbage and type feedback would otherwise slow whatever runs next in this process.
  const noop: Contender = { name: 'global API, no SDK (no-op)', run: () => runChain(items, undefined) };
  // Cheap runs: more of them, so that the small difference stands out of the noise.
  const phase1 = await race([off, noop], rounds * 3, options.quick ? 1 : 5);

  // Phase 2: the SDK, against telemetry: false measured alongside it.
  const sdk = inMemorySdk();
  const withSdk: Contender[] = [
    { name: 'telemetry: false (alongside SDK runs)', run: off.run },
    {
      name: 'SDK (in-memory exporters)',
      run: async () => {
        await runChain(items, sdk.telemetry);
        await sdk.drain(itemCount);
      },
    },
    { name: 'SDK, spans only', run: () => runChain(items, { tracer: sdk.telemetry.tracer, meter: createNoopMeter() }) },
    {
      name: 'SDK, metrics only',
      run: async () => {
        await runChain(items, { tracer: trace.getTracer('no-op'), meter: sdk.telemetry.meter });
        await sdk.drain(itemCount, false);
      },
    },
  ];
  let phase2: Map<string, number>;
  try {
    phase2 = await race(withSdk, rounds, 1);
  } finally {
    await sdk.shutdown();
  }

  const row = (name: string, ms: number, baselineMs: number): BenchRow => ({
    name,
    'best ms': ms,
    'items/s': Math.round(itemCount / (ms / 1000)),
    'vs telemetry: false': baselineMs / ms,
    'overhead %': (ms / baselineMs - 1) * 100,
  });
  const rows: BenchRow[] = [];
  for (const [name, ms] of phase1) rows.push(row(name, ms, phase1.get(off.name) as number));
  for (const [name, ms] of phase2) rows.push(row(name, ms, phase2.get(withSdk[0]!.name) as number));
  const sdkRatio = (phase2.get(withSdk[0]!.name) as number) / (phase2.get(withSdk[1]!.name) as number);
  const noopRatio = (phase1.get(off.name) as number) / (phase1.get(noop.name) as number);
  return {
    scenario: 'telemetry-overhead',
    title: 'What OpenTelemetry costs a chain (bufferByTokens + mergeBatches + orderedResults)',
    rows,
    ratios: [
      { id: 'telemetry.sdk-vs-off', label: 'throughput with the SDK on (spans and metrics) vs telemetry: false', value: sdkRatio, goal: 0.85 },
      { id: 'telemetry.noop-vs-off', label: 'throughput with the global API and no SDK vs telemetry: false', value: noopRatio, goal: 0.95 },
    ],
    notes: [
      `${itemCount.toLocaleString('en-US')} short items (3 to 12 words), batches of at most ${MAX_ITEMS} items / ${MAX_TOKENS} tokens, an instant in-process handler, concurrency 4`,
      `best of ${rounds * 3} (no-op) and ${rounds} (SDK) interleaved rounds after warm-up rounds; every run checks each outcome (ok, in order, right value)`,
      'rows 1-2 run before any SDK code has run in the process; the SDK rows are compared with telemetry: false measured alongside them',
      'SDK: BasicTracerProvider + SimpleSpanProcessor + InMemorySpanExporter, MeterProvider + a reader flushed to an InMemoryMetricExporter inside the timed run',
      'telemetry tokenizes nothing itself: tokenbatch.batch.tokens reports what the batcher knows (tokens_exact: false where that is a bound); item histograms are recorded per batch (the default itemHistograms: "batch")',
      'vs telemetry: false is the throughput ratio (1 = same speed); overhead % is the extra time per run',
    ],
  };
}

/**
 * The scenario as the harness runs it.
 *
 * @example
 * ```ts
 * const result = await telemetryOverhead.run({ quick: true, items: 500 });
 * ```
 */
export const telemetryOverhead: Scenario & { run(options: TelemetryOverheadBenchOptions): Promise<BenchResult> } = {
  name: 'telemetry-overhead',
  run: runTelemetryOverhead,
};
