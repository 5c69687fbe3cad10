import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';

/**
 * One non-blank line of the input file, as it travels through the chain. A line that cannot be
 * used (not JSON, no text) still becomes an item, with `problem` set: its text function throws, so
 * the chain gives it a failed outcome in its place and the output stays complete.
 *
 * @example
 * ```ts
 * const item: InputItem = { line: 3, id: 'ticket-17', text: 'Where is my refund?' };
 * ```
 */
export interface InputItem {
  /** 1-based line number in the input file. */
  readonly line: number;
  /** The object's id field, when the line is an object that has one. */
  readonly id?: unknown;
  /** The text sent to the model. */
  readonly text?: string;
  /** Why the line cannot be processed (then `text` is absent). */
  readonly problem?: string;
}

/**
 * Where an item's text is found.
 *
 * @example
 * ```ts
 * const fields: LineFields = { textField: 'body', idField: 'id' };
 * ```
 */
export interface LineFields {
  /** The field that holds the text when a line is a JSON object. */
  readonly textField: string;
  /** The field copied to the result line as `id`, when present. */
  readonly idField: string;
}

/**
 * Reads one input line: a JSON string is the text itself; a JSON object holds the text in
 * `textField` (and an optional id in `idField`). Anything else is an item with a `problem`.
 *
 * @example
 * ```ts
 * parseLine(1, '"Where is my refund?"', { textField: 'text', idField: 'id' }); // { line: 1, text: 'Where is my refund?' }
 * parseLine(2, '{"id": 7, "text": "hi"}', { textField: 'text', idField: 'id' }); // { line: 2, id: 7, text: 'hi' }
 * parseLine(3, '{oops', { textField: 'text', idField: 'id' }).problem; // 'line 3: not valid JSON (...)'
 * ```
 */
export function parseLine(line: number, raw: string, fields: LineFields): InputItem {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    return { line, problem: `line ${line}: not valid JSON (${error instanceof Error ? error.message : String(error)})` };
  }
  if (typeof value === 'string') return { line, text: value };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
    return { line, problem: `line ${line}: expected a JSON string or object, got ${kind}` };
  }
  const record = value as Record<string, unknown>;
  const id = record[fields.idField];
  const text = record[fields.textField];
  const base = id === undefined ? { line } : { line, id };
  if (typeof text !== 'string') {
    const got = text === undefined ? 'it has none' : `it is ${text === null ? 'null' : typeof text}`;
    return { ...base, problem: `line ${line}: expected a string in field "${fields.textField}", but ${got} (see --text-field)` };
  }
  return { ...base, text };
}

/** The text of an item, for the operators and backends: a problem line throws, and the chain turns that into its failed outcome. */
export function itemText(item: InputItem): string {
  if (item.text === undefined) throw new Error(item.problem ?? `line ${item.line}: no text`);
  return item.text;
}

const isBlank = (raw: string): boolean => raw.trim() === '';

/** The lines of a file with their 1-based numbers (`\n`, `\r\n` and `\r` all end a line). */
async function* numberedLines(path: string): AsyncGenerator<[number, string]> {
  const stream = createReadStream(path, { encoding: 'utf8' });
  const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  let number = 0;
  try {
    for await (const raw of lines) {
      // A UTF-8 byte order mark (as some Windows editors write) is not part of line 1's JSON.
      yield [++number, number === 1 && raw.startsWith('\uFEFF') ? raw.slice(1) : raw];
    }
  } finally {
    lines.close();
    stream.destroy();
  }
}

/**
 * Counts the work in an input file before a run: non-blank lines, and how many of them `done`
 * already holds, so that progress can show a total and an ETA.
 *
 * @example
 * ```ts
 * const { items, alreadyDone } = await countInput('items.jsonl', new Set([1, 2]));
 * ```
 */
export async function countInput(path: string, done: ReadonlySet<number>): Promise<{ items: number; alreadyDone: number }> {
  let items = 0;
  let alreadyDone = 0;
  for await (const [number, raw] of numberedLines(path)) {
    if (isBlank(raw)) continue;
    items++;
    if (done.has(number)) alreadyDone++;
  }
  return { items, alreadyDone };
}

/**
 * Options of {@link readItems}.
 *
 * @example
 * ```ts
 * const options: ReadItemsOptions = { fields: { textField: 'text', idField: 'id' }, skip: new Set<number>(), stop: new AbortController().signal, onProblem: console.error };
 * ```
 */
export interface ReadItemsOptions {
  readonly fields: LineFields;
  /** Line numbers already in the output: not read again. */
  readonly skip: ReadonlySet<number>;
  /** Once aborted, the next pull ends the input (what has been read is still processed). */
  readonly stop: AbortSignal;
  /** Told about each line that has a problem, as it is read. */
  readonly onProblem: (item: InputItem) => void;
}

/**
 * The items of a JSONL file, in order, lazily (read as the chain pulls), skipping blank lines and
 * the lines in `skip`.
 *
 * @example
 * ```ts
 * for await (const item of readItems('items.jsonl', options)) console.log(item.line, item.text);
 * ```
 */
export async function* readItems(path: string, options: ReadItemsOptions): AsyncGenerator<InputItem> {
  for await (const [number, raw] of numberedLines(path)) {
    if (options.stop.aborted) return;
    if (isBlank(raw) || options.skip.has(number)) continue;
    const item = parseLine(number, raw, options.fields);
    if (item.problem !== undefined) options.onProblem(item);
    yield item;
  }
}

/** How much of the input is looked at before a run to tell text from binary. */
const SNIFF_BYTES = 64 * 1024;

/**
 * Why a file cannot be JSONL text, judged from its first 64 KiB before a run starts (so a binary
 * file is refused up front rather than echoed line by line): a NUL byte (binary data, or UTF-16
 * text), or bytes that are not UTF-8. `undefined` when it looks like UTF-8 text.
 *
 * @example
 * ```ts
 * const problem = await notText('items.jsonl');
 * if (problem) throw new Error(`input is not JSONL text: ${problem}`);
 * ```
 */
export async function notText(path: string): Promise<string | undefined> {
  const handle = await open(path, 'r');
  let sample: Buffer;
  let whole: boolean;
  try {
    const buffer = Buffer.alloc(SNIFF_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, SNIFF_BYTES, 0);
    sample = buffer.subarray(0, bytesRead);
    whole = bytesRead < SNIFF_BYTES;
  } finally {
    await handle.close();
  }
  const nul = sample.indexOf(0);
  if (nul >= 0) {
    const utf16 = (sample[0] === 0xff && sample[1] === 0xfe) || (sample[0] === 0xfe && sample[1] === 0xff);
    return utf16 ? 'it is UTF-16 text; save it as UTF-8' : `it holds binary data (a NUL byte at offset ${nul})`;
  }
  try {
    // stream: true when the sample stops mid-file, so a character cut at its end is not an error.
    new TextDecoder('utf-8', { fatal: true }).decode(sample, { stream: !whole });
  } catch {
    return 'it is not UTF-8 text';
  }
  return undefined;
}
