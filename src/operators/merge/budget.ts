import type { SchedulerLike } from 'rxjs';
import { AbortError, BudgetExceededError } from '../../errors.js';
import type { OptionReader } from '../../internal/options.js';
import { scheduleAfter } from '../../internal/timers.js';
import { parsePrices, type PriceTable } from '../../pricing.js';

/**
 * Options of `mergeBatches`' budget: a cap on tokens and/or US dollars, for the whole run or per
 * sliding window.
 *
 * @example
 * ```ts
 * const budget: BudgetOptions = { usd: 5, model: 'gpt-4o-mini', windowMs: 3_600_000, onExceeded: 'pause' };
 * ```
 */
export interface BudgetOptions {
  /** Tokens (input + output, as billed) allowed. */
  tokens?: number;
  /** US dollars allowed; needs a price: `model` (from the price table) or `price`. */
  usd?: number;
  /** Count per sliding window of this many ms instead of for the whole run. */
  windowMs?: number;
  /** `'fail'` (default): batches that no longer fit get `BudgetExceededError` outcomes; `'pause'`: they wait until the window has room (for a run budget: until unsubscribed). */
  onExceeded?: 'fail' | 'pause';
  /** The model calls are priced as (over {@link DEFAULT_PRICES} and `prices`). */
  model?: string;
  prices?: Record<string, { inputPerMillion: number; outputPerMillion: number }>;
  price?: { inputPerMillion: number; outputPerMillion: number };
}

/** The costs of a call as reserved and as spent, in the budget's units. */
interface Spend {
  at: number;
  tokens: number;
  usd: number;
}

/**
 * A spend cap. Each call reserves its estimated tokens (and their price, as input) before it is
 * sent, and a call that does not fit what is left is not sent; when the call reports billed usage
 * the reservation becomes that. So the spend can pass the cap only by what the calls in flight
 * at that moment were under-estimated by (their output tokens and estimation error):
 * `overshoot ≤ Σ over in-flight calls (billed − reserved)`.
 */
export class Budget {
  readonly #records: Spend[] = [];
  #tokens = 0;
  #usd = 0;
  readonly #sleepers = new Set<() => void>();
  constructor(
    readonly maxTokens: number,
    readonly maxUsd: number,
    readonly windowMs: number | undefined,
    readonly pause: boolean,
    readonly prices: PriceTable,
    readonly model: string | undefined,
    readonly scheduler: SchedulerLike,
  ) {}

  /** Reserve `tokens` for a call now: fails (or waits, when pausing) while they do not fit. */
  async reserve(tokens: number, signal: AbortSignal): Promise<Spend> {
    for (;;) {
      this.#expire();
      const usd = this.prices.cost(this.model, tokens, 0);
      if (this.#tokens + tokens <= this.maxTokens && this.#usd + usd <= this.maxUsd + 1e-12) {
        const record = { at: this.scheduler.now(), tokens, usd };
        this.#records.push(record);
        this.#tokens += tokens;
        this.#usd += usd;
        return record;
      }
      if (!this.pause) throw new BudgetExceededError(this.#message(tokens, usd));
      await this.#sleep(signal);
    }
  }

  /** The call billed `inputTokens` + `outputTokens` (or nothing, if it failed without usage). */
  settle(record: Spend, usage: { inputTokens: number; outputTokens: number } | undefined, model: string | undefined): void {
    const tokens = usage ? usage.inputTokens + usage.outputTokens : 0;
    const usd = usage ? this.prices.cost(this.model ?? model, usage.inputTokens, usage.outputTokens) : 0;
    this.#tokens += tokens - record.tokens;
    this.#usd += usd - record.usd;
    record.tokens = tokens;
    record.usd = usd;
    if (tokens === 0) this.#wake();
  }

  get spent(): { tokens: number; usd: number } {
    return { tokens: this.#tokens, usd: this.#usd };
  }

  #expire(): void {
    if (this.windowMs === undefined) return;
    const since = this.scheduler.now() - this.windowMs;
    while (this.#records.length > 0 && (this.#records[0] as Spend).at <= since) {
      const record = this.#records.shift() as Spend;
      this.#tokens -= record.tokens;
      this.#usd -= record.usd;
    }
  }

  /** Wait until the oldest spend leaves the window (or a reservation is given back). */
  #sleep(signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const oldest = this.#records[0];
      const wake = () => {
        this.#sleepers.delete(wake);
        timer?.unsubscribe();
        signal.removeEventListener('abort', abort);
        resolve();
      };
      const abort = () => {
        wake();
        reject(signal.reason ?? new AbortError('aborted'));
      };
      const timer = this.windowMs !== undefined && oldest ? scheduleAfter(this.scheduler, oldest.at + this.windowMs - this.scheduler.now(), wake) : undefined;
      this.#sleepers.add(wake);
      signal.addEventListener('abort', abort, { once: true });
    });
  }

  #wake(): void {
    for (const wake of [...this.#sleepers]) wake();
  }

  #message(tokens: number, usd: number): string {
    const scope = this.windowMs === undefined ? 'for this run' : `per ${this.windowMs} ms`;
    if (this.#tokens + tokens > this.maxTokens)
      return `mergeBatches: budget: the call needs ${tokens} tokens, ${Math.max(0, this.maxTokens - this.#tokens)} of ${this.maxTokens} are left ${scope}`;
    return `mergeBatches: budget: the call needs $${usd.toFixed(6)}, $${Math.max(0, this.maxUsd - this.#usd).toFixed(6)} of $${this.maxUsd} are left ${scope}`;
  }
}

/** Read `budget`; undefined when not given. */
export function parseBudget(options: OptionReader, scheduler: SchedulerLike): (() => Budget) | undefined {
  if (options.raw.budget === undefined) return undefined;
  const budget = options.nested('budget', ['tokens', 'usd', 'windowMs', 'onExceeded', 'model', 'prices', 'price']);
  const tokens = budget.optionalPositive('tokens') ?? Number.POSITIVE_INFINITY;
  const usd = budget.optionalPositive('usd') ?? Number.POSITIVE_INFINITY;
  if (tokens === Number.POSITIVE_INFINITY && usd === Number.POSITIVE_INFINITY) throw new TypeError(`${options.name('budget')}: expected tokens and/or usd`);
  const windowMs = budget.optionalPositive('windowMs');
  const onExceeded = budget.oneOf('onExceeded', ['fail', 'pause'], 'fail');
  const model = budget.raw.model;
  if (model !== undefined && typeof model !== 'string') throw new TypeError(`${budget.name('model')}: expected a model name`);
  const prices = parsePrices(budget);
  if (usd !== Number.POSITIVE_INFINITY && !prices.priceOf(model))
    throw new TypeError(`${budget.name('usd')}: needs a price: give budget.model (a model of the price table) or budget.price`);
  // One budget per subscription: a re-subscribed chain starts a new run.
  return () => new Budget(tokens, usd, windowMs, onExceeded === 'pause', prices, model, scheduler);
}
