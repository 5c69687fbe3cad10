import { InvalidItemError } from '../errors.js';
import type { Batch } from '../types.js';
import { messageOf } from './error-utils.js';

/** Turns an item into the text that is counted and sent. */
export type TextOf<T> = (item: T) => string;

/** The default `text` option: the item itself when it is a string. */
export const itemAsText: TextOf<unknown> = (item) => {
  if (typeof item === 'string') return item;
  throw new TypeError(`item is ${item === null ? 'null' : typeof item}, not a string: pass a text option that turns items into text`);
};

/**
 * An item's text through a `text` option: the one place that checks it, for operators and backends
 * alike. A text option that throws, or returns something other than a string, fails that item with
 * an {@link InvalidItemError} naming its position in the input.
 */
export function readText<T>(textOf: TextOf<T>, item: T, index: number): string {
  let text: unknown;
  try {
    text = textOf(item);
  } catch (cause) {
    throw new InvalidItemError(`item ${index}: the text option threw: ${messageOf(cause)}`, index, { cause });
  }
  if (typeof text !== 'string') throw new InvalidItemError(`item ${index}: the text option returned ${typeof text}, not a string`, index);
  return text;
}

/** The texts of a batch's items for a backend, through its `text` option (default: the item itself). */
export function batchTexts<T>(batch: Batch<T>, text: TextOf<T> | undefined): string[] {
  const textOf: TextOf<T> = text ?? itemAsText;
  return batch.items.map((item, i) => readText(textOf, item, batch.itemIndices[i] ?? i));
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
