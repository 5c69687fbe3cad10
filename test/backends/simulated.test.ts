import fc from 'fast-check';
import { defer, from, lastValueFrom, mergeMap, retry, timer, toArray, VirtualTimeScheduler } from 'rxjs';
import { bufferByTokens } from '../../src/operators/bufferByTokens.js';
import { describe, expect, it } from 'vitest';
import {
  SIMULATED_PRICES,
  simulatedClassify,
  simulatedEmbed,
  simulatedModel,
  simulatedSummarize,
  simulatedTranslate,
  simulatedUntranslate,
  type SimulatedModelOptions,
  type SimulatedTask,
} from '../../src/backends/simulated.js';
import { AbortError, ContextOverflowError, InvalidItemError, RateLimitError, TimeoutError, TransientError } from '../../src/errors.js';
import { advanceTo, makeBatch, makeContext, settle, track } from '../support/batches.js';

/** One token per character: batch token counts are the text lengths. */
const chars = (text: string): number => text.length;
const noLatency = { baseMs: 0, perInputTokenMs: 0, perOutputTokenMs: 0, jitter: 0 };

function virtualModel<K extends SimulatedTask>(options: Omit<SimulatedModelOptions<string, K>, 'scheduler'>) {
  const scheduler = new VirtualTimeScheduler();
  return { scheduler, model: simulatedModel<string, K>({ ...options, scheduler }) };
}

describe('simulated tasks', () => {
  it('classifies by keywords, with label order breaking ties and a fallback', () => {
    expect(simulatedClassify('I want a REFUND for this charge')).toBe('billing');
    expect(simulatedClassify('The app crashed with an error')).toBe('bug');
    expect(simulatedClassify('nothing relevant here')).toBe('other');
    const labels = { first: ['alpha'], second: ['beta'] };
    expect(simulatedClassify('beta alpha', labels)).toBe('first');
    expect(simulatedClassify('beta beta alpha', labels)).toBe('second');
    expect(simulatedClassify('gamma', labels, 'none')).toBe('none');
  });

  it('summarizes by the first sentence', () => {
    expect(simulatedSummarize('  The parcel   arrived late.\nIt was damaged. ')).toBe('The parcel arrived late.');
    expect(simulatedSummarize('Version 1.5 is out! Try it')).toBe('Version 1.5 is out!');
    expect(simulatedSummarize('no terminator')).toBe('no terminator');
    expect(simulatedSummarize('')).toBe('');
  });

  it('translates reversibly, changing letters', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (text) => {
        expect(simulatedUntranslate(simulatedTranslate(text))).toBe(text);
        expect(simulatedTranslate(simulatedUntranslate(text))).toBe(text);
      }),
    );
    expect(simulatedTranslate('Hello, world!')).toBe('vsslO, ksyvd!');
    expect(simulatedTranslate('abc')).not.toBe('abc');
  });

  it('embeds into L2-normalized, deterministic vectors where shared words mean similarity', () => {
    const a = simulatedEmbed('refund my order please', 64);
    expect(a).toBeInstanceOf(Float32Array);
    expect(a.length).toBe(64);
    expect(Math.hypot(...a)).toBeCloseTo(1, 5);
    expect(simulatedEmbed('refund my order please', 64)).toEqual(a);
    const cosine = (x: Float32Array, y: Float32Array) => x.reduce((sum, value, i) => sum + value * y[i]!, 0);
    expect(cosine(a, simulatedEmbed('Refund my order, please!', 64))).toBeCloseTo(1, 5);
    expect(cosine(a, simulatedEmbed('refund my order now', 64))).toBeGreaterThan(cosine(a, simulatedEmbed('weather is sunny today', 64)));
    expect([...simulatedEmbed('...', 8)]).toEqual(new Array(8).fill(0));
  });

  it('answers a batch with one result per item, in order, through the handler', async () => {
    const { scheduler, model } = virtualModel({ task: 'translate', latency: noLatency });
    const batch = await makeBatch(['one', 'two', 'three']);
    const call = track(model.handler(batch, makeContext().context));
    advanceTo(scheduler, 0);
    await settle();
    expect(call.value).toEqual(['one', 'two', 'three'].map(simulatedTranslate));
  });

  it('takes item texts from the text option, and fails an item without text with InvalidItemError', async () => {
    const scheduler = new VirtualTimeScheduler();
    const model = simulatedModel({ task: 'classify', text: (ticket: { body: string }) => ticket.body, latency: noLatency, scheduler });
    const batch = await makeBatch([{ body: 'refund please' }, { body: 'it crashed' }], { text: (ticket) => ticket.body });
    const call = track(model.handler(batch, makeContext().context));
    advanceTo(scheduler, 0);
    await settle();
    expect(call.value).toEqual(['billing', 'bug']);

    const plain = simulatedModel<unknown, 'summarize'>({ task: 'summarize', scheduler });
    const mixed = await makeBatch<unknown>(['fine', 42], { text: String });
    const error = await plain.handler(mixed, makeContext().context).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidItemError);
    expect((error as InvalidItemError).itemIndex).toBe(1);
  });
});

describe('simulated latency in virtual time', () => {
  it('answers exactly at base + per-input-token + per-output-token latency, and reports usage and cost', async () => {
    const { scheduler, model } = virtualModel({
      task: 'classify',
      latency: { baseMs: 100, perInputTokenMs: 2, perOutputTokenMs: 10, jitter: 0 },
      tokenizer: chars,
      promptTokens: 5,
    });
    const batch = await makeBatch(['refund', 'crash', 'hello'], { tokenizer: chars, itemOverheadTokens: 1 });
    expect(batch.tokens).toBe(19);
    const input = 19 + 5;
    const output = 'billing'.length + 'bug'.length + 'other'.length;
    const expected = 100 + 2 * input + 10 * output;
    const { context, reports } = makeContext();
    const call = track(model.handler(batch, context));
    advanceTo(scheduler, expected - 1);
    await settle();
    expect(call.state).toBe('pending');
    expect(reports).toEqual([]);
    advanceTo(scheduler, expected);
    await settle();
    expect(call.value).toEqual(['billing', 'bug', 'other']);
    expect(reports).toEqual([{ usage: { inputTokens: input, outputTokens: output }, model: 'tokenbatch-sim-1', operation: 'chat' }]);
    const stats = model.stats();
    expect(stats).toMatchObject({ calls: 1, answered: 1, items: 3, inputTokens: input, outputTokens: output });
    const price = SIMULATED_PRICES.classify;
    expect(stats.costUsd).toBeCloseTo((input * price.inputPerMillion + output * price.outputPerMillion) / 1e6, 12);
  });

  it('draws jitter from the seed: within ±jitter, the same for the same seed, different for another', async () => {
    const delays = async (seed: number): Promise<number[]> => {
      const { scheduler, model } = virtualModel({ task: 'embed', latency: { baseMs: 1000, perInputTokenMs: 0, jitter: 0.25 }, seed });
      const batch = await makeBatch(['x']);
      const answeredAt: number[] = [];
      for (let i = 0; i < 20; i++) {
        const start = scheduler.now();
        const call = track(model.handler(batch, makeContext().context));
        // Step through time one millisecond at a time: the answer time is then exact.
        for (let t = start; call.state === 'pending'; t++) {
          advanceTo(scheduler, t);
          await Promise.resolve();
          await Promise.resolve();
        }
        answeredAt.push(scheduler.now() - start);
      }
      return answeredAt;
    };
    const first = await delays(7);
    for (const delay of first) {
      expect(delay).toBeGreaterThanOrEqual(750);
      expect(delay).toBeLessThanOrEqual(1250);
    }
    expect(new Set(first).size).toBeGreaterThan(10);
    expect(await delays(7)).toEqual(first);
    expect(await delays(8)).not.toEqual(first);
  });

  it('runs on the real asyncScheduler by default', async () => {
    const model = simulatedModel({ task: 'summarize', latency: { baseMs: 1, perInputTokenMs: 0, perOutputTokenMs: 0 } });
    const batch = await makeBatch(['First. Second.']);
    await expect(model.handler(batch, makeContext().context)).resolves.toEqual(['First.']);
  });
});

describe('simulated context window', () => {
  it('rejects a request longer than the window, counting batch tokens plus the prompt, and accepts one that fits exactly', async () => {
    const { scheduler, model } = virtualModel({ task: 'embed', contextWindow: 20, promptTokens: 4, latency: noLatency });
    const fits = await makeBatch(['x'.repeat(10), 'y'.repeat(6)], { tokenizer: chars });
    const over = await makeBatch(['x'.repeat(10), 'y'.repeat(7)], { tokenizer: chars });
    const error = await model.handler(over, makeContext().context).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ContextOverflowError);
    expect((error as Error).message).toMatch(/maximum context length is 20 tokens.*21 tokens/);
    const call = track(model.handler(fits, makeContext().context));
    advanceTo(scheduler, 0);
    await settle();
    expect(call.state).toBe('resolved');
    expect(model.stats().failures.contextOverflow).toBe(1);
  });
});

describe('simulated rate limits', () => {
  it('enforces RPM in a sliding window with an exact retryAfterMs', async () => {
    const { scheduler, model } = virtualModel({ task: 'embed', rpm: 2, latency: noLatency });
    const batch = await makeBatch(['x']);
    const call = () => track(model.handler(batch, makeContext().context));
    call();
    advanceTo(scheduler, 10);
    call();
    advanceTo(scheduler, 20);
    const limited = await model.handler(batch, makeContext().context).catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(RateLimitError);
    expect((limited as RateLimitError).retryAfterMs).toBe(60_000 - 20);
    advanceTo(scheduler, 59_999);
    await expect(model.handler(batch, makeContext().context)).rejects.toMatchObject({ name: 'RateLimitError', retryAfterMs: 1 });
    advanceTo(scheduler, 60_000);
    const admitted = call();
    advanceTo(scheduler, 60_000);
    await settle();
    expect(admitted.state).toBe('resolved');
    // The call at 10 is now the oldest: the next slot opens at 60,010.
    await expect(model.handler(batch, makeContext().context)).rejects.toMatchObject({ retryAfterMs: 10 });
    expect(model.stats().failures.rateLimit).toBe(3);
  });

  it('enforces TPM in a sliding window, and rejects a request larger than TPM as a context overflow', async () => {
    const { scheduler, model } = virtualModel({ task: 'embed', tpm: 100, latency: noLatency });
    const batchOf = (tokens: number) => makeBatch(['x'.repeat(tokens)], { tokenizer: chars });
    track(model.handler(await batchOf(60), makeContext().context));
    advanceTo(scheduler, 1000);
    track(model.handler(await batchOf(30), makeContext().context));
    advanceTo(scheduler, 2000);
    // 90 used: 20 more must wait for the 60 of t=0 to leave the window; 10 more fit now.
    await expect(model.handler(await batchOf(20), makeContext().context)).rejects.toMatchObject({ retryAfterMs: 58_000 });
    const fits = track(model.handler(await batchOf(10), makeContext().context));
    advanceTo(scheduler, 2000);
    await settle();
    expect(fits.state).toBe('resolved');
    // 100 used now: 85 tokens need both the 60 (t=0) and the 30 (t=1000) gone, 95 all three.
    await expect(model.handler(await batchOf(85), makeContext().context)).rejects.toMatchObject({ retryAfterMs: 59_000 });
    await expect(model.handler(await batchOf(95), makeContext().context)).rejects.toMatchObject({ retryAfterMs: 60_000 });
    await expect(model.handler(await batchOf(101), makeContext().context)).rejects.toBeInstanceOf(ContextOverflowError);
  });

  it('stays exact over thousands of calls in a full window (pruning and compaction)', async () => {
    const { scheduler, model } = virtualModel({ task: 'embed', rpm: 2000, tpm: 2000, latency: noLatency });
    const batch = await makeBatch(['x'], { tokenizer: chars });
    const calls = 5000;
    for (let i = 0; i < calls; i++) {
      advanceTo(scheduler, i * 30);
      track(model.handler(batch, makeContext().context));
    }
    advanceTo(scheduler, (calls - 1) * 30);
    await settle();
    expect(model.stats()).toMatchObject({ calls, answered: calls, failures: { rateLimit: 0 } });
    // 2,000 calls of one token each in the last minute: both limits are full until the oldest leaves, 30 ms on.
    await expect(model.handler(batch, makeContext().context)).rejects.toMatchObject({ name: 'RateLimitError', retryAfterMs: 30 });
  });

  it('property: retryAfterMs is the exact earliest admission time, for any sequence of calls', async () => {
    const batches = new Map<number, Awaited<ReturnType<typeof makeBatch<string>>>>();
    for (let tokens = 1; tokens <= 40; tokens++) batches.set(tokens, await makeBatch(['x'.repeat(tokens)], { tokenizer: chars }));
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 40, max: 120 }),
        fc.array(fc.record({ gap: fc.integer({ min: 0, max: 30_000 }), tokens: fc.integer({ min: 1, max: 40 }) }), { maxLength: 40 }),
        async (rpm, tpm, calls) => {
          const { scheduler, model } = virtualModel({ task: 'embed', rpm, tpm, latency: noLatency });
          const admitted: { time: number; tokens: number }[] = [];
          const admissible = (time: number, tokens: number) => {
            const live = admitted.filter((entry) => entry.time > time - 60_000);
            return live.length < rpm && live.reduce((sum, entry) => sum + entry.tokens, 0) + tokens <= tpm;
          };
          for (const { gap, tokens } of calls) {
            advanceTo(scheduler, scheduler.now() + gap);
            const now = scheduler.now();
            const call = track(model.handler(batches.get(tokens)!, makeContext().context));
            advanceTo(scheduler, now);
            await settle();
            const outcome = call.error;
            if (call.state === 'resolved') {
              expect(admissible(now, tokens)).toBe(true);
              admitted.push({ time: now, tokens });
            } else {
              expect(outcome).toBeInstanceOf(RateLimitError);
              const wait = (outcome as RateLimitError).retryAfterMs!;
              expect(wait).toBeGreaterThan(0);
              expect(admissible(now, tokens)).toBe(false);
              expect(admissible(now + wait - 1, tokens)).toBe(false);
              expect(admissible(now + wait, tokens)).toBe(true);
            }
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('simulated faults', () => {
  async function outcomes(seed: number, calls = 200): Promise<string[]> {
    const { scheduler, model } = virtualModel({ task: 'translate', faults: { transient: 0.1, short: 0.1 }, latency: noLatency, seed });
    const batch = await makeBatch(['a', 'b', 'c', 'd']);
    const tracked = Array.from({ length: calls }, () => track(model.handler(batch, makeContext().context)));
    advanceTo(scheduler, 0);
    await settle();
    const kinds = tracked.map((call) => {
      if (call.state === 'rejected') return (call.error as Error).name;
      return (call.value as string[]).length === 4 ? 'ok' : `short:${(call.value as string[]).length}`;
    });
    const stats = model.stats();
    expect(stats.failures.transient).toBe(kinds.filter((kind) => kind === 'TransientError').length);
    expect(stats.failures.short).toBe(kinds.filter((kind) => kind.startsWith('short')).length);
    return kinds;
  }

  it('injects transient errors and short answers deterministically by seed, at about their rates', async () => {
    const first = await outcomes(3);
    expect(await outcomes(3)).toEqual(first);
    expect(await outcomes(4)).not.toEqual(first);
    const transient = first.filter((kind) => kind === 'TransientError').length;
    const short = first.filter((kind) => kind.startsWith('short')).length;
    expect(transient).toBeGreaterThan(5);
    expect(transient).toBeLessThan(40);
    expect(short).toBeGreaterThan(5);
    expect(short).toBeLessThan(40);
    for (const kind of first.filter((k) => k.startsWith('short'))) expect(Number(kind.slice(6))).toBeLessThan(4);
  });

  it('fails transient faults after the base latency with a TransientError', async () => {
    const { scheduler, model } = virtualModel({
      task: 'summarize',
      faults: { transient: 1 },
      latency: { baseMs: 50, perInputTokenMs: 10, perOutputTokenMs: 10, jitter: 0 },
    });
    const call = track(model.handler(await makeBatch(['Hi.']), makeContext().context));
    advanceTo(scheduler, 49);
    await settle();
    expect(call.state).toBe('pending');
    advanceTo(scheduler, 50);
    await settle();
    expect(call.error).toBeInstanceOf(TransientError);
    expect(model.stats()).toMatchObject({ answered: 0, inputTokens: 0, costUsd: 0 });
  });

  it('hangs until the signal aborts, then rejects with an AbortError, and never answers afterwards', async () => {
    const { scheduler, model } = virtualModel({ task: 'summarize', faults: { hang: 1 }, latency: noLatency });
    const { context, reports, controller } = makeContext();
    const call = track(model.handler(await makeBatch(['Hi.']), context));
    advanceTo(scheduler, 3_600_000);
    await settle();
    expect(call.state).toBe('pending');
    controller.abort();
    await settle();
    expect(call.error).toBeInstanceOf(AbortError);
    expect(reports).toEqual([]);
    expect(model.stats().failures).toMatchObject({ hang: 1, aborted: 0 });
  });
});

describe('simulated abort', () => {
  it('cancels the scheduled answer on abort', async () => {
    const { scheduler, model } = virtualModel({ task: 'summarize', latency: { baseMs: 100, perInputTokenMs: 0, perOutputTokenMs: 0, jitter: 0 } });
    const { context, reports, controller } = makeContext();
    const call = track(model.handler(await makeBatch(['Hi.']), context));
    advanceTo(scheduler, 50);
    controller.abort();
    await settle();
    expect(call.error).toBeInstanceOf(AbortError);
    advanceTo(scheduler, 1000);
    await settle();
    expect(reports).toEqual([]);
    expect(model.stats()).toMatchObject({ answered: 0, failures: { aborted: 1 } });
    expect(scheduler.actions.filter((action) => !action.closed)).toEqual([]);
  });

  it('rejects with the abort reason when it is a tokenbatch error, and at once when already aborted', async () => {
    const { model } = virtualModel({ task: 'summarize' });
    const batch = await makeBatch(['Hi.']);
    const { context, controller } = makeContext();
    const timeout = new TimeoutError('attempt timed out');
    const pending = model.handler(batch, context);
    controller.abort(timeout);
    await expect(pending).rejects.toBe(timeout);
    await expect(model.handler(batch, context)).rejects.toBe(timeout);
    const other = makeContext();
    other.controller.abort();
    const error = await model.handler(batch, other.context).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortError);
    expect((error as AbortError).cause).toBe(other.controller.signal.reason);
  });
});

describe('simulated model in an RxJS chain, in virtual time', () => {
  it('drives batches from bufferByTokens, retrying rate limits after exactly retryAfterMs', async () => {
    const { scheduler, model } = virtualModel({ task: 'translate', rpm: 2, latency: { baseMs: 100, perInputTokenMs: 0, perOutputTokenMs: 0, jitter: 0 } });
    const items = ['one', 'two', 'three', 'four', 'five', 'six'];
    const finishedAt: number[] = [];
    const results$ = from(items).pipe(
      bufferByTokens({ maxTokens: 1, scheduler }),
      mergeMap(
        (batch) =>
          defer(() => model.handler(batch, makeContext().context)).pipe(
            retry({ delay: (error: RateLimitError) => timer(error.retryAfterMs!, scheduler) }),
            mergeMap((results) => {
              finishedAt.push(scheduler.now());
              return results;
            }),
          ),
        6,
      ),
      toArray(),
    );
    const done = track(lastValueFrom(results$));
    // Each step: let promise callbacks schedule their actions, then run the earliest due.
    for (let step = 0; step < 20 && done.state === 'pending'; step++) {
      await settle();
      const next = scheduler.actions.find((action) => !action.closed);
      if (next) advanceTo(scheduler, Math.max(scheduler.now(), next.delay));
    }
    await settle();
    expect(done.state).toBe('resolved');
    expect([...(done.value as string[])].sort()).toEqual(items.map(simulatedTranslate).sort());
    // Two calls a minute: answers 100 ms after admission at 0, 60,000 and 120,000.
    expect(finishedAt).toEqual([100, 100, 60_100, 60_100, 120_100, 120_100]);
    expect(model.stats().failures.rateLimit).toBe(4 + 2);
  });
});

describe('simulated reporting', () => {
  it('rejects with the error of a throwing report callback instead of losing it in the scheduler', async () => {
    const { scheduler, model } = virtualModel({ task: 'summarize', latency: noLatency });
    const broken = new Error('report failed');
    const context = {
      ...makeContext().context,
      report: () => {
        throw broken;
      },
    };
    const call = track(model.handler(await makeBatch(['Hi.']), context));
    advanceTo(scheduler, 0);
    await settle();
    expect(call.error).toBe(broken);
  });
});

describe('simulated options', () => {
  it('throws at creation naming the bad option', () => {
    const bad: [unknown, RegExp, ErrorConstructor][] = [
      [undefined, /options object/, TypeError],
      [{}, /^simulatedModel: task: required/, TypeError],
      [{ task: 'poem' }, /^simulatedModel: task:/, RangeError],
      [{ task: 'embed', rpm: 0 }, /^simulatedModel: rpm:/, RangeError],
      [{ task: 'embed', tpm: 1.5 }, /^simulatedModel: tpm:/, RangeError],
      [{ task: 'embed', contextWindow: -1 }, /^simulatedModel: contextWindow:/, RangeError],
      [{ task: 'embed', dimensions: 0 }, /^simulatedModel: dimensions:/, RangeError],
      [{ task: 'embed', latency: { jitter: 1 } }, /^simulatedModel: latency\.jitter:/, RangeError],
      [{ task: 'embed', latency: { baseMs: -1 } }, /^simulatedModel: latency\.baseMs:/, RangeError],
      [{ task: 'embed', faults: { hang: 2 } }, /^simulatedModel: faults\.hang:/, RangeError],
      [{ task: 'embed', faults: { hang: 0.6, transient: 0.6 } }, /^simulatedModel: faults:/, RangeError],
      [{ task: 'embed', seed: 1.5 }, /^simulatedModel: seed:/, TypeError],
      [{ task: 'embed', text: 'body' }, /^simulatedModel: text:/, TypeError],
      [{ task: 'classify', labels: { a: 'x' } }, /^simulatedModel: labels\.a:/, TypeError],
      [{ task: 'embed', scheduler: {} }, /^simulatedModel: scheduler:/, TypeError],
      [{ task: 'embed', price: { inputPerMillion: -1 } }, /^simulatedModel: price\.inputPerMillion:/, RangeError],
      [{ task: 'embed', contextWindw: 10 }, /^simulatedModel: unknown option 'contextWindw' \(did you mean 'contextWindow'\?\)/, TypeError],
      [{ task: 'embed', latency: { base: 1 } }, /^simulatedModel: unknown option 'latency.base' \(did you mean 'baseMs'\?\)/, TypeError],
    ];
    for (const [options, message, type] of bad) {
      expect(() => simulatedModel(options as SimulatedModelOptions<string, 'embed'>)).toThrow(type);
      expect(() => simulatedModel(options as SimulatedModelOptions<string, 'embed'>)).toThrow(message);
    }
  });
});
