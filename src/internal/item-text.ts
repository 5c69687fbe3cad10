import { InvalidItemError } from '../errors.js';
import type { Batch } from '../types.js';
import { itemAsText, type TextOf } from '../tokens/meter.js';

/**
 * The texts of a batch's items for a backend, through its `text` option (default: the item itself,
 * which must be a string). An item without text fails the call with an {@link InvalidItemError}
 * naming the item's position in the input.
 */
export function batchTexts<T>(batch: Batch<T>, text: TextOf<T> | undefined): string[] {
  const textOf: TextOf<T> = text ?? itemAsText;
  return batch.items.map((item, i) => {
    const index = batch.itemIndices[i] ?? i;
    let value: unknown;
    try {
      value = textOf(item);
    } catch (cause) {
      throw new InvalidItemError(`item ${index}: ${cause instanceof Error ? cause.message : String(cause)}`, index, { cause });
    }
    if (typeof value !== 'string') throw new InvalidItemError(`item ${index}: the text option returned ${typeof value}, not a string`, index);
    return value;
  });
}

/**
 * Like {@link batchTexts}, but an item without text becomes its own {@link InvalidItemError} in the
 * array instead of failing the call: under the per-item handler contract its batch-mates go on.
 */
export function itemTexts<T>(batch: Batch<T>, text: TextOf<T> | undefined): (string | InvalidItemError)[] {
  const textOf: TextOf<T> = text ?? itemAsText;
  return batch.items.map((item, i) => {
    const index = batch.itemIndices[i] ?? i;
    try {
      const value: unknown = textOf(item);
      if (typeof value !== 'string') return new InvalidItemError(`item ${index}: the text option returned ${typeof value}, not a string`, index);
      return value;
    } catch (cause) {
      return new InvalidItemError(`item ${index}: ${cause instanceof Error ? cause.message : String(cause)}`, index, { cause });
    }
  });
}
