import { readFileSync } from 'node:fs';
import { context, metrics, SpanKind, SpanStatusCode, trace, type Attributes, type HrTime, type SpanContext, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { hrTimeToMilliseconds } from '@opentelemetry/core';
import { DataPointType, MeterProvider, MetricReader, type DataPoint, type Histogram, type MetricData } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { concat, from, lastValueFrom, NEVER, Observable, toArray, VirtualTimeScheduler, type Subscription } from 'rxjs';
import { afterAll, beforeAll, afterEach, describe, expect, it } from 'vitest';
import {
  bufferByTokens,
  ContextOverflowError,
  mergeBatches,
  orderedResults,
  QuotaExhaustedError,
  splitOnOverflow,
  TransientError,
  type BatchHandler,
  type Outcome,
  type TelemetryOptions,
  type Tokenizer,
} from '../../src/index.js';
import { TokenBatch } from '../../src/batching/batch.js';
import { DuplicateNotice, Envelope } from '../../src/internal/chain.js';
import { TokenMeter } from '../../src/tokens/meter.js';
import { SECONDS_BUCKETS, Telemetry, telemetrySettings } from '../../src/internal/telemetry.js';
import { VERSION } from '../../src/version.js';
import { runVirtual } from '../support/virtual-time.js';

/** A metric reader that collects on demand, as an exporter's reader would on its schedule. */
class CollectingReader extends MetricReader {
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  /** Every metric by name, with its scope. */
  async metrics(): Promise<Map<string, MetricData & { scope: { name: string; version?: string } }>> {
    const { resourceMetrics, errors } = await this.collect();
    expect(errors).toEqual([]);
    const byName = new Map<string, MetricData & { scope: { name: string; version?: string } }>();
    for (const { scope, metrics: list } of resourceMetrics.scopeMetrics) for (const metric of list) byName.set(metric.descriptor.name, { ...metric, scope });
    return byName;
  }
}

/** An SDK of our own: spans to memory, metrics on demand. */
/** Per-item histograms (`itemHistograms: 'item'`), not yet in the public TelemetryOptions type. */
const perItem = (telemetry: TelemetryOptions): TelemetryOptions => ({ ...telemetry, itemHistograms: 'item' });

function makeSdk() {
  const spans = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  const reader = new CollectingReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  const tracer = tracerProvider.getTracer('test');
  const meter = meterProvider.getMeter('test');
  return {
    spans,
    reader,
    tracer,
    meter,
    tracerProvider,
    meterProvider,
    telemetry: { tracer, meter } satisfies TelemetryOptions,
    batchSpans: () => spans.getFinishedSpans().filter((span) => span.name === 'tokenbatch.batch'),
  };
}
type Sdk = ReturnType<typeof makeSdk>;

/** One token per character; counts calls so tests can tell which work telemetry caused. */
function charTokenizer(): Tokenizer & { calls: number } {
  const tokenizer = {
    name: 'chars',
    calls: 0,
    count: (text: string) => {
      tokenizer.calls++;
      return text.length;
    },
    upperBound: (text: string) => text.length,
  };
  return tokenizer;
}

/** Sorted by attributes, so data points compare in a fixed order. */
function pointsOf<V>(metric: MetricData | undefined): { attributes: Attributes; value: V }[] {
  expect(metric, 'metric recorded').toBeDefined();
  return (metric!.dataPoints as DataPoint<V>[])
    .map((point) => ({ attributes: point.attributes, value: point.value }))
    .sort((a, b) => JSON.stringify(a.attributes).localeCompare(JSON.stringify(b.attributes)));
}

/** A histogram point's count, sum, min and max; sums and extremes to nine decimals. */
function summary(histogram: Histogram) {
  return { count: histogram.count, sum: round(histogram.sum ?? NaN), min: round(histogram.min ?? NaN), max: round(histogram.max ?? NaN) };
}
const round = (value: number) => Math.round(value * 1e9) / 1e9;

function histograms(metric: MetricData | undefined) {
  return pointsOf<Histogram>(metric).map(({ attributes, value }) => ({ attributes, ...summary(value) }));
}

function kindOf(metric: MetricData): string {
  if (metric.dataPointType === DataPointType.HISTOGRAM) return 'histogram';
  if (metric.dataPointType === DataPointType.SUM) return metric.isMonotonic ? 'counter' : 'up-down counter';
  return DataPointType[metric.dataPointType];
}

function sums(metric: MetricData | undefined) {
  return pointsOf<number>(metric);
}

/**
 * Virtual time that starts at an epoch date. The SDK reads a small number as a performance.now()
 * reading and maps it to wall time with an offset of its own per span; epoch milliseconds it takes
 * as they are, so span times are exact virtual times.
 */
const T0 = Date.UTC(2026, 0, 1);
function epochClock(): VirtualTimeScheduler {
  const clock = new VirtualTimeScheduler();
  clock.frame = T0;
  return clock;
}
const msOf = (time: HrTime) => hrTimeToMilliseconds(time) - T0;

const buffer = { 'tokenbatch.stage': 'buffer' };
const merge = { 'tokenbatch.stage': 'merge' };

beforeAll(() => {
  // Arrival contexts need a context manager, as any real setup (NodeSDK) registers.
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
});

afterAll(() => {
  context.disable();
});

afterEach(() => {
  trace.disable();
  metrics.disable();
});

/**
 * The main scenario, in virtual time (one token per character, maxTokens 10, batch overhead 1,
 * at most 3 items, maxWaitMs 50; every handler call takes 20 ms):
 *
 * | batch | items          | closes at, by | tokens | handler                                            |
 * |-------|----------------|---------------|--------|----------------------------------------------------|
 * | 0     | aaa, bbb       | 5, tokens     | 7      | TransientError at 25; retry at 75, ok at 95, report |
 * | 1     | cccc, d, ee    | 15, items     | 8      | ok at 35, reports usage and model                  |
 * | 2     | ffff           | 80, time      | 5      | QuotaExhaustedError at 100 (not retried)           |
 * | 3     | gg             | 110, end      | 3      | ok at 130, reports nothing                         |
 *
 * Items arrive at 0, 0, 5, 10, 15, 30 and 100, each inside a span of its own; the chain is
 * subscribed inside a `job` span.
 */
const EVENTS = [
  { at: 0, text: 'aaa' },
  { at: 0, text: 'bbb' },
  { at: 5, text: 'cccc' },
  { at: 10, text: 'd' },
  { at: 15, text: 'ee' },
  { at: 30, text: 'ffff' },
  { at: 100, text: 'gg' },
] as const;
const END_AT = 110;

interface Run {
  outcomes: Outcome<string, string>[];
  arrivals: Map<string, SpanContext>;
  job: SpanContext;
  /** The span active inside each handler call, by `batch index/attempt`. */
  activeInHandler: Map<string, string | undefined>;
  /** Metrics collected at virtual times 20 and 40. */
  snapshots: Map<number, Awaited<ReturnType<CollectingReader['metrics']>>>;
}

async function runScenario(sdk: Sdk, telemetry: TelemetryOptions | false | undefined, tracer: Tracer = sdk.tracer): Promise<Run> {
  const clock = epochClock();
  const arrivals = new Map<string, SpanContext>();
  const activeInHandler = new Map<string, string | undefined>();
  const snapshots: Run['snapshots'] = new Map();
  const pending: Promise<void>[] = [];
  for (const at of [20, 40]) {
    clock.schedule(() => pending.push(sdk.reader.metrics().then((collected) => void snapshots.set(at, collected))), at);
  }
  const source = new Observable<string>((subscriber) => {
    for (const { at, text } of EVENTS) {
      clock.schedule(() => {
        tracer.startActiveSpan(`arrive ${text}`, (span) => {
          arrivals.set(text, span.spanContext());
          subscriber.next(text);
          span.end();
        });
      }, at);
    }
    clock.schedule(() => subscriber.complete(), END_AT);
  });
  const later = <R>(ms: number, settle: () => R): Promise<R> => new Promise((resolve) => clock.schedule(() => resolve(settle()), ms));
  const handler: BatchHandler<string, string> = async (batch, handlerContext) => {
    const { attempt } = handlerContext;
    const report = (facts: Parameters<typeof handlerContext.report>[0]) => handlerContext.report(facts);
    activeInHandler.set(`${batch.index}/${attempt}`, trace.getActiveSpan()?.spanContext().spanId);
    const answer = () => batch.items.map((item) => item.toUpperCase());
    switch (batch.index) {
      case 0:
        if (attempt === 1) return later(20, () => Promise.reject(new TransientError('503 from the model')));
        return later(20, () => {
          report({ model: 'sim-1', operation: 'chat', usage: { inputTokens: 7, outputTokens: 2 } });
          return answer();
        });
      case 1:
        return later(20, () => {
          report({ model: 'sim-1', usage: { inputTokens: 8, outputTokens: 3 } });
          return answer();
        });
      case 2:
        return later(20, () => Promise.reject(new QuotaExhaustedError('no credit left')));
      default:
        return later(20, answer);
    }
  };
  const options = telemetry === undefined ? {} : { telemetry };
  const outcomes: Outcome<string, string>[] = [];
  let job: SpanContext | undefined;
  await runVirtual(clock, () =>
    tracer.startActiveSpan('job', (jobSpan) => {
      job = jobSpan.spanContext();
      return new Promise<void>((resolve, reject) => {
        source
          .pipe(
            bufferByTokens({ maxTokens: 10, batchOverheadTokens: 1, maxItems: 3, maxWaitMs: 50, tokenizer: charTokenizer(), scheduler: clock, ...options }),
            mergeBatches(handler, { scheduler: clock, retry: { maxAttempts: 2, baseDelayMs: 100, random: () => 0.5 }, ...options }),
            orderedResults(),
          )
          .subscribe({ next: (outcome) => outcomes.push(outcome), error: reject, complete: resolve });
      }).finally(() => jobSpan.end());
    }),
  );
  await Promise.all(pending);
  return { outcomes, arrivals, job: job as SpanContext, activeInHandler, snapshots };
}

const EXPECTED_OUTCOMES = [
  { index: 0, ok: true, value: 'AAA', attempts: 2 },
  { index: 1, ok: true, value: 'BBB', attempts: 2 },
  { index: 2, ok: true, value: 'CCCC', attempts: 1 },
  { index: 3, ok: true, value: 'D', attempts: 1 },
  { index: 4, ok: true, value: 'EE', attempts: 1 },
  { index: 5, ok: false, attempts: 1 },
  { index: 6, ok: true, value: 'GG', attempts: 1 },
];

function expectOutcomes(outcomes: readonly Outcome<string, string>[]): void {
  expect(outcomes.map((outcome) => ({ index: outcome.index, ok: outcome.ok, attempts: outcome.attempts, ...(outcome.ok ? { value: outcome.value } : {}) }))).toEqual(
    EXPECTED_OUTCOMES,
  );
  const failed = outcomes[5];
  expect(failed?.ok === false && failed.error).toBeInstanceOf(QuotaExhaustedError);
}

const spanKey = (span: ReadableSpan) => `${span.attributes['tokenbatch.batch.index'] as number}/${span.attributes['tokenbatch.batch.attempt'] as number}`;

describe('batch spans', () => {
  it('one INTERNAL span per attempt, with every attribute, error status on failure and GenAI usage from report()', async () => {
    const sdk = makeSdk();
    const run = await runScenario(sdk, sdk.telemetry);
    expectOutcomes(run.outcomes);
    const spans = sdk.batchSpans();
    expect(spans.map(spanKey)).toEqual(['0/1', '1/1', '0/2', '2/1', '3/1']); // in the order they ended
    const byKey = new Map(spans.map((span) => [spanKey(span), span]));
    const batch = (index: number, items: number, tokens: number, closeReason: string) => ({
      'tokenbatch.batch.index': index,
      'tokenbatch.batch.items': items,
      'tokenbatch.batch.tokens': tokens,
      'tokenbatch.batch.max_tokens': 10,
      'tokenbatch.batch.utilization': tokens / 10,
      'tokenbatch.batch.split_depth': 0,
      'tokenbatch.batch.close_reason': closeReason,
    });
    expect(byKey.get('0/1')?.attributes).toEqual({ ...batch(0, 2, 7, 'tokens'), 'tokenbatch.batch.attempt': 1, 'error.type': 'TransientError' });
    expect(byKey.get('0/2')?.attributes).toEqual({
      ...batch(0, 2, 7, 'tokens'),
      'tokenbatch.batch.attempt': 2,
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'sim-1',
      'gen_ai.usage.input_tokens': 7,
      'gen_ai.usage.output_tokens': 2,
    });
    expect(byKey.get('1/1')?.attributes).toEqual({
      ...batch(1, 3, 8, 'items'),
      'tokenbatch.batch.attempt': 1,
      'gen_ai.request.model': 'sim-1',
      'gen_ai.usage.input_tokens': 8,
      'gen_ai.usage.output_tokens': 3,
    });
    expect(byKey.get('2/1')?.attributes).toEqual({ ...batch(2, 1, 5, 'time'), 'tokenbatch.batch.attempt': 1, 'error.type': 'QuotaExhaustedError' });
    expect(byKey.get('3/1')?.attributes).toEqual({ ...batch(3, 1, 3, 'end'), 'tokenbatch.batch.attempt': 1 });

    for (const span of spans) {
      expect(span.kind).toBe(SpanKind.INTERNAL);
      expect(span.instrumentationScope.name).toBe('test'); // the tracer given in the options
      // Each attempt took 20 virtual milliseconds, and its span says so.
      expect(hrTimeToMilliseconds(span.duration)).toBe(20);
    }
    expect(byKey.get('0/1')?.status).toEqual({ code: SpanStatusCode.ERROR, message: '503 from the model' });
    expect(byKey.get('2/1')?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'no credit left' });
    for (const key of ['0/2', '1/1', '3/1']) expect(byKey.get(key)?.status.code).toBe(SpanStatusCode.UNSET);
    // Virtual start and end times: the retry started 50 ms (the seeded backoff) after attempt 1 failed.
    expect(Object.fromEntries([...byKey].map(([key, span]) => [key, [msOf(span.startTime), msOf(span.endTime)]]))).toEqual({
      '0/1': [5, 25],
      '1/1': [15, 35],
      '0/2': [75, 95],
      '2/1': [80, 100],
      '3/1': [110, 130],
    });
  });

  it('links each batch span to the spans where its items arrived, is a child of the subscribing span, and is active in the handler', async () => {
    const sdk = makeSdk();
    const run = await runScenario(sdk, sdk.telemetry);
    const spans = sdk.batchSpans();
    const itemsOf: Record<string, string[]> = { 0: ['aaa', 'bbb'], 1: ['cccc', 'd', 'ee'], 2: ['ffff'], 3: ['gg'] };
    for (const span of spans) {
      const index = span.attributes['tokenbatch.batch.index'] as number;
      const expected = (itemsOf[index] as string[]).map((text) => run.arrivals.get(text));
      expect(
        span.links.map((link) => link.context),
        `links of ${spanKey(span)}`,
      ).toEqual(expected);
      // Batch 0 closed when cccc arrived, and was retried from a timer: still a child of the job, not of cccc.
      expect(span.parentSpanContext?.spanId).toBe(run.job.spanId);
      expect(span.spanContext().traceId).toBe(run.job.traceId);
      expect(run.activeInHandler.get(spanKey(span))).toBe(span.spanContext().spanId);
    }
    expect(run.arrivals.size).toBe(7);
  });

  it('never records item text by default, and records each batch attempt item texts with recordText', async () => {
    const quiet = makeSdk();
    await runScenario(quiet, quiet.telemetry);
    for (const span of quiet.spans.getFinishedSpans().filter((span) => span.name === 'tokenbatch.batch')) {
      const recorded = JSON.stringify([span.attributes, span.status, span.events]);
      for (const { text } of EVENTS) expect(recorded).not.toContain(`"${text}"`);
      expect(span.attributes).not.toHaveProperty('tokenbatch.batch.items.text');
    }

    const verbose = makeSdk();
    const run = await runScenario(verbose, { ...verbose.telemetry, recordText: true });
    expectOutcomes(run.outcomes);
    const texts = new Map(verbose.batchSpans().map((span) => [spanKey(span), span.attributes['tokenbatch.batch.items.text']]));
    expect(Object.fromEntries(texts)).toEqual({
      '0/1': ['aaa', 'bbb'],
      '0/2': ['aaa', 'bbb'],
      '1/1': ['cccc', 'd', 'ee'],
      '2/1': ['ffff'],
      '3/1': ['gg'],
    });
  });

  it('records the text function’s text of object items, and omits index and close reason for plain arrays given to mergeBatches', async () => {
    const sdk = makeSdk();
    const tickets = [
      { id: 1, body: 'refund' },
      { id: 2, body: 'crash' },
    ];
    const outcomes = await new Promise<Outcome<unknown, number>[]>((resolve, reject) => {
      const out: Outcome<unknown, number>[] = [];
      from([tickets])
        .pipe(mergeBatches(async (batch) => batch.items.map((_, i) => i), { telemetry: { ...sdk.telemetry, recordText: true } }))
        .subscribe({ next: (outcome) => out.push(outcome), error: reject, complete: () => resolve(out) });
    });
    expect(outcomes.map((outcome) => outcome.ok)).toEqual([true, true]);
    const [span] = sdk.batchSpans();
    expect(span?.attributes['tokenbatch.batch.items.text']).toEqual(tickets.map((ticket) => JSON.stringify(ticket)));
    expect(span?.attributes).not.toHaveProperty('tokenbatch.batch.index');
    expect(span?.attributes).not.toHaveProperty('tokenbatch.batch.close_reason');
    expect(span?.attributes).not.toHaveProperty('tokenbatch.batch.max_tokens');
    expect(span?.attributes['tokenbatch.batch.items']).toBe(2);
  });

  it('records split_depth after a ContextOverflowError with splitOnOverflow, and counts the split', async () => {
    const sdk = makeSdk();
    const clock = epochClock();
    const handler: BatchHandler<string, string> = (batch) =>
      new Promise((resolve, reject) =>
        clock.schedule(
          () => (batch.tokens > 8 ? reject(new ContextOverflowError('maximum context length is 8 tokens')) : resolve(batch.items.map((item) => item[0] as string))),
          10,
        ),
      );
    const outcomes: Outcome<string, string>[] = [];
    await runVirtual(clock, async () => {
      await new Promise<void>((resolve, reject) => {
        from(['aaaa', 'bbbb', 'cccc', 'dddd'])
          .pipe(
            bufferByTokens({ maxTokens: 100, tokenizer: charTokenizer(), scheduler: clock, telemetry: sdk.telemetry }),
            splitOnOverflow(),
            mergeBatches(handler, { scheduler: clock, telemetry: sdk.telemetry }),
            orderedResults(),
          )
          .subscribe({ next: (outcome) => outcomes.push(outcome), error: reject, complete: resolve });
      });
    });
    expect(outcomes.map((outcome) => (outcome.ok ? [outcome.value, outcome.splitDepth] : outcome.error.name))).toEqual([
      ['a', 1],
      ['b', 1],
      ['c', 1],
      ['d', 1],
    ]);
    const common = { 'tokenbatch.batch.index': 0, 'tokenbatch.batch.max_tokens': 100, 'tokenbatch.batch.close_reason': 'end', 'tokenbatch.batch.attempt': 1 };
    expect(sdk.batchSpans().map((span) => span.attributes)).toEqual([
      {
        ...common,
        'tokenbatch.batch.items': 4,
        'tokenbatch.batch.tokens': 16,
        'tokenbatch.batch.utilization': 0.16,
        'tokenbatch.batch.split_depth': 0,
        'error.type': 'ContextOverflowError',
      },
      { ...common, 'tokenbatch.batch.items': 2, 'tokenbatch.batch.tokens': 8, 'tokenbatch.batch.utilization': 0.08, 'tokenbatch.batch.split_depth': 1 },
      { ...common, 'tokenbatch.batch.items': 2, 'tokenbatch.batch.tokens': 8, 'tokenbatch.batch.utilization': 0.08, 'tokenbatch.batch.split_depth': 1 },
    ]);
    const collected = await sdk.reader.metrics();
    expect(sums(collected.get('tokenbatch.splits'))).toEqual([{ attributes: merge, value: 1 }]);
    expect(collected.get('tokenbatch.retries')).toBeUndefined(); // a split is not a retry
    expect(histograms(collected.get('tokenbatch.batch.duration'))).toEqual([
      { attributes: { ...merge, 'error.type': 'ContextOverflowError' }, count: 1, sum: 0.01, min: 0.01, max: 0.01 },
      { attributes: merge, count: 2, sum: 0.02, min: 0.01, max: 0.01 },
    ]);
  });

  it('links the spans of an item’s chunks to where that item arrived, not to where the batch was closed', async () => {
    const sdk = makeSdk();
    const clock = epochClock();
    const arrivals = new Map<string, string>();
    const source = new Observable<string>((subscriber) => {
      for (const [at, text] of [
        [0, 'xxxxxxxx'],
        [10, 'yyy'],
      ] as const) {
        clock.schedule(
          () =>
            sdk.tracer.startActiveSpan(`arrive ${text}`, (span) => {
              arrivals.set(text, span.spanContext().spanId);
              subscriber.next(text);
              span.end();
            }),
          at,
        );
      }
      clock.schedule(() => subscriber.complete(), 20);
    });
    // The model takes at most 5 tokens: xxxxxxxx (8) is refused and cut into two chunks of 4.
    const handler: BatchHandler<string, string> = (batch) =>
      new Promise((resolve, reject) =>
        clock.schedule(() => (batch.tokens > 5 ? reject(new ContextOverflowError('too long')) : resolve(batch.items.map((item) => item.length.toString()))), 1),
      );
    const outcomes: Outcome<string, string>[] = [];
    await runVirtual(
      clock,
      () =>
        new Promise<void>((resolve, reject) => {
          source
            .pipe(
              bufferByTokens({ maxTokens: 10, tokenizer: charTokenizer(), scheduler: clock, telemetry: sdk.telemetry }),
              splitOnOverflow({ chunk: { overlapTokens: 0, merge: (parts: string[]) => parts.join('+') } }),
              mergeBatches(handler, { scheduler: clock, telemetry: sdk.telemetry, retry: false }),
              orderedResults(),
            )
            .subscribe({ next: (outcome) => outcomes.push(outcome), error: reject, complete: resolve });
        }),
    );
    expect(outcomes.map((outcome) => (outcome.ok ? outcome.value : outcome.error.name))).toEqual(['4+4', '3']);
    const spans = sdk.batchSpans();
    const ofX = spans.filter((span) => span.attributes['tokenbatch.batch.index'] === 0);
    expect(ofX.map((span) => [span.attributes['tokenbatch.batch.split_depth'], span.attributes['tokenbatch.batch.tokens']])).toEqual([
      [0, 8],
      [1, 4],
      [1, 4],
    ]);
    // Batch 0 closed when yyy arrived (inside yyy's span); its chunks still belong to xxxxxxxx.
    for (const span of ofX) expect(span.links.map((link) => link.context.spanId)).toEqual([arrivals.get('xxxxxxxx')]);
    const ofY = spans.filter((span) => span.attributes['tokenbatch.batch.index'] === 1);
    expect(ofY.map((span) => span.links.map((link) => link.context.spanId))).toEqual([[arrivals.get('yyy')]]);
  });
});

describe('instruments', () => {
  it('records every instrument with its name, unit, kind, values and attributes, in virtual time', async () => {
    const sdk = makeSdk();
    const run = await runScenario(sdk, perItem(sdk.telemetry));
    expectOutcomes(run.outcomes);
    const collected = await sdk.reader.metrics();

    // Unit and kind of each instrument, as exported: a histogram, a counter (a monotonic sum) or an
    // up-down counter (a non-monotonic sum).
    const kinds = {
      'tokenbatch.batch.size': ['{item}', 'histogram'],
      'tokenbatch.batch.tokens': ['{token}', 'histogram'],
      'tokenbatch.batch.utilization': ['1', 'histogram'],
      'tokenbatch.batch.duration': ['s', 'histogram'],
      'tokenbatch.item.wait': ['s', 'histogram'],
      'tokenbatch.item.latency': ['s', 'histogram'],
      'tokenbatch.items': ['{item}', 'counter'],
      'tokenbatch.outcomes': ['{item}', 'counter'],
      'tokenbatch.retries': ['{attempt}', 'counter'],
      'tokenbatch.batches.in_flight': ['{batch}', 'up-down counter'],
      'tokenbatch.items.queued': ['{item}', 'up-down counter'],
    } as const;
    // Nothing split, waited for a rate limit or was a duplicate here: those have no points yet.
    expect([...collected.keys()].sort()).toEqual(Object.keys(kinds).sort());
    for (const [name, [unit, kind]] of Object.entries(kinds)) {
      const metric = collected.get(name)!;
      expect([metric.descriptor.unit, kindOf(metric), metric.scope.name], name).toEqual([unit, kind, 'test']);
      expect(metric.descriptor.description.length, name).toBeGreaterThan(10);
    }

    const byReason = (values: Record<string, number>) =>
      Object.entries(values).map(([reason, value]) => ({ attributes: { ...buffer, 'tokenbatch.batch.close_reason': reason }, count: 1, sum: value, min: value, max: value }));
    const sorted = <P extends { attributes: Attributes }>(points: P[]) => points.sort((a, b) => JSON.stringify(a.attributes).localeCompare(JSON.stringify(b.attributes)));
    expect(histograms(collected.get('tokenbatch.batch.size'))).toEqual(sorted(byReason({ tokens: 2, items: 3, time: 1, end: 1 })));
    // Exact tokens: the batch-fill figure people tune maxTokens by must be the real one.
    expect(histograms(collected.get('tokenbatch.batch.tokens'))).toEqual(sorted(byReason({ tokens: 7, items: 8, time: 5, end: 3 })));
    expect(histograms(collected.get('tokenbatch.batch.utilization'))).toEqual(sorted(byReason({ tokens: 0.7, items: 0.8, time: 0.5, end: 0.3 })));
    // Five attempts of 20 ms: three succeeded, one transient failure, one quota failure.
    expect(histograms(collected.get('tokenbatch.batch.duration'))).toEqual([
      { attributes: { ...merge, 'error.type': 'QuotaExhaustedError' }, count: 1, sum: 0.02, min: 0.02, max: 0.02 },
      { attributes: { ...merge, 'error.type': 'TransientError' }, count: 1, sum: 0.02, min: 0.02, max: 0.02 },
      { attributes: merge, count: 3, sum: 0.06, min: 0.02, max: 0.02 },
    ]);
    // Arrival to batch close: aaa 5, bbb 5, cccc 10, d 5, ee 0, ffff 50, gg 10 ms.
    expect(histograms(collected.get('tokenbatch.item.wait'))).toEqual([{ attributes: buffer, count: 7, sum: 0.085, min: 0, max: 0.05 }]);
    // Arrival to outcome: aaa and bbb 95 (after the retry), cccc 30, d 25, ee 20, gg 30; ffff failed after 70.
    expect(histograms(collected.get('tokenbatch.item.latency'))).toEqual([
      { attributes: { ...merge, 'tokenbatch.outcome': 'error' }, count: 1, sum: 0.07, min: 0.07, max: 0.07 },
      { attributes: { ...merge, 'tokenbatch.outcome': 'ok' }, count: 6, sum: 0.295, min: 0.02, max: 0.095 },
    ]);
    expect(sums(collected.get('tokenbatch.items'))).toEqual([
      { attributes: buffer, value: 7 },
      { attributes: merge, value: 7 },
    ]);
    expect(sums(collected.get('tokenbatch.outcomes'))).toEqual([
      { attributes: { ...merge, 'tokenbatch.outcome': 'error' }, value: 1 },
      { attributes: { ...merge, 'tokenbatch.outcome': 'ok' }, value: 6 },
    ]);
    expect(sums(collected.get('tokenbatch.retries'))).toEqual([{ attributes: merge, value: 1 }]);
    // Everything settled: nothing in flight, nothing queued.
    expect(sums(collected.get('tokenbatch.batches.in_flight'))).toEqual([{ attributes: merge, value: 0 }]);
    expect(sums(collected.get('tokenbatch.items.queued'))).toEqual([{ attributes: buffer, value: 0 }]);

    // At 20 ms batches 0 and 1 are in flight and no batch is open; at 40 batch 0 waits to retry, ffff is queued.
    const at = (time: number, name: string) => sums(run.snapshots.get(time)?.get(name));
    expect(at(20, 'tokenbatch.batches.in_flight')).toEqual([{ attributes: merge, value: 2 }]);
    expect(at(20, 'tokenbatch.items.queued')).toEqual([{ attributes: buffer, value: 0 }]);
    expect(at(40, 'tokenbatch.batches.in_flight')).toEqual([{ attributes: merge, value: 1 }]);
    expect(at(40, 'tokenbatch.items.queued')).toEqual([{ attributes: buffer, value: 1 }]);
  });

  it('buckets the second-valued histograms in seconds, not with the SDK’s millisecond defaults', async () => {
    const sdk = makeSdk();
    await runScenario(sdk, perItem(sdk.telemetry));
    const collected = await sdk.reader.metrics();
    for (const name of ['tokenbatch.batch.duration', 'tokenbatch.item.wait', 'tokenbatch.item.latency']) {
      for (const { value } of pointsOf<Histogram>(collected.get(name))) expect(value.buckets.boundaries, name).toEqual(SECONDS_BUCKETS);
    }
    // The 7 waits (0 to 50 ms) spread over several buckets instead of all falling in [0, 5 s).
    const wait = pointsOf<Histogram>(collected.get('tokenbatch.item.wait'))[0]!.value.buckets;
    expect(wait.counts.slice(0, 5)).toEqual([4, 2, 0, 1, 0]); // <=5 ms: ee, aaa, bbb, d; <=10 ms: cccc, gg; <=50 ms: ffff
    const utilization = pointsOf<Histogram>(collected.get('tokenbatch.batch.utilization'));
    expect(utilization[0]?.value.buckets.boundaries.at(-1)).toBe(1);
  });

  it('by default records item wait once per batch and item latency once per group of outcomes, with the longest value', async () => {
    const sdk = makeSdk();
    const run = await runScenario(sdk, sdk.telemetry);
    expectOutcomes(run.outcomes);
    const collected = await sdk.reader.metrics();
    // Four batches closed: one wait each, the longest of its items (ffff's 50 ms the longest of all).
    const [wait] = pointsOf<Histogram>(collected.get('tokenbatch.item.wait'));
    expect(wait?.value.count).toBe(4);
    expect(wait?.value.max).toBe(0.05);
    // Outcomes emitted together share one record; the counter still counts every outcome.
    const latency = pointsOf<Histogram>(collected.get('tokenbatch.item.latency'));
    const ok = latency.find((point) => point.attributes['tokenbatch.outcome'] === 'ok');
    expect(ok?.value.count).toBeLessThan(6);
    expect(ok?.value.max).toBe(0.095);
    expect(sums(collected.get('tokenbatch.outcomes')).reduce((sum, point) => sum + point.value, 0)).toBe(7);
  });

  it('rejects an itemHistograms setting other than batch or item', () => {
    expect(() => bufferByTokens({ maxTokens: 10, telemetry: { itemHistograms: 'all' } as never })).toThrow(/itemHistograms/);
  });

  it('counts waits for the rate limiter', async () => {
    const sdk = makeSdk();
    const clock = epochClock();
    await runVirtual(
      clock,
      () =>
        new Promise<void>((resolve, reject) => {
          from(['a', 'b', 'c'])
            .pipe(
              bufferByTokens({ maxTokens: 100, maxItems: 1, tokenizer: charTokenizer(), scheduler: clock, telemetry: sdk.telemetry }),
              mergeBatches(async (batch) => batch.items, { scheduler: clock, telemetry: sdk.telemetry, rateLimit: { requestsPerMinute: 2, windowMs: 100 } }),
            )
            .subscribe({ error: reject, complete: resolve });
        }),
    );
    const collected = await sdk.reader.metrics();
    // Two requests fit the window; the third waited.
    expect(sums(collected.get('tokenbatch.rate_limit.waits'))).toEqual([{ attributes: merge, value: 1 }]);
    // The third attempt started when the window let it, 100 virtual ms later.
    expect(sdk.batchSpans().map((span) => msOf(span.startTime))).toEqual([0, 0, 100]);
  });

  it('counts duplicate outcomes by their kind, and duplicates on the duplicates counter', async () => {
    const sdk = makeSdk();
    const meter = new TokenMeter<string>((item) => item, charTokenizer());
    const original = new Envelope(0, 'same text', 0);
    const copy = new Envelope(1, 'same text!', 0);
    const batch = new TokenBatch([original], 0, 'end', false, 100, meter, 0, 0);
    // What a deduplicating operator upstream sends down a chain: the batch, and a notice for the copy.
    const upstream = from([batch, new DuplicateNotice(copy, original, 0.95)]);
    const outcomes = await new Promise<Outcome<string, string>[]>((resolve, reject) => {
      const out: Outcome<string, string>[] = [];
      mergeBatches<string, string>(async (b) => b.items.map((item) => item.length.toString()), { telemetry: sdk.telemetry })(upstream).subscribe({
        next: (outcome) => out.push(outcome),
        error: reject,
        complete: () => resolve(out),
      });
    });
    expect(outcomes.map((outcome) => [outcome.index, outcome.duplicateOf, outcome.ok && outcome.value])).toEqual([
      [0, undefined, '9'],
      [1, 0, '9'],
    ]);
    const telemetry = new Telemetry(telemetrySettings(sdk.telemetry), 'dedupe');
    telemetry.duplicate();
    const collected = await sdk.reader.metrics();
    expect(sums(collected.get('tokenbatch.outcomes'))).toEqual([
      { attributes: { ...merge, 'tokenbatch.outcome': 'duplicate' }, value: 1 },
      { attributes: { ...merge, 'tokenbatch.outcome': 'ok' }, value: 1 },
    ]);
    expect(sums(collected.get('tokenbatch.duplicates'))).toEqual([{ attributes: { 'tokenbatch.stage': 'dedupe' }, value: 1 }]);
    expect(collected.get('tokenbatch.duplicates')?.descriptor.unit).toBe('{item}');
  });

  it('takes items that fail measurement and items dropped on unsubscribe off the queue', async () => {
    const sdk = makeSdk();
    const clock = epochClock();
    // 42 is not a string: its outcome fails with InvalidItemError, and it never joins a batch.
    const outcomes: Outcome<unknown, unknown>[] = [];
    await runVirtual(
      clock,
      () =>
        new Promise<void>((resolve, reject) => {
          from(['one', 42, 'two'])
            .pipe(
              bufferByTokens<unknown>({ maxTokens: 100, tokenizer: charTokenizer(), scheduler: clock, telemetry: sdk.telemetry }),
              mergeBatches(async (batch) => batch.items, { scheduler: clock, telemetry: sdk.telemetry }),
              orderedResults(),
            )
            .subscribe({ next: (outcome) => outcomes.push(outcome), error: reject, complete: resolve });
        }),
    );
    expect(outcomes.map((outcome) => (outcome.ok ? outcome.value : outcome.error.name))).toEqual(['one', 'InvalidItemError', 'two']);
    let collected = await sdk.reader.metrics();
    expect(sums(collected.get('tokenbatch.items.queued'))).toEqual([{ attributes: buffer, value: 0 }]);
    expect(sums(collected.get('tokenbatch.items'))).toEqual([
      { attributes: buffer, value: 3 },
      { attributes: merge, value: 2 },
    ]);
    expect(sums(collected.get('tokenbatch.outcomes'))).toEqual([
      { attributes: { ...merge, 'tokenbatch.outcome': 'error' }, value: 1 },
      { attributes: { ...merge, 'tokenbatch.outcome': 'ok' }, value: 2 },
    ]);

    // Two items wait in an open batch; then the consumer goes away.
    const subscription: Subscription = concat(from(['three', 'four']), NEVER)
      .pipe(bufferByTokens({ maxTokens: 100, maxWaitMs: 1000, tokenizer: charTokenizer(), scheduler: clock, telemetry: sdk.telemetry }))
      .subscribe();
    collected = await sdk.reader.metrics();
    expect(sums(collected.get('tokenbatch.items.queued'))).toEqual([{ attributes: buffer, value: 2 }]);
    subscription.unsubscribe();
    collected = await sdk.reader.metrics();
    expect(sums(collected.get('tokenbatch.items.queued'))).toEqual([{ attributes: buffer, value: 0 }]);
  });
});

describe('telemetry sources', () => {
  it('uses the global API by default, under the scope tokenbatch and the package version', async () => {
    const sdk = makeSdk();
    trace.setGlobalTracerProvider(sdk.tracerProvider);
    metrics.setGlobalMeterProvider(sdk.meterProvider);
    const run = await runScenario(sdk, undefined);
    expectOutcomes(run.outcomes);
    const spans = sdk.batchSpans();
    expect(spans).toHaveLength(5);
    for (const span of spans) expect(span.instrumentationScope).toMatchObject({ name: 'tokenbatch', version: VERSION });
    const collected = await sdk.reader.metrics();
    expect(collected.get('tokenbatch.items')?.scope).toMatchObject({ name: 'tokenbatch', version: VERSION });
    expect(sums(collected.get('tokenbatch.outcomes')).map((point) => point.value)).toEqual([1, 6]);
  });

  it('picks up an SDK registered after the operators were created, when the chain is subscribed', async () => {
    const sdk = makeSdk();
    const chain = from(['a', 'b']).pipe(
      bufferByTokens({ maxTokens: 100, tokenizer: charTokenizer() }),
      mergeBatches(async (batch) => batch.items),
    );
    trace.setGlobalTracerProvider(sdk.tracerProvider);
    metrics.setGlobalMeterProvider(sdk.meterProvider);
    await new Promise<void>((resolve, reject) => chain.subscribe({ error: reject, complete: resolve }));
    expect(sdk.batchSpans().map((span) => span.attributes['tokenbatch.batch.items'])).toEqual([2]);
    expect(sums((await sdk.reader.metrics()).get('tokenbatch.outcomes')).map((point) => point.value)).toEqual([2]);
  });

  it('records nothing with telemetry: false, even with an SDK registered globally', async () => {
    const sdk = makeSdk();
    trace.setGlobalTracerProvider(sdk.tracerProvider);
    metrics.setGlobalMeterProvider(sdk.meterProvider);
    const run = await runScenario(sdk, false);
    expectOutcomes(run.outcomes);
    expect(sdk.batchSpans()).toEqual([]);
    // Only the test's own arrival and job spans were recorded.
    expect(new Set(sdk.spans.getFinishedSpans().map((span) => span.name.split(' ')[0]))).toEqual(new Set(['arrive', 'job']));
    // The handler ran without a batch span: what was active was one of the test's own spans, or none
    // (for a batch closed by its timer).
    const own = new Set([undefined, run.job.spanId, ...[...run.arrivals.values()].map((arrival) => arrival.spanId)]);
    expect(run.activeInHandler.size).toBe(5);
    for (const active of run.activeInHandler.values()) expect(own).toContain(active);
    expect([...(await sdk.reader.metrics()).keys()]).toEqual([]);
  });

  it('works through the global no-op API with no SDK registered: same outcomes, no token counting for telemetry', async () => {
    // A tracer for the test's own arrival spans, not registered globally.
    const own = makeSdk();
    const noSdk = await runScenario(own, undefined);
    const off = await runScenario(own, false);
    expectOutcomes(noSdk.outcomes);
    expect(noSdk.outcomes).toEqual(off.outcomes);
    expect(own.batchSpans()).toEqual([]);
    expect([...(await own.reader.metrics()).keys()]).toEqual([]);

    // Without an SDK nothing is counted for telemetry; with one, each item once (exact batch tokens).
    const countCalls = async (telemetry: TelemetryOptions | false | undefined) => {
      const tokenizer = charTokenizer();
      await new Promise<void>((resolve, reject) =>
        from(['alpha', 'beta', 'gamma'])
          .pipe(
            bufferByTokens({ maxTokens: 100, tokenizer, ...(telemetry === undefined ? {} : { telemetry }) }),
            mergeBatches(async (batch) => batch.items, telemetry === undefined ? {} : { telemetry }),
          )
          .subscribe({ error: reject, complete: resolve }),
      );
      return tokenizer.calls;
    };
    expect(await countCalls(undefined)).toBe(0);
    expect(await countCalls(false)).toBe(0);
    expect(await countCalls(makeSdk().telemetry)).toBe(3);
  });

  it('rejects a telemetry option that is neither settings nor false, naming it', () => {
    expect(() => bufferByTokens({ maxTokens: 10, telemetry: true as never })).toThrow(/telemetry/);
    expect(() => mergeBatches(async () => [], { telemetry: 'on' as never })).toThrow(TypeError);
  });
});

describe('version', () => {
  it('reports the package.json version as the instrumentation scope version', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(VERSION).toBe(pkg.version);
  });
});

describe('metrics without a tracer', () => {
  it('still times each attempt (tokenbatch.batch.duration, with error.type on failure)', async () => {
    const sdk = makeSdk();
    let calls = 0;
    const handler = async (batch: { items: readonly string[] }) => {
      if (calls++ === 0) throw new TransientError('503');
      return batch.items.map((item) => item.length);
    };
    await lastValueFrom(from([['a', 'bb']]).pipe(mergeBatches(handler, { retry: { baseDelayMs: 1 }, telemetry: { meter: sdk.meter } }), toArray()));
    const collected = await sdk.reader.metrics();
    const durations = histograms(collected.get('tokenbatch.batch.duration'));
    expect(durations.map((entry) => [entry.attributes['error.type'], entry.count])).toEqual([
      ['TransientError', 1],
      [undefined, 1],
    ]);
  });
});
