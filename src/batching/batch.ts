import { KIND, type Envelope, type Skipped } from '../internal/chain.js';
import type { SplitPolicy } from '../internal/splitting.js';
import type { TokenMeter } from '../tokens/meter.js';
import type { Batch, CloseReason } from '../types.js';

/**
 * A closed batch. `items`, `itemIndices` and `skipped` are plain fields, so a copy made by an
 * ordinary operator (`map((batch) => ({ ...batch }))`) still tells `mergeBatches` which item is
 * which. Token totals are computed on first read, exactly, and cached: a batch proven to fit by
 * cheap bounds costs no tokenization unless someone asks for its count.
 */
export class TokenBatch<T> implements Batch<T> {
  declare readonly [KIND]: 'batch';
  readonly items: readonly T[];
  readonly itemIndices: readonly number[];
  #itemTokens: readonly number[] | undefined;
  /** How many times this batch's ancestors were split on context overflow. */
  splitDepth = 0;
  /** Set by splitOnOverflow: how mergeBatches may split this batch if the model refuses it. */
  split: SplitPolicy | undefined = undefined;
  constructor(
    readonly entries: readonly Envelope<T>[],
    readonly index: number,
    readonly closeReason: CloseReason,
    readonly oversize: boolean,
    readonly maxTokens: number,
    readonly meter: TokenMeter<T>,
    readonly batchOverheadTokens: number,
    readonly itemOverheadTokens: number,
    readonly skipped: readonly Skipped<T>[] = [],
  ) {
    const items = new Array<T>(entries.length);
    const indices = new Array<number>(entries.length);
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i] as Envelope<T>;
      items[i] = entry.item;
      indices[i] = entry.index;
    }
    this.items = items;
    this.itemIndices = indices;
  }
  get itemTokens(): readonly number[] {
    return (this.#itemTokens ??= this.entries.map((entry) => this.meter.exact(entry)));
  }
  get tokens(): number {
    if (this.entries.length === 0) return 0;
    let total = this.batchOverheadTokens + this.itemOverheadTokens * this.entries.length;
    for (const count of this.itemTokens) total += count;
    return total;
  }
  get utilization(): number {
    return this.tokens / this.maxTokens;
  }

  /** A batch of some of this batch's entries, one split level deeper, under the same rules. */
  part(entries: readonly Envelope<T>[], oversize = false): TokenBatch<T> {
    const part = this.regroup(entries, oversize, this.maxTokens, this.split, []);
    part.splitDepth = this.splitDepth + 1;
    return part;
  }

  /** A batch of some of this batch's entries at the same split level, under a budget and split policy. */
  regroup(entries: readonly Envelope<T>[], oversize: boolean, maxTokens: number, split: SplitPolicy | undefined, skipped: readonly Skipped<T>[]): TokenBatch<T> {
    const batch = new TokenBatch(entries, this.index, this.closeReason, oversize, maxTokens, this.meter, this.batchOverheadTokens, this.itemOverheadTokens, skipped);
    batch.splitDepth = this.splitDepth;
    batch.split = split;
    return batch;
  }
}
Object.defineProperty(TokenBatch.prototype, KIND, { value: 'batch' });
