import type { Batch } from '../../src/index.js';

/** The observable facts of a batch, as a plain object for deep equality. */
export function summarize<T>(batch: Batch<T>) {
  return {
    items: [...batch.items],
    indices: [...batch.itemIndices],
    tokens: batch.tokens,
    index: batch.index,
    reason: batch.closeReason,
    oversize: batch.oversize,
  };
}

/** A tokenizer for tests: one token per character, so weights are visible in the items. */
export const charTokens = (text: string): number => text.length;
