import type { BatchHandler, EncodingName } from '../types.js';
import type * as OpenAIEntry from '../openai.js';
import { resolveTokenizer } from '../tokens/tokenizers.js';
import { itemText, type InputItem } from './input.js';
import { CliError, missingPeer } from './output.js';

/**
 * What `tokenbatch run --backend openai-batch` needs from its command line (a subset of the run's
 * config, so that this module does not depend on how `run.ts` is laid out).
 *
 * @example
 * ```ts
 * const config: OpenAIBatchCliConfig = { output: 'labels.jsonl', prompt: 'Label each ticket.', model: 'gpt-4o-mini', responseFormat: 'json_schema', tokenizer: 'o200k_base', apiKey: 'sk-...' };
 * ```
 */
export interface OpenAIBatchCliConfig {
  output: string;
  prompt?: string;
  model: string;
  baseURL?: string;
  apiKey?: string;
  responseFormat: OpenAIEntry.ChatResponseFormat;
  resultSchema?: Record<string, unknown>;
  tokenizer: EncodingName;
  /** `--batch-state`: where submitted batches are recorded. Default `<output>.batch-state.json`, so a rerun re-attaches. */
  batchState?: string;
  /** `--poll-interval-ms`: the first wait between polls. Default the job's (5 s, growing to 60 s). */
  pollIntervalMs?: number;
  /** `--max-requests-per-file`. Default the API's 50,000. */
  maxRequestsPerFile?: number;
  /** `--cancel-on-interrupt`: cancel the batches when the run is aborted. Default false: a rerun re-attaches to them. */
  cancelOnInterrupt?: boolean;
}

/**
 * The Batch API backend of `tokenbatch run`: the handler, its token overheads, the `mergeBatches`
 * settings a batch job needs, and `close()` to stop polling when the run ends.
 *
 * @example
 * ```ts
 * const backend = await openAIBatchBackend(config, (line) => progress.log(line));
 * ```
 */
export interface OpenAIBatchCliBackend {
  handler: BatchHandler<InputItem, unknown>;
  batchOverheadTokens: number;
  itemOverheadTokens: number;
  /** Requests in flight: as many as a file holds, so a file fills before it is submitted. */
  concurrency: number;
  /** Where the job records its batches. */
  stateFile: string;
  /** Stops polling (the batches run on, for a rerun to re-attach). */
  close(): void;
}

/** Requests in flight by default: one file of this many requests at a time (a batch takes minutes to hours). */
export const OPENAI_BATCH_CLI_CONCURRENCY = 5000;
/** Progress lines from the batches' request counts come at most this often. */
const PROGRESS_EVERY_MS = 10_000;

/**
 * Builds the `--backend openai-batch` backend: an {@link OpenAIEntry.openAIBatchJob} recording its
 * batches next to the output file, so that rerunning the same command after an interruption
 * re-attaches to the batches already submitted instead of paying for them again. `say` receives a
 * progress line from the batches' request counts (at most every 10 s, and on every status change).
 *
 * @example
 * ```ts
 * const backend = await openAIBatchBackend({ ...config, output: 'labels.jsonl' }, (line) => process.stderr.write(`${line}\n`));
 * ```
 */
export async function openAIBatchBackend(config: OpenAIBatchCliConfig, say: (line: string) => void, now: () => number = Date.now): Promise<OpenAIBatchCliBackend> {
  if (config.prompt === undefined || config.prompt.trim() === '') throw new CliError('--prompt is required with --backend openai-batch: it is the task, sent as the system prompt');
  if (config.apiKey === undefined || config.apiKey === '') throw new CliError('no API key: pass --api-key or set OPENAI_API_KEY');
  let openai: typeof OpenAIEntry;
  try {
    openai = await import('../openai.js');
  } catch (error) {
    if (missingPeer(error, 'openai')) throw new CliError('the openai-batch backend needs the openai package: npm install openai');
    throw error;
  }
  const stateFile = config.batchState ?? `${config.output}.batch-state.json`;
  let lastLine = '';
  let lastStatuses = '';
  let lastAt = Number.NEGATIVE_INFINITY;
  const job = openai.openAIBatchJob<InputItem, unknown>({
    model: config.model,
    prompt: config.prompt,
    text: itemText,
    apiKey: config.apiKey,
    ...(config.baseURL === undefined ? {} : { baseURL: config.baseURL }),
    responseFormat: config.responseFormat,
    ...(config.resultSchema === undefined ? {} : { resultSchema: config.resultSchema }),
    stateFile,
    cancelOnAbort: config.cancelOnInterrupt === true,
    ...(config.pollIntervalMs === undefined ? {} : { pollIntervalMs: config.pollIntervalMs }),
    ...(config.maxRequestsPerFile === undefined ? {} : { maxRequestsPerFile: config.maxRequestsPerFile }),
    onProgress: (progress) => {
      const line = formatBatchProgress(progress);
      const statuses = progress.batches.map((batch) => batch.status).join();
      const at = now();
      // Status changes always show; request counts at most every PROGRESS_EVERY_MS.
      if (line === lastLine || (at - lastAt < PROGRESS_EVERY_MS && statuses === lastStatuses)) return;
      lastLine = line;
      lastAt = at;
      lastStatuses = statuses;
      say(line);
    },
  });
  return {
    handler: job.handler,
    // openAIChat's advice holds: the requests are built the same way.
    batchOverheadTokens: resolveTokenizer(config.tokenizer).count(config.prompt) + 120,
    itemOverheadTokens: 10,
    concurrency: Math.min(OPENAI_BATCH_CLI_CONCURRENCY, config.maxRequestsPerFile ?? OPENAI_BATCH_CLI_CONCURRENCY),
    stateFile,
    close: () => job.close(),
  };
}

/**
 * One progress line from a batch job's request counts, as `tokenbatch run` prints it.
 *
 * @example
 * ```ts
 * formatBatchProgress(job.progress()); // 'batch API: 1 batch (in_progress), 1,200 of 2,000 requests done, 3 failed; 0 being packed'
 * ```
 */
export function formatBatchProgress(progress: OpenAIEntry.BatchJobProgress): string {
  const number = (value: number) => value.toLocaleString('en-US');
  const statuses = new Map<string, number>();
  for (const batch of progress.batches) statuses.set(batch.status, (statuses.get(batch.status) ?? 0) + 1);
  const which = [...statuses].map(([status, count]) => (progress.batches.length === 1 ? status : `${count} ${status}`)).join(', ');
  const { total, completed, failed } = progress.requests;
  const batches = `${number(progress.batches.length)} batch${progress.batches.length === 1 ? '' : 'es'}${which ? ` (${which})` : ''}`;
  const reattached = progress.reattached > 0 ? `; ${number(progress.reattached)} answered from earlier batches` : '';
  return `batch API: ${batches}, ${number(completed + failed)} of ${number(total)} requests done, ${number(failed)} failed; ${number(progress.collecting)} being packed${reattached}`;
}
