/**
 * Out-of-order packing: items go to the open batch they fill best (best fit) instead of only the
 * newest one, so that a long item no longer closes a half-empty batch. A pure state machine: the
 * batching core feeds it items with their token counts and arrival times, and emits what it
 * returns; timers stay with the core.
 *
 * Bounded, stated: at most `maxOpenBatches` batches are open (past that the fullest closes), and an
 * open batch closes once `lookaheadItems` items have arrived after its first one, so an item waits
 * for at most `lookaheadItems` later arrivals, and for at most `maxWaitMs` when the core passes
 * `expire` its clock. Items within a batch keep their arrival order; batches are not contiguous,
 * which `orderedResults` undoes.
 */

/** Why a packed batch closed. */
export type PackingCloseReason = 'tokens' | 'items' | 'time' | 'lookahead' | 'end';

/** A batch the packer closed. */
export interface PackedBatch<E> {
  /** The items, in arrival order. */
  readonly entries: E[];
  /** Token total, overheads included. */
  readonly tokens: number;
  /** Arrival time of its first item. */
  readonly openedAt: number;
  /** Arrival number of its first item (counted by the packer from 0). */
  readonly firstArrival: number;
  readonly reason: PackingCloseReason;
  /** A single item too long for an empty batch. */
  readonly oversize: boolean;
}

/** Options of {@link BestFitPacker}. */
export interface PackingOptions {
  readonly maxTokens: number;
  /** Default: no limit. */
  readonly maxItems?: number;
  /** Default 0. */
  readonly batchOverheadTokens?: number;
  /** Default 0. */
  readonly itemOverheadTokens?: number;
  /** Batches open at once (whole number ≥ 1; 1 is greedy in-order packing). Default 16. */
  readonly maxOpenBatches?: number;
  /** Later arrivals after which an open batch closes (whole number ≥ 1). Default 256. */
  readonly lookaheadItems?: number;
}

class OpenBatch<E> {
  readonly entries: E[] = [];
  constructor(
    public tokens: number,
    readonly openedAt: number,
    readonly firstArrival: number,
  ) {}
}

function whole(value: number | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw new RangeError(`BestFitPacker: ${name}: expected a whole number >= 1, got ${String(value)}`);
  return value;
}

function nonNegative(value: number | undefined, name: string): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new RangeError(`BestFitPacker: ${name}: expected a finite number >= 0, got ${String(value)}`);
  return value;
}

/**
 * Best-fit packing with a bounded lookahead.
 *
 * @example
 * ```ts
 * const packer = new BestFitPacker<string>({ maxTokens: 100, maxOpenBatches: 8, lookaheadItems: 64 });
 * const closed = packer.add('an item', 12, Date.now());
 * ```
 */
export class BestFitPacker<E> {
  readonly maxTokens: number;
  readonly maxItems: number;
  readonly batchOverheadTokens: number;
  readonly itemOverheadTokens: number;
  readonly maxOpenBatches: number;
  readonly lookaheadItems: number;
  /** Open batches, oldest first. */
  readonly #open: OpenBatch<E>[] = [];
  #arrivals = 0;

  constructor(options: PackingOptions) {
    if (typeof options !== 'object' || options === null) throw new TypeError('BestFitPacker: expected an options object');
    if (typeof options.maxTokens !== 'number' || !(options.maxTokens > 0))
      throw new RangeError(`BestFitPacker: maxTokens: expected a positive number, got ${String(options.maxTokens)}`);
    this.maxTokens = options.maxTokens;
    this.maxItems = options.maxItems === undefined ? Number.POSITIVE_INFINITY : whole(options.maxItems, 'maxItems', 1);
    this.batchOverheadTokens = nonNegative(options.batchOverheadTokens, 'batchOverheadTokens');
    this.itemOverheadTokens = nonNegative(options.itemOverheadTokens, 'itemOverheadTokens');
    this.maxOpenBatches = whole(options.maxOpenBatches, 'maxOpenBatches', 16);
    this.lookaheadItems = whole(options.lookaheadItems, 'lookaheadItems', 256);
  }

  /** Batches open now. */
  get openBatches(): number {
    return this.#open.length;
  }

  /** Arrival time of the oldest open batch's first item: when the core's `maxWaitMs` timer is due from. */
  get oldestOpenedAt(): number | undefined {
    let oldest: number | undefined;
    for (const open of this.#open) if (oldest === undefined || open.openedAt < oldest) oldest = open.openedAt;
    return oldest;
  }

  /**
   * Place an item of `tokens` tokens (its own count, without overheads) that arrived at `now`;
   * returns the batches that closed because of it, in the order to emit them.
   */
  add(entry: E, tokens: number, now: number): PackedBatch<E>[] {
    if (typeof tokens !== 'number' || !Number.isFinite(tokens) || tokens < 0)
      throw new RangeError(`BestFitPacker: add: tokens: expected a finite number >= 0, got ${String(tokens)}`);
    const arrival = this.#arrivals++;
    const closed: PackedBatch<E>[] = [];
    // Batches that have waited for lookaheadItems arrivals go first.
    this.#closeWhere((open) => arrival - open.firstArrival >= this.lookaheadItems, 'lookahead', closed);
    const cost = tokens + this.itemOverheadTokens;
    if (this.batchOverheadTokens + cost > this.maxTokens) {
      closed.push({ entries: [entry], tokens: this.batchOverheadTokens + cost, openedAt: now, firstArrival: arrival, reason: 'tokens', oversize: true });
      return closed;
    }
    // Best fit: the open batch left with the least room that still takes the item (the oldest on a tie).
    let best: OpenBatch<E> | undefined;
    for (const open of this.#open) {
      if (open.tokens + cost > this.maxTokens) continue;
      if (best === undefined || open.tokens > best.tokens) best = open;
    }
    if (best === undefined) {
      if (this.#open.length >= this.maxOpenBatches) this.#closeFullest(closed);
      best = new OpenBatch<E>(this.batchOverheadTokens, now, arrival);
      this.#open.push(best);
    }
    best.entries.push(entry);
    best.tokens += cost;
    if (best.entries.length >= this.maxItems) this.#close(best, 'items', closed);
    else if (this.maxTokens - best.tokens < this.itemOverheadTokens || (this.itemOverheadTokens === 0 && best.tokens >= this.maxTokens)) this.#close(best, 'tokens', closed);
    return closed;
  }

  /** Close the batches whose first item arrived at or before `now - maxWaitMs`, oldest first. */
  expire(now: number, maxWaitMs: number): PackedBatch<E>[] {
    const closed: PackedBatch<E>[] = [];
    this.#closeWhere((open) => now - open.openedAt >= maxWaitMs, 'time', closed);
    return closed;
  }

  /** Close every open batch, oldest first (the source ended). */
  flush(reason: PackingCloseReason = 'end'): PackedBatch<E>[] {
    const closed: PackedBatch<E>[] = [];
    this.#closeWhere(() => true, reason, closed);
    return closed;
  }

  #closeWhere(test: (open: OpenBatch<E>) => boolean, reason: PackingCloseReason, closed: PackedBatch<E>[]): void {
    for (const open of [...this.#open]) if (test(open)) this.#close(open, reason, closed);
  }

  #closeFullest(closed: PackedBatch<E>[]): void {
    let fullest = this.#open[0] as OpenBatch<E>;
    for (const open of this.#open) if (open.tokens > fullest.tokens) fullest = open;
    this.#close(fullest, 'tokens', closed);
  }

  #close(open: OpenBatch<E>, reason: PackingCloseReason, closed: PackedBatch<E>[]): void {
    this.#open.splice(this.#open.indexOf(open), 1);
    closed.push({ entries: open.entries, tokens: open.tokens, openedAt: open.openedAt, firstArrival: open.firstArrival, reason, oversize: false });
  }
}

/**
 * The fewest batches any packing can make: ceil(Σ (tokens + item overhead) / (maxTokens - batch
 * overhead)), items too long for an empty batch counted as one batch each.
 *
 * @example
 * ```ts
 * packingLowerBound([60, 50, 40], { maxTokens: 100 }); // 2
 * ```
 */
export function packingLowerBound(tokens: readonly number[], options: Pick<PackingOptions, 'maxTokens' | 'batchOverheadTokens' | 'itemOverheadTokens'>): number {
  const room = options.maxTokens - (options.batchOverheadTokens ?? 0);
  const perItem = options.itemOverheadTokens ?? 0;
  let total = 0;
  let alone = 0;
  for (const count of tokens) {
    if (count + perItem > room) alone++;
    else total += count + perItem;
  }
  return alone + Math.ceil(total / room);
}
