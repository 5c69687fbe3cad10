import { RateLimitError, TimeoutError } from '../../errors.js';
import type { OptionReader } from '../../internal/options.js';

/** `concurrency` as given: a fixed number, or bounds to adapt within. */
export interface ConcurrencyBounds {
  readonly min: number;
  readonly max: number;
  readonly initial: number;
}

/** Read `concurrency`: a whole number, `'auto'` (1 to 64, starting at 4), or `{ min, max }`. */
export function parseConcurrency(options: OptionReader): ConcurrencyBounds {
  const raw = options.raw.concurrency;
  if (raw === 'auto') return { min: 1, max: 64, initial: 4 };
  if (typeof raw === 'object' && raw !== null) {
    const bounds = options.nested('concurrency', ['min', 'max']);
    const min = bounds.optionalPositive('min', { integer: true, min: 1 }) ?? 1;
    const max = bounds.positive('max', { integer: true, min: 1 });
    if (max < min) throw new RangeError(`${options.name('concurrency')}: expected min <= max, got { min: ${min}, max: ${max} }`);
    return { min, max, initial: Math.min(max, Math.max(min, 4)) };
  }
  if (typeof raw === 'string') throw new TypeError(`${options.name('concurrency')}: expected a whole number >= 1, 'auto' or { min, max }, got "${raw}"`);
  const fixed = options.optionalPositive('concurrency', { integer: true, min: 1 }) ?? 4;
  return { min: fixed, max: fixed, initial: fixed };
}

/**
 * An adaptive concurrency limit, AIMD in the manner of Netflix's concurrency-limits: each call that
 * ends well while the limit is in use raises it by one (additive increase); a rate limit (429), a
 * timeout, or latency well past its baseline (the queue at the provider grows) lowers it by a
 * factor (multiplicative decrease), once per congestion event: only calls sent after the last
 * decrease can lower it again, so one burst of 429s counts once. It stays within `[min, max]`, and climbs back when the pressure is gone.
 */
export class ConcurrencyLimit {
  #limit: number;
  /** The lowest recent latency: what a call costs when nothing queues. */
  #baseline = -1;
  #lastDecrease = Number.NEGATIVE_INFINITY;
  constructor(
    readonly bounds: ConcurrencyBounds,
    readonly onChange: (limit: number) => void = () => {},
  ) {
    this.#limit = bounds.initial;
  }

  get adaptive(): boolean {
    return this.bounds.min !== this.bounds.max;
  }

  /** How many calls may run now. */
  get current(): number {
    return Math.floor(this.#limit);
  }

  /** A call ended at `now` after `latencyMs`, with `error` or not, while `running` calls (itself included) ran. */
  observe(error: Error | undefined, latencyMs: number, running: number, now: number): void {
    if (!this.adaptive) return;
    const before = this.current;
    const dropped = error instanceof RateLimitError || error instanceof TimeoutError;
    if (!dropped && error === undefined) {
      // The baseline drifts up slowly, so that a lasting change of the model's speed is learned.
      this.#baseline = this.#baseline < 0 ? latencyMs : Math.min(latencyMs, this.#baseline * 1.01 + 0.01);
    }
    const slow = this.#baseline > 0 && latencyMs > 2 * this.#baseline + 1;
    if (dropped || slow) {
      // Once per congestion event: calls sent before the last decrease tell nothing new.
      if (now - latencyMs > this.#lastDecrease) {
        this.#limit = Math.max(this.bounds.min, this.#limit * (dropped ? 0.5 : 0.9));
        this.#lastDecrease = now;
      }
    } else if (error === undefined && running * 2 >= this.current) {
      // One more per call that went well while the limit was in use (Netflix's AIMD): the limit
      // finds the provider's capacity within a round trip or two, and probes it again after a drop.
      this.#limit = Math.min(this.bounds.max, this.#limit + 1);
    }
    if (this.current !== before) this.onChange(this.current);
  }
}
