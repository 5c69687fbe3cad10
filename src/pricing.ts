import { nonNegative, OptionReader } from './internal/options.js';

/**
 * A model's price in US dollars per million tokens.
 *
 * @example
 * ```ts
 * const price: ModelPrice = { inputPerMillion: 0.15, outputPerMillion: 0.6 };
 * ```
 */
export interface ModelPrice {
  readonly inputPerMillion: number;
  readonly outputPerMillion: number;
}

/**
 * List prices of common models (US dollars per million tokens), used for cost in stats and budgets
 * when nothing else is given. Prices change: pass your own table (`prices`) to override any of them.
 *
 * @example
 * ```ts
 * DEFAULT_PRICES['gpt-4o-mini']?.inputPerMillion; // 0.15
 * ```
 */
export const DEFAULT_PRICES: Readonly<Record<string, ModelPrice>> = Object.freeze({
  'gpt-4o-mini': { inputPerMillion: 0.15, outputPerMillion: 0.6 },
  'gpt-4o': { inputPerMillion: 2.5, outputPerMillion: 10 },
  'gpt-4.1-nano': { inputPerMillion: 0.1, outputPerMillion: 0.4 },
  'gpt-4.1-mini': { inputPerMillion: 0.4, outputPerMillion: 1.6 },
  'gpt-4.1': { inputPerMillion: 2, outputPerMillion: 8 },
  'text-embedding-3-small': { inputPerMillion: 0.02, outputPerMillion: 0 },
  'text-embedding-3-large': { inputPerMillion: 0.13, outputPerMillion: 0 },
  // simulatedModel's default name, at its text tasks' default price
  'tokenbatch-sim': { inputPerMillion: 0.15, outputPerMillion: 0.6 },
});

/** Prices by model name: exact name first, then the longest known prefix (`gpt-4o-mini-2024-07-18` → `gpt-4o-mini`). */
export class PriceTable {
  readonly #prices: Record<string, ModelPrice>;
  readonly #fallback: ModelPrice | undefined;
  constructor(prices: Readonly<Record<string, ModelPrice>> = {}, fallback?: ModelPrice) {
    this.#prices = { ...DEFAULT_PRICES, ...prices };
    this.#fallback = fallback;
  }

  priceOf(model: string | undefined): ModelPrice | undefined {
    if (model === undefined) return this.#fallback;
    const exact = this.#prices[model];
    if (exact) return exact;
    let best: string | undefined;
    for (const name of Object.keys(this.#prices)) if (model.startsWith(name) && (best === undefined || name.length > best.length)) best = name;
    return best === undefined ? this.#fallback : this.#prices[best];
  }

  /** Dollars for a call, or 0 when the model's price is unknown. */
  cost(model: string | undefined, inputTokens: number, outputTokens: number): number {
    const price = this.priceOf(model);
    return price ? (inputTokens * price.inputPerMillion + outputTokens * price.outputPerMillion) / 1_000_000 : 0;
  }
}

/** Read `prices` (a table by model) and `price` (for calls that name no model, or unknown ones). */
export function parsePrices(options: OptionReader): PriceTable {
  const raw = options.raw.prices;
  const table: Record<string, ModelPrice> = {};
  if (raw !== undefined) {
    if (typeof raw !== 'object' || raw === null) throw new TypeError(`${options.name('prices')}: expected { [model]: { inputPerMillion, outputPerMillion } }`);
    for (const model of Object.keys(raw)) table[model] = parsePrice(options, `prices.${model}`, (raw as Record<string, unknown>)[model]);
  }
  const fallback = options.raw.price === undefined ? undefined : parsePrice(options, 'price', options.raw.price);
  return new PriceTable(table, fallback);
}

function parsePrice(options: OptionReader, path: string, raw: unknown): ModelPrice {
  const price = new OptionReader(options.operator, raw, ['inputPerMillion', 'outputPerMillion'], options.path === '' ? path : `${options.path}.${path}`);
  return {
    inputPerMillion: nonNegative(price.raw.inputPerMillion, price.name('inputPerMillion'), 0),
    outputPerMillion: nonNegative(price.raw.outputPerMillion, price.name('outputPerMillion'), 0),
  };
}
