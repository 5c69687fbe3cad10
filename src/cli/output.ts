import { closeSync, createReadStream, fsyncSync, openSync, readSync, writeSync } from 'node:fs';
import { open, stat, truncate } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Outcome } from '../types.js';
import type { InputItem } from './input.js';

/**
 * A failure the CLI reports as one clear message, without a stack trace.
 *
 * @example
 * ```ts
 * throw new CliError(`cannot read input file 'items.jsonl': no such file`);
 * ```
 */
export class CliError extends Error {
  override name = 'CliError';
}

/**
 * What an existing output file already holds.
 *
 * @example
 * ```ts
 * const { done, failed, tornBytes } = await scanResults('results.jsonl');
 * ```
 */
export interface ExistingResults {
  /** Input line numbers that have a result line. */
  readonly done: Set<number>;
  /** How many of those failed (`"ok": false`). */
  readonly failed: number;
  /** Bytes of an unfinished last line that were cut off (an earlier run was killed mid-write). */
  readonly tornBytes: number;
  /** Input line numbers that appear more than once (left as they are). */
  readonly repeated: number;
}

/** Position just past the last `\n` of the first `size` bytes of the file (0 if there is none). */
function endOfLastLine(fd: number, size: number): number {
  const chunk = Buffer.alloc(64 * 1024);
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - chunk.length);
    const read = readSync(fd, chunk, 0, end - start, start);
    const newline = chunk.subarray(0, read).lastIndexOf(0x0a);
    if (newline >= 0) return start + newline + 1;
    end = start;
  }
  return 0;
}

/**
 * Reads an output file left by earlier runs, so a run can resume: an unfinished last line (the
 * process was killed in the middle of writing it) is cut off the file, and every complete line must
 * be a result line (`{ "line": n, "ok": ... }`), or the file is refused rather than appended to. A
 * missing file holds nothing.
 *
 * @example
 * ```ts
 * const existing = await scanResults('results.jsonl');
 * console.log(`${existing.done.size} lines already done`);
 * ```
 */
export async function scanResults(path: string): Promise<ExistingResults> {
  const done = new Set<number>();
  let size: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new CliError(`output '${path}' is not a file`);
    size = info.size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { done, failed: 0, tornBytes: 0, repeated: 0 };
    throw error;
  }
  let complete = size;
  if (size > 0) {
    const handle = await open(path, 'r');
    try {
      complete = endOfLastLine(handle.fd, size);
    } finally {
      await handle.close();
    }
  }
  if (complete < size) await truncate(path, complete);
  let failed = 0;
  let repeated = 0;
  if (complete > 0) {
    const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8', end: complete - 1 }), crlfDelay: Number.POSITIVE_INFINITY });
    let number = 0;
    for await (const raw of lines) {
      number++;
      if (raw.trim() === '') continue;
      const line = resultLineNumber(raw);
      if (line === undefined) {
        lines.close();
        throw new CliError(`output '${path}' line ${number} is not a tokenbatch result line; refusing to append to this file (choose another --output)`);
      }
      if (done.has(line.line)) repeated++;
      else if (!line.ok) failed++;
      done.add(line.line);
    }
  }
  return { done, failed, tornBytes: size - complete, repeated };
}

function resultLineNumber(raw: string): { line: number; ok: boolean } | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { line, ok } = parsed as { line?: unknown; ok?: unknown };
  if (typeof line !== 'number' || !Number.isInteger(line) || line < 1 || typeof ok !== 'boolean') return undefined;
  return { line, ok };
}

// Typed arrays (embeddings) become plain arrays rather than JSON objects keyed "0", "1", ...
const plainValues = (_key: string, value: unknown): unknown =>
  ArrayBuffer.isView(value) && !(value instanceof DataView) ? Array.from(value as unknown as ArrayLike<number>) : value;

/**
 * The output line of one outcome: `{ "line", "id"?, "ok": true, "value" }` or
 * `{ "line", "id"?, "ok": false, "error": { "name", "message" } }`, ending in a newline. A line
 * that could not be read keeps its own problem as the message; a value that JSON cannot represent
 * becomes a failure, never a lost line.
 *
 * @example
 * ```ts
 * resultLine({ index: 0, item: { line: 1, text: 'hi' }, ok: true, value: 'other', splitDepth: 0, attempts: 1 });
 * // '{"line":1,"ok":true,"value":"other"}\n'
 * ```
 */
export function resultLine(outcome: Outcome<InputItem, unknown>): string {
  const { item } = outcome;
  const head: Record<string, unknown> = item.id === undefined ? { line: item.line } : { line: item.line, id: item.id };
  const failure = (name: string, message: string): string => `${JSON.stringify({ ...head, ok: false, error: { name, message } })}\n`;
  if (!outcome.ok) return failure(outcome.error.name, item.problem ?? outcome.error.message);
  try {
    return `${JSON.stringify({ ...head, ok: true, value: outcome.value ?? null }, plainValues)}\n`;
  } catch (error) {
    return failure('TypeError', `the result cannot be written as JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * The output file, open for appending. Each result line goes out in one `write` call, so a killed
 * process leaves at most one unfinished last line, which {@link scanResults} cuts off on the next run.
 *
 * @example
 * ```ts
 * const log = ResultLog.open('results.jsonl');
 * log.append('{"line":1,"ok":true,"value":"other"}\n');
 * log.close();
 * ```
 */
export class ResultLog {
  readonly #fd: number;
  #closed = false;

  private constructor(fd: number) {
    this.#fd = fd;
  }

  /** Opens (creating if need be) `path` for appending. */
  static open(path: string): ResultLog {
    return new ResultLog(openSync(path, 'a'));
  }

  /** Appends complete lines. */
  append(lines: string): void {
    const bytes = Buffer.from(lines, 'utf8');
    let written = 0;
    // A regular file takes the whole buffer in one call; the loop only covers a short write.
    while (written < bytes.length) written += writeSync(this.#fd, bytes, written, bytes.length - written);
  }

  /** Flushes to disk and closes. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      fsyncSync(this.#fd);
    } finally {
      closeSync(this.#fd);
    }
  }
}
