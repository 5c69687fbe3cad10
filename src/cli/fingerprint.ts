import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/**
 * The first line of an output file: what produced the results below it. `input` identifies the
 * input file by content (SHA-256 and size), `options` the settings that change results. A resume
 * whose input or options differ would mix two jobs in one file, so it is refused.
 *
 * @example
 * ```ts
 * const header: RunHeader = { tokenbatch: 1, input: { sha256: 'ab12…', bytes: 5120 }, options: { backend: 'openai', model: 'gpt-4o-mini', prompt: 'sha256:…' } };
 * ```
 */
export interface RunHeader {
  /** Marks the line as a tokenbatch header, and its format version. */
  readonly tokenbatch: 1;
  readonly input: { readonly sha256: string; readonly bytes: number };
  /** Settings that change results; long texts (prompt, schema) as their SHA-256. */
  readonly options: Readonly<Record<string, string>>;
}

/** The settings of a run that change its results. */
export interface ResultSettings {
  readonly backend: string;
  readonly model: string;
  readonly prompt?: string | undefined;
  readonly resultSchema?: Record<string, unknown> | undefined;
  readonly responseFormat?: string | undefined;
  readonly task?: string | undefined;
  readonly textField: string;
  readonly idField: string;
  readonly dedupe?: string | undefined;
  readonly dedupeThreshold?: number | undefined;
}

const sha256 = (text: string): string => `sha256:${createHash('sha256').update(text).digest('hex')}`;

/**
 * The fingerprint of the settings that change results: backend, model, prompt, result schema and
 * response format (openai), task (simulated), the fields read from input lines, and deduplication.
 *
 * @example
 * ```ts
 * optionsFingerprint({ backend: 'simulated', model: 'gpt-4o-mini', task: 'classify', textField: 'text', idField: 'id' });
 * // { backend: 'simulated', task: 'classify', textField: 'text', idField: 'id' }
 * ```
 */
export function optionsFingerprint(settings: ResultSettings): Record<string, string> {
  const options: Record<string, string> = { backend: settings.backend };
  if (settings.backend === 'simulated') {
    if (settings.task !== undefined) options.task = settings.task;
  } else {
    options.model = settings.model;
    if (settings.prompt !== undefined) options.prompt = sha256(settings.prompt);
    if (settings.responseFormat !== undefined) options.responseFormat = settings.responseFormat;
    options.resultSchema = settings.resultSchema === undefined ? 'default' : sha256(JSON.stringify(settings.resultSchema));
  }
  options.textField = settings.textField;
  options.idField = settings.idField;
  // A duplicate gets another line's result: deduplication changes results.
  if (settings.dedupe !== undefined) options.dedupe = `${settings.dedupe}${settings.dedupeThreshold === undefined ? '' : `@${settings.dedupeThreshold}`}`;
  return options;
}

/**
 * The SHA-256 and size of a file, read as a stream.
 *
 * @example
 * ```ts
 * const { sha256, bytes } = await fileFingerprint('items.jsonl');
 * ```
 */
export async function fileFingerprint(path: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

/**
 * Reads a header line; `undefined` when the line is not one.
 *
 * @example
 * ```ts
 * parseHeader('{"tokenbatch":1,"input":{"sha256":"ab","bytes":3},"options":{"backend":"simulated"}}')?.input.bytes; // 3
 * ```
 */
export function parseHeader(raw: string): RunHeader | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { tokenbatch, input, options } = parsed as Partial<Record<keyof RunHeader, unknown>>;
  if (tokenbatch !== 1 || typeof input !== 'object' || input === null || typeof options !== 'object' || options === null) return undefined;
  const { sha256: hash, bytes } = input as { sha256?: unknown; bytes?: unknown };
  if (typeof hash !== 'string' || typeof bytes !== 'number') return undefined;
  return { tokenbatch: 1, input: { sha256: hash, bytes }, options: options as Record<string, string> };
}

/**
 * What differs between the header of an output and the run about to resume it, in words (empty
 * when they match).
 *
 * @example
 * ```ts
 * headerDifferences(old, current); // ['the input file differs (...)', 'model differs (was gpt-4o-mini, now gpt-4o)']
 * ```
 */
export function headerDifferences(recorded: RunHeader, current: RunHeader): string[] {
  const differences: string[] = [];
  if (recorded.input.sha256 !== current.input.sha256 || recorded.input.bytes !== current.input.bytes) {
    differences.push(`the input file differs (its content is not the one this output was made from: ${recorded.input.bytes} bytes then, ${current.input.bytes} now)`);
  }
  const keys = new Set([...Object.keys(recorded.options), ...Object.keys(current.options)]);
  for (const key of keys) {
    const was = recorded.options[key];
    const now = current.options[key];
    if (was === now) continue;
    const hashed = (value: string | undefined): boolean => value?.startsWith('sha256:') === true;
    differences.push(hashed(was) || hashed(now) ? `${key} differs` : `${key} differs (was ${was ?? 'unset'}, now ${now ?? 'unset'})`);
  }
  return differences;
}
