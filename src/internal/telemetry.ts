import {
  context,
  createNoopMeter,
  metrics,
  ProxyTracerProvider,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Counter,
  type Histogram,
  type Link as SpanLink,
  type Meter,
  type Span,
  type Tracer,
  type UpDownCounter,
} from '@opentelemetry/api';
import { VERSION } from '../version.js';
import type { Outcome, Usage } from '../types.js';
import type { Envelope } from './chain.js';
import type { TelemetryOptions } from '../types.js';

export interface TelemetrySettings {
  readonly tracer: Tracer | undefined;
  readonly meter: Meter | undefined;
  readonly recordText: boolean;
  readonly enabled: boolean;
  /**
   * `'batch'` (default): `tokenbatch.item.wait` and `tokenbatch.item.latency` are recorded once per
   * batch closed / per group of outcomes emitted together, with the longest value among their
   * items; `'item'`: once per item (every item's value, at about 1 µs of SDK work per record).
   */
  readonly itemHistograms: 'batch' | 'item';
}

export function telemetrySettings(raw: TelemetryOptions | false | undefined, name = 'telemetry'): TelemetrySettings {
  if (raw === false) return { tracer: undefined, meter: undefined, recordText: false, enabled: false, itemHistograms: 'batch' };
  if (raw !== undefined && (typeof raw !== 'object' || raw === null)) throw new TypeError(`${name}: expected { tracer?, meter?, recordText?, itemHistograms? } or false`);
  if (raw === undefined) return { tracer: undefined, meter: undefined, recordText: false, enabled: true, itemHistograms: 'batch' };
  for (const key of Object.keys(raw)) {
    if (!['tracer', 'meter', 'recordText', 'itemHistograms'].includes(key))
      throw new TypeError(`${name}: unknown option '${key}' (known: tracer, meter, recordText, itemHistograms)`);
  }
  if (raw.recordText !== undefined && typeof raw.recordText !== 'boolean') throw new TypeError(`${name}.recordText: expected true or false`);
  // Not yet in the public TelemetryOptions type: read by key until the lead adds it.
  const itemHistograms = (raw as { itemHistograms?: unknown }).itemHistograms;
  if (itemHistograms !== undefined && itemHistograms !== 'batch' && itemHistograms !== 'item') throw new TypeError(`${name}.itemHistograms: expected 'batch' or 'item'`);
  return { tracer: raw.tracer, meter: raw.meter, recordText: raw.recordText === true, enabled: true, itemHistograms: itemHistograms ?? 'batch' };
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

/**
 * Bucket boundaries of the histograms in seconds. Without advice the SDK's defaults (0 to 10,000,
 * made for milliseconds) would put nearly every wait and model call in the first bucket.
 */
export const SECONDS_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const instrumentsByMeter = new WeakMap<Meter, Instruments>();

function instrumentsOf(meter: Meter): Instruments {
  let instruments = instrumentsByMeter.get(meter);
  if (instruments) return instruments;
  const histogram = (name: string, unit: string, description: string, boundaries: readonly number[]) =>
    meter.createHistogram(name, { unit, description, advice: { explicitBucketBoundaries: [...boundaries] } });
  const batchSize = histogram('tokenbatch.batch.size', '{item}', 'Items in a batch when it closed', [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048]);
  instruments = {
    live: batchSize !== NOOP_HISTOGRAM,
    batchSize,
    batchTokens: histogram('tokenbatch.batch.tokens', '{token}', 'Tokens in a batch, overheads included', [64, 256, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072, 300000]),
    batchUtilization: histogram('tokenbatch.batch.utilization', '1', 'Batch tokens divided by maxTokens', [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1]),
    batchDuration: histogram('tokenbatch.batch.duration', 's', 'Duration of one handler attempt on a batch', SECONDS_BUCKETS),
    itemWait: histogram('tokenbatch.item.wait', 's', 'From an item arriving to its batch closing', SECONDS_BUCKETS),
    itemLatency: histogram('tokenbatch.item.latency', 's', 'From an item arriving to its outcome', SECONDS_BUCKETS),
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
  /** How the batch's items are measured: their text comes from here when `recordText` is on. */
  readonly meter: { text(entry: Envelope<unknown>): string; estimate?(entry: Envelope<unknown>): number; isExact?(entry: Envelope<unknown>): boolean };
  readonly batchOverheadTokens?: number;
  readonly itemOverheadTokens?: number;
}

/**
 * A batch's exact tokens for its instruments. An upper bound would be cheaper, but it would
 * overstate utilization about threefold for English (a UTF-8 bound): the batch-fill figure people
 * tune `maxTokens` by must be the real one. Items are counted once per chain, so a later operator
 * that reads `batch.tokens` (a rate limit, the handler) pays nothing more.
 */
export function knownTokens(batch: BatchFacts): { tokens: number; exact: boolean } {
  return { tokens: batch.tokens, exact: true };
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
 * registered after the operator was created (but before it is subscribed) is picked up.
 */
export class Telemetry {
  readonly #instruments: Instruments | undefined;
  readonly #tracer: Tracer | undefined;
  /** The context where the chain was subscribed: batch spans are its children. */
  readonly #parent: Context;
  readonly #recordText: boolean;
  // Attribute sets are built once: the SDK hashes them on every record, allocating them is ours to spare.
  readonly #stage: Attributes;
  readonly #byOutcome: Readonly<Record<OutcomeKind, Attributes>>;
  readonly #byCloseReason = new Map<string, Attributes>();
  readonly #byErrorType = new Map<string, Attributes>();
  /**
   * Counter increments not yet handed to the SDK. Counters are summed by the SDK anyway and read
   * only by a collection, which runs on a later task than the synchronous code that counted, so
   * adding them up here and handing over one sum per microtask changes no value any reader sees,
   * while it turns five SDK records per item into a few per burst.
   */
  #pendingItems = 0;
  #pendingQueued = 0;
  #pendingInFlight = 0;
  /** Up-down counters that moved (a net change of 0 is still a data point). */
  #queuedMoved = false;
  #inFlightMoved = false;
  #pendingDuplicates = 0;
  readonly #pendingOutcomes = { ok: 0, error: 0, duplicate: 0 };
  readonly #pendingLatency = { ok: 0, error: 0, duplicate: 0 };
  readonly #perItem: boolean;
  #flushScheduled = false;
  readonly #flush = (): void => {
    this.#flushScheduled = false;
    const instruments = this.#instruments;
    if (!instruments) return;
    if (this.#pendingItems !== 0) instruments.items.add(this.#pendingItems, this.#stage);
    if (this.#queuedMoved) instruments.itemsQueued.add(this.#pendingQueued, this.#stage);
    if (this.#inFlightMoved) instruments.batchesInFlight.add(this.#pendingInFlight, this.#stage);
    this.#queuedMoved = this.#inFlightMoved = false;
    if (this.#pendingDuplicates !== 0) instruments.duplicates.add(this.#pendingDuplicates, this.#stage);
    const outcomes = this.#pendingOutcomes;
    const latency = this.#pendingLatency;
    for (const kind of OUTCOME_KINDS) {
      if (outcomes[kind] !== 0) {
        instruments.outcomes.add(outcomes[kind], this.#byOutcome[kind]);
        // The longest latency among the outcomes of this kind emitted together (a handler call's results).
        if (!this.#perItem) instruments.itemLatency.record(latency[kind], this.#byOutcome[kind]);
      }
      outcomes[kind] = 0;
      latency[kind] = 0;
    }
    this.#pendingItems = this.#pendingQueued = this.#pendingInFlight = this.#pendingDuplicates = 0;
  };

  constructor(settings: TelemetrySettings, stage: string) {
    const attributes = { 'tokenbatch.stage': stage };
    this.#stage = attributes;
    this.#byOutcome = {
      ok: { ...attributes, 'tokenbatch.outcome': 'ok' },
      error: { ...attributes, 'tokenbatch.outcome': 'error' },
      duplicate: { ...attributes, 'tokenbatch.outcome': 'duplicate' },
    };
    this.#recordText = settings.recordText;
    this.#perItem = settings.itemHistograms === 'item';
    this.#parent = context.active();
    if (!settings.enabled) return;
    const instruments = instrumentsOf(settings.meter ?? metrics.getMeter('tokenbatch', VERSION));
    this.#instruments = instruments.live ? instruments : undefined;
    this.#tracer = settings.tracer ?? globalTracer();
  }

  /** Whether metrics are recorded: when false, callers skip work done only for them. */
  get metrics(): boolean {
    return this.#instruments !== undefined;
  }

  readonly #errorAttributes = (type: string): Attributes => {
    let attributes = this.#byErrorType.get(type);
    if (!attributes) {
      attributes = { ...this.#stage, 'error.type': type };
      // Error class names are few; the cache is bounded all the same.
      if (this.#byErrorType.size < 64) this.#byErrorType.set(type, attributes);
    }
    return attributes;
  };

  #schedule(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    queueMicrotask(this.#flush);
  }

  /** Items that entered this operator (`tokenbatch.items`). */
  itemsIn(count: number): void {
    if (!this.#instruments) return;
    this.#pendingItems += count;
    this.#schedule();
  }

  /** Items that joined (positive) or left (negative) an open batch (`tokenbatch.items.queued`). */
  queued(delta: number): void {
    if (!this.#instruments || delta === 0) return;
    this.#pendingQueued += delta;
    this.#queuedMoved = true;
    this.#schedule();
  }

  batchClosed(batch: BatchFacts, now: number): void {
    const instruments = this.#instruments;
    if (!instruments) return;
    const count = batch.entries.length;
    let attributes = this.#byCloseReason.get(batch.closeReason);
    if (!attributes) this.#byCloseReason.set(batch.closeReason, (attributes = { ...this.#stage, 'tokenbatch.batch.close_reason': batch.closeReason }));
    instruments.batchSize.record(count, attributes);
    if (this.#perItem) for (const entry of batch.entries) instruments.itemWait.record(Math.max(0, now - entry.arrivedAt) / 1000, this.#stage);
    else if (count > 0) {
      let oldest = Number.POSITIVE_INFINITY;
      for (const entry of batch.entries) if (entry.arrivedAt < oldest) oldest = entry.arrivedAt;
      instruments.itemWait.record(Math.max(0, now - oldest) / 1000, this.#stage);
    }
    // Last: reading tokens may throw for an item that cannot be measured.
    const { tokens } = knownTokens(batch);
    instruments.batchTokens.record(tokens, attributes);
    if (Number.isFinite(batch.maxTokens)) instruments.batchUtilization.record(tokens / batch.maxTokens, attributes);
  }

  inFlight(delta: number): void {
    if (!this.#instruments) return;
    this.#pendingInFlight += delta;
    this.#inFlightMoved = true;
    this.#schedule();
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
    if (!this.#instruments) return;
    this.#pendingDuplicates++;
    this.#schedule();
  }

  outcome(outcome: Outcome<unknown, unknown>, arrivedAt: number, now: number): void {
    const instruments = this.#instruments;
    if (!instruments) return;
    const kind: OutcomeKind = outcome.duplicateOf !== undefined ? 'duplicate' : outcome.ok ? 'ok' : 'error';
    this.#pendingOutcomes[kind]++;
    this.#schedule();
    const latency = Math.max(0, now - arrivedAt) / 1000;
    if (this.#perItem) instruments.itemLatency.record(latency, this.#byOutcome[kind]);
    else if (latency > this.#pendingLatency[kind]) this.#pendingLatency[kind] = latency;
  }

  /**
   * Start the span of one handler attempt on a batch. It links the spans that were active where its
   * items arrived, and `run` calls the handler inside it, so the handler's own spans nest under it.
   */
  startAttempt(batch: BatchFacts, attempt: number, now: number): AttemptSpan {
    const tracer = this.#tracer;
    if (!tracer) {
      // Metrics without a tracer still time each attempt (tokenbatch.batch.duration, error.type).
      const instruments = this.#instruments;
      if (!instruments) return NO_SPAN;
      return new TimedAttempt(instruments, this.#stage, now, this.#errorAttributes);
    }
    const links: SpanLink[] = [];
    const seen = new Set<string>();
    for (const entry of batch.entries) {
      const linked = entry.spanContext;
      if (!linked || seen.has(linked.spanId) || links.length >= MAX_LINKS) continue;
      seen.add(linked.spanId);
      links.push({ context: linked });
    }
    // Not the active context: in a continuation that is where some item arrived, an arbitrary parent.
    const span = tracer.startSpan('tokenbatch.batch', { kind: SpanKind.INTERNAL, links, startTime: now }, this.#parent);
    if (!span.isRecording()) return new LiveAttemptSpan(span, this.#instruments, this.#stage, this.#parent, false, now, this.#errorAttributes);
    let tokens: number | undefined;
    try {
      tokens = knownTokens(batch).tokens;
    } catch {
      tokens = undefined;
    }
    const finite = Number.isFinite(batch.maxTokens);
    // A batch tokenbatch did not form (a plain array given to mergeBatches) has no index or close reason.
    const formed = batch.index >= 0;
    span.setAttributes({
      'tokenbatch.batch.index': formed ? batch.index : undefined,
      'tokenbatch.batch.items': batch.entries.length,
      'tokenbatch.batch.max_tokens': finite ? batch.maxTokens : undefined,
      'tokenbatch.batch.tokens': tokens,
      'tokenbatch.batch.utilization': tokens !== undefined && finite ? tokens / batch.maxTokens : undefined,
      'tokenbatch.batch.attempt': attempt,
      'tokenbatch.batch.split_depth': batch.splitDepth,
      'tokenbatch.batch.close_reason': formed ? batch.closeReason : undefined,
    });
    if (this.#recordText)
      span.setAttribute(
        'tokenbatch.batch.items.text',
        batch.entries.map((entry) => textOf(batch, entry)),
      );
    return new LiveAttemptSpan(span, this.#instruments, this.#stage, this.#parent, true, now, this.#errorAttributes);
  }
}

type OutcomeKind = 'ok' | 'error' | 'duplicate';
const OUTCOME_KINDS: readonly OutcomeKind[] = ['ok', 'error', 'duplicate'];

/**
 * The global tracer, or undefined when no SDK is registered: then there is nothing to link or
 * time, and batches skip span work altogether (as they skip metrics without a meter provider).
 */
function globalTracer(): Tracer | undefined {
  const provider = trace.getTracerProvider();
  if (provider instanceof ProxyTracerProvider) return provider.getDelegateTracer('tokenbatch', VERSION);
  return trace.getTracer('tokenbatch', VERSION);
}

/** An item's text as the batch measures it; an item without one (it would have failed already) as a string. */
function textOf(batch: BatchFacts, entry: Envelope<unknown>): string {
  try {
    return batch.meter.text(entry);
  } catch {
    return entry.text ?? String(entry.item);
  }
}

export interface AttemptSpan {
  /** Run the handler with this span active. */
  run<V>(work: () => V): V;
  end(error: Error | undefined, facts: AttemptFacts, now: number): void;
}

const NO_SPAN: AttemptSpan = { run: (work) => work(), end: () => {} };

/** An attempt timed for the duration histogram only (a meter but no tracer). */
class TimedAttempt implements AttemptSpan {
  constructor(
    readonly instruments: Instruments,
    readonly stage: Attributes,
    readonly startedAt: number,
    readonly errorAttributes: (type: string) => Attributes,
  ) {}
  run<V>(work: () => V): V {
    return work();
  }
  end(error: Error | undefined, _facts: AttemptFacts, now: number): void {
    this.instruments.batchDuration.record(Math.max(0, now - this.startedAt) / 1000, error ? this.errorAttributes(error.name || 'Error') : this.stage);
  }
}

class LiveAttemptSpan implements AttemptSpan {
  constructor(
    readonly span: Span,
    readonly instruments: Instruments | undefined,
    readonly stage: Attributes,
    readonly parent: Context,
    readonly recording: boolean,
    readonly startedAt: number,
    readonly errorAttributes: (type: string) => Attributes,
  ) {}

  run<V>(work: () => V): V {
    return context.with(trace.setSpan(this.parent, this.span), work);
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
    this.instruments?.batchDuration.record(Math.max(0, now - this.startedAt) / 1000, error ? this.errorAttributes(error.name || 'Error') : this.stage);
  }
}
