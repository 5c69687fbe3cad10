import type { SchedulerLike, Subscription } from 'rxjs';
import { ContextOverflowError, RateLimitError, TransientError } from '../errors.js';
import { abortError, toError } from '../internal/abort.js';
import { batchTexts } from '../internal/item-text.js';
import type { TextOf } from '../internal/item-text.js';
import { nonNegative, oneOf, optionalFunction, optionalPositive, OptionReader, parseOptionsOf, requireObject, scheduler as schedulerOption } from '../internal/options.js';
import { fnv1a, seededRandom } from '../internal/random.js';
import type { Batch, HandlerContext, Tokenizer, TokenizerSpec } from '../types.js';
import { resolveTokenizer } from '../tokens/tokenizers.js';

/**
 * What the simulated model does with each item.
 * - `'classify'`: the label whose keywords occur most often in the text (a string).
 * - `'summarize'`: the text's first sentence, whitespace collapsed (a string).
 * - `'translate'`: a reversible word-level cipher of the text (a string; see {@link simulatedUntranslate}).
 * - `'embed'`: a feature-hashed, L2-normalized bag of words (a `Float32Array`).
 *
 * @example
 * ```ts
 * const task: SimulatedTask = 'classify';
 * ```
 */
export type SimulatedTask = 'classify' | 'summarize' | 'translate' | 'embed';

/**
 * The result type of each {@link SimulatedTask}.
 *
 * @example
 * ```ts
 * const vector: SimulatedResult<'embed'> = new Float32Array(256);
 * ```
 */
export type SimulatedResult<K extends SimulatedTask> = K extends 'embed' ? Float32Array : string;

/**
 * The latency model of {@link simulatedModel}: a call takes
 * `(baseMs + perInputTokenMs * inputTokens + perOutputTokenMs * outputTokens) * (1 ± jitter)`,
 * rounded to whole milliseconds, with the jitter drawn from the seeded generator.
 *
 * @example
 * ```ts
 * const latency: SimulatedLatency = { baseMs: 300, perInputTokenMs: 0.02, perOutputTokenMs: 10, jitter: 0.2 };
 * ```
 */
export interface SimulatedLatency {
  /** Fixed cost of a call (network, queueing). Default 250. */
  baseMs?: number;
  /** Prefill cost per input token. Default 0.02 (50,000 tokens/s). */
  perInputTokenMs?: number;
  /** Decoding cost per output token. Default 8 (125 tokens/s). */
  perOutputTokenMs?: number;
  /** Relative spread in [0, 1): 0.1 makes each call 0.9 to 1.1 times the nominal latency. Default 0.1. */
  jitter?: number;
}

/**
 * Fault rates of {@link simulatedModel}, as probabilities per admitted call (their sum at most 1).
 * Faults are drawn from the seeded generator, one draw per admitted call, so a seed replays the same
 * faults on the same sequence of calls.
 *
 * @example
 * ```ts
 * const faults: SimulatedFaults = { transient: 0.05, hang: 0.01, short: 0.02 };
 * ```
 */
export interface SimulatedFaults {
  /** Fails after `baseMs` (jittered) with a {@link TransientError}, like an HTTP 500. Default 0. */
  transient?: number;
  /**
   * Never answers: the call settles only when its `signal` aborts (then with an AbortError, or with
   * the abort reason when that is a tokenbatch error such as a TimeoutError). Pair with a timeout.
   * Default 0.
   */
  hang?: number;
  /** Answers with fewer results than items (at least one missing, possibly all). Default 0. */
  short?: number;
}

/**
 * Prices in US dollars per million tokens.
 *
 * @example
 * ```ts
 * const price: SimulatedPrice = { inputPerMillion: 0.15, outputPerMillion: 0.6 };
 * ```
 */
export interface SimulatedPrice {
  readonly inputPerMillion: number;
  readonly outputPerMillion: number;
}

/**
 * Default prices of the simulated model per task, shaped like public list prices of small hosted
 * models (a chat model for text tasks, an embedding model for `embed`). Only used to report cost.
 *
 * @example
 * ```ts
 * SIMULATED_PRICES.embed.inputPerMillion; // 0.02
 * ```
 */
export const SIMULATED_PRICES: Readonly<Record<SimulatedTask, SimulatedPrice>> = Object.freeze({
  classify: { inputPerMillion: 0.15, outputPerMillion: 0.6 },
  summarize: { inputPerMillion: 0.15, outputPerMillion: 0.6 },
  translate: { inputPerMillion: 0.15, outputPerMillion: 0.6 },
  embed: { inputPerMillion: 0.02, outputPerMillion: 0 },
});

/**
 * The keyword table of the `classify` task by default: a label matches a word that starts with one
 * of its keywords (case-insensitive); text that matches none is labelled `'other'`.
 *
 * @example
 * ```ts
 * DEFAULT_SIMULATED_LABELS.billing.includes('refund'); // true
 * ```
 */
export const DEFAULT_SIMULATED_LABELS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  billing: ['refund', 'invoice', 'charge', 'payment', 'price', 'bill', 'subscription'],
  bug: ['error', 'crash', 'bug', 'broken', 'fail', 'exception', 'freeze'],
  account: ['login', 'password', 'account', 'sign', 'email', 'profile'],
  praise: ['thank', 'great', 'love', 'awesome', 'excellent'],
});

/**
 * Options of {@link simulatedModel}.
 *
 * @example
 * ```ts
 * const options: SimulatedModelOptions<string, 'classify'> = { task: 'classify', rpm: 500, tpm: 200_000, seed: 7 };
 * ```
 */
export interface SimulatedModelOptions<T, K extends SimulatedTask> {
  /** What the model does with each item. Required. */
  task: K;
  /** The text of an item. Default: the item itself, which must then be a string. */
  text?: (item: T) => string;
  /** The model name reported with usage. Default `'tokenbatch-sim-1'`. */
  name?: string;
  /** `classify`: label → keywords (see {@link DEFAULT_SIMULATED_LABELS}). Label order breaks ties. */
  labels?: Readonly<Record<string, readonly string[]>>;
  /** `classify`: the label of text that matches no keyword. Default `'other'`. */
  fallbackLabel?: string;
  /** `embed`: vector length. Default 256. */
  dimensions?: number;
  /** The context window in tokens: a request of more input tokens fails with a ContextOverflowError. Default 128,000. */
  contextWindow?: number;
  /** Tokens the model's own instructions add to every request, on top of `batch.tokens`. Default 0. */
  promptTokens?: number;
  /** The latency model. */
  latency?: SimulatedLatency;
  /** Requests per minute, in a sliding 60-second window. Default: unlimited. */
  rpm?: number;
  /** Tokens (input + output) per minute, in a sliding 60-second window. Default: unlimited. */
  tpm?: number;
  /** Injected fault rates. Default: none. */
  faults?: SimulatedFaults;
  /** Seed of the generator behind jitter and faults. Default 1. */
  seed?: number;
  /** Price for cost reporting. Default: {@link SIMULATED_PRICES} for the task. */
  price?: SimulatedPrice;
  /** Counts output tokens (input tokens are the batch's own count). Default `'o200k_base'`. */
  tokenizer?: TokenizerSpec;
  /** Where time comes from. Default: RxJS `asyncScheduler` (real time); pass a VirtualTimeScheduler in tests. */
  scheduler?: SchedulerLike;
}

/**
 * Counters of a {@link SimulatedModel} since it was created.
 *
 * @example
 * ```ts
 * const { calls, failures, costUsd } = model.stats();
 * console.log(`${calls} calls, ${failures.rateLimit} rate-limited, $${costUsd.toFixed(4)}`);
 * ```
 */
export interface SimulatedModelStats {
  /** Handler calls, whatever their fate. */
  readonly calls: number;
  /** Calls that answered (short answers included). */
  readonly answered: number;
  /** Items in answered calls. */
  readonly items: number;
  /** Billed input tokens (answered calls only). */
  readonly inputTokens: number;
  /** Billed output tokens (answered calls only; results actually returned). */
  readonly outputTokens: number;
  /** Billed cost in US dollars. */
  readonly costUsd: number;
  /** Failed or faulty calls by kind. `hang` counts injected hangs, `aborted` aborts of calls that were not hanging. */
  readonly failures: {
    readonly contextOverflow: number;
    readonly rateLimit: number;
    readonly transient: number;
    readonly hang: number;
    readonly short: number;
    readonly aborted: number;
  };
}

/**
 * A simulated model: its batch handler, and its counters.
 *
 * @example
 * ```ts
 * const model: SimulatedModel<string, string> = simulatedModel({ task: 'summarize' });
 * ```
 */
export interface SimulatedModel<T, R> {
  /**
   * The batch handler (a `BatchHandler`): one result per item, in order (except under the `short` fault). It
   * always returns a Promise.
   */
  readonly handler: (batch: Batch<T>, context: HandlerContext) => Promise<readonly R[]>;
  /** The model name reported with usage. */
  readonly name: string;
  /** The context window in tokens. */
  readonly contextWindow: number;
  /** A snapshot of the counters. */
  stats(): SimulatedModelStats;
}

const WINDOW_MS = 60_000;

interface Admitted {
  readonly time: number;
  readonly tokens: number;
}

/** The calls admitted in the last minute, oldest first, with a running token total. */
class SlidingWindow {
  #entries: Admitted[] = [];
  #head = 0;
  #tokens = 0;

  push(entry: Admitted): void {
    this.#entries.push(entry);
    this.#tokens += entry.tokens;
  }

  /** The wait until a call of `tokens` tokens is admitted (0: now), after pruning what expired by `now`. */
  wait(now: number, tokens: number, rpm: number | undefined, tpm: number | undefined): number {
    const entries = this.#entries;
    while (this.#head < entries.length && entries[this.#head]!.time + WINDOW_MS <= now) this.#tokens -= entries[this.#head++]!.tokens;
    // Compact now and then, so pruning stays O(1) amortized and the array does not grow without bound.
    if (this.#head > 1024 && this.#head * 2 > entries.length) {
      this.#entries = entries.slice(this.#head);
      this.#head = 0;
    }
    const live = this.#entries.length - this.#head;
    let wait = 0;
    if (rpm !== undefined && live >= rpm) wait = this.#entries[this.#entries.length - rpm]!.time + WINDOW_MS - now;
    if (tpm !== undefined) {
      // Oldest first: each expiry frees its tokens; the call fits once enough have gone.
      let used = this.#tokens;
      for (let i = this.#head; used + tokens > tpm && i < this.#entries.length; i++) {
        used -= this.#entries[i]!.tokens;
        wait = Math.max(wait, this.#entries[i]!.time + WINDOW_MS - now);
      }
    }
    return wait;
  }
}

const SIMULATED_KEYS = [
  'task',
  'text',
  'name',
  'labels',
  'fallbackLabel',
  'dimensions',
  'contextWindow',
  'promptTokens',
  'latency',
  'rpm',
  'tpm',
  'faults',
  'seed',
  'price',
  'tokenizer',
  'scheduler',
];

/**
 * An embedded model for examples, tests and benchmarks: deterministic answers, a latency model,
 * a context window, RPM and TPM limits, seeded faults, usage and cost. No API key, no server.
 *
 * It is a simulator, not a language model: `classify` counts keywords, `summarize` takes the first
 * sentence, `translate` applies a reversible cipher and `embed` hashes words. What it reproduces
 * faithfully is how a hosted model behaves under load, so that batching, retries, rate limiting and
 * splitting can be exercised and measured:
 *
 * - **Tokens**: input tokens are `batch.tokens + promptTokens`; output tokens are counted on the
 *   results with `tokenizer` (0 for `embed`).
 * - **Context window**: more input tokens than `contextWindow` rejects at once with a
 *   ContextOverflowError (before rate limits; not counted against them).
 * - **Rate limits**: a call is admitted when the calls admitted in the last 60 seconds number fewer
 *   than `rpm` and their tokens (input + output) plus its own stay within `tpm`. Otherwise it rejects
 *   at once with a RateLimitError whose `retryAfterMs` is exactly the wait after which the same call
 *   would be admitted if no other call came. A call needing more than `tpm` tokens alone can never be
 *   admitted and rejects with a ContextOverflowError (as OpenAI's "Request too large" does), so that
 *   splitting makes progress. Rejected calls do not count against the limits.
 * - **Latency**: an admitted call answers after the {@link SimulatedLatency} delay, scheduled on
 *   `scheduler`, so the model runs in real time or in virtual time alike. Aborting `signal` cancels
 *   the scheduled answer and rejects with an AbortError (or with the abort reason when that is a
 *   tokenbatch error, such as an operator's TimeoutError).
 * - **Faults**: see {@link SimulatedFaults}. Admitted calls count against the limits even if faulty.
 * - **Usage**: each answered call reports `{ usage, model }` through `context.report` and adds its
 *   cost to {@link SimulatedModel.stats}.
 *
 * The sliding window holds one entry per call admitted in the last 60 seconds (none without limits),
 * pruned on each call.
 * The handler never retries by itself.
 *
 * @example
 * ```ts
 * import { from } from 'rxjs';
 * import { bufferByTokens, simulatedModel } from 'tokenbatch';
 *
 * const model = simulatedModel({ task: 'classify', rpm: 60, tpm: 100_000, faults: { transient: 0.02 }, seed: 42 });
 * const batches$ = from(['Please refund my order', 'The app crashes on start']).pipe(bufferByTokens({ maxTokens: 4000 }));
 * // batches$.pipe(mergeBatches(model.handler, { concurrency: 4, retry: { attempts: 3 } }))
 * console.log(model.stats().calls);
 * ```
 */
export function simulatedModel<T = string, K extends SimulatedTask = SimulatedTask>(options: SimulatedModelOptions<T, K>): SimulatedModel<T, SimulatedResult<K>> {
  const raw = new OptionReader('simulatedModel', options ?? null, SIMULATED_KEYS).raw as Partial<SimulatedModelOptions<T, K>>;
  const { task, text, name, contextWindow, promptTokens, rpm, tpm, latency, faults, seed, price, tokenizer, scheduler } = parseOptionsOf('simulatedModel', () => {
    if (raw.task === undefined) throw new TypeError('task: required (classify, summarize, translate or embed)');
    const task = oneOf(raw.task, 'task', ['classify', 'summarize', 'translate', 'embed'], 'classify');
    return {
      task,
      text: optionalFunction<TextOf<T>>(raw.text, 'text'),
      name: optionalString(raw.name, 'name') ?? 'tokenbatch-sim-1',
      contextWindow: optionalPositive(raw.contextWindow, 'contextWindow', { integer: true, min: 1 }) ?? 128_000,
      promptTokens: nonNegative(raw.promptTokens, 'promptTokens', 0),
      rpm: optionalPositive(raw.rpm, 'rpm', { integer: true, min: 1 }),
      tpm: optionalPositive(raw.tpm, 'tpm', { integer: true, min: 1 }),
      latency: parseLatency(raw.latency),
      faults: parseFaults(raw.faults),
      seed: raw.seed === undefined ? 1 : integer(raw.seed, 'seed'),
      price: parsePrice(raw.price, SIMULATED_PRICES[task]),
      tokenizer: resolveTokenizer(raw.tokenizer),
      scheduler: schedulerOption(raw.scheduler, 'scheduler'),
    };
  });
  const answer = parseOptionsOf('simulatedModel', () => makeTask(task, raw, tokenizer));

  // Separate streams, so that turning jitter on or off does not move the faults.
  const faultRandom = seededRandom(seed);
  const jitterRandom = seededRandom(seed ^ 0x5bd1e995);
  const window = rpm === undefined && tpm === undefined ? undefined : new SlidingWindow();
  const counters = { calls: 0, answered: 0, items: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 };
  const failures = { contextOverflow: 0, rateLimit: 0, transient: 0, hang: 0, short: 0, aborted: 0 };

  const handler = (batch: Batch<T>, context: HandlerContext): Promise<readonly SimulatedResult<K>[]> => {
    counters.calls++;
    const { signal } = context;
    if (signal.aborted) {
      failures.aborted++;
      return Promise.reject(abortError(signal));
    }
    let results: SimulatedResult<K>[];
    let outputTokens = 0;
    try {
      const texts = batchTexts(batch, text);
      results = texts.map((itemText) => answer.run(itemText) as SimulatedResult<K>);
      for (const result of results) outputTokens += answer.outputTokens(result);
    } catch (error) {
      return Promise.reject(toError(error));
    }
    const inputTokens = batch.tokens + promptTokens;
    if (inputTokens > contextWindow) {
      failures.contextOverflow++;
      return Promise.reject(new ContextOverflowError(`${name}: this model's maximum context length is ${contextWindow} tokens, but the request has ${inputTokens} tokens`));
    }
    const tokens = inputTokens + outputTokens;
    if (tpm !== undefined && tokens > tpm) {
      failures.contextOverflow++;
      return Promise.reject(new ContextOverflowError(`${name}: request too large for tokens per min (TPM): limit ${tpm}, requested ${tokens}`));
    }
    const now = scheduler.now();
    const wait = window?.wait(now, tokens, rpm, tpm) ?? 0;
    if (wait > 0) {
      failures.rateLimit++;
      return Promise.reject(
        new RateLimitError(`${name}: rate limit reached (RPM ${rpm ?? 'unlimited'}, TPM ${tpm ?? 'unlimited'}), try again in ${wait}ms`, {
          retryAfterMs: wait,
        }),
      );
    }
    window?.push({ time: now, tokens });

    const draw = faultRandom();
    const fault =
      draw < faults.transient ? 'transient' : draw < faults.transient + faults.hang ? 'hang' : draw < faults.transient + faults.hang + faults.short ? 'short' : undefined;
    const spread = 1 + latency.jitter * (2 * jitterRandom() - 1);
    if (fault === 'short') {
      const missing = 1 + Math.floor(faultRandom() * results.length);
      const kept = results.slice(0, results.length - Math.min(missing, results.length));
      outputTokens = 0;
      for (const result of kept) outputTokens += answer.outputTokens(result);
      results = kept;
    }
    const nominal = fault === 'transient' ? latency.baseMs : latency.baseMs + latency.perInputTokenMs * inputTokens + latency.perOutputTokenMs * outputTokens;
    const delay = Math.max(0, Math.round(nominal * spread));

    return new Promise<readonly SimulatedResult<K>[]>((resolve, reject) => {
      const answerNow = (): void => {
        signal.removeEventListener('abort', onAbort);
        if (fault === 'transient') {
          failures.transient++;
          reject(new TransientError(`${name}: 500 simulated server error`));
          return;
        }
        if (fault === 'short') failures.short++;
        counters.answered++;
        counters.items += batch.items.length;
        counters.inputTokens += inputTokens;
        counters.outputTokens += outputTokens;
        counters.costUsd += (inputTokens * price.inputPerMillion + outputTokens * price.outputPerMillion) / 1_000_000;
        try {
          context.report({ usage: { inputTokens, outputTokens }, model: name, operation: task === 'embed' ? 'embeddings' : 'chat' });
        } catch (error) {
          // A throwing report callback must not escape into the scheduler, where it would vanish.
          reject(toError(error));
          return;
        }
        resolve(results);
      };
      const onAbort = (): void => {
        action?.unsubscribe();
        if (fault === 'hang') failures.hang++;
        else failures.aborted++;
        reject(abortError(signal));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const action: Subscription | undefined = fault === 'hang' ? undefined : scheduler.schedule(answerNow, delay);
    });
  };

  return {
    handler,
    name,
    contextWindow,
    stats: () => ({ ...counters, failures: { ...failures } }),
  };
}

interface TaskRunner {
  run(text: string): string | Float32Array;
  outputTokens(result: string | Float32Array): number;
}

function makeTask(task: SimulatedTask, raw: Partial<SimulatedModelOptions<never, SimulatedTask>>, tokenizer: Tokenizer): TaskRunner {
  const countText = (result: string | Float32Array): number => (typeof result === 'string' ? tokenizer.count(result) : 0);
  switch (task) {
    case 'classify': {
      const labels = parseLabels(raw.labels);
      const fallback = optionalString(raw.fallbackLabel, 'fallbackLabel') ?? 'other';
      return { run: (text) => simulatedClassify(text, labels, fallback), outputTokens: countText };
    }
    case 'summarize':
      return { run: simulatedSummarize, outputTokens: countText };
    case 'translate':
      return { run: simulatedTranslate, outputTokens: countText };
    case 'embed': {
      const dimensions = optionalPositive(raw.dimensions, 'dimensions', { integer: true, min: 1 }) ?? 256;
      return { run: (text) => simulatedEmbed(text, dimensions), outputTokens: () => 0 };
    }
  }
}

const WORD = /[\p{L}\p{N}]+/gu;

function words(text: string): string[] {
  return text.toLowerCase().match(WORD) ?? [];
}

/**
 * The `classify` task of {@link simulatedModel}: the label with the most words that start with one
 * of its keywords (case-insensitive); ties go to the label listed first; no match gives `fallback`.
 *
 * @example
 * ```ts
 * simulatedClassify('I want a refund for this charge'); // 'billing'
 * simulatedClassify('hello'); // 'other'
 * ```
 */
export function simulatedClassify(text: string, labels: Readonly<Record<string, readonly string[]>> = DEFAULT_SIMULATED_LABELS, fallback = 'other'): string {
  const found = words(text);
  let best = fallback;
  let bestScore = 0;
  for (const [label, keywords] of Object.entries(labels)) {
    let score = 0;
    for (const word of found) if (keywords.some((keyword) => word.startsWith(keyword))) score++;
    if (score > bestScore) {
      best = label;
      bestScore = score;
    }
  }
  return best;
}

/**
 * The `summarize` task of {@link simulatedModel}: the first sentence (up to the first `.`, `!` or
 * `?` followed by whitespace or the end), with runs of whitespace collapsed to one space.
 *
 * @example
 * ```ts
 * simulatedSummarize('The parcel arrived late. It was also damaged.'); // 'The parcel arrived late.'
 * ```
 */
export function simulatedSummarize(text: string): string {
  const collapsed = text.replace(/\s+/g, ' ').trim();
  const end = /[.!?](?= |$)/.exec(collapsed);
  return end ? collapsed.slice(0, end.index + 1) : collapsed;
}

const SHIFT = 7;

function shiftLetters(text: string, shift: number): string {
  // Each run of ASCII letters is reversed and Caesar-shifted; everything else stays in place.
  return text.replace(/[A-Za-z]+/g, (run) => {
    let out = '';
    for (let i = run.length - 1; i >= 0; i--) {
      const code = run.charCodeAt(i);
      const base = code >= 97 ? 97 : 65;
      out += String.fromCharCode(base + ((code - base + shift) % 26));
    }
    return out;
  });
}

/**
 * The `translate` task of {@link simulatedModel}: a word-level cipher (each run of ASCII letters is
 * reversed and shifted by 7 letters, case kept; all other characters stay). Undone exactly by
 * {@link simulatedUntranslate}.
 *
 * @example
 * ```ts
 * simulatedTranslate('Hello, world!'); // 'vsslO, ksyvd!'
 * ```
 */
export function simulatedTranslate(text: string): string {
  return shiftLetters(text, SHIFT);
}

/**
 * The inverse of {@link simulatedTranslate}: `simulatedUntranslate(simulatedTranslate(s)) === s` for every string.
 *
 * @example
 * ```ts
 * simulatedUntranslate(simulatedTranslate('Hello, world!')); // 'Hello, world!'
 * ```
 */
export function simulatedUntranslate(text: string): string {
  return shiftLetters(text, 26 - SHIFT);
}

/**
 * The `embed` task of {@link simulatedModel}: lowercase words hashed (FNV-1a) into `dimensions`
 * buckets with a hashed sign, then L2-normalized. Texts sharing words get a high cosine similarity;
 * a text without words gives the zero vector.
 *
 * @example
 * ```ts
 * const vector = simulatedEmbed('refund my order', 64);
 * vector.length; // 64
 * ```
 */
export function simulatedEmbed(text: string, dimensions = 256): Float32Array {
  const vector = new Float32Array(dimensions);
  for (const word of words(text)) {
    const hash = fnv1a(word);
    vector[hash % dimensions]! += hash & 0x80000000 ? -1 : 1;
  }
  let norm = 0;
  for (const value of vector) norm += value * value;
  if (norm > 0) {
    const scale = 1 / Math.sqrt(norm);
    for (let i = 0; i < dimensions; i++) vector[i]! *= scale;
  }
  return vector;
}

function parseLatency(raw: SimulatedLatency | undefined): Required<SimulatedLatency> {
  const latency = new OptionReader('simulatedModel', raw, ['baseMs', 'perInputTokenMs', 'perOutputTokenMs', 'jitter'], 'latency').raw as SimulatedLatency;
  const jitter = nonNegative(latency.jitter, 'latency.jitter', 0.1);
  if (jitter >= 1) throw new RangeError(`latency.jitter: expected a number in [0, 1), got ${jitter}`);
  return {
    baseMs: nonNegative(latency.baseMs, 'latency.baseMs', 250),
    perInputTokenMs: nonNegative(latency.perInputTokenMs, 'latency.perInputTokenMs', 0.02),
    perOutputTokenMs: nonNegative(latency.perOutputTokenMs, 'latency.perOutputTokenMs', 8),
    jitter,
  };
}

function parseFaults(raw: SimulatedFaults | undefined): Required<SimulatedFaults> {
  const faults = new OptionReader('simulatedModel', raw, ['transient', 'hang', 'short'], 'faults').raw as SimulatedFaults;
  const parsed = {
    transient: probability(faults.transient, 'faults.transient'),
    hang: probability(faults.hang, 'faults.hang'),
    short: probability(faults.short, 'faults.short'),
  };
  const sum = parsed.transient + parsed.hang + parsed.short;
  if (sum > 1) throw new RangeError(`faults: the rates add up to ${sum}, more than 1`);
  return parsed;
}

function probability(value: unknown, name: string): number {
  const rate = nonNegative(value, name, 0);
  if (rate > 1) throw new RangeError(`${name}: expected a probability in [0, 1], got ${rate}`);
  return rate;
}

function parsePrice(raw: SimulatedPrice | undefined, fallback: SimulatedPrice): SimulatedPrice {
  if (raw === undefined) return fallback;
  const price = new OptionReader('simulatedModel', raw, ['inputPerMillion', 'outputPerMillion'], 'price').raw as Partial<SimulatedPrice>;
  return {
    inputPerMillion: nonNegative(price.inputPerMillion, 'price.inputPerMillion', 0),
    outputPerMillion: nonNegative(price.outputPerMillion, 'price.outputPerMillion', 0),
  };
}

function parseLabels(raw: unknown): Readonly<Record<string, readonly string[]>> {
  if (raw === undefined) return DEFAULT_SIMULATED_LABELS;
  const labels = requireObject(raw, 'labels');
  const parsed: Record<string, readonly string[]> = {};
  for (const [label, keywords] of Object.entries(labels)) {
    if (!Array.isArray(keywords) || keywords.some((keyword) => typeof keyword !== 'string' || keyword === '')) {
      throw new TypeError(`labels.${label}: expected an array of non-empty keyword strings`);
    }
    parsed[label] = (keywords as string[]).map((keyword) => keyword.toLowerCase());
  }
  return parsed;
}

function optionalString(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw new TypeError(`${name}: expected a non-empty string`);
  return value;
}

function integer(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new TypeError(`${name}: expected a whole number, got ${String(value)}`);
  return value;
}
