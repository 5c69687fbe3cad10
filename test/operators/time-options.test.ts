import { from, Subject, VirtualTimeScheduler, type SchedulerAction, type SchedulerLike, type Subscription } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { bufferByTokens, mergeBatches, rateLimiter, RateLimitError, type Batch } from '../../src/index.js';
import { charTokens, collect, timedHandler } from '../support/handlers.js';
import { runVirtual, timedSource } from '../support/virtual-time.js';
import * as iterable from '../../src/iterable.js';

const DAY = 24 * 60 * 60 * 1000;

/** A virtual clock that treats delays as Node's timers do: past 2^31-1 ms they fire after 1 ms. */
function nodeLikeScheduler(clock: VirtualTimeScheduler): SchedulerLike {
  return {
    now: () => clock.now(),
    schedule<S>(work: (this: SchedulerAction<S>, state?: S) => void, delay?: number, state?: S): Subscription {
      return clock.schedule(work, delay !== undefined && delay > 2 ** 31 - 1 ? 1 : delay, state);
    },
  };
}

describe('time options of any size mean "practically never", not "at once"', () => {
  it('bufferByTokens: maxWaitMs of 30 days closes the batch after 30 days, not after 1 ms', async () => {
    const clock = new VirtualTimeScheduler();
    const scheduler = nodeLikeScheduler(clock);
    const closed: { at: number; batch: Batch<string> }[] = [];
    await runVirtual(clock, async () => {
      const source = timedSource(clock, [
        { at: 0, value: 'a' },
        { at: 10, value: 'b' },
      ]);
      for await (const batch of iterable.bufferByTokens<string>({ maxTokens: 100, maxWaitMs: 30 * DAY, tokenizer: charTokens, scheduler })(source))
        closed.push({ at: clock.now(), batch });
    });
    // The source ended at 10 ms: the batch was still open then (it was not closed by time at 1 ms).
    expect(closed.map(({ at, batch }) => [at, batch.items, batch.closeReason])).toEqual([[10, ['a', 'b'], 'end']]);
  });

  it('bufferByTokens: a batch waiting 30 days closes by time at exactly 30 days', async () => {
    const clock = new VirtualTimeScheduler();
    const scheduler = nodeLikeScheduler(clock);
    const source = new Subject<string>();
    const closed = await runVirtual(
      clock,
      () =>
        new Promise<[number, string]>((resolve) => {
          const subscription = source.pipe(bufferByTokens<string>({ maxTokens: 100, maxWaitMs: 30 * DAY, tokenizer: charTokens, scheduler })).subscribe((batch) => {
            resolve([clock.now(), batch.closeReason]);
            subscription.unsubscribe();
          });
          source.next('a');
        }),
    );
    expect(closed).toEqual([30 * DAY, 'time']);
  });

  it('mergeBatches: timeoutMs of 30 days lets a 10 ms call succeed', async () => {
    const clock = new VirtualTimeScheduler();
    const { handler } = timedHandler(clock, () => 10);
    const seen = await collect(clock, from([['a']]).pipe(mergeBatches(handler, { scheduler: nodeLikeScheduler(clock), timeoutMs: 30 * DAY })));
    expect(seen.map(({ outcome, at }) => [outcome.ok, at])).toEqual([[true, 10]]);
  });

  it('mergeBatches: timeoutMs Infinity means no limit', async () => {
    const clock = new VirtualTimeScheduler();
    const { handler } = timedHandler(clock, () => 10);
    const seen = await collect(clock, from([['a']]).pipe(mergeBatches(handler, { scheduler: clock, timeoutMs: Infinity })));
    expect(seen[0]?.outcome.ok).toBe(true);
  });

  it('mergeBatches: a retryAfterMs of 40 days waits 40 days before the retry', async () => {
    const clock = new VirtualTimeScheduler();
    const scheduler = nodeLikeScheduler(clock);
    const { handler, calls } = timedHandler(clock, (_, attempt) => (attempt === 1 ? new RateLimitError('later', { retryAfterMs: 40 * DAY }) : 5));
    const limiter = rateLimiter({ requestsPerMinute: 100, scheduler });
    const seen = await collect(clock, from([['a']]).pipe(mergeBatches(handler, { scheduler, rateLimit: limiter, retry: { maxAttempts: 2, random: () => 0 } })));
    expect(calls.map((call) => call.start)).toEqual([0, 1 + 40 * DAY]);
    expect(seen[0]?.outcome.ok).toBe(true);
  });

  it('rateLimiter: pause(40 days) holds grants for 40 days', async () => {
    const clock = new VirtualTimeScheduler();
    const limiter = rateLimiter({ requestsPerMinute: 10, scheduler: nodeLikeScheduler(clock) });
    const grantedAt = await runVirtual(clock, async () => {
      limiter.pause(40 * DAY);
      await limiter.acquire(1);
      return clock.now();
    });
    expect(grantedAt).toBe(40 * DAY);
  });
});
