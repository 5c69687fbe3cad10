import type OpenAI from 'openai';
import { toFile } from 'openai';
import { asyncScheduler, type SchedulerLike, type Subscription } from 'rxjs';
import { AbortError } from '../../errors.js';
import { abortError } from '../../internal/abort.js';
import { optionalFunction, optionalPositive, OptionReader, requireObject, scheduler as schedulerOption } from '../../internal/options.js';
import type { Batch, HandlerContext } from '../../types.js';
import { BATCH_FILE_LIMITS, customIdOf, InputFile, lineError, requestLine, type OutputLine } from './batch-lines.js';
import { batchJobFileStore, type BatchJobState, type BatchJobStore } from './batch-state.js';
import { BatchTracker, type BatchSnapshot, type TrackerSettings, type Waiter } from './batch-tracker.js';
import { chatProtocol, embeddingsProtocol, type BatchProtocol } from './batch-protocols.js';
import { CHAT_REQUEST_KEYS, chatSettings, type ChatRequestOptions } from './chat-protocol.js';
import { CONNECTION_KEYS, makeClient, type OpenAIConnectionOptions } from './client.js';
import { EMBEDDINGS_REQUEST_KEYS, embeddingsSettings, type OpenAIEmbeddingsOptions } from './embeddings.js';
import { classifyOpenAIError } from './errors.js';

/**
 * Options of {@link openAIBatchJob}: the chat request (as for {@link openAIChat}), the connection,
 * and how requests are packed into files, submitted, polled and remembered.
 *
 * @example
 * ```ts
 * const options: OpenAIBatchJobOptions<string, string> = {
 *   model: 'gpt-4o-mini',
 *   prompt: 'Classify each support ticket as billing, bug, account or other.',
 *   stateFile: 'tickets.batch-state.json',
 * };
 * ```
 */
export interface OpenAIBatchJobOptions<T, R> extends OpenAIConnectionOptions, ChatRequestOptions<T, R>, BatchJobSettings {}

/**
 * Options of {@link openAIEmbeddingsBatchJob}: the embeddings request (as for
 * {@link openAIEmbeddings}), the connection, and the job settings.
 *
 * @example
 * ```ts
 * const options: OpenAIEmbeddingsBatchJobOptions<string> = { model: 'text-embedding-3-small', dimensions: 512, stateFile: 'docs.batch-state.json' };
 * ```
 */
export interface OpenAIEmbeddingsBatchJobOptions<T> extends OpenAIConnectionOptions, Omit<OpenAIEmbeddingsOptions<T>, keyof OpenAIConnectionOptions>, BatchJobSettings {}

/**
 * How a Batch API job packs, submits, polls and remembers its requests: the options every batch
 * job shares.
 *
 * @example
 * ```ts
 * const settings: BatchJobSettings = { stateFile: 'job.batch-state.json', pollIntervalMs: 30_000, cancelOnAbort: false };
 * ```
 */
export interface BatchJobSettings {
  /**
   * A JSON file where the job records the batches it submits (Node.js), so that a restarted job
   * re-attaches to them instead of submitting and paying again. Without it (and without `store`),
   * a restarted job submits everything anew.
   */
  stateFile?: string;
  /** Where to record submitted batches, instead of `stateFile` (see {@link BatchJobStore}). */
  store?: BatchJobStore;
  /** Most requests in one input file. Default and most 50,000 (the API's limit). */
  maxRequestsPerFile?: number;
  /** Most bytes in one input file. Default and most 200 MB (the API's limit). */
  maxFileBytes?: number;
  /**
   * How long a file waits for another request before it is submitted, in ms. Default 2,000. A file
   * is submitted at once when it is full; {@link OpenAIBatchJob.flush} submits it now.
   */
  collectMs?: number;
  /** The first wait before polling a batch, in ms; each further wait is 1.5 times longer. Default 5,000. */
  pollIntervalMs?: number;
  /** The longest wait between two polls, in ms. Default 60,000. */
  maxPollIntervalMs?: number;
  /** Consecutive failed polls or downloads (5xx, timeouts) before the waiting calls fail with the error. Default 5. */
  maxPollFailures?: number;
  /**
   * Cancel a batch when every call waiting on it has been aborted (the chain was unsubscribed).
   * Default true. With false the batch runs on, and a restarted job with the same state re-attaches.
   */
  cancelOnAbort?: boolean;
  /** Metadata on every batch (at most 15 keys; the job adds `tokenbatch_job`). */
  metadata?: Record<string, string>;
  /** A name for this job's batches, in their metadata and file names. Default `'tokenbatch'`. */
  jobName?: string;
  /** Called whenever a batch is submitted or polled, with the job's progress. */
  onProgress?: (progress: BatchJobProgress) => void;
  /** Where the timers of collection and polling come from. Default RxJS `asyncScheduler`. */
  scheduler?: SchedulerLike;
}

/**
 * Where an {@link OpenAIBatchJob} stands: its batches with the API's request counts, and the
 * requests still being packed.
 *
 * @example
 * ```ts
 * const line = (p: BatchJobProgress) => `${p.requests.completed + p.requests.failed}/${p.requests.total} requests, ${p.files} files`;
 * ```
 */
export interface BatchJobProgress {
  /** The batches this job submitted or re-attached to. */
  readonly batches: readonly BatchSnapshot[];
  /** Request counts over those batches, as the API reports them. */
  readonly requests: { readonly total: number; readonly completed: number; readonly failed: number };
  /** Input files uploaded by this job in this run. */
  readonly files: number;
  /** Requests waiting in the file being packed. */
  readonly collecting: number;
  /** Requests answered from batches submitted by an earlier run (re-attached). */
  readonly reattached: number;
}

/**
 * A job on OpenAI's Batch API: see {@link openAIBatchJob}.
 *
 * @example
 * ```ts
 * job.flush(); // submit what has been collected, now
 * console.log(job.progress().requests);
 * ```
 */
export interface OpenAIBatchJob<T, R> {
  /** The batch handler to give to `mergeBatches`: one call is one request of a Batch API file. */
  readonly handler: (batch: Batch<T>, context: HandlerContext) => Promise<readonly R[]>;
  /** Submits the requests collected so far now, without waiting for `collectMs`. */
  flush(): void;
  /** Where the job stands. */
  progress(): BatchJobProgress;
  /** Cancels every batch of this job still running and fails the calls waiting on them with an AbortError. */
  cancel(): Promise<void>;
  /** Stops polling without cancelling anything (the batches run on; a restarted job re-attaches) and fails the waiting calls with an AbortError. */
  close(): void;
}

const SETTINGS_KEYS = [
  'stateFile',
  'store',
  'maxRequestsPerFile',
  'maxFileBytes',
  'collectMs',
  'pollIntervalMs',
  'maxPollIntervalMs',
  'maxPollFailures',
  'cancelOnAbort',
  'metadata',
  'jobName',
  'onProgress',
  'scheduler',
];

/**
 * A batch handler on OpenAI's Batch API, for latency-tolerant file jobs at half the real-time
 * price. Each handler call is one chat request, built exactly as {@link openAIChat} builds it; the
 * calls in flight are packed as lines of a JSONL input file (at most 50,000 requests and 200 MB a
 * file), which is uploaded (`/v1/files`, purpose `batch`) and submitted (`/v1/batches`, window
 * 24 h) once it is full or no call has come for `collectMs`. The batch is polled with backoff
 * (`pollIntervalMs`, times 1.5, up to `maxPollIntervalMs`); when it ends, its output and error
 * files are downloaded and each call gets its own request's answer by `custom_id`.
 *
 * **Per-item results**, as {@link openAIChat}: answered items keep their answers; items the answer
 * left out get a {@link BatchResultMismatchError} each (no repair request inside a batch: the
 * operator's retry sends them in a later file); a refusal or an answer with nothing usable throws a
 * {@link BatchRejectedError}. A request the API failed (its line in the error file) throws its
 * mapped error ({@link classifyOpenAIError}); one that did not run because the batch expired throws
 * a retryable `TransientError`, so `mergeBatches` submits it again; a batch cancelled elsewhere
 * fails its calls with an `AbortError`; one that failed validation fails the requests on the lines
 * it names with their error, and the others with a retryable error.
 *
 * **Restarts.** A request's `custom_id` is a hash of its body, and with `stateFile` (or `store`) the
 * job records which batch holds each request when it submits one. A job restarted over the same
 * input forms the same requests and re-attaches to those batches (polls them, reads their output)
 * instead of submitting again; requests whose batch ended without an answer for them are submitted
 * anew. A retry (attempt 2 and later) never re-reads a finished answer.
 *
 * **Abort.** When every call waiting on a batch is aborted (the chain is unsubscribed), the batch is
 * cancelled (`cancelOnAbort`, default true) or left running for a restart (false).
 *
 * Use it with `mergeBatches({ concurrency })` set to the requests you want in flight (a file holds
 * at most that many), without `timeoutMs` (a batch may take up to 24 hours), and `retry` for the
 * requests that expire. Memory: the file being packed (at most `maxFileBytes`) and, when a batch
 * ends, its downloaded output until each line is handed to its call.
 *
 * @example
 * ```ts
 * import { from } from 'rxjs';
 * import { bufferByTokens, mergeBatches, orderedResults } from 'tokenbatch';
 * import { openAIBatchJob } from 'tokenbatch/openai';
 *
 * const job = openAIBatchJob({ model: 'gpt-4o-mini', prompt: 'Label each ticket.', stateFile: 'labels.batch-state.json' });
 * // from(tickets).pipe(bufferByTokens({ maxTokens: 4000 }), mergeBatches(job.handler, { concurrency: 10_000 }), orderedResults())
 * ```
 */
export function openAIBatchJob<T = string, R = string>(options: OpenAIBatchJobOptions<T, R>): OpenAIBatchJob<T, R> {
  const owner = 'openAIBatchJob';
  const raw = requireObject(options, owner) as Partial<OpenAIBatchJobOptions<T, R>>;
  new OptionReader(owner, raw, [...CONNECTION_KEYS, ...CHAT_REQUEST_KEYS, ...SETTINGS_KEYS]);
  return new BatchJob<T, R>(raw, chatProtocol(chatSettings<T, R>(raw, owner)), owner);
}

/**
 * {@link openAIBatchJob} for the embeddings endpoint: each handler call is one embeddings request,
 * built exactly as {@link openAIEmbeddings} builds it, packed into Batch API files (at most 50,000
 * embedding inputs over a file's requests, the API's limit, besides 50,000 requests and 200 MB).
 * Each item gets its vector (a `Float32Array`) matched by index, or its own error: an empty text,
 * an input above `maxInputTokens`, an index the answer misses. Restarts, aborts, failures and
 * memory are as for {@link openAIBatchJob}.
 *
 * @example
 * ```ts
 * import { openAIEmbeddingsBatchJob } from 'tokenbatch/openai';
 *
 * const job = openAIEmbeddingsBatchJob({ model: 'text-embedding-3-small', stateFile: 'docs.batch-state.json' });
 * // from(documents).pipe(bufferByTokens({ maxTokens: 300_000, maxItems: 2048, tokenizer: 'cl100k_base' }), mergeBatches(job.handler, { concurrency: 100 }))
 * ```
 */
export function openAIEmbeddingsBatchJob<T = string>(options: OpenAIEmbeddingsBatchJobOptions<T>): OpenAIBatchJob<T, Float32Array> {
  const owner = 'openAIEmbeddingsBatchJob';
  const raw = requireObject(options, owner) as Partial<OpenAIEmbeddingsBatchJobOptions<T>>;
  new OptionReader(owner, raw, [...CONNECTION_KEYS, ...EMBEDDINGS_REQUEST_KEYS, ...SETTINGS_KEYS]);
  return new BatchJob<T, Float32Array>(raw, embeddingsProtocol(embeddingsSettings<T>(raw, owner)), owner);
}

class BatchJob<T, R> implements OpenAIBatchJob<T, R> {
  readonly handler: (batch: Batch<T>, context: HandlerContext) => Promise<readonly R[]>;
  readonly #protocol: BatchProtocol<T, R>;
  readonly #owner: string;
  readonly #client: OpenAI;
  readonly #tracker: TrackerSettings;
  readonly #store: BatchJobStore | undefined;
  readonly #limits: { maxRequests: number; maxBytes: number };
  readonly #collectMs: number;
  readonly #metadata: Record<string, string>;
  readonly #jobName: string;
  readonly #onProgress: ((progress: BatchJobProgress) => void) | undefined;
  /** Every batch known to this job, submitted or found in the saved state. */
  readonly #trackers = new Map<string, BatchTracker>();
  /** Which batch holds each request (the latest submission wins). */
  readonly #batchOf = new Map<string, string>();
  #state: BatchJobState = { version: 1, batches: [] };
  #ready: Promise<void> | undefined;
  #saving: Promise<void> = Promise.resolve();
  #hashing: Promise<void> = Promise.resolve();
  #file: InputFile;
  /** The calls whose requests are in the file being packed. */
  #fileCalls = new Map<string, Call>();
  /** Requests with a call waiting, wherever it is. */
  readonly #waiting = new Set<string>();
  #collectTimer: Subscription | undefined;
  #files = 0;
  #reattached = 0;
  #closed: Error | undefined;

  constructor(raw: Partial<BatchJobSettings & OpenAIConnectionOptions>, protocol: BatchProtocol<T, R>, owner: string) {
    const OWNER = owner;
    this.#protocol = protocol;
    this.#owner = owner;
    const maxRequests = optionalPositive(raw.maxRequestsPerFile, `${OWNER}: maxRequestsPerFile`, { integer: true, min: 1 }) ?? BATCH_FILE_LIMITS.maxRequests;
    const maxBytes = optionalPositive(raw.maxFileBytes, `${OWNER}: maxFileBytes`, { integer: true, min: 1 }) ?? BATCH_FILE_LIMITS.maxBytes;
    if (maxRequests > BATCH_FILE_LIMITS.maxRequests)
      throw new RangeError(`${OWNER}: maxRequestsPerFile: expected a number <= ${BATCH_FILE_LIMITS.maxRequests}, got ${maxRequests}`);
    if (maxBytes > BATCH_FILE_LIMITS.maxBytes) throw new RangeError(`${OWNER}: maxFileBytes: expected a number <= ${BATCH_FILE_LIMITS.maxBytes}, got ${maxBytes}`);
    this.#limits = { maxRequests, maxBytes };
    this.#file = this.#newFile();
    this.#collectMs = optionalPositive(raw.collectMs, `${OWNER}: collectMs`) ?? 2000;
    const pollIntervalMs = optionalPositive(raw.pollIntervalMs, `${OWNER}: pollIntervalMs`) ?? 5000;
    this.#tracker = {
      pollIntervalMs,
      maxPollIntervalMs: Math.max(pollIntervalMs, optionalPositive(raw.maxPollIntervalMs, `${OWNER}: maxPollIntervalMs`) ?? 60_000),
      maxPollFailures: optionalPositive(raw.maxPollFailures, `${OWNER}: maxPollFailures`, { integer: true, min: 1 }) ?? 5,
      cancelOnAbort: booleanOption(raw.cancelOnAbort, `${OWNER}: cancelOnAbort`, true),
      scheduler: raw.scheduler === undefined ? asyncScheduler : schedulerOption(raw.scheduler, `${OWNER}: scheduler`),
    };
    if (raw.stateFile !== undefined && raw.store !== undefined) throw new TypeError(`${OWNER}: stateFile and store: pass one, not both`);
    if (raw.store !== undefined && (typeof raw.store?.load !== 'function' || typeof raw.store.save !== 'function')) {
      throw new TypeError(`${OWNER}: store: expected an object with load() and save()`);
    }
    this.#store = raw.store ?? (raw.stateFile === undefined ? undefined : batchJobFileStore(raw.stateFile));
    this.#jobName = raw.jobName ?? 'tokenbatch';
    if (typeof this.#jobName !== 'string' || !/^[\w.-]{1,64}$/.test(this.#jobName)) throw new TypeError(`${OWNER}: jobName: expected 1 to 64 letters, digits, '_', '-' or '.'`);
    const metadata = raw.metadata ?? {};
    if (typeof metadata !== 'object' || metadata === null || Object.values(metadata).some((value) => typeof value !== 'string') || Object.keys(metadata).length > 15) {
      throw new TypeError(`${OWNER}: metadata: expected at most 15 string values`);
    }
    this.#metadata = { ...metadata, tokenbatch_job: this.#jobName };
    this.#onProgress = optionalFunction(raw.onProgress, `${OWNER}: onProgress`);
    this.#client = makeClient(raw, OWNER, ['files', 'batches']);
    this.handler = (batch, context) => this.#handle(batch, context);
  }

  #newFile(): InputFile {
    return new InputFile(this.#limits.maxRequests, this.#limits.maxBytes, this.#protocol.maxInputsPerFile);
  }

  flush(): void {
    this.#collectTimer?.unsubscribe();
    this.#collectTimer = undefined;
    void this.#submit();
  }

  progress(): BatchJobProgress {
    const batches = [...this.#trackers.values()].map((tracker) => tracker.snapshot());
    const requests = { total: 0, completed: 0, failed: 0 };
    for (const batch of batches) {
      requests.total += batch.total;
      requests.completed += batch.completed;
      requests.failed += batch.failed;
    }
    return { batches, requests, files: this.#files, collecting: this.#file.lines.size, reattached: this.#reattached };
  }

  async cancel(): Promise<void> {
    const running = [...this.#trackers.values()].filter((tracker) => !tracker.ended);
    this.close(new AbortError(`${this.#owner}: cancelled`));
    await Promise.all(running.map((tracker) => tracker.cancel()));
  }

  close(reason: Error = new AbortError(`${this.#owner}: closed`)): void {
    this.#closed ??= reason;
    this.#collectTimer?.unsubscribe();
    for (const call of this.#fileCalls.values()) call.reject(reason);
    this.#fileCalls.clear();
    this.#file = this.#newFile();
    for (const tracker of this.#trackers.values()) tracker.close(reason);
  }

  #load(): Promise<void> {
    this.#ready ??= (async () => {
      const state = await this.#store?.load();
      if (!state) return;
      this.#state = state;
      for (const batch of state.batches) {
        for (const customId of batch.customIds) this.#batchOf.set(customId, batch.id);
      }
    })();
    return this.#ready;
  }

  async #handle(batch: Batch<T>, context: HandlerContext): Promise<readonly R[]> {
    const { signal } = context;
    if (signal.aborted) throw abortError(signal);
    if (this.#closed) throw this.#closed;
    await this.#load();
    const prepared = this.#protocol.prepare(batch);
    const body = prepared.body;
    if (body === undefined) return prepared.results as R[];
    // Ids are hashed one after another, so that requests join their file in the order of the calls.
    const hashed = this.#hashing.then(() => customIdOf(body));
    this.#hashing = hashed.then(
      () => undefined,
      () => undefined,
    );
    const customId = this.#unique(await hashed);
    const line = await this.#answer(customId, requestLine(customId, this.#protocol.endpoint, body), prepared.inputs, context);
    if (!line.response || line.response.status_code !== 200) throw lineError(line);
    const answer = line.response.body as { model?: unknown } | null;
    const usage = this.#protocol.usage(answer);
    context.report({
      operation: this.#protocol.operation,
      ...(typeof answer?.model === 'string' ? { model: answer.model } : {}),
      ...(usage ? { usage } : {}),
    });
    return prepared.read(answer) as R[];
  }

  /** `customId`, or with a `~n` suffix while an identical request is waiting (ids are unique in a file). */
  #unique(customId: string): string {
    let candidate = customId;
    for (let n = 2; this.#waiting.has(candidate); n++) candidate = `${customId}~${n}`;
    return candidate;
  }

  /** Waits for the output line of request `customId`: from a batch that holds it already, else from a new file. */
  #answer(customId: string, line: string, inputs: number, context: HandlerContext): Promise<OutputLine> {
    const { signal } = context;
    if (signal.aborted) return Promise.reject(abortError(signal));
    if (this.#closed) return Promise.reject(this.#closed);
    this.#waiting.add(customId);
    return new Promise<OutputLine>((resolve, reject) => {
      const settle = (action: () => void) => {
        if (call.gone) return;
        call.gone = true;
        signal.removeEventListener('abort', onAbort);
        this.#waiting.delete(customId);
        action();
      };
      const call: Call = {
        customId,
        attempt: context.attempt,
        place: 'file',
        gone: false,
        resolve: (output) => settle(() => resolve(output)),
        reject: (error) => settle(() => reject(error)),
      };
      const onAbort = () => {
        const place = call.place;
        settle(() => reject(abortError(signal)));
        if (place === 'file') this.#leaveFile(call);
        else if (place instanceof BatchTracker) place.detach(call);
      };
      signal.addEventListener('abort', onAbort, { once: true });

      const tracker = this.#trackers.get(this.#batchOf.get(customId) ?? '') ?? this.#earlier(customId);
      if (tracker) {
        call.place = tracker;
        if (tracker.origin === 'earlier run') {
          call.resubmit = () => {
            this.#reattached--;
            call.place = 'file';
            this.#joinFile(call, line, inputs);
          };
        }
        if (tracker.attach(call)) {
          if (tracker.origin === 'earlier run') this.#reattached++;
          return;
        }
      }
      call.place = 'file';
      this.#joinFile(call, line, inputs);
    });
  }

  /** The tracker of a batch recorded by an earlier run, made on first use. */
  #earlier(customId: string): BatchTracker | undefined {
    const id = this.#batchOf.get(customId);
    const saved = id === undefined ? undefined : this.#state.batches.find((batch) => batch.id === id);
    if (!saved) return undefined;
    const tracker = new BatchTracker(saved.id, saved.customIds, 'earlier run', this.#client, this.#tracker, () => this.#progressed());
    this.#trackers.set(saved.id, tracker);
    return tracker;
  }

  #joinFile(call: Call, line: string, inputs: number): void {
    if (!this.#file.fits(line, inputs)) this.flush();
    this.#fileCalls.set(call.customId, call);
    this.#file.add(call.customId, line, inputs);
    if (this.#file.full) return this.flush();
    // Idle collection: the file goes once no call has come for collectMs.
    this.#collectTimer?.unsubscribe();
    this.#collectTimer = this.#tracker.scheduler.schedule(() => this.flush(), this.#collectMs);
  }

  #leaveFile(call: Call): void {
    if (this.#fileCalls.get(call.customId) !== call) return;
    this.#fileCalls.delete(call.customId);
    this.#file.remove(call.customId);
  }

  /** Uploads the file being packed and creates its batch; its calls then wait on the batch. */
  async #submit(): Promise<void> {
    const file = this.#file;
    const calls = [...this.#fileCalls.values()];
    if (file.lines.size === 0) return;
    this.#file = this.#newFile();
    this.#fileCalls = new Map();
    for (const call of calls) call.place = 'uploading';
    const customIds = [...file.lines.keys()];
    const number = ++this.#files;
    let tracker: BatchTracker;
    try {
      const upload = await toFile(new Blob([file.text()], { type: 'application/jsonl' }), `${this.#jobName}-${number}.jsonl`);
      const input = await this.#client.files.create({ file: upload, purpose: 'batch' }, { maxRetries: 0 });
      const created = await this.#client.batches.create(
        { input_file_id: input.id, endpoint: this.#protocol.endpoint, completion_window: '24h', metadata: this.#metadata },
        { maxRetries: 0 },
      );
      tracker = new BatchTracker(created.id, customIds, 'submitted', this.#client, this.#tracker, () => this.#progressed());
      this.#trackers.set(created.id, tracker);
      for (const customId of customIds) this.#batchOf.set(customId, created.id);
      await this.#record({ id: created.id, inputFileId: input.id, customIds });
    } catch (error) {
      const mapped = classifyOpenAIError(error);
      for (const call of calls) call.reject(mapped);
      return;
    }
    const live = calls.filter((call) => !call.gone);
    for (const call of live) {
      call.place = tracker;
      tracker.attach(call);
    }
    // Every call went away during the upload: nobody wants this batch.
    if (live.length === 0 && this.#tracker.cancelOnAbort) void tracker.cancel();
    this.#progressed();
  }

  #record(batch: BatchJobState['batches'][number]): Promise<void> {
    this.#state = { version: 1, batches: [...this.#state.batches, batch] };
    const state = this.#state;
    const store = this.#store;
    if (!store) return Promise.resolve();
    this.#saving = this.#saving.then(() => store.save(state));
    return this.#saving;
  }

  #progressed(): void {
    this.#onProgress?.(this.progress());
  }
}

/** A handler call waiting for its request's line, and where it waits. */
interface Call extends Waiter {
  place: BatchTracker | 'file' | 'uploading';
  gone: boolean;
}

function booleanOption(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new TypeError(`${name}: expected a boolean`);
  return value;
}
