/**
 * The page side of test/browser.test.ts: bundled with esbuild for the browser and loaded in headless
 * Chromium, it runs tokenbatch chains in the page and hands plain, serializable results back to the
 * test. Nothing here is stubbed: the default tokenizer (gpt-tokenizer's rank tables), the RxJS and
 * ix faces and the simulated model all run as a front end would run them.
 */
import { from as fromIterable } from 'ix/asynciterable';
import { tap as tapIterable } from 'ix/asynciterable/operators';
import { from, lastValueFrom, tap, toArray } from 'rxjs';
import {
  bufferByTokens,
  getTokenizer,
  mergeBatches,
  preloadTokenizer,
  orderedResults,
  simulatedModel,
  splitOnOverflow,
  utf8Length,
  type Batch,
  type Outcome,
} from '../../src/index.js';
import * as iterable from '../../src/iterable.js';

/** An outcome as it crosses from the page to the test. */
export interface PageOutcome {
  readonly index: number;
  readonly item: string;
  readonly ok: boolean;
  readonly value?: string;
  readonly error?: string;
  readonly attempts: number;
  readonly splitDepth: number;
}

/** A batch as it crosses from the page to the test. */
export interface PageBatch {
  readonly index: number;
  readonly itemIndices: readonly number[];
  readonly tokens: number;
  readonly maxTokens: number;
}

/** What a chain run in the page reports. */
export interface PageRun {
  /** What orderedResults emitted, in emission order. */
  readonly outcomes: readonly PageOutcome[];
  /** The indices of the outcomes as mergeBatches emitted them, before orderedResults. */
  readonly completionOrder: readonly number[];
  readonly batches: readonly PageBatch[];
}

/** Token and byte counts computed in the page. */
export interface PageCounts {
  readonly o200k: readonly number[];
  readonly cl100k: readonly number[];
  readonly utf8Length: readonly number[];
  readonly textEncoder: readonly number[];
  /** Whether the page has a Node-style `Buffer` (it must not: utf8Length's own path runs). */
  readonly hasBuffer: boolean;
}

/** The functions the page exposes as `window.tokenbatchPage`. */
export interface PageApi {
  rx(messages: readonly string[], maxTokens: number): Promise<PageRun>;
  gated(messages: readonly string[]): Promise<PageRun>;
  iterable(messages: readonly string[], maxTokens: number): Promise<PageRun>;
  counts(texts: readonly string[]): PageCounts;
}

const plainOutcome = (outcome: Outcome<string, string>): PageOutcome => ({
  index: outcome.index,
  item: outcome.item,
  ok: outcome.ok,
  ...(outcome.ok ? { value: outcome.value } : { error: `${outcome.error.name}: ${outcome.error.message}` }),
  attempts: outcome.attempts,
  splitDepth: outcome.splitDepth,
});

const plainBatch = (batch: Batch<string>): PageBatch => ({ index: batch.index, itemIndices: [...batch.itemIndices], tokens: batch.tokens, maxTokens: batch.maxTokens });

/** The simulated model on the browser's real clock (setTimeout), with jitter so batches finish out of order. */
const model = () => simulatedModel({ task: 'classify', latency: { baseMs: 8, perInputTokenMs: 0.05, perOutputTokenMs: 1, jitter: 0.9 }, seed: 5 });

const api: PageApi = {
  async rx(messages, maxTokens) {
    const batches: PageBatch[] = [];
    const completionOrder: number[] = [];
    const outcomes = await lastValueFrom(
      from(messages).pipe(
        bufferByTokens({ maxTokens, maxItems: 6, maxWaitMs: 20 }),
        tap((batch) => batches.push(plainBatch(batch))),
        splitOnOverflow(),
        mergeBatches(model().handler, { concurrency: 4 }),
        tap((outcome) => completionOrder.push(outcome.index)),
        orderedResults(),
        toArray(),
      ),
    );
    return { outcomes: outcomes.map(plainOutcome), completionOrder, batches };
  },

  async gated(messages) {
    // An in-page handler whose first batch answers only after every other batch has: whatever the
    // timing, mergeBatches completes out of order, and orderedResults must put it right.
    const batches: PageBatch[] = [];
    const completionOrder: number[] = [];
    let othersDone = 0;
    let releaseFirst = (): void => {};
    const firstMayAnswer = new Promise<void>((resolve) => (releaseFirst = resolve));
    const handler = async (batch: Batch<string>): Promise<string[]> => {
      if (batch.index === 0) await firstMayAnswer;
      else {
        await new Promise((resolve) => setTimeout(resolve, 1));
        if (++othersDone === 3) releaseFirst();
      }
      return batch.items.map((item) => item.toUpperCase());
    };
    const outcomes = await lastValueFrom(
      from(messages).pipe(
        bufferByTokens({ maxTokens: 10_000, maxItems: Math.ceil(messages.length / 4) }),
        tap((batch) => batches.push(plainBatch(batch))),
        mergeBatches(handler, { concurrency: 4 }),
        tap((outcome) => completionOrder.push(outcome.index)),
        orderedResults(),
        toArray(),
      ),
    );
    return { outcomes: outcomes.map(plainOutcome), completionOrder, batches };
  },

  async iterable(messages, maxTokens) {
    const batches: PageBatch[] = [];
    const completionOrder: number[] = [];
    const outcomes: PageOutcome[] = [];
    async function* arriving(): AsyncGenerator<string> {
      for (const message of messages) {
        yield message;
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
    }
    const chain = fromIterable(arriving()).pipe(
      iterable.bufferByTokens<string>({ maxTokens, maxItems: 5, maxWaitMs: 15 }),
      tapIterable((batch) => batches.push(plainBatch(batch))),
      iterable.mergeBatches(model().handler, { concurrency: 3 }),
      tapIterable((outcome) => completionOrder.push(outcome.index)),
      iterable.orderedResults(),
    );
    for await (const outcome of chain) outcomes.push(plainOutcome(outcome));
    return { outcomes, completionOrder, batches };
  },

  counts(texts) {
    const o200k = getTokenizer('o200k_base');
    const cl100k = getTokenizer('cl100k_base');
    const encoder = new TextEncoder();
    return {
      o200k: texts.map((text) => o200k.count(text)),
      cl100k: texts.map((text) => cl100k.count(text)),
      utf8Length: texts.map((text) => utf8Length(text)),
      textEncoder: texts.map((text) => encoder.encode(text).length),
      hasBuffer: 'Buffer' in globalThis,
    };
  },
};

declare global {
  interface Window {
    /** Set by the test page's bundle. */
    tokenbatchPage: PageApi;
  }
}

// A browser cannot load a rank table synchronously: the page warms both encodings up before it runs.
await Promise.all([preloadTokenizer('o200k_base'), preloadTokenizer('cl100k_base')]);
window.tokenbatchPage = api;
