import type { Observable, VirtualTimeScheduler } from 'rxjs';
import type { BatchHandler, Outcome } from '../../src/index.js';
import { runVirtual } from './virtual-time.js';

/** One token per character: sizes in tests stay readable. */
export const charTokens = (text: string) => text.length;

/** Run an RxJS chain to completion in virtual time, recording outcomes with their emission times. */
export async function collect<R>(scheduler: VirtualTimeScheduler, chain: Observable<Outcome<string, R>>) {
  const seen: { outcome: Outcome<string, R>; at: number }[] = [];
  await runVirtual(
    scheduler,
    () => new Promise<void>((resolve, reject) => chain.subscribe({ next: (outcome) => seen.push({ outcome, at: scheduler.now() }), error: reject, complete: resolve })),
  );
  return seen;
}

/** A handler answering `v:<item>` after `durations[call]` virtual ms, recording calls. */
export function timedHandler(scheduler: VirtualTimeScheduler, durations: (items: readonly string[], attempt: number) => number | Error) {
  const calls: { items: readonly string[]; start: number; attempt: number; signal: AbortSignal }[] = [];
  const handler: BatchHandler<string, string> = (batch, { signal, attempt }) => {
    calls.push({ items: batch.items, start: scheduler.now(), attempt, signal });
    const plan = durations(batch.items, attempt);
    return new Promise((resolve, reject) => {
      const delay = plan instanceof Error ? 1 : plan;
      const timer = scheduler.schedule(() => (plan instanceof Error ? reject(plan) : resolve(batch.items.map((item) => `v:${item}`))), delay);
      signal.addEventListener('abort', () => {
        timer.unsubscribe();
        reject(signal.reason);
      });
    });
  };
  return { handler, calls };
}
