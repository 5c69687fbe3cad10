import type { Subscription } from 'rxjs';
import { OversizeItemError } from '../errors.js';
import type { Envelope } from '../internal/chain.js';
import { asEnvelope, ItemFailure, kindOf, type Numbering, type Skipped } from '../internal/chain.js';
import { CoreBase, isSkipped, type Sink } from '../internal/core.js';
import { Telemetry } from '../internal/telemetry.js';
import { scheduleAfter } from '../internal/timers.js';
import type { CloseReason } from '../types.js';
import { AdaptiveWait } from './adaptive-wait.js';
import { TokenBatch } from './batch.js';
import type { BatchRules } from './rules.js';

/**
 * One batch being filled. `estimate` is the batch's token total with each item's best known count
 * (exact where counted, else a cheap upper bound), so `estimate <= maxTokens` proves a fit.
 */
class OpenBatch<T> {
  readonly entries: Envelope<T>[] = [];
  readonly skipped: Skipped<T>[] = [];
  estimate: number;
  /** Entries whose count in `estimate` is still a bound. */
  unresolved = 0;
  timer: Subscription | undefined;
  /** The adaptive wait passed while it held fewer than `minItems`: it closes on reaching them. */
  due = false;
  constructor(
    overhead: number,
    readonly openedAt: number,
  ) {
    this.estimate = overhead;
  }
}

/**
 * The batching state machine behind bufferByTokens and groupByLength: items are routed to one of
 * `lanes` open batches (one for bufferByTokens, one per length bucket for groupByLength), each closed
 * by tokens, items, time or end under the same rules.
 *
 * Input is anything: plain items are numbered here (the first tokenbatch operator of a chain
 * numbers them), tokenbatch items keep their numbers, skipped items (duplicates, failures) ride
 * with the open batch, and a batch from an earlier batching operator is taken apart and re-batched.
 */
export class BatchingCore<T> extends CoreBase<unknown> {
  readonly #rules: BatchRules<T>;
  readonly #route: (envelope: Envelope<T>) => number;
  readonly #lanes: (OpenBatch<T> | undefined)[];
  readonly #telemetry: Telemetry;
  readonly #numbering: Numbering = { next: 0 };
  readonly #adaptive: AdaptiveWait | undefined;
  #nextBatchIndex = 0;

  constructor(rules: BatchRules<T>, sink: Sink<unknown>, stage: string, lanes = 1, route: (envelope: Envelope<T>) => number = () => 0) {
    super(sink);
    this.#rules = rules;
    this.#telemetry = new Telemetry(rules.telemetry, stage);
    this.#route = route;
    this.#lanes = new Array<OpenBatch<T> | undefined>(lanes).fill(undefined);
    if (rules.latencyTargetMs !== undefined) this.#adaptive = new AdaptiveWait(rules.latencyTargetMs, rules.maxWaitMs, rules.stats);
  }

  accepts(demand: boolean): boolean {
    return demand;
  }

  push(input: unknown): void {
    if (this.done) return;
    if (isSkipped<T>(input)) return this.#skip(input);
    if (kindOf(input) === 'batch') {
      const batch = input as TokenBatch<T>;
      for (const entry of batch.entries) this.#item(entry);
      for (const skipped of batch.skipped) this.#skip(skipped);
      return;
    }
    this.#item(asEnvelope<T>(input, this.#numbering, this.#rules.scheduler.now()));
  }

  end(): void {
    if (this.done) return;
    this.#flushAll();
    this.finish();
  }

  override fail(error: unknown): void {
    if (this.done) return;
    this.#flushAll();
    this.terminate(error);
  }

  override dispose(): void {
    super.dispose();
    for (const lane of this.#lanes) {
      lane?.timer?.unsubscribe();
      // Items dropped with their open batch (the consumer went away) are no longer queued.
      if (lane) this.#telemetry.queued(-lane.entries.length);
    }
    this.#lanes.fill(undefined);
  }

  #item(envelope: Envelope<T>): void {
    if (this.done) return;
    this.#telemetry.itemsIn(1);
    this.#rules.stats?.arrived(envelope.index, envelope.arrivedAt);
    try {
      this.#add(envelope);
    } catch (error) {
      if (error instanceof OversizeItemError) {
        this.#flushAll();
        this.terminate(error);
      } else this.#skip(new ItemFailure(envelope, error));
    }
  }

  /** A skipped item rides with the oldest open batch, or goes on at once in a batch of its own. */
  #skip(skipped: Skipped<T>): void {
    let oldest: OpenBatch<T> | undefined;
    for (const lane of this.#lanes) {
      if (lane && (!oldest || (lane.entries[0]?.index ?? Infinity) < (oldest.entries[0]?.index ?? Infinity))) oldest = lane;
    }
    if (oldest) oldest.skipped.push(skipped);
    else this.#emit([], 'skipped', false, [skipped]);
  }

  #add(envelope: Envelope<T>): void {
    const { meter, maxTokens, maxItems, batchOverheadTokens, itemOverheadTokens } = this.#rules;
    const lane = this.#route(envelope);
    let estimate = meter.estimate(envelope) + itemOverheadTokens;
    let open = this.#lanes[lane];

    if (open && open.estimate + estimate > maxTokens) {
      // The cheap bounds cannot prove a fit: decide on exact counts.
      this.#resolve(open);
      estimate = meter.exact(envelope) + itemOverheadTokens;
      if (open.estimate + estimate > maxTokens) {
        this.#close(lane, 'tokens');
        open = undefined;
      }
    }
    if (!open) {
      if (batchOverheadTokens + estimate > maxTokens) {
        estimate = meter.exact(envelope) + itemOverheadTokens;
        if (batchOverheadTokens + estimate > maxTokens) {
          if (this.#rules.oversize === 'error') throw new OversizeItemError(envelope.index, batchOverheadTokens + estimate, maxTokens);
          this.#emit([envelope], 'tokens', true, []);
          return;
        }
      }
      open = this.#open(lane);
    }
    open.entries.push(envelope);
    this.#telemetry.queued(1);
    open.estimate += estimate;
    if (!meter.isExact(envelope)) open.unresolved++;
    if (open.entries.length >= maxItems) this.#close(lane, 'items');
    else if (this.#full(open)) this.#close(lane, 'tokens');
    else if (open.due && open.entries.length >= this.#rules.minItems) this.#close(lane, 'time');
  }

  /**
   * Whether no further item can fit: each costs at least `itemOverheadTokens`. Closing at once
   * spares a full batch its wait. Exact counts are taken only when the estimate leaves too little room.
   */
  #full(open: OpenBatch<T>): boolean {
    const { maxTokens, itemOverheadTokens } = this.#rules;
    if (itemOverheadTokens === 0 || maxTokens - open.estimate >= itemOverheadTokens) return false;
    this.#resolve(open);
    return maxTokens - open.estimate < itemOverheadTokens;
  }

  #open(lane: number): OpenBatch<T> {
    const { maxWaitMs, scheduler } = this.#rules;
    const open = new OpenBatch<T>(this.#rules.batchOverheadTokens, scheduler.now());
    const wait = this.#adaptive?.delay ?? maxWaitMs;
    if (wait !== undefined) this.#time(lane, open, wait);
    this.#lanes[lane] = open;
    return open;
  }

  /** Close `open` by time after `wait`; an adaptive wait closes it only with `minItems`, `maxWaitMs` always. */
  #time(lane: number, open: OpenBatch<T>, wait: number): void {
    const { maxWaitMs, scheduler, minItems } = this.#rules;
    open.timer = scheduleAfter(scheduler, wait, () => {
      if (this.#lanes[lane] !== open) return;
      const waited = scheduler.now() - open.openedAt;
      if (open.entries.length < minItems && (maxWaitMs === undefined || waited < maxWaitMs)) {
        open.due = true;
        if (maxWaitMs !== undefined) this.#time(lane, open, maxWaitMs - waited);
        return;
      }
      this.#close(lane, 'time');
      this.sink.flush();
    });
  }

  /** Replace the bounds in a batch's estimate with exact counts. */
  #resolve(open: OpenBatch<T>): void {
    if (open.unresolved === 0) return;
    const { meter, itemOverheadTokens, batchOverheadTokens } = this.#rules;
    let total = batchOverheadTokens;
    for (const entry of open.entries) total += meter.exact(entry) + itemOverheadTokens;
    open.estimate = total;
    open.unresolved = 0;
  }

  #close(lane: number, reason: CloseReason): void {
    const open = this.#lanes[lane];
    if (!open) return;
    this.#lanes[lane] = undefined;
    open.timer?.unsubscribe();
    this.#adaptive?.observe(reason, this.#rules.scheduler.now() - open.openedAt);
    this.#telemetry.queued(-open.entries.length);
    this.#emit(open.entries, reason, false, open.skipped);
  }

  #flushAll(): void {
    // Oldest open batch first, so that a flush keeps arrival order as far as lanes allow.
    const order = this.#lanes
      .map((open, lane) => ({ open, lane }))
      .filter((entry): entry is { open: OpenBatch<T>; lane: number } => entry.open !== undefined)
      .sort((a, b) => (a.open.entries[0] as Envelope<T>).index - (b.open.entries[0] as Envelope<T>).index);
    for (const { lane } of order) this.#close(lane, 'end');
  }

  #emit(entries: readonly Envelope<T>[], reason: CloseReason, oversize: boolean, skipped: readonly Skipped<T>[]): void {
    const { maxTokens, meter, batchOverheadTokens, itemOverheadTokens, scheduler } = this.#rules;
    const batch = new TokenBatch(entries, this.#nextBatchIndex++, reason, oversize, maxTokens, meter, batchOverheadTokens, itemOverheadTokens, skipped);
    if (this.#telemetry.metrics && entries.length > 0) {
      try {
        this.#telemetry.batchClosed(batch, scheduler.now());
      } catch {
        // A count that fails here fails again, visibly, where the batch is used.
      }
    }
    if (this.#rules.stats && entries.length > 0) this.#rules.stats.batchClosed(entries, oversize ? Number.NaN : safeUtilization(batch), scheduler.now());
    this.sink.emit(batch);
  }
}

/** A batch's utilization, or NaN when its items cannot be counted (that fails visibly where the batch is used). */
function safeUtilization<T>(batch: TokenBatch<T>): number {
  try {
    return batch.utilization;
  } catch {
    return Number.NaN;
  }
}
