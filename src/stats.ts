import { asyncScheduler, type SchedulerLike, type Subscription } from 'rxjs';
import { optionalPositive, OptionReader } from './internal/options.js';
import { scheduleAfter } from './internal/timers.js';
import { parsePrices, type ModelPrice, type PriceTable } from './pricing.js';
import { WindowedSamples } from './internal/windowed-samples.js';

/**
 * A snapshot of one chain's progress: a plain, JSON-serialisable object.
 *
 * @example
 * ```ts
 * const s: ChainStats = stats.snapshot();
 * console.log(`${s.items.done}/${s.items.in} done, ${s.calls.rateLimited} 429s, $${s.cost.spentUsd.toFixed(4)}`);
 * ```
 */
export interface ChainStats {
  /** `scheduler.now()` when the snapshot was taken. */
  at: number;
  /** Since the first item arrived (0 before). */
  elapsedMs: number;
  /** `inFlight`: arrived but without an outcome yet. `duplicates` and `cacheHits` are items answered without a call of their own. */
  items: { in: number; done: number; ok: number; failed: number; duplicates: number; cacheHits: number; inFlight: number };
  /** `meanUtilization`: mean `batch.utilization` of closed batches; `lastUtilization`: the last 50, oldest first. */
  batches: { closed: number; meanUtilization: number; lastUtilization: number[] };
  /** `made`: handler calls; `rateLimited`: calls that failed with a RateLimitError (429); `concurrency`: mergeBatches' current limit. */
  calls: { made: number; retries: number; rateLimited: number; timeouts: number; inFlight: number; concurrency: number };
  /** `spent`: billed usage where the handler reports it, else the batch's tokens; `saved`: an estimate for items not sent (duplicates, cache hits) at the mean tokens per sent item. */
  tokens: { spent: number; saved: number };
  /** From the price table when a call's model (or a fallback `price`) is known, else 0. */
  cost: { spentUsd: number; savedUsd: number };
  /** Item arrival to outcome, over the last `windowMs`. */
  latency: { p50Ms: number; p99Ms: number };
  /** Item arrival to its batch's closing, over the last `windowMs`. */
  wait: { p50Ms: number; p99Ms: number };
  /** Outcomes per second over the last `windowMs`. */
  throughput: { itemsPerSecond: number };
  /** When `total` is known and a rate has been measured: the items left and the time they should take at the current rate. */
  eta: { remainingItems: number; etaMs: number } | undefined;
}

/**
 * Options of {@link createStats}.
 *
 * @example
 * ```ts
 * const options: StatsOptions = { total: 10_000, windowMs: 30_000, prices: { 'my-model': { inputPerMillion: 1, outputPerMillion: 2 } } };
 * ```
 */
export interface StatsOptions {
  /** How many items the source holds, when known: enables `eta`. */
  total?: number;
  /** Where time comes from. Default: RxJS `asyncScheduler`. */
  scheduler?: SchedulerLike;
  /** The window of latency, wait and throughput figures. Default 10,000 ms. */
  windowMs?: number;
  /** Prices by model name, over {@link DEFAULT_PRICES}. */
  prices?: Record<string, ModelPrice>;
  /** The price of calls whose handler reports no model (or an unknown one). Default: none (cost 0). */
  price?: ModelPrice;
}

/**
 * Stats and progress of one chain: pass it as `stats` to the chain's operators (any of
 * `dedupeSimilar`, `bufferByTokens`, `groupByLength`, `mergeBatches`), then read `snapshot()` or
 * listen with `onProgress`. Counting costs a few additions per item; utilization and tokens need
 * each batch's exact token count, computed once per batch.
 *
 * @example
 * ```ts
 * const stats = createStats({ total: 3 });
 * stats.onProgress((s) => console.log(`${s.items.done}/${s.items.in}`), { intervalMs: 500 });
 * // from(items).pipe(bufferByTokens({ maxTokens: 4000, stats }), mergeBatches(handler, { stats }))
 * ```
 */
export interface Stats {
  snapshot(): ChainStats;
  /** Call `listener` with a snapshot every `intervalMs` (default 1,000) on the scheduler. Returns a function that stops it. */
  onProgress(listener: (stats: ChainStats) => void, options?: { intervalMs?: number }): () => void;
  /** Forget everything counted so far. */
  reset(): void;
}

/** Where the operators report; unexported from the package. */
export const RECORDER: unique symbol = Symbol('tokenbatch.stats');

const LAST_BATCHES = 50;

/** What operators tell a {@link Stats}. */
export class StatsRecorder {
  readonly scheduler: SchedulerLike;
  readonly prices: PriceTable;
  readonly total: number | undefined;
  readonly windowMs: number;
  firstAt = -1;
  in = 0;
  dedupeDuplicates = 0;
  outcomeDuplicates = 0;
  ok = 0;
  failed = 0;
  cacheHits = 0;
  batches = 0;
  utilizationSum = 0;
  lastUtilization: number[] = [];
  callsMade = 0;
  callsInFlight = 0;
  retries = 0;
  rateLimited = 0;
  timeouts = 0;
  concurrency = 0;
  tokensSpent = 0;
  tokenItems = 0;
  spentUsd = 0;
  /** A moving average of item latency (arrival to outcome), -1 before the first: the adaptive wait reads it. */
  latencyEwma = -1;
  latency: WindowedSamples;
  wait: WindowedSamples;

  constructor(scheduler: SchedulerLike, windowMs: number, total: number | undefined, prices: PriceTable) {
    this.scheduler = scheduler;
    this.windowMs = windowMs;
    this.total = total;
    this.prices = prices;
    this.latency = new WindowedSamples(windowMs);
    this.wait = new WindowedSamples(windowMs);
  }

  /** An item arrived at an operator (counted once per item number, whichever operators report it). */
  arrived(index: number, at: number): void {
    if (this.firstAt < 0) this.firstAt = at;
    if (index >= this.in) this.in = index + 1;
  }

  /** An item answered from a cache without a call (for the result-reuse work: call it once per such item). */
  cacheHit(): void {
    this.cacheHits++;
  }

  duplicateFound(): void {
    this.dedupeDuplicates++;
  }

  batchClosed(arrivals: readonly { arrivedAt: number }[], utilization: number, now: number): void {
    this.batches++;
    if (Number.isFinite(utilization)) {
      this.utilizationSum += utilization;
      this.lastUtilization.push(utilization);
      if (this.lastUtilization.length > LAST_BATCHES) this.lastUtilization.shift();
    }
    for (const entry of arrivals) this.wait.add(now, now - entry.arrivedAt);
  }

  /** A handler call went out with `items` items. */
  callStarted(): void {
    this.callsMade++;
    this.callsInFlight++;
  }

  callEnded(items: number, inputTokens: number, outputTokens: number, model: string | undefined, outcome: 'ok' | 'rateLimited' | 'timeout' | 'error'): void {
    this.callsInFlight--;
    if (outcome === 'rateLimited') this.rateLimited++;
    else if (outcome === 'timeout') this.timeouts++;
    this.tokensSpent += inputTokens + outputTokens;
    this.tokenItems += items;
    this.spentUsd += this.prices.cost(model, inputTokens, outputTokens);
  }

  outcome(ok: boolean, duplicate: boolean, arrivedAt: number, now: number): void {
    if (ok) this.ok++;
    else this.failed++;
    if (duplicate) this.outcomeDuplicates++;
    const latency = now - arrivedAt;
    this.latency.add(now, latency);
    this.latencyEwma = this.latencyEwma < 0 ? latency : this.latencyEwma + (latency - this.latencyEwma) / 16;
  }

  /** Forget everything counted so far (operators keep reporting to this same recorder). */
  reset(): void {
    Object.assign(this, new StatsRecorder(this.scheduler, this.windowMs, this.total, this.prices));
  }

  snapshot(): ChainStats {
    const now = this.scheduler.now();
    const done = this.ok + this.failed;
    const elapsedMs = this.firstAt < 0 ? 0 : now - this.firstAt;
    const itemsIn = Math.max(this.in, done);
    const duplicates = Math.max(this.dedupeDuplicates, this.outcomeDuplicates);
    const perItem = this.tokenItems > 0 ? this.tokensSpent / this.tokenItems : 0;
    const usdPerItem = this.tokenItems > 0 ? this.spentUsd / this.tokenItems : 0;
    const notSent = duplicates + this.cacheHits;
    const latency = this.latency.percentiles(now);
    const span = Math.min(this.windowMs, elapsedMs);
    const itemsPerSecond = span > 0 ? (this.latency.countSince(now) * 1000) / span : 0;
    let eta: ChainStats['eta'];
    if (this.total !== undefined && itemsPerSecond > 0) {
      const remainingItems = Math.max(0, this.total - done);
      eta = { remainingItems, etaMs: Math.round((remainingItems / itemsPerSecond) * 1000) };
    }
    return {
      at: now,
      elapsedMs,
      items: { in: itemsIn, done, ok: this.ok, failed: this.failed, duplicates, cacheHits: this.cacheHits, inFlight: Math.max(0, itemsIn - done) },
      batches: { closed: this.batches, meanUtilization: this.batches > 0 ? this.utilizationSum / this.batches : 0, lastUtilization: [...this.lastUtilization] },
      calls: { made: this.callsMade, retries: this.retries, rateLimited: this.rateLimited, timeouts: this.timeouts, inFlight: this.callsInFlight, concurrency: this.concurrency },
      tokens: { spent: this.tokensSpent, saved: Math.round(notSent * perItem) },
      cost: { spentUsd: this.spentUsd, savedUsd: notSent * usdPerItem },
      latency: { p50Ms: latency.p50, p99Ms: latency.p99 },
      wait: (({ p50, p99 }) => ({ p50Ms: p50, p99Ms: p99 }))(this.wait.percentiles(now)),
      throughput: { itemsPerSecond },
      eta,
    };
  }
}

class StatsHandle implements Stats {
  readonly [RECORDER]: StatsRecorder;
  constructor(recorder: StatsRecorder) {
    this[RECORDER] = recorder;
  }
  snapshot(): ChainStats {
    return this[RECORDER].snapshot();
  }
  onProgress(listener: (stats: ChainStats) => void, options: { intervalMs?: number } = {}): () => void {
    if (typeof listener !== 'function') throw new TypeError('stats.onProgress: listener: expected a function');
    const intervalMs = optionalPositive(options.intervalMs, 'stats.onProgress: intervalMs') ?? 1000;
    let timer: Subscription | undefined;
    const tick = () => {
      timer = scheduleAfter(this[RECORDER].scheduler, intervalMs, tick);
      listener(this.snapshot());
    };
    timer = scheduleAfter(this[RECORDER].scheduler, intervalMs, tick);
    return () => timer?.unsubscribe();
  }
  reset(): void {
    this[RECORDER].reset();
  }
}

/**
 * Creates the stats of one chain. See {@link Stats} and {@link ChainStats}.
 *
 * @example
 * ```ts
 * import { from, lastValueFrom, toArray } from 'rxjs';
 * import { bufferByTokens, createStats, mergeBatches } from 'tokenbatch';
 *
 * const stats = createStats({ total: 3 });
 * await lastValueFrom(
 *   from(['a', 'b', 'c']).pipe(
 *     bufferByTokens({ maxTokens: 100, stats }),
 *     mergeBatches(async (batch) => batch.items.map((item) => item.toUpperCase()), { stats }),
 *     toArray(),
 *   ),
 * );
 * console.log(stats.snapshot().items); // { in: 3, done: 3, ok: 3, ... }
 * ```
 */
export function createStats(options: StatsOptions = {}): Stats {
  const reader = new OptionReader('createStats', options, ['total', 'scheduler', 'windowMs', 'prices', 'price']);
  const total = reader.raw.total === undefined ? undefined : reader.nonNegative('total', 0);
  const scheduler = reader.raw.scheduler === undefined ? asyncScheduler : reader.scheduler();
  const windowMs = reader.optionalPositive('windowMs') ?? 10_000;
  const prices = parsePrices(reader);
  return new StatsHandle(new StatsRecorder(scheduler, windowMs, total, prices));
}

/** The recorder behind an operator's `stats` option, or undefined; anything else is rejected. */
export function statsRecorder(options: OptionReader): StatsRecorder | undefined {
  const value = options.raw.stats;
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || !(RECORDER in value)) throw new TypeError(`${options.name('stats')}: expected the result of createStats()`);
  return (value as StatsHandle)[RECORDER];
}
