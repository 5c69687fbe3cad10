import type OpenAI from 'openai';
import type { SchedulerLike, Subscription } from 'rxjs';
import { AbortError, RateLimitError, TransientError } from '../../errors.js';
import { isRetryable } from '../../retry.js';
import { parseOutputLines, type OutputLine } from './batch-lines.js';
import { classifyOpenAIError, OpenAIRequestError } from './errors.js';

/** A handler call waiting for its request's output line. */
export interface Waiter {
  readonly customId: string;
  /** The handler call's attempt: a retry never takes a finished answer again, it asks anew. */
  readonly attempt: number;
  resolve(line: OutputLine): void;
  reject(error: Error): void;
  /**
   * For a call re-attached to a batch of an earlier run: that batch ended without an answer for it
   * (expired, cancelled, failed), so the request goes into a new file instead of failing.
   */
  resubmit?(): void;
}

/** How a tracker polls, and what it does when every waiting call has gone. */
export interface TrackerSettings {
  readonly pollIntervalMs: number;
  readonly maxPollIntervalMs: number;
  readonly maxPollFailures: number;
  readonly cancelOnAbort: boolean;
  readonly scheduler: SchedulerLike;
}

/**
 * A Batch API batch as a job's progress reports it: its id, status and request counts.
 *
 * @example
 * ```ts
 * const done = (batch: BatchSnapshot) => `${batch.id}: ${batch.completed + batch.failed}/${batch.total} (${batch.status})`;
 * ```
 */
export interface BatchSnapshot {
  readonly id: string;
  /** The API's status (`'validating'`, `'in_progress'`, ... `'completed'`), `'submitted'` before the first poll. */
  readonly status: string;
  readonly total: number;
  readonly completed: number;
  readonly failed: number;
}

const ENDED = new Set(['completed', 'expired', 'cancelled', 'failed']);

/**
 * One submitted Batch API batch: polls it with backoff while calls wait on it, downloads its output
 * and error files when it ends, and hands each waiting call its line. Stops polling (and cancels
 * the batch, with `cancelOnAbort`) when every waiting call has gone away.
 */
export class BatchTracker {
  #status = 'submitted';
  #counts = { total: 0, completed: 0, failed: 0 };
  readonly #waiters = new Map<string, Set<Waiter>>();
  /** Lines not yet handed out, once the batch has ended. */
  #results: Map<string, OutputLine> | undefined;
  #ended = false;
  #polling = false;
  #generation = 0;
  #timer: Subscription | undefined;
  #wake: (() => void) | undefined;
  readonly #abort = new AbortController();

  constructor(
    readonly id: string,
    /** The requests of the input file, in line order (the API reports failed lines by number). */
    readonly customIds: readonly string[],
    /** Submitted in this run, or found in the state an earlier run saved (then polled at once). */
    readonly origin: 'submitted' | 'earlier run',
    readonly client: OpenAI,
    readonly settings: TrackerSettings,
    readonly onChange: () => void,
  ) {
    this.#counts.total = customIds.length;
    if (origin === 'earlier run') this.#status = 'reattaching';
  }

  get ended(): boolean {
    return this.#ended;
  }

  snapshot(): BatchSnapshot {
    return { id: this.id, status: this.#status, ...this.#counts };
  }

  /**
   * Adds a waiting call. Returns false when the batch has ended without a usable answer for it (the
   * caller then submits the request anew): a failure, or an answer taken already or by a retry.
   */
  attach(waiter: Waiter): boolean {
    if (this.#ended) {
      const line = this.#results?.get(waiter.customId);
      if (!line || line.response?.status_code !== 200 || waiter.attempt > 1) return false;
      this.#results!.delete(waiter.customId);
      waiter.resolve(line);
      return true;
    }
    let set = this.#waiters.get(waiter.customId);
    if (!set) this.#waiters.set(waiter.customId, (set = new Set()));
    set.add(waiter);
    if (!this.#polling) void this.#poll(this.#status === 'reattaching' ? 0 : this.settings.pollIntervalMs);
    return true;
  }

  /** A waiting call went away; the last one stops the polling and, with `cancelOnAbort`, cancels the batch. */
  detach(waiter: Waiter): void {
    const set = this.#waiters.get(waiter.customId);
    if (!set?.delete(waiter)) return;
    if (set.size === 0) this.#waiters.delete(waiter.customId);
    if (this.#waiters.size > 0 || this.#ended) return;
    this.#stop();
    if (this.settings.cancelOnAbort) void this.cancel();
  }

  /** Asks the API to cancel the batch; the API keeps the answers it has, in the output file. */
  async cancel(): Promise<void> {
    if (this.#ended) return;
    try {
      const batch = await this.client.batches.cancel(this.id, { maxRetries: 0 });
      this.#update(batch);
    } catch {
      // The batch may have ended meanwhile; nothing waits on it any more either way.
      this.#status = 'cancel failed';
    }
    this.onChange();
  }

  /** Stops polling and fails every waiting call with `error` (the job is closing). */
  close(error: Error): void {
    this.#abort.abort(error);
    this.#fail(error);
  }

  /** Stops polling and fails every waiting call; a later call may attach and poll again. */
  #fail(error: Error): void {
    this.#stop();
    const waiters = [...this.#waiters.values()].flatMap((set) => [...set]);
    this.#waiters.clear();
    for (const waiter of waiters) waiter.reject(error);
  }

  #stop(): void {
    this.#polling = false;
    this.#timer?.unsubscribe();
    this.#wake?.();
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve;
      this.#timer = this.settings.scheduler.schedule(() => resolve(), ms);
    });
  }

  async #poll(firstDelayMs: number): Promise<void> {
    this.#polling = true;
    // A loop stopped while a request was out must not go on beside the next one.
    const generation = ++this.#generation;
    const current = () => this.#polling && generation === this.#generation;
    let delay = firstDelayMs;
    let failures = 0;
    while (current()) {
      if (delay > 0) await this.#sleep(delay);
      if (!current()) return;
      delay = Math.min(this.settings.maxPollIntervalMs, Math.max(this.settings.pollIntervalMs, delay * 1.5));
      try {
        const batch = await this.client.batches.retrieve(this.id, { signal: this.#abort.signal, maxRetries: 0 });
        this.#update(batch);
        this.onChange();
        if (!ENDED.has(batch.status)) continue;
        const results = await this.#download(batch);
        if (current()) this.#end(batch, results);
        return;
      } catch (error) {
        if (!current()) return;
        const mapped = classifyOpenAIError(error);
        // A poll or download that fails once is tried again: the batch itself is fine.
        if (isRetryable(mapped) && ++failures < this.settings.maxPollFailures) continue;
        this.#fail(mapped);
        return;
      }
    }
  }

  #update(batch: OpenAI.Batches.Batch): void {
    this.#status = batch.status;
    const counts = batch.request_counts;
    if (counts && counts.total > 0) this.#counts = { total: counts.total, completed: counts.completed, failed: counts.failed };
  }

  async #download(batch: OpenAI.Batches.Batch): Promise<Map<string, OutputLine>> {
    const results = new Map<string, OutputLine>();
    for (const fileId of [batch.output_file_id, batch.error_file_id]) {
      if (!fileId) continue;
      const response = await this.client.files.content(fileId, { signal: this.#abort.signal, maxRetries: 0 });
      parseOutputLines(await response.text(), results);
    }
    return results;
  }

  #end(batch: OpenAI.Batches.Batch, results: Map<string, OutputLine>): void {
    this.#ended = true;
    this.#polling = false;
    this.#results = results;
    const failures = batch.status === 'failed' ? this.#validationErrors(batch) : undefined;
    for (const [customId, set] of this.#waiters) {
      const line = results.get(customId);
      if (line) results.delete(customId);
      for (const waiter of set) {
        if (line?.response?.status_code === 200) waiter.resolve(line);
        else if (this.origin === 'earlier run' && waiter.resubmit) waiter.resubmit();
        else if (line) waiter.resolve(line);
        else waiter.reject(failures?.get(customId) ?? failures?.get('') ?? this.#missing(batch.status, customId));
      }
    }
    this.#waiters.clear();
    this.onChange();
  }

  #missing(status: string, customId: string): Error {
    const message = `openai batch ${this.id}: no output for request ${customId}`;
    if (status === 'cancelled') return new AbortError(`${message} (the batch was cancelled)`);
    if (status === 'expired') return new TransientError(`${message} (the batch expired before it ran)`);
    return new TransientError(message);
  }

  /** A batch that failed validation: the errors of numbered lines go to their requests, the first other one to the rest. */
  #validationErrors(batch: OpenAI.Batches.Batch): Map<string, Error> {
    const errors = new Map<string, Error>();
    const data = batch.errors?.data ?? [];
    for (const error of data) {
      const customId = typeof error.line === 'number' ? this.customIds[error.line - 1] : undefined;
      if (customId === undefined || errors.has(customId)) continue;
      errors.set(customId, classifyOpenAIError({ status: 400, error: { code: error.code, message: error.message, param: error.param ?? undefined }, message: error.message }));
    }
    const general = data.find((error) => typeof error.line !== 'number') ?? data[0];
    const text = `openai batch ${this.id} failed validation: ${general?.message ?? 'no reason given'} (${general?.code ?? 'unknown'})`;
    if (general?.code === 'token_limit_exceeded') errors.set('', new RateLimitError(text));
    else if (errors.size > 0) errors.set('', new TransientError(`${text}; this request was not at fault and may run in another batch`));
    else errors.set('', new OpenAIRequestError(text, 400, general?.code, undefined));
    return errors;
  }
}
