import type { StatsRecorder } from '../stats.js';
import type { CloseReason } from '../types.js';

/**
 * The wait of `latencyTargetMs`: how long a batch stays open for more items, between 0 and
 * `min(maxWaitMs, latencyTargetMs)`. AIMD on the latency the chain sees: when items' latency
 * (arrival to outcome, from `stats` when given, else their wait here) passes the target, the wait
 * halves; when batches close by time under the target (sparse traffic), it grows by a step toward
 * its ceiling, to fill batches. Batches that fill by size (items pile up) shrink it a little, so
 * the tail of a burst is not held back.
 */
export class AdaptiveWait {
  readonly #ceiling: number;
  readonly #step: number;
  #wait: number;
  constructor(
    readonly targetMs: number,
    maxWaitMs: number | undefined,
    readonly stats: StatsRecorder | undefined,
  ) {
    this.#ceiling = Math.min(targetMs, maxWaitMs ?? Number.POSITIVE_INFINITY);
    this.#step = Math.max(1, this.#ceiling / 10);
    this.#wait = this.#ceiling / 2;
  }

  /** The wait for the next batch, in milliseconds. */
  get delay(): number {
    return this.#wait;
  }

  /** A batch closed after its first item waited `waitedMs`. */
  observe(reason: CloseReason, waitedMs: number): void {
    const seen = this.stats?.latencyEwma;
    const latency = seen !== undefined && seen >= 0 ? Math.max(seen, waitedMs) : waitedMs;
    if (latency > this.targetMs) this.#wait /= 2;
    else if (reason === 'time') this.#wait = Math.min(this.#ceiling, this.#wait + this.#step);
    else if (reason === 'tokens' || reason === 'items') this.#wait *= 0.9;
  }
}
