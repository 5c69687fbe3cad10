/** Samples kept at most this many per window: percentiles then describe the most recent ones. */
const MAX_SAMPLES = 20_000;

/**
 * Timed samples over a sliding window, bounded in memory (at most {@link MAX_SAMPLES}), for
 * percentiles and rates. Adding is O(1) amortised; percentiles sort a copy when asked.
 */
export class WindowedSamples {
  #times: number[] = [];
  #values: number[] = [];
  #head = 0;
  constructor(readonly windowMs: number) {}

  add(at: number, value: number): void {
    this.#times.push(at);
    this.#values.push(value);
    if (this.#times.length - this.#head > MAX_SAMPLES) this.#head++;
    if (this.#head > 4096 && this.#head * 2 > this.#times.length) this.#compact();
  }

  /** How many samples were taken within the window ending at `now` (up to the bound). */
  countSince(now: number): number {
    this.#trim(now);
    return this.#times.length - this.#head;
  }

  percentiles(now: number): { p50: number; p99: number } {
    this.#trim(now);
    const values = this.#values.slice(this.#head).sort((a, b) => a - b);
    if (values.length === 0) return { p50: 0, p99: 0 };
    const at = (q: number) => values[Math.min(values.length - 1, Math.ceil(q * values.length) - 1)] as number;
    return { p50: at(0.5), p99: at(0.99) };
  }

  #trim(now: number): void {
    const since = now - this.windowMs;
    while (this.#head < this.#times.length && (this.#times[this.#head] as number) <= since) this.#head++;
    this.#compact();
  }

  #compact(): void {
    if (this.#head === 0) return;
    this.#times = this.#times.slice(this.#head);
    this.#values = this.#values.slice(this.#head);
    this.#head = 0;
  }
}
