import type { SchedulerAction, SchedulerLike, Subscription, VirtualTimeScheduler } from 'rxjs';
import { at } from '../../bench/virtual-time.js';

// One copy of the virtual-time driver, shared with the bench scenarios.
export { at, runVirtual, settle } from '../../bench/virtual-time.js';

/** An async iterable that yields each value at its virtual time. */
export async function* timedSource<T>(scheduler: VirtualTimeScheduler, events: readonly { at: number; value: T }[]): AsyncGenerator<T> {
  for (const event of events) {
    await at(scheduler, event.at);
    yield event.value;
  }
}

/**
 * A scheduler for the code under test that shares `scheduler`'s clock but remembers what it
 * scheduled, so a test can tell the library's leftover timers from the source's.
 */
export function trackedScheduler(scheduler: VirtualTimeScheduler) {
  const scheduled = new Set<SchedulerAction<unknown>>();
  const tracked: SchedulerLike & { pending(): number } = {
    now: () => scheduler.now(),
    schedule<S>(work: (this: SchedulerAction<S>, state?: S) => void, delay?: number, state?: S): Subscription {
      const action = scheduler.schedule(work, delay, state) as unknown as SchedulerAction<unknown>;
      scheduled.add(action);
      return action;
    },
    pending: () => [...scheduled].filter((action) => (scheduler.actions as unknown[]).includes(action)).length,
  };
  return tracked;
}
