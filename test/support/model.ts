import type { SchedulerLike } from 'rxjs';
import { BatchRejectedError, ContextOverflowError, RateLimitError, TransientError, type Batch, type BatchHandler } from '../../src/index.js';
import { createRandom } from '../../bench/corpus.js';

/** Item marks (a letter before the colon): a poison item, an item answered with an Error, an item answered with a hole. */
export const POISON = /^\d+P:/;
export const BAD = /^\d+E:/;
export const HOLE = /^\d+H:/;

export interface Call {
  items: readonly string[];
  start: number;
  end: number | undefined;
  attempt: number;
  splitDepth: number;
  aborted: boolean;
  tokens: number;
  /** The batch object: retries of one unit pass the same object. */
  batch: Batch<string>;
}

export interface ModelScript {
  seed: number;
  /** Latency of a call: base + per item, in virtual ms, with seeded jitter. */
  baseMs: number;
  perItemMs: number;
  /** Probabilities, per call, of each fault. */
  transient: number;
  rateLimited: number;
  short: number;
  /** The model's own context window: a batch over it is refused. */
  contextWindow: number;
}

/**
 * A model for property tests, in virtual time: answers `done:<item>` per item, injects seeded
 * faults, honours its signal, and records every call for the invariants to check.
 */
export function scriptedModel(script: ModelScript, scheduler: SchedulerLike) {
  const random = createRandom(script.seed);
  const calls: Call[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const handler: BatchHandler<string, string> = (batch, { signal, attempt, splitDepth }) =>
    new Promise<string[]>((resolve, reject) => {
      const call: Call = { items: batch.items, start: scheduler.now(), end: undefined, attempt, splitDepth, aborted: false, tokens: batch.tokens, batch };
      calls.push(call);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const finish = () => {
        inFlight--;
        call.end = scheduler.now();
      };
      const roll = random.next();
      const latency = script.baseMs + script.perItemMs * batch.items.length + Math.floor(random.next() * script.baseMs);
      const timer = scheduler.schedule(() => {
        signal.removeEventListener('abort', onAbort);
        finish();
        if (batch.tokens > script.contextWindow) reject(new ContextOverflowError(`maximum context length is ${script.contextWindow} tokens`));
        else if (roll < script.transient) reject(new TransientError('503 from the model'));
        else if (roll < script.transient + script.rateLimited) reject(new RateLimitError('429', { retryAfterMs: 50 }));
        // Marked items, the same on every call: a poison item (P) makes the whole call fail; an item
        // the model cannot answer (E) gets an Error in its place; one it skips (H) leaves a hole.
        else if (batch.items.some((item) => POISON.test(item))) reject(new BatchRejectedError('the model refused the request'));
        else if (roll < script.transient + script.rateLimited + script.short && batch.items.length > 0) resolve(batch.items.slice(1).map((item) => `done:${item}`));
        else
          resolve(
            batch.items.map((item) =>
              BAD.test(item) ? (new TypeError(`cannot answer ${item}`) as unknown as string) : HOLE.test(item) ? (undefined as unknown as string) : `done:${item}`,
            ),
          );
      }, latency);
      const onAbort = () => {
        timer.unsubscribe();
        call.aborted = true;
        finish();
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
  return {
    handler,
    calls,
    get inFlight() {
      return inFlight;
    },
    get maxInFlight() {
      return maxInFlight;
    },
  };
}
