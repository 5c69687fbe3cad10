import type { OperatorFunction, SchedulerLike, Subscription } from 'rxjs';
import { getTokenizer } from '../tokens/tokenizers.js';
import { AbortError, BatchResultMismatchError, ContextOverflowError, QueueOverflowError, RateLimitError, TimeoutError, TokenbatchError } from '../errors.js';
import { TokenBatch } from '../internal/batcher.js';
import { DuplicateNotice, Envelope, ItemFailure, type Link } from '../internal/chain.js';
import { CoreBase, type Numbering, type OperatorSpec, type Sink } from '../internal/core.js';
import { handlerResult } from '../internal/handler-result.js';
import { TokenMeter } from '../tokens/meter.js';
import { oneOf, optionalFunction, optionalPositive, requireObject, scheduler as schedulerOption } from '../internal/options.js';
import { rateLimiter, type RateLimiter, type RateLimiterOptions, type RateLimitGrant } from '../internal/rate-limiter.js';
import { retryPolicy, type RetryOptions, type RetryPolicy } from '../internal/retry.js';
import { chunkText, halve } from '../internal/splitting.js';
import { rxOperator } from '../internal/rx-face.js';
import { Telemetry, telemetrySettings, type AttemptFacts, type AttemptSpan, type TelemetryOptions, type TelemetrySettings } from '../internal/telemetry.js';
import type { Batch, BatchHandler, HandlerContext, Outcome } from '../types.js';

/**
 * Options of {@link mergeBatches}.
 *
 * @example
 * ```ts
 * const options: MergeBatchesOptions<string> = {
 *   concurrency: 4,
 *   retry: { maxAttempts: 4 },
 *   timeoutMs: 30_000,
 *   rateLimit: { requestsPerMinute: 500, tokensPerMinute: 200_000 },
 * };
 * ```
 */
export interface MergeBatchesOptions<T> {
  /** Batches processed at once: a sliding window, a new batch starts the moment one finishes. Default 4. */
  concurrency?: number;
  /** Retries of a failed attempt, or `false` for none. See {@link RetryOptions}. */
  retry?: RetryOptions | false;
  /** Each attempt's time limit: its `signal` is aborted and it fails with a (retryable) `TimeoutError`. */
  timeoutMs?: number;
  /** Request and token budgets: a shared {@link RateLimiter}, or options for one of this operator's own. */
  rateLimit?: RateLimiter | RateLimiterOptions;
  /** The tokens a batch reserves from the limiter. Default: `batch.tokens` (settled to billed usage when the handler reports it). */
  estimateTokens?: (batch: Batch<T>) => number;
  /**
   * For push sources (RxJS): batches that may wait for a free slot. Default 1,024. Async-iterable
   * sources are pulled only when a slot is free, so they never queue.
   */
  maxQueuedBatches?: number;
  /**
   * When the queue is full: `'fail'` (default) fails the arriving batch's items with a
   * `QueueOverflowError` outcome each, so the stream goes on and nothing is lost silently;
   * `'error'` fails the stream.
   */
  overflow?: 'fail' | 'error';
  /** End the stream with the first failed outcome's error (after emitting that outcome). Default false. */
  failFast?: boolean;
  /** Map a provider's errors into the tokenbatch taxonomy before retry decisions (backends export one). */
  classifyError?: (error: unknown) => Error;
  /** Where time comes from (timeouts, backoff, rate limits). Default: RxJS `asyncScheduler`. */
  scheduler?: SchedulerLike;
  /** Tracer and meter for batch spans and instruments, or `false` for none. Default: the global OpenTelemetry API. */
  telemetry?: TelemetryOptions | false;
}

interface Settings<T> {
  concurrency: number;
  retry: RetryPolicy;
  timeoutMs: number | undefined;
  limiter: RateLimiter | undefined;
  estimateTokens: ((batch: Batch<T>) => number) | undefined;
  maxQueuedBatches: number;
  overflow: 'fail' | 'error';
  failFast: boolean;
  classifyError: ((error: unknown) => Error) | undefined;
  scheduler: SchedulerLike;
  telemetry: TelemetrySettings;
}

function parseSettings<T>(raw: MergeBatchesOptions<T> | undefined): Settings<T> {
  const options = raw === undefined ? {} : (requireObject(raw, 'mergeBatches') as MergeBatchesOptions<T>);
  const scheduler = schedulerOption(options.scheduler, 'scheduler');
  const limit = options.rateLimit;
  let limiter: RateLimiter | undefined;
  if (limit !== undefined) {
    const candidate = requireObject(limit, 'rateLimit') as Partial<RateLimiter>;
    limiter = typeof candidate.acquire === 'function' ? (limit as RateLimiter) : rateLimiter({ scheduler, ...(limit as RateLimiterOptions) });
  }
  return {
    concurrency: optionalPositive(options.concurrency, 'concurrency', { integer: true, min: 1 }) ?? 4,
    retry: retryPolicy(options.retry),
    timeoutMs: optionalPositive(options.timeoutMs, 'timeoutMs'),
    limiter,
    estimateTokens: optionalFunction(options.estimateTokens, 'estimateTokens'),
    maxQueuedBatches: optionalPositive(options.maxQueuedBatches, 'maxQueuedBatches', { integer: true, min: 1 }) ?? 1024,
    overflow: oneOf(options.overflow, 'overflow', ['fail', 'error'], 'fail'),
    failFast: options.failFast === true,
    classifyError: optionalFunction(options.classifyError, 'classifyError'),
    scheduler,
    telemetry: telemetrySettings(options.telemetry),
  };
}

/** One input batch from start until all its outcomes have left (and, under orderedResults, been released). */
interface Slot {
  running: boolean;
  unreleased: number;
  freed: boolean;
}

type ItemResult = { ok: true; value: unknown; attempts: number; depth: number } | { ok: false; error: Error; attempts: number; depth: number };
type AttemptResult = { ok: true; values: readonly unknown[]; attempts: number } | { ok: false; error: Error; attempts: number };

const LOOSE = 'loose';
/** Outcomes outside any batch (duplicates, invalid items) held downstream before intake pauses, per slot. */
const LOOSE_PER_SLOT = 256;

// Items that reach mergeBatches as plain arrays are measured like this, only if a rate limit asks.
const plainText = (item: unknown): string => (typeof item === 'string' ? item : JSON.stringify(item) ?? String(item));
let plainMeter: TokenMeter<unknown> | undefined;

/** Turn a value of a plain source into a batch: a tokenbatch batch as it is, an array as a new one. */
export function adoptBatch(value: unknown, numbering: Numbering, now: number): unknown {
  if (value instanceof TokenBatch || value instanceof Envelope || value instanceof ItemFailure || value instanceof DuplicateNotice) return value;
  const items: readonly unknown[] = Array.isArray(value) ? value : isBatchLike(value) ? value.items : [value];
  const entries = items.map((item) => new Envelope(numbering.next++, item, now));
  plainMeter ??= new TokenMeter(plainText, getTokenizer('o200k_base'));
  return new TokenBatch(entries, -1, 'end', false, Number.POSITIVE_INFINITY, plainMeter, 0, 0);
}

function isBatchLike(value: unknown): value is Batch<unknown> {
  return typeof value === 'object' && value !== null && Array.isArray((value as Batch<unknown>).items);
}

class MergeCore<T, R> extends CoreBase<unknown> {
  readonly #handler: BatchHandler<T, R>;
  readonly #settings: Settings<T>;
  readonly #ordered: boolean;
  readonly #queue: TokenBatch<T>[] = [];
  readonly #held = new Map<number, Slot | typeof LOOSE>();
  readonly #controllers = new Set<AbortController>();
  readonly #timers = new Set<Subscription>();
  readonly #sleepers = new Set<() => void>();
  readonly #waiting = new Set<DuplicateNotice<T>>();
  readonly #telemetry: Telemetry;
  #open = 0;
  #running = 0;
  #loose = 0;
  #ended = false;
  #sourceError: { error: unknown } | undefined;

  constructor(handler: BatchHandler<T, R>, settings: Settings<T>, sink: Sink<unknown>, link: Link | undefined) {
    super(sink);
    this.#handler = handler;
    this.#settings = settings;
    this.#ordered = link?.holdsOutcomes === true;
    this.#telemetry = new Telemetry(settings.telemetry, 'merge');
    if (link) link.release = (index) => this.#release(index);
  }

  accepts(): boolean {
    if (this.done || this.#queue.length > 0) return false;
    const { concurrency } = this.#settings;
    return (this.#open < concurrency && this.#loose < concurrency * LOOSE_PER_SLOT) || this.#running === 0;
  }

  /**
   * Whether another batch may start. Handler calls never exceed `concurrency`. Under orderedResults a
   * finished batch keeps its slot until its outcomes are let go, so a slow head pauses intake; but
   * when nothing is running at all, the head itself must still be waiting upstream (groupByLength
   * reorders): one more batch goes, so the chain always makes progress.
   */
  #canStart(): boolean {
    const { concurrency } = this.#settings;
    return this.#running < concurrency && (this.#open < concurrency || this.#running === 0);
  }

  push(input: unknown): void {
    if (this.done || this.#ended) return;
    if (input instanceof TokenBatch) this.#enqueue(input as TokenBatch<T>);
    else if (input instanceof ItemFailure) {
      const failure = input as ItemFailure<T>;
      this.#settle(failure.envelope, { ok: false, error: asError(failure.error), attempts: 0, depth: 0 }, undefined);
    } else if (input instanceof DuplicateNotice) this.#duplicate(input as DuplicateNotice<T>);
    else if (input instanceof Envelope) this.#enqueue(adoptBatch([(input as Envelope<T>).item], { next: (input as Envelope<T>).index }, 0) as TokenBatch<T>);
    else this.#enqueue(adoptBatch(input, { next: 0 }, 0) as TokenBatch<T>);
  }

  end(): void {
    this.#ended = true;
    this.#checkDone();
  }

  override fail(error: unknown): void {
    // Work already received still gets its outcomes; then the source's error.
    this.#sourceError = { error };
    this.#ended = true;
    this.#checkDone();
  }

  override dispose(): void {
    super.dispose();
    this.#cancelAll();
  }

  /** Abort in-flight handlers, clear timers and wake sleepers; queued batches are dropped. */
  #cancelAll(): void {
    this.#queue.length = 0;
    for (const controller of this.#controllers) controller.abort(new AbortError('the consumer went away'));
    for (const timer of this.#timers) timer.unsubscribe();
    for (const wake of this.#sleepers) wake();
    this.#controllers.clear();
    this.#timers.clear();
    this.#sleepers.clear();
  }

  #enqueue(batch: TokenBatch<T>): void {
    if (this.#queue.length >= this.#settings.maxQueuedBatches && !this.#canStart()) {
      const error = new QueueOverflowError(`mergeBatches: more than maxQueuedBatches (${this.#settings.maxQueuedBatches}) batches waiting`);
      if (this.#settings.overflow === 'error') return this.terminate(error);
      for (const entry of batch.entries) this.#settle(entry, { ok: false, error, attempts: 0, depth: batch.splitDepth }, undefined);
      return;
    }
    this.#telemetry.itemsIn(batch.entries.length);
    this.#queue.push(batch);
    this.#pump();
  }

  #pump(): void {
    while (!this.done && this.#queue.length > 0 && this.#canStart()) {
      const batch = this.#queue.shift() as TokenBatch<T>;
      const slot: Slot = { running: true, unreleased: 0, freed: false };
      this.#open++;
      this.#running++;
      this.#telemetry.inFlight(1);
      this.#runSlot(batch, slot).catch((error: unknown) => this.terminate(error));
    }
  }

  async #runSlot(batch: TokenBatch<T>, slot: Slot): Promise<void> {
    try {
      await this.#solve(batch, (entries, results) => {
        entries.forEach((entry, i) => this.#settle(entry, results[i] as ItemResult, slot));
        this.sink.flush();
      });
    } finally {
      this.#telemetry.inFlight(-1);
    }
    slot.running = false;
    this.#running--;
    this.#maybeFree(slot);
    this.#pump();
    this.sink.wake();
    this.#checkDone();
    this.sink.flush();
  }

  /**
   * Process a batch and deliver one result per entry: as it is, or, when the model refuses it as
   * too long and splitOnOverflow allowed it, split in halves (recursively) or, for a single item,
   * cut into chunks whose results are merged.
   */
  async #solve(unit: TokenBatch<T>, deliver: (entries: readonly Envelope<T>[], results: readonly ItemResult[]) => void): Promise<void> {
    if (this.done) return;
    if (unit.oversize && unit.entries.length === 1 && unit.split?.chunk) {
      // Known to be too long before sending: chunk it without spending a call on a refusal.
      const refusal = new ContextOverflowError(`item ${(unit.entries[0] as Envelope<T>).index} exceeds maxTokens (${unit.maxTokens}) even alone`);
      deliver(unit.entries, [await this.#chunked(unit, { ok: false, error: refusal, attempts: 0 })]);
      return;
    }
    const attempt = await this.#attempts(unit);
    if (this.done) return;
    const depth = unit.splitDepth;
    if (attempt.ok) {
      deliver(unit.entries, attempt.values.map((value) => ({ ok: true, value, attempts: attempt.attempts, depth })));
      return;
    }
    const policy = unit.split;
    if (attempt.error instanceof ContextOverflowError && policy && depth < policy.maxSplitDepth) {
      if (unit.entries.length > 1) {
        this.#telemetry.split();
        const [left, right] = halve(unit.entries, unit.meter);
        await this.#solve(unit.part(left), deliver);
        await this.#solve(unit.part(right), deliver);
        return;
      }
      if (policy.chunk) {
        this.#telemetry.split();
        deliver(unit.entries, [await this.#chunked(unit, attempt)]);
        return;
      }
    }
    deliver(
      unit.entries,
      unit.entries.map(() => ({ ok: false, error: attempt.error, attempts: attempt.attempts, depth })),
    );
  }

  /** One item too long even alone: process its text in overlapping chunks and merge the results. */
  async #chunked(unit: TokenBatch<T>, refused: AttemptResult & { ok: false }): Promise<ItemResult> {
    const entry = unit.entries[0] as Envelope<T>;
    const policy = unit.split as NonNullable<TokenBatch<T>['split']>;
    const chunk = policy.chunk as NonNullable<typeof policy.chunk>;
    const failed: ItemResult = { ok: false, error: refused.error, attempts: refused.attempts, depth: unit.splitDepth };
    let text: string;
    let tokens: number;
    try {
      text = unit.meter.text(entry);
      tokens = unit.meter.exact(entry);
    } catch (error) {
      return { ...failed, error: asError(error) };
    }
    // Chunks fit our budget; when the model refused an item we thought fit, also half of that item.
    const room = policy.maxTokens - unit.batchOverheadTokens - unit.itemOverheadTokens;
    const budget = refused.attempts === 0 ? room : Math.min(room, Math.ceil(tokens / 2));
    const pieces = budget >= 1 ? chunkText(text, budget, chunk.overlapTokens, unit.meter.tokenizer) : [];
    if (pieces.length < 2) return failed;
    const values: unknown[] = [];
    let attempts = refused.attempts;
    let depth = unit.splitDepth + 1;
    for (const [i, piece] of pieces.entries()) {
      let item: T;
      try {
        item = chunk.toItem(piece, entry.item, i) as T;
      } catch (error) {
        return { ...failed, error: asError(error) };
      }
      const chunkEntry = new Envelope(entry.index, item, entry.arrivedAt);
      // A chunk arrived with its item: its spans link where the item arrived, not where it was cut.
      chunkEntry.spanContext = entry.spanContext;
      const part = unit.part([chunkEntry]);
      let result: ItemResult | undefined;
      await this.#solve(part, (_, results) => (result = results[0]));
      if (!result) return { ...failed, error: new AbortError('cancelled') };
      attempts += result.attempts;
      depth = Math.max(depth, result.depth);
      if (!result.ok) return { ...result, attempts, depth };
      values.push(result.value);
    }
    try {
      return { ok: true, value: chunk.merge(values, entry.item), attempts, depth };
    } catch (error) {
      return { ok: false, error: asError(error), attempts, depth };
    }
  }

  /** Call the handler until it succeeds, fails for good, or the model refuses the batch as too long. */
  async #attempts(unit: TokenBatch<T>): Promise<AttemptResult> {
    const { retry, limiter, timeoutMs, scheduler } = this.#settings;
    for (let attempt = 1; ; attempt++) {
      const controller = new AbortController();
      this.#controllers.add(controller);
      let timer: Subscription | undefined;
      let grant: RateLimitGrant | undefined;
      let span: AttemptSpan | undefined;
      const facts: AttemptFacts = {};
      try {
        if (limiter) {
          const asked = scheduler.now();
          grant = await limiter.acquire(this.#weight(unit), controller.signal);
          if (scheduler.now() > asked) this.#telemetry.rateLimitWaited();
        }
        // Cancelled while it waited its turn: the handler must not be called at all.
        controller.signal.throwIfAborted();
        span = this.#telemetry.startAttempt(unit, attempt, scheduler.now());
        if (timeoutMs !== undefined) {
          timer = scheduler.schedule(() => controller.abort(new TimeoutError(`attempt ${attempt} took longer than timeoutMs (${timeoutMs} ms)`)), timeoutMs);
          this.#timers.add(timer);
        }
        const context: HandlerContext = {
          signal: controller.signal,
          attempt,
          splitDepth: unit.splitDepth,
          report: (reported) => {
            if (reported.usage && grant) grant.settle(reported.usage.inputTokens + reported.usage.outputTokens);
            if (reported.rateLimit) limiter?.observe(reported.rateLimit);
            if (reported.usage) facts.usage = reported.usage;
            if (reported.model) facts.model = reported.model;
            if (reported.operation) facts.operation = reported.operation;
          },
        };
        const running = span;
        const values = await handlerResult(running.run(() => this.#handler(unit, context)), controller.signal);
        if (!Array.isArray(values) || values.length !== unit.entries.length) {
          const received = Array.isArray(values) ? values.length : 0;
          throw new BatchResultMismatchError(`the handler returned ${received} results for ${unit.entries.length} items`, unit.entries.length, received);
        }
        span.end(undefined, facts, scheduler.now());
        span = undefined;
        return { ok: true, values, attempts: attempt };
      } catch (raw) {
        const error = this.#classify(raw);
        span?.end(error, facts, scheduler.now());
        span = undefined;
        if (this.done || error instanceof ContextOverflowError) return { ok: false, error, attempts: attempt };
        if (error instanceof RateLimitError && error.retryAfterMs !== undefined) limiter?.pause(error.retryAfterMs);
        if (attempt >= retry.maxAttempts || !retry.retryable(error)) return { ok: false, error, attempts: attempt };
        this.#telemetry.retried();
        await this.#sleep(retry.delay(attempt, error));
        if (this.done) return { ok: false, error: new AbortError('the consumer went away'), attempts: attempt };
      } finally {
        if (timer) {
          timer.unsubscribe();
          this.#timers.delete(timer);
        }
        this.#controllers.delete(controller);
      }
    }
  }

  #weight(unit: TokenBatch<T>): number {
    const estimate = this.#settings.estimateTokens;
    try {
      return estimate ? estimate(unit) : unit.tokens;
    } catch {
      return 0;
    }
  }

  #classify(raw: unknown): Error {
    const classify = this.#settings.classifyError;
    if (classify && !(raw instanceof TokenbatchError)) {
      try {
        return asError(classify(raw));
      } catch (error) {
        return asError(error);
      }
    }
    return asError(raw);
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        this.#sleepers.delete(wake);
        this.#timers.delete(timer);
        resolve();
      };
      this.#sleepers.add(wake);
      const timer = this.#settings.scheduler.schedule(wake, ms);
      this.#timers.add(timer);
    });
  }

  #settle(entry: Envelope<T>, result: ItemResult, slot: Slot | undefined): void {
    if (this.done) return;
    const base = { index: entry.index, item: entry.item, splitDepth: result.depth, attempts: result.attempts };
    const outcome: Outcome<T, R> = result.ok ? { ...base, ok: true, value: result.value as R } : { ...base, ok: false, error: result.error };
    entry.outcome = outcome;
    if (this.#telemetry.metrics) this.#telemetry.outcome(outcome, entry.arrivedAt, this.#settings.scheduler.now());
    this.#emit(outcome, slot);
    const waiters = entry.waiters;
    entry.waiters = undefined;
    for (const notice of waiters ?? []) {
      this.#waiting.delete(notice);
      this.#emitDuplicate(notice, outcome);
    }
    if (!outcome.ok && this.#settings.failFast) this.terminate(outcome.error);
  }

  #duplicate(notice: DuplicateNotice<T>): void {
    const settled = notice.representative.outcome;
    if (settled) return this.#emitDuplicate(notice, settled as Outcome<T, R>);
    (notice.representative.waiters ??= []).push(notice);
    this.#waiting.add(notice);
  }

  #emitDuplicate(notice: DuplicateNotice<T>, of: Outcome<T, R>): void {
    const base = { index: notice.envelope.index, item: notice.envelope.item, duplicateOf: of.index, splitDepth: 0, attempts: 0 };
    const outcome: Outcome<T, R> = of.ok ? { ...base, ok: true, value: of.value } : { ...base, ok: false, error: of.error };
    notice.envelope.outcome = outcome;
    if (this.#telemetry.metrics) this.#telemetry.outcome(outcome, notice.envelope.arrivedAt, this.#settings.scheduler.now());
    this.#emit(outcome, undefined);
  }

  #emit(outcome: Outcome<T, R>, slot: Slot | undefined): void {
    if (this.#ordered) {
      this.#held.set(outcome.index, slot ?? LOOSE);
      if (slot) slot.unreleased++;
      else this.#loose++;
    }
    this.sink.emit(outcome);
  }

  #release(index: number): void {
    const holder = this.#held.get(index);
    if (holder === undefined) return;
    this.#held.delete(index);
    if (holder === LOOSE) {
      this.#loose--;
      this.sink.wake();
    } else {
      holder.unreleased--;
      this.#maybeFree(holder);
    }
  }

  #maybeFree(slot: Slot): void {
    if (slot.freed || slot.running || slot.unreleased > 0) return;
    slot.freed = true;
    this.#open--;
    this.#pump();
    this.sink.wake();
  }

  #checkDone(): void {
    if (this.done || !this.#ended || this.#queue.length > 0 || this.#running > 0) return;
    // Duplicates whose representative never reached this operator (something between dropped it)
    // still get an outcome: an explicit error, never silence.
    for (const notice of [...this.#waiting]) {
      this.#waiting.delete(notice);
      const error = new TokenbatchError(`item ${notice.envelope.index} is a duplicate of item ${notice.representative.index}, which never reached mergeBatches`);
      this.#emitDuplicate(notice, { index: notice.representative.index, item: notice.representative.item, ok: false, error, splitDepth: 0, attempts: 0 });
    }
    if (this.#sourceError) this.terminate(this.#sourceError.error);
    else this.finish();
  }

  /** Failing the stream (failFast, overflow, a bug) also cancels the work still in flight. */
  protected override terminate(error: unknown): void {
    if (this.done) return;
    this.#cancelAll();
    super.terminate(error);
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new TokenbatchError(typeof error === 'string' ? error : 'non-error thrown', { cause: error });
}

/** The operator's logic for both faces. */
export function mergeBatchesSpec<T, R>(handler: BatchHandler<T, R>, options?: MergeBatchesOptions<T>): OperatorSpec<unknown, unknown, Outcome<T, R>> {
  if (typeof handler !== 'function') throw new TypeError('handler: expected a function (batch, context) => Promise<results>');
  const settings = parseSettings(options);
  return {
    create: (sink, link) => new MergeCore<T, R>(handler, settings, sink, link),
    adopt: (value, numbering) => adoptBatch(value, numbering, settings.scheduler.now()),
    reveal: (output) => output as Outcome<T, R>,
  };
}

/**
 * Processes batches concurrently with `handler`, and emits one {@link Outcome} per item, in
 * completion order: its result, or an explicit error after retries. A failure never ends the
 * stream (unless `failFast`).
 *
 * The handler gets each batch with `{ signal, attempt, splitDepth, report }` and returns one result
 * per item, in order (a Promise, Observable or AsyncIterable of that array); a different count fails
 * the batch's items with `BatchResultMismatchError` rather than misaligning them. Concurrency is a
 * sliding window; attempts are retried with exponential backoff and full jitter, honouring a rate
 * limit's `retryAfterMs`; `timeoutMs` aborts an attempt's `signal`; `rateLimit` spaces requests and
 * tokens. Unsubscribing aborts every in-flight handler's `signal` and clears all timers.
 *
 * Placed after `bufferByTokens` (or `groupByLength`, `splitOnOverflow`), it numbers outcomes by the
 * items' positions in the chain's input; fed plain arrays, it numbers their items itself.
 *
 * @example
 * ```ts
 * import { from } from 'rxjs';
 * import { bufferByTokens, mergeBatches, orderedResults } from 'tokenbatch';
 *
 * from(tickets)
 *   .pipe(
 *     bufferByTokens({ maxTokens: 4000, maxWaitMs: 200 }),
 *     mergeBatches(async (batch, { signal }) => classifyAll(batch.items, signal), { concurrency: 4, timeoutMs: 30_000 }),
 *     orderedResults(),
 *   )
 *   .subscribe((outcome) => console.log(outcome.index, outcome.ok ? outcome.value : outcome.error.name));
 * ```
 */
export function mergeBatches<T, R>(handler: BatchHandler<T, R>, options?: MergeBatchesOptions<T>): OperatorFunction<Batch<T> | readonly T[], Outcome<T, R>> {
  return rxOperator(mergeBatchesSpec(handler, options));
}
