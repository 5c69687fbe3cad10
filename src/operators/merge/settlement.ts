import { TokenbatchError } from '../../errors.js';
import type { DuplicateNotice, Envelope, ItemFailure, Settler } from '../../internal/chain.js';
import type { Telemetry } from '../../internal/telemetry.js';
import type { Outcome } from '../../types.js';
import type { StatsRecorder } from '../../stats.js';

/** One item's result as a batch's processing found it. */
export type ItemResult =
  | { ok: true; value: unknown; attempts: number; depth: number; model?: string | undefined; cached?: true }
  | { ok: false; error: Error; attempts: number; depth: number; model?: string | undefined };

/**
 * Turns results into outcomes, one per item: items settled by a call, items that failed before one
 * (a {@link FailedItem}), and duplicates, which wait for their representative's outcome from the
 * same handler. Outcomes are object literals of one shape, so they stay cheap to make and to read.
 */
export class Settlement<T, R> {
  /** Duplicates waiting for a representative that has not settled yet. */
  readonly #waiting = new Set<DuplicateNotice<T>>();

  constructor(
    readonly settler: Settler,
    readonly emit: (outcome: Outcome<T, R>) => void,
    readonly telemetry: Telemetry,
    readonly now: () => number,
    /** Called after a duplicate settled later than its arrival (its representative settled elsewhere, maybe). */
    readonly late: () => void,
    readonly stats: StatsRecorder | undefined = undefined,
  ) {}

  /** How many duplicates still wait for their representative. */
  get waiting(): number {
    return this.#waiting.size;
  }

  settle(entry: Envelope<T>, result: ItemResult): Outcome<T, R> {
    const outcome: Outcome<T, R> = result.ok
      ? { index: entry.index, item: entry.item, ok: true, value: result.value as R, attempts: result.attempts, splitDepth: result.depth }
      : { index: entry.index, item: entry.item, ok: false, error: result.error, attempts: result.attempts, splitDepth: result.depth };
    // Only when the handler said which model answered (withFallbacks does): outcomes stay one shape otherwise.
    if (result.model !== undefined) (outcome as { model?: string }).model = result.model;
    if (result.ok && result.cached === true) (outcome as { cached?: true }).cached = true;
    this.#out(outcome, entry.arrivedAt);
    entry.pending--;
    entry.settle(this.settler, outcome);
    return outcome;
  }

  failed(failure: ItemFailure<T>): Outcome<T, R> {
    return this.settle(failure.envelope, { ok: false, error: failure.error, attempts: 0, depth: 0 });
  }

  duplicate(notice: DuplicateNotice<T>): void {
    const settled = notice.representative.outcomeBy(this.settler);
    if (settled) return this.#copy(notice, settled as Outcome<T, R>);
    this.#waiting.add(notice);
    (notice.representative.waiters ??= []).push({
      by: this.settler,
      resolve: (outcome) => {
        if (!this.#waiting.delete(notice)) return;
        this.#copy(notice, outcome as Outcome<T, R>);
        this.late();
      },
    });
  }

  /**
   * At the end of the stream: duplicates whose representative is not on its way anywhere (an
   * operator between dropped it) get an explicit error, never silence. Those whose representative
   * is still being processed keep waiting. Returns how many still wait.
   */
  failStranded(): number {
    for (const notice of [...this.#waiting]) {
      if (notice.representative.pending > 0) continue;
      this.#waiting.delete(notice);
      const error = new TokenbatchError(
        `item ${notice.index} is a duplicate of item ${notice.duplicateOf}, which never reached this mergeBatches: an operator between dedupeSimilar and mergeBatches dropped or replaced it`,
      );
      this.#copy(notice, { index: notice.duplicateOf, item: notice.representative.item, ok: false, error, attempts: 0, splitDepth: 0 });
    }
    return this.#waiting.size;
  }

  clear(): void {
    this.#waiting.clear();
  }

  #copy(notice: DuplicateNotice<T>, of: Outcome<T, R>): void {
    const outcome: Outcome<T, R> = of.ok
      ? {
          index: notice.index,
          item: notice.item,
          ok: true,
          value: of.value,
          attempts: 0,
          splitDepth: 0,
          duplicateOf: of.index,
          ...(of.cached === true ? { cached: true as const } : {}),
        }
      : { index: notice.index, item: notice.item, ok: false, error: of.error, attempts: 0, splitDepth: 0, duplicateOf: of.index };
    this.#out(outcome, notice.envelope.arrivedAt);
  }

  #out(outcome: Outcome<T, R>, arrivedAt: number): void {
    if (this.telemetry.metrics) this.telemetry.outcome(outcome, arrivedAt, this.now());
    this.stats?.outcome(outcome.ok, outcome.duplicateOf !== undefined, arrivedAt, this.now());
    this.emit(outcome);
  }
}
