import {
  context,
  createNoopMeter,
  metrics,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Counter,
  type Histogram,
  type Link as SpanLink,
  type Meter,
  type Span,
  type SpanContext,
  type Tracer,
  type UpDownCounter,
} from '@opentelemetry/api';
import { VERSION } from '../version.js';
import type { Outcome, Usage } from '../types.js';
import type { Envelope } from './chain.js';

/**
 * Per-operator telemetry settings. By default tracer and meter come from the global OpenTelemetry
 * API (instrumentation scope `tokenbatch`); with no SDK registered every call is a no-op and
 * tokenbatch skips the work that only telemetry would need (such as exact token counts).
 *
 * @example
 * ```ts
 * bufferByTokens({ maxTokens: 4000, telemetry: { tracer: myTracer, meter: myMeter } });
 * mergeBatches(handler, { telemetry: false }); // no spans or metrics from this operator
 * ```
 */
export interface TelemetryOptions {
  /** The tracer for batch spans. Default: `trace.getTracer('tokenbatch', version)`. */
  tracer?: Tracer;
  /** The meter for instruments. Default: `metrics.getMeter('tokenbatch', version)`. */
  meter?: Meter;
  /** Record the items' text on batch spans (`tokenbatch.batch.items.text`). Default false: text is never recorded. */
  recordText?: boolean;
}

export interface TelemetrySettings {
  readonly tracer: Tracer | undefined;
  readonly meter: Meter | undefined;
  readonly recordText: boolean;
  readonly enabled: boolean;
}

export function telemetrySettings(raw: TelemetryOptions | false | undefined, name = 'telemetry'): TelemetrySettings {
  if (raw === false) return { tracer: undefined, meter: undefined, recordText: false, enabled: false };
  if (raw !== undefined && (typeof raw !== 'object' || raw === null)) throw new TypeError(`${name}: expected { tracer?, meter?, recordText? } or false`);
  return { tracer: raw?.tracer, meter: raw?.meter, recordText: raw?.recordText === true, enabled: true };
}

interface Instruments {
  readonly live: boolean;
  readonly batchSize: Histogram;
  readonly batchTokens: Histogram;
  readonly batchUtilization: Histogram;
  readonly batchDuration: Histogram;
  readonly itemWait: Histogram;
  readonly itemLatency: Histogram;
  readonly items: Counter;
  readonly outcomes: Counter;
  readonly duplicates: Counter;
  readonly splits: Counter;
  readonly retries: Counter;
  readonly rateLimitWaits: Counter;
  readonly batchesInFlight: UpDownCounter;
  readonly itemsQueued: UpDownCounter;
}

const NOOP_HISTOGRAM = createNoopMeter().createHistogram('noop');
const instrumentsByMeter = new WeakMap<Meter, Instruments>();

function instrumentsOf(meter: Meter): Instruments {
  let instruments = instrumentsByMeter.get(meter);
  if (instruments) return instruments;
  const histogram = (name: string, unit: string, description: string, boundaries?: number[]) =>
    meter.createHistogram(name, { unit, description, ...(boundaries ? { advice: { explicitBucketBoundaries: boundaries } } : {}) });
  const batchSize = histogram('tokenbatch.batch.size', '{item}', 'Items in a batch when it closed', [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048]);
  instruments = {
    live: batchSize !== NOOP_HISTOGRAM,
    batchSize,
    batchTokens: histogram('tokenbatch.batch.tokens', '{token}', 'Tokens in a batch, overheads included', [64, 256, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072, 300000]),
    batchUtilization: histogram('tokenbatch.batch.utilization', '1', 'Batch tokens divided by maxTokens', [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1]),
    batchDuration: histogram('tokenbatch.batch.duration', 's', 'Duration of one handler attempt on a batch'),
    itemWait: histogram('tokenbatch.item.wait', 's', 'From an item arriving to its batch closing'),
    itemLatency: histogram('tokenbatch.item.latency', 's', 'From an item arriving to its outcome'),
    items: meter.createCounter('tokenbatch.items', { unit: '{item}', description: 'Items that entered an operator, by tokenbatch.stage' }),
    outcomes: meter.createCounter('tokenbatch.outcomes', { unit: '{item}', description: 'Outcomes, by tokenbatch.outcome (ok, error, duplicate)' }),
    duplicates: meter.createCounter('tokenbatch.duplicates', { unit: '{item}', description: 'Near-duplicates that were not sent' }),
    splits: meter.createCounter('tokenbatch.splits', { unit: '{batch}', description: 'Batches split after a context overflow' }),
    retries: meter.createCounter('tokenbatch.retries', { unit: '{attempt}', description: 'Attempts that were retried' }),
    rateLimitWaits: meter.createCounter('tokenbatch.rate_limit.waits', { unit: '{request}', description: 'Requests that waited for the rate limiter' }),
    batchesInFlight: meter.createUpDownCounter('tokenbatch.batches.in_flight', { unit: '{batch}', description: 'Batches being processed' }),
    itemsQueued: meter.createUpDownCounter('tokenbatch.items.queued', { unit: '{item}', description: 'Items waiting in an open batch' }),
  };
  instrumentsByMeter.set(meter, instruments);
  return instruments;
}

/** The facts of a batch that telemetry reports (a `TokenBatch`). */
export interface BatchFacts {
  readonly index: number;
  readonly entries: readonly Envelope<unknown>[];
  readonly tokens: number;
  readonly maxTokens: number;
  readonly closeReason: string;
  readonly splitDepth: number;
}

/** What a handler reported during an attempt. */
export interface AttemptFacts {
  usage?: Usage;
  model?: string;
  operation?: string;
}

const MAX_LINKS = 128;

/**
 * One subscription's view of telemetry: resolved when the subscription starts, so an SDK
 * registered after the operator was created is still picked up.
 */
export class Telemetry {
  readonly #instruments: Instruments | undefined;
  readonly #tracer: Tracer | undefined;
  readonly #stage: Attributes;
  readonly #recordText: boolean;

  constructor(settings: TelemetrySettings, stage: string) {
    this.#stage = { 'tokenbatch.stage': stage };
    this.#recordText = settings.recordText;
    if (!settings.enabled) return;
    const instruments = instrumentsOf(settings.meter ?? metrics.getMeter('tokenbatch', VERSION));
    this.#instruments = instruments.live ? instruments : undefined;
    this.#tracer = settings.tracer ?? trace.getTracer('tokenbatch', VERSION);
  }

  /** Whether metrics are recorded: when false, callers skip work done only for them. */
  get metrics(): boolean {
    return this.#instruments !== undefined;
  }

  /** The span context active where an item arrived, for the batch span's links. */
  static arrivalContext(): SpanContext | undefined {
    return trace.getSpanContext(context.active());
  }

  itemsIn(count: number): void {
    if (!this.#instruments) return;
    this.#instruments.items.add(count, this.#stage);
    this.#instruments.itemsQueued.add(count, this.#stage);
  }

  itemsEntered(count: number): void {
    this.#instruments?.items.add(count, this.#stage);
  }

  batchClosed(batch: BatchFacts, now: number): void {
    const instruments = this.#instruments;
    if (!instruments) return;
    const count = batch.entries.length;
    instruments.itemsQueued.add(-count, this.#stage);
    const attributes = { ...this.#stage, 'tokenbatch.batch.close_reason': batch.closeReason };
    instruments.batchSize.record(count, attributes);
    const tokens = batch.tokens;
    instruments.batchTokens.record(tokens, attributes);
    if (Number.isFinite(batch.maxTokens)) instruments.batchUtilization.record(tokens / batch.maxTokens, attributes);
    for (const entry of batch.entries) instruments.itemWait.record(Math.max(0, now - entry.arrivedAt) / 1000, this.#stage);
  }

  inFlight(delta: number): void {
    this.#instruments?.batchesInFlight.add(delta, this.#stage);
  }

  retried(): void {
    this.#instruments?.retries.add(1, this.#stage);
  }

  split(): void {
    this.#instruments?.splits.add(1, this.#stage);
  }

  rateLimitWaited(): void {
    this.#instruments?.rateLimitWaits.add(1, this.#stage);
  }

  duplicate(): void {
    this.#instruments?.duplicates.add(1, this.#stage);
  }

  outcome(outcome: Outcome<unknown, unknown>, arrivedAt: number, now: number): void {
    const instruments = this.#instruments;
    if (!instruments) return;
    const kind = outcome.duplicateOf !== undefined ? 'duplicate' : outcome.ok ? 'ok' : 'error';
    instruments.outcomes.add(1, { ...this.#stage, 'tokenbatch.outcome': kind });
    instruments.itemLatency.record(Math.max(0, now - arrivedAt) / 1000, { ...this.#stage, 'tokenbatch.outcome': kind });
  }

  /**
   * Start the span of one handler attempt on a batch. It links the spans that were active where its
   * items arrived, and `run` calls the handler inside it, so the handler's own spans nest under it.
   */
  startAttempt(batch: BatchFacts, attempt: number, now: number): AttemptSpan {
    const tracer = this.#tracer;
    if (!tracer) return NO_SPAN;
    const links: SpanLink[] = [];
    const seen = new Set<string>();
    for (const entry of batch.entries) {
      const linked = entry.spanContext;
      if (!linked || seen.has(linked.spanId) || links.length >= MAX_LINKS) continue;
      seen.add(linked.spanId);
      links.push({ context: linked });
    }
    const span = tracer.startSpan('tokenbatch.batch', { kind: SpanKind.INTERNAL, links, startTime: now });
    if (!span.isRecording()) return new LiveAttemptSpan(span, this.#instruments, false, now);
    let tokens: number | undefined;
    try {
      tokens = batch.tokens;
    } catch {
      tokens = undefined;
    }
    span.setAttributes({
      'tokenbatch.batch.index': batch.index,
      'tokenbatch.batch.items': batch.entries.length,
      'tokenbatch.batch.max_tokens': Number.isFinite(batch.maxTokens) ? batch.maxTokens : undefined,
      'tokenbatch.batch.tokens': tokens,
      'tokenbatch.batch.utilization': tokens !== undefined && Number.isFinite(batch.maxTokens) ? tokens / batch.maxTokens : undefined,
      'tokenbatch.batch.attempt': attempt,
      'tokenbatch.batch.split_depth': batch.splitDepth,
      'tokenbatch.batch.close_reason': batch.closeReason,
    });
    if (this.#recordText) span.setAttribute('tokenbatch.batch.items.text', batch.entries.map((entry) => entry.text ?? String(entry.item)));
    return new LiveAttemptSpan(span, this.#instruments, true, now);
  }
}

export interface AttemptSpan {
  /** Run the handler with this span active. */
  run<V>(work: () => V): V;
  end(error: Error | undefined, facts: AttemptFacts, now: number): void;
}

const NO_SPAN: AttemptSpan = { run: (work) => work(), end: () => {} };

class LiveAttemptSpan implements AttemptSpan {
  constructor(
    readonly span: Span,
    readonly instruments: Instruments | undefined,
    readonly recording: boolean,
    readonly startedAt: number,
  ) {}

  run<V>(work: () => V): V {
    return context.with(trace.setSpan(context.active(), this.span), work);
  }

  end(error: Error | undefined, facts: AttemptFacts, now: number): void {
    if (this.recording) {
      if (facts.operation) this.span.setAttribute('gen_ai.operation.name', facts.operation);
      if (facts.model) this.span.setAttribute('gen_ai.request.model', facts.model);
      if (facts.usage) {
        this.span.setAttribute('gen_ai.usage.input_tokens', facts.usage.inputTokens);
        this.span.setAttribute('gen_ai.usage.output_tokens', facts.usage.outputTokens);
      }
      if (error) {
        this.span.setAttribute('error.type', error.name || 'Error');
        this.span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
      }
    }
    this.span.end(now);
    this.instruments?.batchDuration.record(Math.max(0, now - this.startedAt) / 1000, error ? { 'error.type': error.name || 'Error' } : {});
  }
}
