import { adoptBatch, type PlainRules } from '../../batching/adopt.js';
import type { TokenBatch } from '../../batching/batch.js';
import { QueueOverflowError } from '../../errors.js';
import type { Envelope, Numbering } from '../../internal/chain.js';
import { CoreBase, type Sink } from '../../internal/core.js';
import { Deque } from '../../internal/deque.js';
import { Telemetry, type TelemetrySettings } from '../../internal/telemetry.js';
import type { BatchHandler, Outcome } from '../../types.js';
import type { ResultCacheLayer } from '../../cache/layer.js';
import { Inflight, Solver, type SolverSettings } from './attempts.js';
import { Settlement, type ItemResult } from './settlement.js';
import type { Budget } from './budget.js';
import { ConcurrencyLimit, type ConcurrencyBounds } from './concurrency.js';
import { batchQueue, type BatchQueue, type PrioritySettings } from './priority.js';

/** mergeBatches' options, validated. */
export interface MergeSettings<T> extends SolverSettings<T>, PrioritySettings<T> {
  /** The result cache, when the `cache` option is set. */
  readonly cache: ResultCacheLayer<T, unknown> | undefined;
  readonly concurrency: ConcurrencyBounds;
  readonly orderWindow: number;
  readonly maxQueuedItems: number;
  readonly overflow: 'fail' | 'error';
  readonly failFast: boolean;
  readonly telemetry: TelemetrySettings;
  readonly plain: PlainRules<T>;
  readonly budget: (() => Budget) | undefined;
}

/** Outcomes waiting for the consumer past which a pull face stops pulling batches. */
const MAX_BACKLOG = 4096;

/**
 * The intake of mergeBatches: batches wait in a queue, start while a concurrency slot is free and
 * they are within `orderWindow` batches of the oldest unfinished one, and each runs in the solver
 * until every item has an outcome.
 */
export class MergeCore<T, R> extends CoreBase<unknown> {
  readonly #settings: MergeSettings<T>;
  readonly #queue: BatchQueue<T>;
  /** Started batches from the oldest unfinished one on, in start order (`true` once finished). */
  readonly #window = new Deque<{ finished: boolean }>();
  readonly #inflight = new Inflight();
  readonly #solver: Solver<T, R>;
  readonly #limit: ConcurrencyLimit;
  readonly #settlement: Settlement<T, R>;
  readonly #telemetry: Telemetry;
  readonly #numbering: Numbering = { next: 0 };
  #queuedItems = 0;
  #running = 0;
  #ended = false;
  #sourceError: { error: unknown } | undefined;
  /** One error for a whole overflow burst: no stack trace per item. */
  #overflowError: QueueOverflowError | undefined;

  constructor(handler: BatchHandler<T, R>, settings: MergeSettings<T>, sink: Sink<unknown>) {
    super(sink);
    this.#settings = settings;
    this.#queue = batchQueue(settings);
    this.#telemetry = new Telemetry(settings.telemetry, 'merge');
    this.#limit = new ConcurrencyLimit(settings.concurrency, (limit) => {
      if (settings.stats) settings.stats.concurrency = limit;
    });
    const feedback = this.#limit.adaptive
      ? (error: Error | undefined, latencyMs: number) => this.#limit.observe(error, latencyMs, this.#running, settings.scheduler.now())
      : undefined;
    this.#solver = new Solver(handler, settings, this.#telemetry, this.#inflight, feedback, settings.budget?.());
    this.#settlement = new Settlement<T, R>(
      handler,
      (outcome) => this.#emit(outcome),
      this.#telemetry,
      () => settings.scheduler.now(),
      () => {
        this.#checkDone();
        this.sink.flush();
      },
      settings.stats,
    );
    if (settings.stats) settings.stats.concurrency = this.#limit.current;
  }

  accepts(_demand: boolean, backlog: number): boolean {
    return !this.done && this.#queue.length === 0 && this.#canStart() && backlog < MAX_BACKLOG;
  }

  push(input: unknown): void {
    if (this.done || this.#ended) return;
    const batch = adoptBatch<T>(input, this.#numbering, this.#settings.scheduler.now(), this.#settings.plain);
    const stats = this.#settings.stats;
    for (const entry of batch.entries) {
      entry.pending++;
      stats?.arrived(entry.index, entry.arrivedAt);
    }
    for (const skipped of batch.skipped) {
      if (skipped.kind === 'failed') {
        skipped.envelope.pending++;
        this.#settlement.failed(skipped);
      } else this.#settlement.duplicate(skipped);
    }
    if (batch.entries.length > 0) this.#enqueue(batch);
  }

  end(): void {
    this.#ended = true;
    this.#checkDone();
  }

  override fail(error: unknown): void {
    // Work already received still gets its outcomes; then the source's error.
    this.#sourceError = { error };
    this.#ended = true;
    this.#checkDone();
  }

  override dispose(): void {
    super.dispose();
    this.#stop();
  }

  #stop(): void {
    this.#inflight.cancel();
    this.#queue.clear();
    this.#settlement.clear();
  }

  #enqueue(batch: TokenBatch<T>): void {
    const size = batch.entries.length;
    // A synchronous source is already in memory: queueing references to its items costs little.
    if (!this.sink.synchronous && this.#queuedItems + size > this.#settings.maxQueuedItems && !this.#canStart()) {
      const error = (this.#overflowError ??= new QueueOverflowError(`mergeBatches: more than maxQueuedItems (${this.#settings.maxQueuedItems}) items waiting for a slot`));
      if (this.#settings.overflow === 'error') return this.terminate(error);
      for (const entry of batch.entries) this.#settlement.settle(entry, { ok: false, error, attempts: 0, depth: batch.splitDepth });
      return;
    }
    this.#telemetry.itemsIn(size);
    this.#queue.push(batch, this.#settings.scheduler.now());
    this.#queuedItems += size;
    this.#pump();
  }

  #canStart(): boolean {
    return this.#running < this.#limit.current && this.#window.length < this.#settings.orderWindow;
  }

  #pump(): void {
    while (!this.done && this.#queue.length > 0 && this.#canStart()) {
      const batch = this.#queue.shift(this.#settings.scheduler.now()) as TokenBatch<T>;
      this.#queuedItems -= batch.entries.length;
      if (this.#queuedItems <= this.#settings.maxQueuedItems / 2) this.#overflowError = undefined;
      const place = { finished: false };
      this.#window.push(place);
      this.#running++;
      this.#telemetry.inFlight(1);
      this.#run(batch, place).catch((error: unknown) => this.terminate(error));
    }
  }

  async #run(batch: TokenBatch<T>, place: { finished: boolean }): Promise<void> {
    try {
      const cache = this.#settings.cache;
      if (cache) await this.#runCached(batch, cache);
      else await this.#solver.solve(batch, (entries, results) => this.#deliver(entries, results));
    } finally {
      this.#telemetry.inFlight(-1);
    }
    place.finished = true;
    while (this.#window.peek()?.finished) this.#window.shift();
    this.#running--;
    this.#pump();
    this.sink.wake();
    this.#checkDone();
    this.sink.flush();
  }

  #deliver(entries: readonly Envelope<T>[], results: readonly ItemResult[]): void {
    if (this.done) return;
    entries.forEach((entry, i) => this.#settlement.settle(entry, results[i] as ItemResult));
    this.sink.flush();
  }

  /**
   * With a result cache: items found in it settle at once (`cached: true`), only the others are
   * sent, and their successes are written before the batch's slot is freed, so that a finished
   * stream has stored everything it paid for.
   */
  async #runCached(batch: TokenBatch<T>, cache: ResultCacheLayer<T, unknown>): Promise<void> {
    const { keys, hits } = await cache.lookup(batch.items);
    if (this.done) return;
    const misses: Envelope<T>[] = [];
    const missKeys = new Map<Envelope<T>, string | undefined>();
    const found: Envelope<T>[] = [];
    const served: ItemResult[] = [];
    batch.entries.forEach((entry, i) => {
      const hit = hits[i];
      if (hit === undefined) {
        misses.push(entry);
        missKeys.set(entry, keys[i]);
      } else {
        found.push(entry);
        served.push({ ok: true, value: hit.value, attempts: 0, depth: 0, cached: true });
        this.#settings.stats?.cacheHit();
      }
    });
    if (found.length > 0) this.#deliver(found, served);
    if (misses.length === 0) return;
    const written: Promise<void>[] = [];
    const unit = misses.length === batch.entries.length ? batch : batch.regroup(misses, batch.oversize, batch.maxTokens, batch.split, []);
    await this.#solver.solve(unit, (entries, results) => {
      this.#deliver(entries, results);
      written.push(
        cache.remember(
          entries.map((entry) => missKeys.get(entry)),
          results,
        ),
      );
    });
    await Promise.all(written);
  }

  #emit(outcome: Outcome<T, R>): void {
    if (this.done) return;
    this.sink.emit(outcome);
    if (!outcome.ok && this.#settings.failFast) this.terminate(outcome.error);
  }

  #checkDone(): void {
    if (this.done || !this.#ended || this.#queue.length > 0 || this.#running > 0) return;
    // Duplicates whose representative is still in another mergeBatches (after a groupBy) wait for it.
    if (this.#settlement.failStranded() > 0) return;
    if (this.#sourceError) this.terminate(this.#sourceError.error);
    else this.finish();
  }

  /** Failing the stream (failFast, overflow, a bug) also cancels the work still in flight. */
  protected override terminate(error: unknown): void {
    if (this.done) return;
    this.#stop();
    super.terminate(error);
  }
}
