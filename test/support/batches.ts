import { firstValueFrom, from, type VirtualTimeScheduler } from 'rxjs';
import { bufferByTokens as bufferOperator, type BufferByTokensOptions } from '../../src/operators/bufferByTokens.js';
import type { HandlerContext, RateLimitHint, Usage } from '../../src/types.js';
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

/**
 * One batch holding all `items`, formed by the real `bufferByTokens` operator (so it has real token
 * counts and item indices). Options go to the operator; maxTokens defaults to a budget that fits all.
 */
export function makeBatch<T>(items: readonly T[], options: Partial<BufferByTokensOptions<T>> = {}): Promise<Batch<T>> {
  return firstValueFrom(from(items).pipe(bufferOperator<T>({ maxTokens: 1e12, ...options })));
}

/** What a handler reported through its context. */
export interface Report {
  usage?: Usage;
  rateLimit?: RateLimitHint;
  model?: string;
}

/** A handler context whose reports are recorded, with its own AbortController. */
export function makeContext(overrides: Partial<Omit<HandlerContext, 'report'>> = {}): {
  context: HandlerContext;
  reports: Report[];
  controller: AbortController;
} {
  const controller = new AbortController();
  const reports: Report[] = [];
  const context: HandlerContext = {
    signal: controller.signal,
    attempt: 1,
    splitDepth: 0,
    ...overrides,
    report: (facts) => void reports.push(facts),
  };
  return { context, reports, controller };
}

/** Runs every action of a VirtualTimeScheduler due at or before `time`, and leaves its clock at `time`. */
export function advanceTo(scheduler: VirtualTimeScheduler, time: number): void {
  if (time < scheduler.now()) throw new RangeError(`advanceTo(${time}): the clock is already at ${scheduler.now()}`);
  scheduler.schedule(() => undefined, time - scheduler.now());
  scheduler.maxFrames = time;
  scheduler.flush();
}

/** Lets pending promise callbacks run (a macrotask turn, not a timed wait); the shared copy. */
export { settle } from '../../bench/virtual-time.js';

/** Tracks a promise's state without awaiting it, and keeps its rejection from going unhandled. */
export function track<V>(promise: PromiseLike<V>): { readonly state: 'pending' | 'resolved' | 'rejected'; value?: V; error?: unknown } {
  const tracked: { state: 'pending' | 'resolved' | 'rejected'; value?: V; error?: unknown } = { state: 'pending' };
  promise.then(
    (value) => {
      tracked.state = 'resolved';
      tracked.value = value;
    },
    (error: unknown) => {
      tracked.state = 'rejected';
      tracked.error = error;
    },
  );
  return tracked;
}
