import { AbortError, TransientError } from '../../errors.js';
import { utf8Length } from '../../tokens/tokenizers.js';
import { classifyOpenAIError } from './errors.js';

/**
 * The Batch API's limits of one input file, the defaults and ceilings of {@link openAIBatchJob}.
 *
 * @example
 * ```ts
 * const { maxRequests, maxBytes } = BATCH_FILE_LIMITS; // 50000, 209715200
 * ```
 */
export const BATCH_FILE_LIMITS = Object.freeze({ maxRequests: 50_000, maxBytes: 200 * 1024 * 1024 });

/** One line of a Batch API output or error file. */
export interface OutputLine {
  readonly custom_id: string;
  readonly response: { readonly status_code: number; readonly body: unknown } | null;
  readonly error: { readonly code?: string; readonly message?: string } | null;
}

/**
 * The custom_id of a request: a hash of its body, so that a restarted job that forms the same
 * requests finds the batches it already submitted.
 */
export async function customIdOf(body: unknown): Promise<string> {
  const bytes = new TextEncoder().encode(JSON.stringify(body));
  const digest = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', bytes));
  return `tb-${Array.from(digest.subarray(0, 16), (byte) => byte.toString(16).padStart(2, '0')).join('')}`;
}

/** One request as an input file line. */
export function requestLine(customId: string, url: string, body: unknown): string {
  return JSON.stringify({ custom_id: customId, method: 'POST', url, body });
}

/** The requests of one input file while it fills up, within the file limits. */
export class InputFile {
  readonly lines = new Map<string, string>();
  readonly #inputs = new Map<string, number>();
  #bytes = 0;
  #inputTotal = 0;

  constructor(
    readonly maxRequests: number,
    readonly maxBytes: number,
    /** Inputs over all requests (the Batch API allows 50,000 embedding inputs a batch). */
    readonly maxInputs = Number.POSITIVE_INFINITY,
  ) {}

  get bytes(): number {
    return this.#bytes;
  }

  /** Whether `line` still fits (a file with nothing in it takes any one line: the API judges it). */
  fits(line: string, inputs = 1): boolean {
    if (this.lines.size === 0) return true;
    return this.lines.size < this.maxRequests && this.#bytes + utf8Length(line) + 1 <= this.maxBytes && this.#inputTotal + inputs <= this.maxInputs;
  }

  add(customId: string, line: string, inputs = 1): void {
    this.lines.set(customId, line);
    this.#inputs.set(customId, inputs);
    this.#bytes += utf8Length(line) + 1;
    this.#inputTotal += inputs;
  }

  remove(customId: string): void {
    const line = this.lines.get(customId);
    if (line === undefined) return;
    this.lines.delete(customId);
    this.#bytes -= utf8Length(line) + 1;
    this.#inputTotal -= this.#inputs.get(customId) ?? 0;
    this.#inputs.delete(customId);
  }

  /** Whether the file is full by count or inputs (bytes are judged by the next line). */
  get full(): boolean {
    return this.lines.size >= this.maxRequests || this.#inputTotal >= this.maxInputs;
  }

  text(): string {
    return `${[...this.lines.values()].join('\n')}\n`;
  }
}

/** Reads an output or error file; malformed lines are skipped (their requests count as missing). */
export function parseOutputLines(text: string, into: Map<string, OutputLine>): void {
  for (const raw of text.split('\n')) {
    if (raw.trim() === '') continue;
    let line: unknown;
    try {
      line = JSON.parse(raw);
    } catch {
      continue;
    }
    const customId = (line as { custom_id?: unknown } | null)?.custom_id;
    if (typeof customId !== 'string') continue;
    const { response = null, error = null } = line as { response?: OutputLine['response']; error?: OutputLine['error'] };
    // A success in the output file wins over a failure of the same request in the error file.
    if (into.get(customId)?.response?.status_code === 200) continue;
    into.set(customId, { custom_id: customId, response, error });
  }
}

/** The error a request's failed output line stands for, in the tokenbatch taxonomy. */
export function lineError(line: OutputLine): Error {
  if (line.response && line.response.status_code !== 200) {
    const body = line.response.body as { error?: { message?: string } } | null;
    return classifyOpenAIError({ status: line.response.status_code, error: body?.error ?? {}, message: body?.error?.message ?? `status ${line.response.status_code}` });
  }
  const code = line.error?.code ?? 'unknown';
  const message = `openai batch: request ${line.custom_id}: ${line.error?.message ?? 'failed'} (${code})`;
  // Cancelled outside this job: someone meant it to stop.
  if (code === 'batch_cancelled') return new AbortError(message);
  // Expired, or anything else the request itself did not cause: another batch may run it.
  return new TransientError(message);
}
