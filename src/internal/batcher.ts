import type { SchedulerLike, Subscription } from 'rxjs';
import { resolveTokenizer } from '../tokens/tokenizers.js';
import { OversizeItemError } from '../errors.js';
import type { BufferByTokensOptions } from '../operators/bufferByTokens.js';
import type { Batch, CloseReason } from '../types.js';
import type { Envelope} from './chain.js';
import { ItemFailure, type Link } from './chain.js';
import { CoreBase, type Sink } from './core.js';
import { itemAsText, TokenMeter, type TextOf } from '../tokens/meter.js';
import type { SplitPolicy } from './splitting.js';
import { Telemetry, telemetrySettings, type TelemetrySettings } from './telemetry.js';
import { nonNegative, oneOf, optionalFunction, optionalPositive, positiveNumber, requireObject, scheduler } from './options.js';

/** The rules a batch is formed under (validated options of bufferByTokens and groupByLength). */
export interface BatchRules<T> {
  readonly meter: TokenMeter<T>;
  readonly maxTokens: number;
  readonly maxItems: number;
  readonly maxWaitMs: number | undefined;
  readonly batchOverheadTokens: number;
  readonly itemOverheadTokens: number;
  readonly oversize: 'alone' | 'error';
  readonly scheduler: SchedulerLike;
  readonly telemetry: TelemetrySettings;
}

/**
 * A closed batch. Token totals are computed on first read, exactly, and cached: a batch proven to
 * fit by cheap bounds costs no tokenization unless someone asks for its count.
 */
export class TokenBatch<T> implements Batch<T> {
  #itemTokens: readonly number[] | undefined;
  #items: readonly T[] | undefined;
  /** How many times this batch's ancestors were split on context overflow. */
  splitDepth = 0;
  /** Set by splitOnOverflow: how mergeBatches may split this batch if the model refuses it. */
  split: SplitPolicy | undefined = undefined;
  constructor(
    readonly entries: readonly Envelope<T>[],
    readonly index: number,
    readonly closeReason: CloseReason,
    readonly oversize: boolean,
    readonly maxTokens: number,
    readonly meter: TokenMeter<T>,
    readonly batchOverheadTokens: number,
    readonly itemOverheadTokens: number,
  ) {}
  get items(): readonly T[] {
    return (this.#items ??= this.entries.map((entry) => entry.item));
  }
  get itemIndices(): readonly number[] {
    return this.entries.map((entry) => entry.index);
  }
  get itemTokens(): readonly number[] {
    return (this.#itemTokens ??= this.entries.map((entry) => this.meter.exact(entry)));
  }
  get tokens(): number {
    let total = this.batchOverheadTokens + this.itemOverheadTokens * this.entries.length;
    for (const count of this.itemTokens) total += count;
    return total;
  }
  get utilization(): number {
    return this.tokens / this.maxTokens;
  }

  /** A batch of some of this batch's entries, one split level deeper, under the same rules. */
  part(entries: readonly Envelope<T>[], oversize = false): TokenBatch<T> {
    const part = this.regroup(entries, oversize, this.maxTokens, this.split);
    part.splitDepth = this.splitDepth + 1;
    return part;
  }

  /** A batch of some of this batch's entries at the same split level, under a budget and split policy. */
  regroup(entries: readonly Envelope<T>[], oversize: boolean, maxTokens: number, split: SplitPolicy | undefined): TokenBatch<T> {
    const batch = new TokenBatch(entries, this.index, this.closeReason, oversize, maxTokens, this.meter, this.batchOverheadTokens, this.itemOverheadTokens);
    batch.splitDepth = this.splitDepth;
    batch.split = split;
    return batch;
  }
}

/**
 * One batch being filled. `estimate` is the batch's token total with each item's best known count
 * (exact where counted, else a cheap upper bound), so `estimate <= maxTokens` proves a fit.
 */
class OpenBatch<T> {
  readonly entries: Envelope<T>[] = [];
  estimate: number;
  /** Entries whose count in `estimate` is still a bound. */
  unresolved = 0;
  timer: Subscription | undefined;
  constructor(overhead: number) {
    this.estimate = overhead;
  }
}

/**
 * The batching state machine behind bufferByTokens and groupByLength: items are routed to one of
 * `lanes` open batches (one for bufferByTokens, one per length bucket for groupByLength), each closed
 * by tokens, items, time or end under the same rules.
 */
export class BatchingCore<T> extends CoreBase<unknown> {
  readonly #rules: BatchRules<T>;
  readonly #chained: boolean;
  readonly #route: (envelope: Envelope<T>) => number;
  readonly #lanes: (OpenBatch<T> | undefined)[];
  readonly #telemetry: Telemetry;
  #nextBatchIndex = 0;

  constructor(rules: BatchRules<T>, sink: Sink<unknown>, link: Link | undefined, stage: string, lanes = 1, route: (envelope: Envelope<T>) => number = () => 0) {
    super(sink);
    this.#rules = rules;
    this.#telemetry = new Telemetry(rules.telemetry, stage);
    this.#chained = link !== undefined;
    this.#route = route;
    this.#lanes = new Array<OpenBatch<T> | undefined>(lanes).fill(undefined);
  }

  accepts(demand: boolean): boolean {
    return demand;
  }

  push(input: unknown): void {
    if (this.done) return;
    const envelope = this.itemOf<T>(input);
    if (!envelope) return;
    this.#telemetry.itemsIn(1);
    try {
      this.#add(envelope);
    } catch (error) {
      if (error instanceof OversizeItemError) {
        this.#flushAll();
        this.terminate(error);
      } else if (this.#chained) this.sink.emit(new ItemFailure(envelope, error));
      else this.terminate(error);
    }
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
          this.#emit([envelope], 'tokens', true);
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
    const open = new OpenBatch<T>(this.#rules.batchOverheadTokens);
    const { maxWaitMs, scheduler } = this.#rules;
    if (maxWaitMs !== undefined) {
      open.timer = scheduler.schedule(() => {
        if (this.#lanes[lane] !== open) return;
        this.#close(lane, 'time');
        this.sink.flush();
      }, maxWaitMs);
    }
    this.#lanes[lane] = open;
    return open;
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
    this.#telemetry.queued(-open.entries.length);
    this.#emit(open.entries, reason, false);
  }

  #flushAll(): void {
    // Oldest open batch first, so that a flush keeps arrival order as far as lanes allow.
    const order = this.#lanes
      .map((open, lane) => ({ open, lane }))
      .filter((entry): entry is { open: OpenBatch<T>; lane: number } => entry.open !== undefined)
      .sort((a, b) => (a.open.entries[0] as Envelope<T>).index - (b.open.entries[0] as Envelope<T>).index);
    for (const { lane } of order) this.#close(lane, 'end');
  }

  #emit(entries: readonly Envelope<T>[], reason: CloseReason, oversize: boolean): void {
    const { maxTokens, meter, batchOverheadTokens, itemOverheadTokens, scheduler } = this.#rules;
    const batch = new TokenBatch(entries, this.#nextBatchIndex++, reason, oversize, maxTokens, meter, batchOverheadTokens, itemOverheadTokens);
    if (this.#telemetry.metrics) {
      try {
        this.#telemetry.batchClosed(batch, scheduler.now());
      } catch {
        // A count that fails here fails again, visibly, where the batch is used.
      }
    }
    this.sink.emit(batch);
  }
}

/** Validate the shared options, throwing at creation with the option's name. */
export function parseBatchRules<T>(raw: unknown, operator: string): BatchRules<T> {
  const options = requireObject(raw, operator) as Partial<BufferByTokensOptions<T>>;
  if (options.maxTokens === undefined) throw new TypeError(`${operator}: maxTokens is required`);
  const maxTokens = positiveNumber(options.maxTokens, 'maxTokens');
  const textOf = optionalFunction<TextOf<T>>(options.text, 'text') ?? (itemAsText);
  return {
    maxTokens,
    maxItems: optionalPositive(options.maxItems, 'maxItems', { integer: true, min: 1 }) ?? Number.POSITIVE_INFINITY,
    maxWaitMs: optionalPositive(options.maxWaitMs, 'maxWaitMs'),
    batchOverheadTokens: nonNegative(options.batchOverheadTokens, 'batchOverheadTokens', 0),
    itemOverheadTokens: nonNegative(options.itemOverheadTokens, 'itemOverheadTokens', 0),
    oversize: oneOf(options.oversize, 'oversize', ['alone', 'error'], 'alone'),
    scheduler: scheduler(options.scheduler, 'scheduler'),
    meter: new TokenMeter(textOf, resolveTokenizer(options.tokenizer)),
    telemetry: telemetrySettings(options.telemetry),
  };
}
