import type { SchedulerAction, SchedulerLike, Subscription, VirtualTimeScheduler } from 'rxjs';

/** Let every pending promise callback run (a macrotask turn drains the microtask queue). */
export const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Run async code against a virtual clock: whenever the code is idle (all promise callbacks have run),
 * advance the clock to the next scheduled action and run it. Deterministic, and instant in real time.
 */
export async function runVirtual<T>(scheduler: VirtualTimeScheduler, body: () => Promise<T>): Promise<T> {
  let done = false;
  const result = body().finally(() => {
    done = true;
  });
  result.catch(() => {});
  for (;;) {
    await settle();
    if (done) break;
    const action = scheduler.actions.shift();
    if (!action) {
      await settle();
      if (done) break;
      throw new Error('virtual time: the code under test waits, but nothing is scheduled');
    }
    scheduler.frame = action.delay;
    const error = action.execute(action.state, action.delay);
    if (error) throw error;
  }
  return result;
}

/** A promise that resolves at virtual time `at`. */
export function at(scheduler: VirtualTimeScheduler, time: number): Promise<void> {
  return new Promise((resolve) => scheduler.schedule(() => resolve(), Math.max(0, time - scheduler.now())));
}

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
