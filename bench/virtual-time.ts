/**
 * Driving promise-based code in virtual time, shared by the bench scenarios and the test suite:
 * the code under test schedules its timers on a VirtualTimeScheduler, and {@link runVirtual}
 * advances that clock whenever the code is idle. Runs are deterministic and take no real time
 * waiting.
 */
import type { VirtualTimeScheduler } from 'rxjs';

/**
 * Lets every pending promise callback run (a macrotask turn drains the microtask queue).
 *
 * @example
 * ```ts
 * promise.then(() => (done = true));
 * await settle(); // done is now true if the promise had already resolved
 * ```
 */
export const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Runs async code against a virtual clock: whenever the code is idle (all promise callbacks have
 * run), advances the clock to the next scheduled action and runs it. Deterministic, and instant in
 * real time. Throws if the code waits while nothing is scheduled (it could never finish).
 *
 * @example
 * ```ts
 * const clock = new VirtualTimeScheduler();
 * const elapsed = await runVirtual(clock, async () => {
 *   await at(clock, 60_000);
 *   return clock.now();
 * }); // 60000, at once
 * ```
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

/**
 * A promise that resolves at virtual time `time` (at once, on the next turn, if that has passed).
 *
 * @example
 * ```ts
 * await at(clock, clock.now() + 250); // a 250 ms sleep in virtual time
 * ```
 */
export function at(scheduler: VirtualTimeScheduler, time: number): Promise<void> {
  return new Promise((resolve) => scheduler.schedule(() => resolve(), Math.max(0, time - scheduler.now())));
}
