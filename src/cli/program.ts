import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { VERSION } from '../version.js';
import { CliError } from './output.js';
import { parseCacheTarget } from './cache-option.js';
import { EXIT, runJob, type RunConfig, type RunIO } from './run.js';

function wholeNumber(min: number): (value: string) => number {
  return (value) => {
    const number = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(number) || number < min) throw new InvalidArgumentError(`expected a whole number >= ${min}`);
    return number;
  };
}

function rate(value: string): number {
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number) || number < 0 || number > 1) throw new InvalidArgumentError('expected a probability between 0 and 1');
  return number;
}

function jsonSchema(value: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new InvalidArgumentError('expected a JSON Schema, as JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new InvalidArgumentError('expected a JSON object');
  return parsed as Record<string, unknown>;
}

/** What commander hands the action: the options as parsed (optional ones may be absent). */
type ParsedOptions = Omit<RunConfig, 'baseUrl'> & { baseUrl?: string; simLatencyMs?: number };

/**
 * The `tokenbatch` command line: `tokenbatch run --input items.jsonl --output results.jsonl ...`.
 * Returns the exit code rather than exiting, so that it can run inside a test.
 *
 * @example
 * ```ts
 * process.exitCode = await cli(process.argv.slice(2), { stderr: process.stderr, signals: process }, process.stdout);
 * ```
 */
export async function cli(args: readonly string[], io: RunIO, stdout: NodeJS.WritableStream): Promise<number> {
  let code: number = EXIT.ok;
  const program = new Command('tokenbatch')
    .description('Run a JSONL file through a language model in token-budgeted batches: results in input order, resumable.')
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeOut: (text) => stdout.write(text), writeErr: (text) => io.stderr.write(text) })
    .showHelpAfterError('(add --help for the options)');

  program
    .command('run')
    .description(
      'Process every line of --input and append one result line per input line to --output, in input order, ' +
        'as results complete. Rerun the same command after an interruption to resume: lines already in --output are skipped.',
    )
    .optionsGroup('Files:')
    .requiredOption('-i, --input <file>', 'JSONL input: each line a JSON string (the text) or an object (text in --text-field)')
    .requiredOption('-o, --output <file>', 'JSONL results, appended: {"line", "id"?, "ok", "value" | "error"} per input line')
    .option('--text-field <name>', 'the field that holds the text when a line is an object', 'text')
    .option('--id-field <name>', 'the field copied to the result as "id" when present', 'id')
    .option('--retry-failed', 'redo the lines whose result failed, then rewrite --output in input order (atomically)')
    .option('--ignore-fingerprint', 'resume even if --output was made from another input file or with another backend, model, prompt or schema')
    .optionsGroup('Model:')
    .addOption(
      new Option('--backend <name>', 'where batches go (openai-batch: the Batch API, half price, results within 24 h)')
        .choices(['openai', 'openai-batch', 'simulated'])
        .default('openai'),
    )
    .option(
      '--cache <path|redis-url>',
      'reuse results across runs and workers: a SQLite file (needs better-sqlite3) or redis://host:port (needs ioredis); successes only',
      parseCacheTarget,
    )
    .option('--batch-state <file>', 'with --backend openai-batch: where submitted batches are recorded, so a rerun re-attaches (default <output>.batch-state.json)')
    .option('--poll-interval-ms <ms>', 'with --backend openai-batch: the first wait between polls of a batch', wholeNumber(1))
    .option('--max-requests-per-file <n>', 'with --backend openai-batch: requests per input file (at most 50,000)', wholeNumber(1))
    .option('--cancel-on-interrupt', 'with --backend openai-batch: cancel the submitted batches when the run is interrupted')
    .option('-p, --prompt <text>', 'the task, sent as the system prompt (required with --backend openai)')
    .option('-m, --model <name>', 'the model', 'gpt-4o-mini')
    .addOption(new Option('--base-url <url>', 'an OpenAI-compatible server (vLLM, Ollama, llama.cpp, Azure); default: api.openai.com').env('OPENAI_BASE_URL'))
    .addOption(new Option('--api-key <key>', 'the API key').env('OPENAI_API_KEY'))
    .addOption(new Option('--response-format <format>', 'how structured output is requested').choices(['json_schema', 'json_object', 'text']).default('json_schema'))
    .option('--result-schema <json>', "JSON Schema of one item's result (default: a string)", jsonSchema)
    .addOption(
      new Option('--task <task>', 'with --backend simulated: what the embedded simulated model does (no key, no network)').choices(['classify', 'summarize', 'translate', 'embed']),
    )
    .option('--sim-latency-ms <ms>', 'with --backend simulated: base latency of a call (default 250)', wholeNumber(0))
    .option('--sim-failure-rate <p>', 'with --backend simulated: share of calls that fail like an HTTP 500', rate, 0)
    .option('--seed <n>', 'with --backend simulated: seed of its jitter and failures', wholeNumber(0), 1)
    .optionsGroup('Batching and limits:')
    .option('--max-tokens <n>', 'token budget of a batch, prompt and per-item overheads included', wholeNumber(1), 4000)
    .option('--max-items <n>', 'most items in a batch', wholeNumber(1), 25)
    .addOption(new Option('--tokenizer <encoding>', 'how tokens are counted').choices(['o200k_base', 'cl100k_base']).default('o200k_base'))
    .addOption(
      new Option(
        '--dedupe <method>',
        "send near-duplicate lines once: a duplicate gets its representative's result (reuses another line's answer: use it when such lines may share one)",
      ).choices(['exact', 'minhash']),
    )
    .option('--dedupe-threshold <x>', 'with --dedupe minhash: the least similarity of a duplicate (Jaccard of character 3-grams, default 0.7)', rate)
    .option('--group-by-length', 'batch lines of similar token length together (less padding); results stay in input order')
    .option('-c, --concurrency <n>', 'batches in flight at once', wholeNumber(1), 4)
    .option('--rpm <n>', 'requests per minute, at most (default: no limit)', wholeNumber(1))
    .option('--tpm <n>', 'tokens per minute, at most (default: no limit)', wholeNumber(1))
    .option('--timeout-ms <ms>', 'time limit of one attempt', wholeNumber(1), 60_000)
    .option('--max-attempts <n>', 'attempts per batch, the first included (rate limits, timeouts, 5xx are retried)', wholeNumber(1), 5)
    .optionsGroup('Display:')
    .addOption(
      new Option('--progress <mode>', 'bar (terminal), lines (every 2 s), none; auto: bar on a terminal, else lines').choices(['auto', 'bar', 'lines', 'none']).default('auto'),
    )
    .addHelpText(
      'after',
      [
        '',
        'Exit codes: 0 every line ok; 2 finished, some lines failed (see "ok": false in --output; --retry-failed redoes them);',
        '1 could not run, or stopped on an error no line can get past (rejected key, exhausted quota, unreachable host);',
        '130 interrupted (SIGINT), 143 terminated (SIGTERM): rerun to resume.',
        '',
        'Examples:',
        '  tokenbatch run -i tickets.jsonl -o labels.jsonl -p "Classify each ticket as billing, bug, account or other."',
        '  tokenbatch run -i tickets.jsonl -o labels.jsonl --backend simulated --task classify',
        '  tokenbatch run -i docs.jsonl -o out.jsonl -p "Summarize in one sentence." --base-url http://127.0.0.1:11434/v1 --api-key ollama -m llama3.1',
      ].join('\n'),
    )
    .action(async (raw: ParsedOptions) => {
      const { baseUrl, ...rest } = raw;
      const config: RunConfig = { ...rest, ...(baseUrl === undefined ? {} : { baseURL: baseUrl }) };
      code = await runJob(config, io);
    });

  try {
    await program.parseAsync(args, { from: 'user' });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    if (error instanceof CliError) {
      io.stderr.write(`tokenbatch: ${error.message}\n`);
      return EXIT.error;
    }
    throw error;
  }
}
