import { InvalidItemError } from '../errors.js';
import type { Tokenizer } from '../types.js';
import type { Envelope } from '../internal/chain.js';
import { messageOf } from '../internal/error-utils.js';
import { readText, type TextOf } from '../internal/item-text.js';

const keys = new WeakMap<object, WeakMap<object, object>>();

/**
 * Measures items for one operator: their text and token counts, cached on the envelope under a key
 * made of the text function and the tokenizer, so operators of a chain that measure the same way
 * share each count and no item is tokenized twice.
 */
export class TokenMeter<T> {
  readonly key: object;
  constructor(
    readonly textOf: TextOf<T>,
    readonly tokenizer: Tokenizer,
  ) {
    let byTokenizer = keys.get(textOf);
    if (!byTokenizer) keys.set(textOf, (byTokenizer = new WeakMap()));
    let key = byTokenizer.get(tokenizer);
    if (!key) byTokenizer.set(tokenizer, (key = {}));
    this.key = key;
  }

  #own(envelope: Envelope<T>): void {
    if (envelope.meter === this.key) return;
    envelope.meter = this.key;
    envelope.exact = -1;
    envelope.bound = -1;
    const text = readText(this.textOf, envelope.item, envelope.index);
    envelope.text = text;
  }

  /** The item's text; throws {@link InvalidItemError} when it has none. */
  text(envelope: Envelope<T>): string {
    this.#own(envelope);
    return envelope.text as string;
  }

  /** A count never below the exact one: the exact count when known, else the tokenizer's cheap bound. */
  estimate(envelope: Envelope<T>): number {
    this.#own(envelope);
    if (envelope.exact >= 0) return envelope.exact;
    if (envelope.bound < 0) {
      const bound = this.tokenizer.upperBound?.(envelope.text as string);
      if (bound === undefined) return this.exact(envelope);
      envelope.bound = bound;
    }
    return envelope.bound;
  }

  /** Whether `estimate` is already the exact count. */
  isExact(envelope: Envelope<T>): boolean {
    return envelope.meter === this.key && envelope.exact >= 0;
  }

  /** The exact token count, computed once per item and key. */
  exact(envelope: Envelope<T>): number {
    this.#own(envelope);
    if (envelope.exact < 0) {
      let count: number;
      try {
        count = this.tokenizer.count(envelope.text as string);
      } catch (cause) {
        throw new InvalidItemError(`item ${envelope.index}: tokenizer ${this.tokenizer.name} threw: ${messageOf(cause)}`, envelope.index, { cause });
      }
      if (!Number.isFinite(count) || count < 0) {
        throw new InvalidItemError(`item ${envelope.index}: tokenizer ${this.tokenizer.name} returned ${count}`, envelope.index);
      }
      envelope.exact = count;
    }
    return envelope.exact;
  }
}
