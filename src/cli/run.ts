import { readdir, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { from } from 'ix/asynciterable';
import { simulatedModel, type SimulatedTask } from '../backends/simulated.js';
import { resolveTokenizer } from '../tokens/tokenizers.js';
import { bufferByTokens, dedupeSimilar, groupByLength, mergeBatches, orderedResults, splitOnOverflow } from '../iterable.js';
import type * as OpenAIBackend from '../openai.js';
import type { BatchHandler, EncodingName, Outcome } from '../types.js';
import { fatalReason } from './fatal.js';
import { fileFingerprint, headerDifferences, optionsFingerprint, type RunHeader } from './fingerprint.js';
import { countInput, itemText, notText, readItems, type InputItem } from './input.js';
import { OutputLock } from './lock.js';
import { createStats } from '../stats.js';
import { openCacheStore, runCacheIdentity, type CacheTarget, type OpenCache } from './cache-option.js';
import { CliError, missingPeer, headerLine, ResultLog, resultLine, rewriteInOrder, scanResults, type ExistingResults } from './output.js';
import { plural, Progress, type ProgressMode } from './progress.js';
import { startTelemetry } from './telemetry.js';

/**
 * Everything `tokenbatch run` needs, as parsed from its command line.
 *
 * @example
 * ```ts
 * const config: RunConfig = { ...defaults, input: 'items.jsonl', output: 'results.jsonl', backend: 'simulated', task: 'classify' };
 * ```
 */
export interface RunConfig {
  input: string;
  output: string;
  backend: 'openai' | 'openai-batch' | 'simulated';
  prompt?: string;
  model: string;
  baseURL?: string;
  apiKey?: string;
  responseFormat: OpenAIBackend.ChatResponseFormat;
  resultSchema?: Record<string, unknown>;
  task?: SimulatedTask;
  simLatencyMs?: number;
  simFailureRate: number;
  seed: number;
  maxTokens: number;
  maxItems: number;
  concurrency: number;
  rpm?: number;
  tpm?: number;
  timeoutMs: number;
  maxAttempts: number;
  textField: string;
  idField: string;
  tokenizer: EncodingName;
  progress: ProgressMode | 'auto';
  /** Send near-duplicate lines once; a duplicate gets its representative's result (opt-in reuse). */
  dedupe?: 'exact' | 'minhash';
  /** The least similarity of a duplicate (`minhash`: Jaccard of character 3-grams; default 0.7). */
  dedupeThreshold?: number;
  /** Batch lines of similar token length together (`groupByLength`) rather than in input order. */
  groupByLength?: boolean;
  /** Redo the lines whose result failed, then rewrite the output in input order. */
  retryFailed?: boolean;
  /** Resume even when the output was made from another input or with other settings. */
  ignoreFingerprint?: boolean;
  /** `--cache <path | redis://...>`: reuse results across runs and workers (successes only). */
  cache?: CacheTarget;
  /** `--backend openai-batch`: where submitted batches are recorded (default `<output>.batch-state.json`). */
  batchState?: string;
  /** `--backend openai-batch`: the first wait between polls. */
  pollIntervalMs?: number;
  /** `--backend openai-batch`: requests per input file (at most 50,000). */
  maxRequestsPerFile?: number;
  /** `--backend openai-batch`: cancel the batches when the run is interrupted (default: a rerun re-attaches). */
  cancelOnInterrupt?: boolean;
}

/**
 * Where a run talks to the world: stderr for progress and messages, and the process for signals.
 *
 * @example
 * ```ts
 * const io: RunIO = { stderr: process.stderr, signals: process, env: process.env };
 * ```
 */
export interface RunIO {
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  /** Emits `'SIGINT'` and `'SIGTERM'`. */
  readonly signals: NodeJS.EventEmitter;
  /** The environment, for the `OTEL_*` variables. Default: none (no telemetry). */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Exit codes of `tokenbatch run`.
 *
 * @example
 * ```ts
 * process.exitCode = await runJob(config, io); // EXIT.ok, EXIT.someFailed, ...
 * ```
 */
export const EXIT = Object.freeze({ ok: 0, error: 1, someFailed: 2, interrupted: 130, terminated: 143 });

/** How many representatives `dedupeSimilar` remembers (its default `maxEntries`): their lines are kept for duplicates to name. */
const DEDUPE_WINDOW = 10_000;

/**
 * The input lines of recent representatives by chain index, so that a duplicate's result line can
 * name its representative's line. Bounded: a representative older than the dedupe window can no
 * longer have duplicates.
 */
class Representatives {
  readonly #lines = new Map<number, number>();
  readonly #bound: number;

  constructor(bound: number) {
    this.#bound = bound;
  }

  /** Records an outcome; for a duplicate, returns its representative's input line. */
  lineOf(outcome: Outcome<InputItem, unknown>): number | undefined {
    if (outcome.duplicateOf !== undefined) return this.#lines.get(outcome.duplicateOf);
    this.#lines.set(outcome.index, outcome.item.line);
    // Maps iterate in insertion order: the first key is the oldest.
    if (this.#lines.size > this.#bound) this.#lines.delete(this.#lines.keys().next().value as number);
    return undefined;
  }
}

/** Malformed input lines reported one by one on stderr; past this, only counted (each still gets its result line). */
const MAX_REPORTED_PROBLEMS = 20;

interface Backend {
  handler: BatchHandler<InputItem, unknown>;
  batchOverheadTokens: number;
  itemOverheadTokens: number;
  /** Calls in flight when the backend knows better than --concurrency (a batch job packs thousands). */
  concurrency?: number;
  /** A batch job: no per-call timeout (a batch may take 24 h). */
  batchJob?: boolean;
  close?(): void;
}

async function makeBackend(config: RunConfig, say: (line: string) => void): Promise<Backend> {
  if (config.backend === 'openai-batch') {
    const { openAIBatchBackend } = await import('./openai-batch.js');
    return { ...(await openAIBatchBackend(config, say)), batchJob: true };
  }
  if (config.backend === 'simulated') {
    if (config.task === undefined) throw new CliError('--task is required with --backend simulated (classify, summarize, translate or embed)');
    const model = simulatedModel<InputItem, SimulatedTask>({
      task: config.task,
      text: itemText,
      seed: config.seed,
      ...(config.simLatencyMs === undefined ? {} : { latency: { baseMs: config.simLatencyMs } }),
      ...(config.simFailureRate > 0 ? { faults: { transient: config.simFailureRate } } : {}),
    });
    return { handler: model.handler, batchOverheadTokens: 0, itemOverheadTokens: 0 };
  }
  if (config.prompt === undefined || config.prompt.trim() === '') throw new CliError('--prompt is required with --backend openai: it is the task, sent as the system prompt');
  if (config.apiKey === undefined || config.apiKey === '') {
    throw new CliError('no API key: pass --api-key or set OPENAI_API_KEY (any value for local servers that ignore it), or use --backend simulated');
  }
  let openai: typeof OpenAIBackend;
  try {
    openai = await import('../openai.js');
  } catch (error) {
    if (missingPeer(error, 'openai')) throw new CliError('the openai backend needs the openai package: npm install openai');
    throw error;
  }
  const handler = openai.openAIChat<InputItem, unknown>({
    model: config.model,
    prompt: config.prompt,
    text: itemText,
    apiKey: config.apiKey,
    ...(config.baseURL === undefined ? {} : { baseURL: config.baseURL }),
    responseFormat: config.responseFormat,
    ...(config.resultSchema === undefined ? {} : { resultSchema: config.resultSchema }),
  });
  // openAIChat's advice: the prompt plus ~120 tokens of instructions per request, ~10 per item line.
  const batchOverheadTokens = resolveTokenizer(config.tokenizer).count(config.prompt) + 120;
  return { handler, batchOverheadTokens, itemOverheadTokens: 10 };
}

async function checkInput(path: string): Promise<void> {
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new CliError(`input '${path}' is not a file`);
    const problem = await notText(path);
    if (problem !== undefined) throw new CliError(`input '${path}' is not JSONL text: ${problem}`);
  } catch (error) {
    if (error instanceof CliError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new CliError(`cannot read input file '${path}': ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (error as Error).message}`);
  }
}

async function checkOutputDirectory(output: string): Promise<void> {
  const directory = dirname(resolve(output));
  try {
    if (!(await stat(directory)).isDirectory()) throw new CliError(`cannot write output '${output}': '${dirname(output)}' is not a directory`);
  } catch (error) {
    if (error instanceof CliError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CliError(`cannot write output '${output}': the directory '${dirname(output)}' does not exist (create it first)`);
    throw new CliError(`cannot write output '${output}': ${(error as Error).message}`);
  }
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** Removes temporary files of rewrites that a killed run left beside the output (the lock says no other run is going on). */
async function removeLeftovers(output: string): Promise<void> {
  const directory = dirname(resolve(output));
  const prefix = `${basename(output)}.tmp-`;
  for (const name of await readdir(directory)) if (name.startsWith(prefix)) await rm(join(directory, name), { force: true });
}

/** Checks the output's header against this run; refuses a mismatch unless told to ignore it. */
function checkFingerprint(config: RunConfig, existing: ExistingResults, current: RunHeader, say: (message: string) => void): void {
  if (existing.header === undefined) {
    if (existing.done.size > 0) say(`note: ${config.output} has no fingerprint (written by an older version): its input and settings are not checked`);
    return;
  }
  const differences = headerDifferences(existing.header, current);
  if (differences.length === 0) return;
  const what = differences.join('; ');
  if (config.ignoreFingerprint === true) {
    say(`warning: resuming ${config.output} although it does not match this run: ${what} (--ignore-fingerprint)`);
    return;
  }
  throw new CliError(
    `output '${config.output}' does not match this run: ${what}. Resuming would mix two jobs in one file: ` +
      'choose another --output, or pass --ignore-fingerprint to resume anyway',
  );
}

/**
 * Runs a JSONL file through the chain `bufferByTokens → splitOnOverflow → mergeBatches →
 * orderedResults`, appending one result line per input line to the output, in input order, as the
 * results complete. Lines already in the output are skipped, so a rerun resumes an interrupted run;
 * `retryFailed` redoes the failed ones and rewrites the output in input order (atomically).
 * The output is locked while the run lasts, and starts with a header recording the input's and the
 * settings' fingerprint, which a resume must match. An error that no line can get past (a rejected
 * key, an exhausted quota, an unreachable host) stops the run without writing a line for it.
 * The first SIGINT stops reading and lets the batches in flight finish; a second aborts them.
 * Resolves to an exit code ({@link EXIT}); throws {@link CliError} for a run that cannot start or
 * had to stop.
 *
 * @example
 * ```ts
 * const code = await runJob(config, { stderr: process.stderr, signals: process });
 * ```
 */
export async function runJob(config: RunConfig, io: RunIO): Promise<number> {
  await checkInput(config.input);
  await checkOutputDirectory(config.output);
  if (resolve(config.input) === resolve(config.output)) throw new CliError('--output must not be the input file');
  const backend = await makeBackend(config, (line) => io.stderr.write(`tokenbatch: ${line}\n`));
  if (backend.batchOverheadTokens + backend.itemOverheadTokens >= config.maxTokens) {
    throw new CliError(`--max-tokens ${config.maxTokens} leaves no room for items after the prompt and instructions (about ${backend.batchOverheadTokens} tokens)`);
  }
  const lock = OutputLock.acquire(config.output);
  let cache: OpenCache | undefined;
  try {
    cache = config.cache === undefined ? undefined : await openCacheStore(config.cache);
    return await runLocked(config, io, backend, cache);
  } finally {
    backend.close?.();
    await cache?.close();
    lock.release();
  }
}

async function runLocked(config: RunConfig, io: RunIO, backend: Backend, cache: OpenCache | undefined): Promise<number> {
  const mode: ProgressMode = config.progress === 'auto' ? (io.stderr.isTTY ? 'bar' : 'lines') : config.progress;
  const progress = new Progress({ stream: io.stderr, mode });
  const say = (message: string): void => progress.log(`tokenbatch: ${message}`);

  await removeLeftovers(config.output);
  const existing = await scanResults(config.output);
  const header: RunHeader = { tokenbatch: 1, input: await fileFingerprint(config.input), options: optionsFingerprint(config) };
  checkFingerprint(config, existing, header, say);
  const retry = config.retryFailed === true ? existing.failedLines : new Set<number>();
  const skip = new Set([...existing.done].filter((line) => !retry.has(line)));
  const { items: total, alreadyDone } = await countInput(config.input, skip);
  if (existing.tornBytes > 0) say(`cut off an unfinished last line (${existing.tornBytes} bytes) left in ${config.output} by an interrupted run`);
  if (existing.repeated > 0)
    say(`${config.output} has ${plural(existing.repeated, 'superseded result line')}: the output will be rewritten in input order, the last result of each line kept`);
  if (retry.size > 0) say(`retrying ${plural(retry.size, 'failed line')}`);
  if (alreadyDone > 0) say(`resuming: ${alreadyDone} of ${plural(total, 'line')} are already in ${config.output}`);

  // Before the chain exists: operators look the global tracer and meter up when they start.
  const telemetry = await startTelemetry(io.env ?? {});
  const log = ResultLog.open(config.output);
  if (existing.header === undefined && existing.done.size === 0) log.append(headerLine(header));
  const stop = new AbortController();
  let problems = 0;
  const source = readItems(config.input, {
    fields: { textField: config.textField, idField: config.idField },
    skip,
    stop: stop.signal,
    onProblem: (item) => {
      problems++;
      if (problems <= MAX_REPORTED_PROBLEMS) say(`${item.problem ?? `line ${item.line}: unreadable`} (written as a failed result)`);
      else if (problems === MAX_REPORTED_PROBLEMS + 1) say(`more than ${MAX_REPORTED_PROBLEMS} malformed lines: the rest are reported in the output only`);
    },
  });

  let fatal: string | undefined;
  // Set once the chain is built; the handler below can only stop it after that.
  const chain: { iterator?: AsyncIterator<Outcome<InputItem, unknown>> } = {};
  const abortInFlight = (): void => void chain.iterator?.return?.();
  const stopFatally = (reason: string): void => {
    if (fatal !== undefined) return;
    fatal = reason;
    stop.abort();
    abortInFlight();
  };
  // Errors no line can get past stop the run as soon as a call meets them, not when its lines come up in order.
  const handler: BatchHandler<InputItem, unknown> = (batch, context) => {
    const result = backend.handler(batch, context);
    if (typeof (result as PromiseLike<unknown>).then !== 'function') return result;
    return Promise.resolve(result as PromiseLike<readonly unknown[]>).catch((error: unknown) => {
      const reason = fatalReason(error, { lastAttempt: context.attempt >= config.maxAttempts });
      if (reason !== undefined) stopFatally(reason);
      throw error;
    });
  };
  // The library's own counts (batches, calls, retries, tokens, cost) for the summary.
  const stats = createStats({ total: Math.max(0, total - alreadyDone) });
  const batching = {
    stats,
    maxTokens: config.maxTokens,
    maxItems: config.maxItems,
    text: itemText,
    tokenizer: config.tokenizer,
    batchOverheadTokens: backend.batchOverheadTokens,
    itemOverheadTokens: backend.itemOverheadTokens,
  };
  // Items whose text cannot be read (problem lines) are never duplicates: they fail on their own.
  const dedupeText = (item: InputItem): string => item.text ?? `\u0000problem line ${item.line}`;
  const items = from(source);
  const unique =
    config.dedupe === undefined
      ? items
      : items.pipe(
          dedupeSimilar<InputItem>({ method: config.dedupe, text: dedupeText, stats, ...(config.dedupeThreshold === undefined ? {} : { threshold: config.dedupeThreshold }) }),
        );
  // Grouping: a quiet length bucket closes after a short wait, so its lines do not hold back the ones behind them.
  const batches = config.groupByLength === true ? unique.pipe(groupByLength<InputItem>({ ...batching, maxWaitMs: 500 })) : unique.pipe(bufferByTokens<InputItem>(batching));
  const outcomes = batches.pipe(
    splitOnOverflow<InputItem>(),
    mergeBatches<InputItem, unknown>(handler, {
      stats,
      concurrency: backend.concurrency ?? config.concurrency,
      retry: { maxAttempts: config.maxAttempts },
      ...(backend.batchJob === true ? {} : { timeoutMs: config.timeoutMs }),
      // Lines whose result is in the cache are not sent; a line without text is never cached.
      ...(cache === undefined ? {} : { cache: { store: cache.store, identity: runCacheIdentity(config), key: (item: InputItem) => itemText(item) } }),
      ...(config.rpm === undefined && config.tpm === undefined
        ? {}
        : { rateLimit: { ...(config.rpm === undefined ? {} : { requestsPerMinute: config.rpm }), ...(config.tpm === undefined ? {} : { tokensPerMinute: config.tpm }) } }),
    }),
    orderedResults<InputItem, unknown>(),
  );
  const iterator = outcomes[Symbol.asyncIterator]();
  chain.iterator = iterator;

  let signal: 'SIGINT' | 'SIGTERM' | undefined;
  const onSigint = (): void => {
    if (signal === undefined) {
      signal = 'SIGINT';
      stop.abort();
      say('interrupted: finishing the batches in flight (Ctrl-C again to abort them)');
    } else {
      say('aborting the batches in flight');
      abortInFlight();
    }
  };
  const onSigterm = (): void => {
    signal = 'SIGTERM';
    stop.abort();
    abortInFlight();
  };
  io.signals.on('SIGINT', onSigint);
  io.signals.on('SIGTERM', onSigterm);

  const representatives = new Representatives(DEDUPE_WINDOW);
  const started = Date.now();
  let written = 0;
  let fromCache = 0;
  let failed = 0;
  let failure: unknown;
  progress.start(total - alreadyDone);
  try {
    for (;;) {
      const next = await iterator.next();
      if (next.done) break;
      const outcome = next.value;
      // A line failed by a fatal error is not done: it stays for the rerun. Once the run is
      // stopping for one, no failure is trusted (it may be the same error, or the abort).
      const reason = outcome.ok ? undefined : fatalReason(outcome.error);
      if (reason !== undefined) stopFatally(reason);
      if (fatal !== undefined && !outcome.ok) break;
      log.append(resultLine(outcome, representatives.lineOf(outcome)));
      written++;
      if (!outcome.ok) failed++;
      if (outcome.cached === true) fromCache++;
      progress.advance(outcome.ok);
    }
  } catch (error) {
    failure = error;
  } finally {
    io.signals.off('SIGINT', onSigint);
    io.signals.off('SIGTERM', onSigterm);
    progress.stop();
    log.close();
    await telemetry?.shutdown();
  }

  // Redone lines were appended after their old results: put every line back in input order. A
  // signal now would only leave a temporary file behind, so it waits for the rename.
  const after = await scanResults(config.output);
  if (!after.inOrder) {
    const wait = (): void => say('rewriting the output in input order: one moment');
    io.signals.on('SIGINT', wait);
    io.signals.on('SIGTERM', wait);
    try {
      await rewriteInOrder(config.output, after);
    } finally {
      io.signals.off('SIGINT', wait);
      io.signals.off('SIGTERM', wait);
    }
  }

  const where = `${plural(written, 'result line')} to ${config.output} (${written - failed} ok, ${failed} failed) in ${seconds(Date.now() - started)}`;
  if (fatal !== undefined) {
    say(`wrote ${where}`);
    throw new CliError(`stopped: ${fatal}. No line was marked done because of it: fix the cause and rerun the same command to resume`);
  }
  if (failure !== undefined) {
    say(`wrote ${where}`);
    const reason = failure instanceof Error ? `${failure.name}: ${failure.message}` : JSON.stringify(failure);
    throw new CliError(`the run failed: ${reason}; rerun the same command to resume`);
  }
  if (signal !== undefined) {
    const left = total - alreadyDone - written;
    say(`wrote ${where}; stopped by ${signal} with ${plural(left, 'line')} left: rerun the same command to resume`);
    return signal === 'SIGINT' ? EXIT.interrupted : EXIT.terminated;
  }
  const allFailed = after.failed;
  say(`wrote ${where}${alreadyDone > 0 ? `; ${plural(alreadyDone, 'line was', 'lines were')} already there` : ''}`);
  const totals = stats.snapshot();
  say(
    `${plural(totals.batches.closed, 'batch', 'batches')} (mean fill ${Math.round(totals.batches.meanUtilization * 100)}%), ${plural(totals.calls.made, 'call')} (${totals.calls.retries} retried, ${totals.calls.rateLimited} rate-limited), ${totals.tokens.spent.toLocaleString('en-US')} tokens`,
  );
  if (cache !== undefined) say(`cache ${cache.description}: ${plural(fromCache, 'line')} answered from it, ${plural(written - fromCache, 'line')} sent`);
  if (allFailed > 0) {
    say(`${allFailed} of ${plural(total, 'line')} failed: their errors are in ${config.output} ("ok": false); rerun with --retry-failed to redo them`);
    return EXIT.someFailed;
  }
  return EXIT.ok;
}
