import { closeSync, fsyncSync, openSync, readSync, writeSync } from 'node:fs';
import { open, rename, rm, stat, truncate } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Outcome } from '../types.js';
import { parseHeader, type RunHeader } from './fingerprint.js';
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

/** Where one result line sits in the output file. */
interface RecordSpan {
  readonly offset: number;
  readonly length: number;
  readonly ok: boolean;
}

/**
 * What an existing output file already holds. A line number may have more than one result line
 * (a failed line redone with `--retry-failed`, or a file written twice by an old version): the
 * last one counts.
 *
 * @example
 * ```ts
 * const { done, failedLines, tornBytes } = await scanResults('results.jsonl');
 * ```
 */
export interface ExistingResults {
  /** The header line, when the file has one (written by this version). */
  readonly header: RunHeader | undefined;
  /** Input line numbers that have a result line. */
  readonly done: Set<number>;
  /** Input line numbers whose (last) result line failed (`"ok": false`). */
  readonly failedLines: Set<number>;
  /** How many of the done lines failed. */
  readonly failed: number;
  /** Bytes of an unfinished last line that were cut off (an earlier run was killed mid-write). */
  readonly tornBytes: number;
  /** Result lines that repeat an earlier line number (superseded by the last one). */
  readonly repeated: number;
  /** True when the result lines are in strictly increasing line order (nothing to rewrite). */
  readonly inOrder: boolean;
  /** The last result line of each input line. */
  readonly spans: ReadonlyMap<number, RecordSpan>;
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

/** The complete lines of the first `end` bytes of an open file, with their byte offsets. */
function* linesWithOffsets(fd: number, end: number): Generator<{ offset: number; length: number; text: string }> {
  const chunk = Buffer.alloc(256 * 1024);
  let pending = Buffer.alloc(0);
  let pendingOffset = 0;
  let position = 0;
  while (position < end) {
    const read = readSync(fd, chunk, 0, Math.min(chunk.length, end - position), position);
    if (read === 0) break;
    position += read;
    let data = pending.length > 0 ? Buffer.concat([pending, chunk.subarray(0, read)]) : chunk.subarray(0, read);
    let from = 0;
    for (let newline = data.indexOf(0x0a); newline >= 0; newline = data.indexOf(0x0a, from)) {
      yield { offset: pendingOffset + from, length: newline - from + 1, text: data.toString('utf8', from, newline) };
      from = newline + 1;
    }
    pendingOffset += from;
    data = data.subarray(from);
    pending = Buffer.from(data);
  }
}

/**
 * Reads an output file left by earlier runs, so a run can resume: an unfinished last line (the
 * process was killed in the middle of writing it) is cut off the file; the first line may be a
 * header ({@link RunHeader}), and every other complete line must be a result line
 * (`{ "line": n, "ok": ... }`), or the file is refused rather than appended to. A missing file
 * holds nothing.
 *
 * @example
 * ```ts
 * const existing = await scanResults('results.jsonl');
 * console.log(`${existing.done.size} lines already done`);
 * ```
 */
export async function scanResults(path: string): Promise<ExistingResults> {
  const spans = new Map<number, RecordSpan>();
  let size: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new CliError(`output '${path}' is not a file`);
    size = info.size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return summarize(undefined, spans, 0, 0, true);
    throw error;
  }
  let header: RunHeader | undefined;
  let repeated = 0;
  let inOrder = true;
  let last = 0;
  let complete: number;
  const handle = await open(path, 'r');
  try {
    complete = size > 0 ? endOfLastLine(handle.fd, size) : 0;
    let number = 0;
    for (const { offset, length, text } of linesWithOffsets(handle.fd, complete)) {
      number++;
      if (text.trim() === '') continue;
      if (number === 1 && (header = parseHeader(text)) !== undefined) continue;
      const line = resultLineNumber(text);
      if (line === undefined) {
        throw new CliError(`output '${path}' line ${number} is not a tokenbatch result line; refusing to append to this file (choose another --output)`);
      }
      if (spans.has(line.line)) repeated++;
      if (line.line <= last) inOrder = false;
      last = Math.max(last, line.line);
      spans.set(line.line, { offset, length, ok: line.ok });
    }
  } finally {
    await handle.close();
  }
  if (complete < size) await truncate(path, complete);
  return summarize(header, spans, size - complete, repeated, inOrder);
}

function summarize(header: RunHeader | undefined, spans: Map<number, RecordSpan>, tornBytes: number, repeated: number, inOrder: boolean): ExistingResults {
  const failedLines = new Set<number>();
  for (const [line, span] of spans) if (!span.ok) failedLines.add(line);
  return { header, done: new Set(spans.keys()), failedLines, failed: failedLines.size, tornBytes, repeated, inOrder, spans };
}

/**
 * Rewrites an output file in input order, keeping the header and the last result line of each
 * input line: written to a temporary file beside it, flushed, then renamed over it, so a reader
 * or a crash sees either the old file or the new one, never a mix.
 *
 * @example
 * ```ts
 * await rewriteInOrder('results.jsonl', await scanResults('results.jsonl'));
 * ```
 */
export async function rewriteInOrder(path: string, existing: ExistingResults): Promise<void> {
  const temporary = `${path}.tmp-${process.pid}`;
  const source = openSync(path, 'r');
  const target = openSync(temporary, 'w');
  try {
    const write = (bytes: Buffer): void => {
      let written = 0;
      while (written < bytes.length) written += writeSync(target, bytes, written, bytes.length - written);
    };
    if (existing.header !== undefined) write(Buffer.from(headerLine(existing.header), 'utf8'));
    const buffer = Buffer.alloc(64 * 1024);
    for (const line of [...existing.spans.keys()].sort((a, b) => a - b)) {
      const { offset, length } = existing.spans.get(line) as RecordSpan;
      const bytes = length <= buffer.length ? buffer.subarray(0, length) : Buffer.alloc(length);
      readSync(source, bytes, 0, length, offset);
      write(bytes);
    }
    fsyncSync(target);
  } catch (error) {
    closeSync(target);
    await rm(temporary, { force: true });
    throw error;
  } finally {
    closeSync(source);
  }
  closeSync(target);
  await rename(temporary, path);
  // The rename itself is made durable by flushing the directory.
  const directory = openSync(dirname(path) || '.', 'r');
  try {
    fsyncSync(directory);
  } catch {
    // Some file systems cannot flush a directory; the rename is still atomic.
  } finally {
    closeSync(directory);
  }
}

/**
 * The header line of an output file (see {@link RunHeader}), ending in a newline.
 *
 * @example
 * ```ts
 * headerLine({ tokenbatch: 1, input: { sha256: 'ab', bytes: 3 }, options: { backend: 'simulated' } });
 * ```
 */
export function headerLine(header: RunHeader): string {
  return `${JSON.stringify(header)}\n`;
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
 * The output line of one outcome: `{ "line", "id"?, "duplicateOf"?, "ok": true, "value" }` or
 * `{ "line", "id"?, "duplicateOf"?, "ok": false, "error": { "name", "message" } }`, ending in a
 * newline; `duplicateOf` is the input line whose result a near-duplicate reused (`--dedupe`). A line
 * that could not be read keeps its own problem as the message; a value that JSON cannot represent
 * becomes a failure, never a lost line.
 *
 * @example
 * ```ts
 * resultLine({ index: 0, item: { line: 1, text: 'hi' }, ok: true, value: 'other', splitDepth: 0, attempts: 1 });
 * // '{"line":1,"ok":true,"value":"other"}\n'
 * ```
 */
export function resultLine(outcome: Outcome<InputItem, unknown>, duplicateOfLine?: number): string {
  const { item } = outcome;
  const head: Record<string, unknown> = item.id === undefined ? { line: item.line } : { line: item.line, id: item.id };
  if (duplicateOfLine !== undefined) head.duplicateOf = duplicateOfLine;
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

/**
 * Whether an import failed because an optional peer package is not installed (and not for a
 * reason inside it): the CLI then says which package to install instead of printing a stack trace.
 */
export function missingPeer(error: unknown, name: string): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && String((error as Error).message).includes(`'${name}'`);
}
