import type { SchedulerLike, Subscription } from 'rxjs';
import type { OptionReader } from './options.js';

/** The longest delay a JavaScript timer keeps; longer ones fire at once (Node clamps them to 1 ms). */
const LONGEST = 2 ** 31 - 1;

/**
 * `scheduler.schedule(work, ms)`, for any `ms`: a delay past the timer limit (about 24.8 days)
 * waits in several steps instead of firing at once, and `Infinity` never fires.
 */
export function scheduleAfter(scheduler: SchedulerLike, ms: number, work: () => void): Subscription {
  if (ms <= LONGEST) return scheduler.schedule(work, Math.max(0, ms));
  const due = scheduler.now() + ms;
  const step = function (this: { schedule(state?: unknown, delay?: number): Subscription }) {
    const left = due - scheduler.now();
    if (left <= 0) work();
    else this.schedule(undefined, Math.min(left, LONGEST));
  };
  return scheduler.schedule(step, LONGEST);
}

/**
 * A time option of any size: a positive number of milliseconds, where values past the timer limit
 * mean "practically never" (they are waited out in steps), and `Infinity` means no limit (undefined).
 */
export function optionalDelay(options: OptionReader, key: string): number | undefined {
  if (options.raw[key] === Number.POSITIVE_INFINITY) return undefined;
  return options.optionalPositive(key);
}
