import type { TokenBatch } from '../../batching/batch.js';
import { Deque } from '../../internal/deque.js';

/** `priority` and `priorityAgingMs` of mergeBatches, validated. */
export interface PrioritySettings<T> {
  readonly priority: ((item: T) => number) | undefined;
  readonly agingMs: number;
}

/** The queue of batches waiting for a slot: first in, first out, or by priority. */
export interface BatchQueue<T> {
  readonly length: number;
  push(batch: TokenBatch<T>, now: number): void;
  shift(now: number): TokenBatch<T> | undefined;
  clear(): void;
}

/** The queue mergeBatches uses for its settings. */
export function batchQueue<T>(settings: PrioritySettings<T>): BatchQueue<T> {
  if (!settings.priority) {
    const fifo = new Deque<TokenBatch<T>>();
    return {
      get length() {
        return fifo.length;
      },
      push: (batch) => fifo.push(batch),
      shift: () => fifo.shift(),
      clear: () => fifo.clear(),
    };
  }
  return new PriorityQueue(settings.priority, settings.agingMs);
}

interface Waiting<T> {
  batch: TokenBatch<T>;
  priority: number;
  since: number;
}

/**
 * Batches by priority: a batch ranks as its most urgent item, plus one for every `agingMs` it has
 * waited, so a low priority waits at most `(highest - lowest priority) × agingMs` behind a stream
 * of urgent batches: never starved. Ties go first in, first out. Choosing scans the queue (O(n) per
 * start), cheap for the queues a slot window keeps.
 */
class PriorityQueue<T> implements BatchQueue<T> {
  #waiting: Waiting<T>[] = [];
  constructor(
    readonly priorityOf: (item: T) => number,
    readonly agingMs: number,
  ) {}

  get length(): number {
    return this.#waiting.length;
  }

  push(batch: TokenBatch<T>, now: number): void {
    let priority = Number.NEGATIVE_INFINITY;
    for (const entry of batch.entries) priority = Math.max(priority, this.#of(entry.item));
    this.#waiting.push({ batch, priority, since: now });
  }

  shift(now: number): TokenBatch<T> | undefined {
    let best = -1;
    let bestRank = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < this.#waiting.length; i++) {
      const waiting = this.#waiting[i] as Waiting<T>;
      const rank = waiting.priority + (now - waiting.since) / this.agingMs;
      if (rank > bestRank) {
        best = i;
        bestRank = rank;
      }
    }
    if (best < 0) return undefined;
    return (this.#waiting.splice(best, 1)[0] as Waiting<T>).batch;
  }

  clear(): void {
    this.#waiting = [];
  }

  /** A priority function that throws or returns a non-number ranks the item as 0. */
  #of(item: T): number {
    try {
      const priority = this.priorityOf(item);
      return typeof priority === 'number' && !Number.isNaN(priority) ? priority : 0;
    } catch {
      return 0;
    }
  }
}
