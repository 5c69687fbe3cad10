import fc from 'fast-check';
import { from as ixFrom, toArray as ixToArray } from 'ix/asynciterable';
import { firstValueFrom, from, map, merge, timer, toArray, VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { bufferByTokens, getTokenizer, type Batch, type BufferByTokensOptions, type Tokenizer } from '../../src/index.js';
import { bufferByTokens as bufferByTokensIterable } from '../../src/iterable.js';
import { summarize } from '../support/batches.js';
import { runVirtual, timedSource } from '../support/virtual-time.js';

// A tokenizer whose cheap bound (the length) is loose, so the bound-then-exact path is exercised.
const halfTokens: Tokenizer = { name: 'half', count: (text) => Math.ceil(text.length / 2), upperBound: (text) => text.length };

const optionsArb = fc.record({
  maxTokens: fc.integer({ min: 1, max: 40 }),
  maxItems: fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined }),
  batchOverheadTokens: fc.integer({ min: 0, max: 5 }),
  itemOverheadTokens: fc.integer({ min: 0, max: 3 }),
});
const itemsArb = fc.array(fc.string({ maxLength: 30 }), { maxLength: 60 });

type Shape = { indices: number[]; reason: string; oversize: boolean };

/** The closing rules restated as a plain loop over exact weights: the oracle for synchronous input. */
function oracle(weights: number[], o: { maxTokens: number; maxItems?: number | undefined; batchOverheadTokens: number; itemOverheadTokens: number }): Shape[] {
  const out: Shape[] = [];
  const maxItems = o.maxItems ?? Infinity;
  let current: number[] = [];
  let sum = o.batchOverheadTokens;
  const close = (reason: string) => {
    if (current.length > 0) out.push({ indices: current, reason, oversize: false });
    current = [];
    sum = o.batchOverheadTokens;
  };
  weights.forEach((weight, index) => {
    const cost = weight + o.itemOverheadTokens;
    if (current.length > 0 && sum + cost > o.maxTokens) close('tokens');
    if (current.length === 0 && o.batchOverheadTokens + cost > o.maxTokens) {
      out.push({ indices: [index], reason: 'tokens', oversize: true });
      return;
    }
    current.push(index);
    sum += cost;
    if (current.length >= maxItems) close('items');
    else if (o.itemOverheadTokens > 0 && o.maxTokens - sum < o.itemOverheadTokens) close('tokens');
  });
  close('end');
  return out;
}

const shape = (batch: Batch<string>): Shape => ({ indices: [...batch.itemIndices], reason: batch.closeReason, oversize: batch.oversize });

async function viaRx(items: string[], options: BufferByTokensOptions<string>) {
  return firstValueFrom(from(items).pipe(bufferByTokens(options), toArray()));
}
async function viaIterable(items: string[], options: BufferByTokensOptions<string>) {
  return ixToArray(ixFrom(items).pipe(bufferByTokensIterable(options)));
}

function checkInvariants(items: string[], batches: Batch<string>[], options: BufferByTokensOptions<string>, tokenizer: Tokenizer) {
  // Completeness and order: the concatenated batches are the input.
  expect(batches.flatMap((b) => [...b.items])).toEqual(items);
  expect(batches.flatMap((b) => [...b.itemIndices])).toEqual(items.map((_, i) => i));
  batches.forEach((batch, i) => {
    expect(batch.items.length).toBeGreaterThan(0);
    expect(batch.index).toBe(i);
    const exact = (options.batchOverheadTokens ?? 0) + batch.items.reduce((sum, item) => sum + tokenizer.count(item) + (options.itemOverheadTokens ?? 0), 0);
    expect(batch.tokens).toBe(exact);
    if (batch.oversize) {
      expect(batch.items).toHaveLength(1);
      expect(batch.tokens).toBeGreaterThan(options.maxTokens);
    } else {
      expect(batch.tokens).toBeLessThanOrEqual(options.maxTokens);
      expect(batch.items.length).toBeLessThanOrEqual(options.maxItems ?? Infinity);
    }
  });
}

describe('bufferByTokens properties', () => {
  it('matches the closing-rule oracle on both faces (order, limits, greedy, no empty batch)', async () => {
    await fc.assert(
      fc.asyncProperty(itemsArb, optionsArb, async (items, o) => {
        const options = { ...o, tokenizer: halfTokens };
        const expected = oracle(items.map(halfTokens.count), o);
        const rx = await viaRx(items, options);
        const ix = await viaIterable(items, options);
        checkInvariants(items, rx, options, halfTokens);
        expect(rx.map(shape)).toEqual(expected);
        expect(ix.map(summarize)).toEqual(rx.map(summarize));
      }),
      { seed: 42, numRuns: 500 },
    );
  });

  it('holds with the real o200k tokenizer on arbitrary Unicode text', async () => {
    const o200k = getTokenizer('o200k_base');
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string({ unit: 'grapheme', maxLength: 40 }), { maxLength: 40 }), optionsArb, async (items, o) => {
        const expected = oracle(items.map(o200k.count), o);
        const rx = await viaRx(items, o);
        checkInvariants(items, rx, o, o200k);
        expect(rx.map(shape)).toEqual(expected);
        expect((await viaIterable(items, o)).map(summarize)).toEqual(rx.map(summarize));
      }),
      { seed: 7, numRuns: 200 },
    );
  });

  it('gives the same batches at the same virtual times on both faces, and no batch outwaits maxWaitMs', async () => {
    // Arrivals at even times and an odd maxWaitMs: no arrival coincides with a deadline.
    const eventsArb = fc.array(fc.record({ gap: fc.integer({ min: 1, max: 6 }).map((n) => n * 2), text: fc.string({ maxLength: 12 }) }), { maxLength: 40 });
    await fc.assert(
      fc.asyncProperty(
        eventsArb,
        optionsArb,
        fc.integer({ min: 0, max: 10 }).map((n) => n * 2 + 1),
        async (raw, o, maxWaitMs) => {
          let time = 0;
          const events = raw.map(({ gap, text }) => ({ at: (time += gap), value: text }));

          const rxScheduler = new VirtualTimeScheduler();
          const rxOut: { batch: ReturnType<typeof summarize>; at: number; firstAt: number }[] = [];
          merge(...events.map((event) => timer(event.at, rxScheduler).pipe(map(() => event.value))))
            .pipe(bufferByTokens({ ...o, tokenizer: halfTokens, maxWaitMs, scheduler: rxScheduler }))
            .subscribe((batch) => rxOut.push({ batch: summarize(batch), at: rxScheduler.now(), firstAt: (events[batch.itemIndices[0] as number] as { at: number }).at }));
          rxScheduler.flush();

          const ixScheduler = new VirtualTimeScheduler();
          const ixOut: typeof rxOut = [];
          await runVirtual(ixScheduler, async () => {
            const batches = ixFrom(timedSource(ixScheduler, events)).pipe(bufferByTokensIterable({ ...o, tokenizer: halfTokens, maxWaitMs, scheduler: ixScheduler }));
            for await (const batch of batches) {
              ixOut.push({ batch: summarize(batch), at: ixScheduler.now(), firstAt: (events[batch.itemIndices[0] as number] as { at: number }).at });
            }
          });

          expect(ixOut).toEqual(rxOut);
          for (const { at, firstAt } of rxOut) expect(at - firstAt).toBeLessThanOrEqual(maxWaitMs);
          expect(rxOut.flatMap((entry) => entry.batch.items)).toEqual(events.map((event) => event.value));
        },
      ),
      { seed: 3, numRuns: 200 },
    );
  });
});
