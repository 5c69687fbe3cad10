import { asEnvelope, Envelope, kindOf, type Numbering, type Skipped } from '../internal/chain.js';
import { isSkipped } from '../internal/core.js';
import type { TokenMeter } from '../tokens/meter.js';
import { TokenBatch } from './batch.js';

/** How batches made from plain values are measured. */
export interface PlainRules<T> {
  readonly meter: TokenMeter<T>;
  readonly maxTokens: number;
  readonly batchOverheadTokens: number;
  readonly itemOverheadTokens: number;
}

/**
 * Any value as a batch, for the operators that take batches (splitOnOverflow, mergeBatches):
 * tokenbatch's batch as it is; a copy of one made by an ordinary operator (`{ ...batch }`, with
 * `items` and `itemIndices`) by its numbers; a numbered item, or a skipped one, in a batch of its
 * own; an array as a batch of new items; anything else as a batch of one new item.
 */
export function adoptBatch<T>(value: unknown, numbering: Numbering, now: number, rules: PlainRules<T>): TokenBatch<T> {
  const plain = (entries: Envelope<T>[], skipped: Skipped<T>[] = []) =>
    new TokenBatch(entries, -1, 'end', false, rules.maxTokens, rules.meter, rules.batchOverheadTokens, rules.itemOverheadTokens, skipped);
  const kind = kindOf(value);
  if (kind === 'batch') return value as TokenBatch<T>;
  if (kind === 'item') return plain([value as Envelope<T>]);
  if (isSkipped<T>(value)) return plain([], [value]);
  if (isBatchCopy<T>(value)) {
    const entries = value.items.map((item, i) => new Envelope(value.itemIndices[i] as number, item, now));
    const skipped = Array.isArray(value.skipped) ? (value.skipped as unknown[]).filter((s): s is Skipped<T> => isSkipped<T>(s)) : [];
    return plain(entries, skipped);
  }
  const items: readonly unknown[] = Array.isArray(value) ? value : [value];
  return plain(items.map((item) => asEnvelope<T>(item, numbering, now)));
}

function isBatchCopy<T>(value: unknown): value is { items: T[]; itemIndices: number[]; skipped?: unknown } {
  if (typeof value !== 'object' || value === null) return false;
  const { items, itemIndices } = value as { items?: unknown; itemIndices?: unknown };
  return (
    Array.isArray(items) && Array.isArray(itemIndices) && items.length === itemIndices.length && itemIndices.every((index) => Number.isInteger(index) && (index as number) >= 0)
  );
}
