/**
 * TEMPORARY STAND-IN for `createStats()` / `ChainStats` (docs: STATS contract, issue 14), which is being
 * built in src/stats.ts on another branch. When it lands, delete this file, create the chain's stats
 * with `createStats({ total })`, pass them to the operators and to `livePage({ stats })`.
 *
 * Until then this produces snapshots of the same shape from what the chain already reports: the
 * ordered outcomes (items), and tokenbatch's own OpenTelemetry instruments, read through a small
 * recording `Meter` registered as the global meter provider of this example process (batch fill,
 * waits, latencies, calls, retries, 429s, tokens). Nothing is counted a second way in the chain.
 */
import { createNoopMeter, metrics, ProxyTracerProvider, trace, type Attributes, type Meter } from '@opentelemetry/api';
import type { Outcome } from 'tokenbatch';

/** The shape of `ChainStats` from the stats contract (src/stats.ts once it lands). */
export interface ChainStats {
  at: number;
  elapsedMs: number;
  items: { in: number; done: number; ok: number; failed: number; duplicates: number; cacheHits: number; inFlight: number };
  batches: { closed: number; meanUtilization: number; lastUtilization: number[] };
  calls: { made: number; retries: number; rateLimited: number; timeouts: number; inFlight: number; concurrency: number };
  tokens: { spent: number; saved: number };
  cost: { spentUsd: number; savedUsd: number };
  latency: { p50Ms: number; p99Ms: number };
  wait: { p50Ms: number; p99Ms: number };
  throughput: { itemsPerSecond: number };
  eta: { remainingItems: number; etaMs: number } | undefined;
}

/** The part of the `createStats()` result that the live page uses. */
export interface StatsSource {
  snapshot(): ChainStats;
  onProgress(listener: (stats: ChainStats) => void, options?: { intervalMs?: number }): () => void;
}

/** What the stand-in cannot learn from the instruments: the concurrency limit and a price. */
export interface ShimOptions {
  total?: number;
  windowMs?: number;
  /** mergeBatches' concurrency (the real stats read it from the operator). */
  concurrency?: number;
  /** Price of a million sent tokens in USD, for cost.spentUsd and cost.savedUsd (default 0). */
  usdPerMillionTokens?: number;
}

const LAST_BATCHES = 50;
const MAX_SAMPLES = 20_000; // bounded: older samples fall out of the window anyway

/** Timed samples over a sliding window, for percentiles and rates. */
class Window {
  readonly #samples: { at: number; value: number }[] = [];
  constructor(readonly windowMs: number) {}
  add(at: number, value: number): void {
    this.#samples.push({ at, value });
    if (this.#samples.length > MAX_SAMPLES) this.#samples.shift();
  }
  values(now: number): number[] {
    while (this.#samples.length > 0 && this.#samples[0]!.at < now - this.windowMs) this.#samples.shift();
    return this.#samples.map((sample) => sample.value);
  }
}

const percentile = (values: number[], p: number): number => {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
};

/** A ChainStats source fed by tokenbatch's instruments and the chain's outcomes. Temporary. */
export class ShimStats implements StatsSource {
  readonly #options: Required<Omit<ShimOptions, 'total'>> & { total: number | undefined };
  readonly #itemsByStage = new Map<string, number>();
  readonly #utilization: number[] = [];
  readonly #latency: Window;
  readonly #wait: Window;
  readonly #done: Window;
  #firstAt: number | undefined;
  #batches = 0;
  #utilizationSum = 0;
  #batchTokens = 0;
  #batchItems = 0;
  #calls = 0;
  #retries = 0;
  #rateLimited = 0;
  #timeouts = 0;
  #inFlight = 0;
  #outcomes = { done: 0, ok: 0, failed: 0, duplicates: 0 };

  constructor(options: ShimOptions = {}) {
    this.#options = { total: options.total, windowMs: options.windowMs ?? 10_000, concurrency: options.concurrency ?? 0, usdPerMillionTokens: options.usdPerMillionTokens ?? 0 };
    this.#latency = new Window(this.#options.windowMs);
    this.#wait = new Window(this.#options.windowMs);
    this.#done = new Window(this.#options.windowMs);
  }

  /** Registers the recording meter as the global provider (before the chain is subscribed). */
  install(): boolean {
    const meter = this.meter();
    // tokenbatch times handler attempts (tokenbatch.batch.duration, with error.type) only when a tracer
    // is registered: a tracer of non-recording spans costs nothing and makes it time them.
    const tracer = new ProxyTracerProvider().getTracer('tokenbatch-live');
    trace.setGlobalTracerProvider({ getTracer: () => tracer });
    return metrics.setGlobalMeterProvider({ getMeter: () => meter });
  }

  /** A Meter whose instruments feed this object (the instruments tokenbatch creates, by name). */
  meter(): Meter {
    const record = (name: string) => (value: number, attributes?: Attributes) => this.#record(name, value, attributes ?? {});
    const meter = Object.create(createNoopMeter()) as Meter;
    meter.createHistogram = (name) => ({ record: record(name) });
    meter.createCounter = (name) => ({ add: record(name) });
    meter.createUpDownCounter = (name) => ({ add: record(name) });
    return meter;
  }

  /** Counts one outcome as the chain emitted it. */
  observe(outcome: Outcome<unknown, unknown>): void {
    this.#outcomes.done++;
    if (outcome.duplicateOf !== undefined) this.#outcomes.duplicates++;
    if (outcome.ok) this.#outcomes.ok++;
    else this.#outcomes.failed++;
    this.#done.add(Date.now(), 1);
  }

  #record(name: string, value: number, attributes: Attributes): void {
    const now = Date.now();
    this.#firstAt ??= now;
    switch (name) {
      case 'tokenbatch.items': {
        const stage = String(attributes['tokenbatch.stage']);
        this.#itemsByStage.set(stage, (this.#itemsByStage.get(stage) ?? 0) + value);
        break;
      }
      case 'tokenbatch.batch.utilization':
        this.#batches++;
        this.#utilizationSum += value;
        this.#utilization.push(value);
        if (this.#utilization.length > LAST_BATCHES) this.#utilization.shift();
        break;
      case 'tokenbatch.batch.tokens':
        this.#batchTokens += value;
        break;
      case 'tokenbatch.batch.size':
        this.#batchItems += value;
        break;
      case 'tokenbatch.batch.duration':
        this.#calls++;
        if (attributes['error.type'] === 'RateLimitError') this.#rateLimited++;
        if (attributes['error.type'] === 'TimeoutError') this.#timeouts++;
        break;
      case 'tokenbatch.retries':
        this.#retries += value;
        break;
      case 'tokenbatch.batches.in_flight':
        this.#inFlight += value;
        break;
      case 'tokenbatch.item.wait':
        this.#wait.add(now, value * 1000);
        break;
      case 'tokenbatch.item.latency':
        this.#latency.add(now, value * 1000);
        break;
    }
  }

  snapshot(): ChainStats {
    const now = Date.now();
    const { total, windowMs, concurrency, usdPerMillionTokens } = this.#options;
    const itemsIn = Math.max(0, this.#outcomes.done, ...this.#itemsByStage.values());
    const tokensPerItem = this.#batchItems === 0 ? 0 : this.#batchTokens / this.#batchItems;
    const saved = Math.round(this.#outcomes.duplicates * tokensPerItem);
    const latencies = this.#latency.values(now);
    const waits = this.#wait.values(now);
    const elapsedMs = this.#firstAt === undefined ? 0 : now - this.#firstAt;
    const itemsPerSecond = this.#done.values(now).length / (Math.max(1, Math.min(windowMs, elapsedMs)) / 1000);
    const remainingItems = total === undefined ? 0 : Math.max(0, total - this.#outcomes.done);
    return {
      at: now,
      elapsedMs,
      items: { in: itemsIn, ...this.#outcomes, cacheHits: 0, inFlight: itemsIn - this.#outcomes.done },
      batches: { closed: this.#batches, meanUtilization: this.#batches === 0 ? 0 : this.#utilizationSum / this.#batches, lastUtilization: [...this.#utilization] },
      calls: { made: this.#calls + this.#inFlight, retries: this.#retries, rateLimited: this.#rateLimited, timeouts: this.#timeouts, inFlight: this.#inFlight, concurrency },
      tokens: { spent: this.#batchTokens, saved },
      cost: { spentUsd: (this.#batchTokens * usdPerMillionTokens) / 1e6, savedUsd: (saved * usdPerMillionTokens) / 1e6 },
      latency: { p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) },
      wait: { p50Ms: percentile(waits, 50), p99Ms: percentile(waits, 99) },
      throughput: { itemsPerSecond },
      eta: total === undefined ? undefined : { remainingItems, etaMs: itemsPerSecond > 0 ? (remainingItems / itemsPerSecond) * 1000 : 0 },
    };
  }

  onProgress(listener: (stats: ChainStats) => void, options: { intervalMs?: number } = {}): () => void {
    const timer = setInterval(() => listener(this.snapshot()), options.intervalMs ?? 1000);
    return () => clearInterval(timer);
  }
}
