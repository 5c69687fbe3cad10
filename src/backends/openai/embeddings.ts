import type OpenAI from 'openai';
import { BatchResultMismatchError, ContextOverflowError, InvalidItemError } from '../../errors.js';
import { itemTexts } from '../../internal/item-text.js';
import { oneOf, optionalFunction, optionalPositive, OptionReader, requireObject } from '../../internal/options.js';
import type { TextOf } from '../../internal/item-text.js';
import { resolveTokenizer } from '../../tokens/tokenizers.js';
import type { Batch, HandlerContext, Tokenizer, TokenizerSpec } from '../../types.js';
import { call, CONNECTION_KEYS, makeClient, optionalRecord, requiredString, type OpenAIConnectionOptions, type RequestOptions } from './client.js';

/**
 * Options of {@link openAIEmbeddings}.
 *
 * @example
 * ```ts
 * const options: OpenAIEmbeddingsOptions<string> = { model: 'text-embedding-3-small', dimensions: 512 };
 * ```
 */
export interface OpenAIEmbeddingsOptions<T> extends OpenAIConnectionOptions {
  /** The model. Required. */
  model: string;
  /** Vector length, for models that support shortening (text-embedding-3-*). Default: the model's. */
  dimensions?: number;
  /** The text of an item. Default: the item itself, which must then be a string. */
  text?: (item: T) => string;
  /** Most inputs per request. Default {@link OPENAI_EMBEDDING_LIMITS}.maxInputs (2,048). */
  maxInputs?: number;
  /** Most tokens per request, all inputs together. Default 300,000. */
  maxRequestTokens?: number;
  /** Most tokens per input. Default 8,192. */
  maxInputTokens?: number;
  /** Counts tokens for these limits. Default `'cl100k_base'` (the encoding of OpenAI's embedding models). */
  tokenizer?: TokenizerSpec;
  /** Wire encoding of vectors. `'base64'` (default) is about 4 times smaller; servers that ignore it and send arrays are handled too. */
  encodingFormat?: 'base64' | 'float';
  /** Extra request fields (such as `user`). `model`, `input`, `dimensions` and `encoding_format` are set here and win. */
  body?: Record<string, unknown>;
}

const EMBEDDINGS_KEYS = [...CONNECTION_KEYS, 'model', 'dimensions', 'text', 'maxInputs', 'maxRequestTokens', 'maxInputTokens', 'tokenizer', 'encodingFormat', 'body'];

/**
 * OpenAI's per-request limits of the embeddings endpoint, the defaults of {@link openAIEmbeddings}.
 * Form batches within them so that no request is refused:
 * `bufferByTokens({ maxTokens: OPENAI_EMBEDDING_LIMITS.maxRequestTokens, maxItems: OPENAI_EMBEDDING_LIMITS.maxInputs, tokenizer: 'cl100k_base' })`.
 *
 * @example
 * ```ts
 * const { maxInputs, maxRequestTokens, maxInputTokens } = OPENAI_EMBEDDING_LIMITS; // 2048, 300000, 8192
 * ```
 */
export const OPENAI_EMBEDDING_LIMITS = Object.freeze({ maxInputs: 2048, maxRequestTokens: 300_000, maxInputTokens: 8192 });

type Limits = { maxInputs: number; maxRequestTokens: number; maxInputTokens: number };

function decodeVector(embedding: unknown): Float32Array | undefined {
  if (Array.isArray(embedding)) return embedding.every((value) => typeof value === 'number') ? Float32Array.from(embedding) : undefined;
  if (typeof embedding !== 'string') return undefined;
  const bytes = base64Bytes(embedding);
  if (bytes.length % 4 !== 0) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const vector = new Float32Array(bytes.length / 4);
  for (let i = 0; i < vector.length; i++) vector[i] = view.getFloat32(i * 4, true);
  return vector;
}

const nodeBuffer = (globalThis as { Buffer?: { from(text: string, encoding: 'base64'): Uint8Array } }).Buffer;

function base64Bytes(text: string): Uint8Array {
  if (nodeBuffer) return nodeBuffer.from(text, 'base64');
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * Token counts of the inputs, exact where the cheap bound does not prove `maxInputTokens` holds.
 * An input above it fails alone; a request above `maxInputs` or `maxRequestTokens` fails the call
 * with a ContextOverflowError, so that `splitOnOverflow` halves it.
 */
function checkEmbeddingLimits(inputs: readonly { text: string; index: number }[], tokenizer: Tokenizer, limits: Limits): Map<number, ContextOverflowError> {
  const tooLong = new Map<number, ContextOverflowError>();
  const counts = inputs.map(({ text, index }) => {
    const bound = tokenizer.upperBound?.(text);
    const count = bound !== undefined && bound <= limits.maxInputTokens ? { tokens: bound, exact: false } : { tokens: tokenizer.count(text), exact: true };
    if (count.tokens > limits.maxInputTokens) {
      tooLong.set(index, new ContextOverflowError(`openai embeddings: item ${index} has ${count.tokens} tokens, more than maxInputTokens (${limits.maxInputTokens})`));
    }
    return count;
  });
  const kept = inputs.length - tooLong.size;
  if (kept > limits.maxInputs) throw new ContextOverflowError(`openai embeddings: a batch of ${kept} inputs exceeds maxInputs (${limits.maxInputs})`);
  const sum = (exact: boolean) =>
    counts.reduce((total, count, i) => (tooLong.has(inputs[i]!.index) ? total : total + (exact && !count.exact ? tokenizer.count(inputs[i]!.text) : count.tokens)), 0);
  if (sum(false) > limits.maxRequestTokens) {
    const total = sum(true);
    if (total > limits.maxRequestTokens) throw new ContextOverflowError(`openai embeddings: a batch of ${total} tokens exceeds maxRequestTokens (${limits.maxRequestTokens})`);
  }
  return tooLong;
}

/**
 * The vectors of an embeddings response, by request index: an index missing, repeated, out of range
 * or with a malformed vector (or a width other than most vectors') is left out, with the reason.
 */
export function readEmbeddings(data: unknown, count: number): { vectors: (Float32Array | undefined)[]; problems: Map<number, string> } {
  const vectors = new Array<Float32Array | undefined>(count);
  const problems = new Map<number, string>();
  const entries = Array.isArray((data as { data?: unknown } | null)?.data) ? (data as { data: unknown[] }).data : [];
  for (const entry of entries) {
    const index = (entry as { index?: unknown } | null)?.index;
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= count) continue;
    if (vectors[index] !== undefined || problems.has(index)) {
      // Which of two vectors is right cannot be known.
      vectors[index] = undefined;
      problems.set(index, `index ${index} given twice`);
      continue;
    }
    const vector = decodeVector((entry as { embedding?: unknown }).embedding);
    if (!vector || vector.length === 0) problems.set(index, `malformed vector at index ${index}`);
    else vectors[index] = vector;
  }
  const widths = new Map<number, number>();
  for (const vector of vectors) if (vector) widths.set(vector.length, (widths.get(vector.length) ?? 0) + 1);
  const width = [...widths].sort((a, b) => b[1] - a[1])[0]?.[0];
  vectors.forEach((vector, index) => {
    if (vector && vector.length !== width) {
      vectors[index] = undefined;
      problems.set(index, `vector of ${vector.length} dimensions at index ${index}, others have ${width}`);
    }
  });
  for (let index = 0; index < count; index++) if (!vectors[index] && !problems.has(index)) problems.set(index, `no vector for index ${index}`);
  return { vectors, problems };
}

/** The embeddings request options, checked once at creation. */
export interface EmbeddingsSettings<T> {
  readonly model: string;
  readonly dimensions: number | undefined;
  readonly text: TextOf<T> | undefined;
  readonly limits: Limits;
  readonly tokenizer: Tokenizer;
  readonly encodingFormat: 'base64' | 'float';
  readonly body: Record<string, unknown>;
}

/** The option keys that shape an embeddings request (model, limits, encoding), for unknown-key checks. */
export const EMBEDDINGS_REQUEST_KEYS = ['model', 'dimensions', 'text', 'maxInputs', 'maxRequestTokens', 'maxInputTokens', 'tokenizer', 'encodingFormat', 'body'] as const;

/** Checks the embeddings request options; errors name `owner` and the option. */
export function embeddingsSettings<T>(raw: Partial<OpenAIEmbeddingsOptions<T>>, owner: string): EmbeddingsSettings<T> {
  return {
    model: requiredString(raw.model, `${owner}: model`),
    dimensions: optionalPositive(raw.dimensions, `${owner}: dimensions`, { integer: true, min: 1 }),
    text: optionalFunction<TextOf<T>>(raw.text, `${owner}: text`),
    limits: {
      maxInputs: optionalPositive(raw.maxInputs, `${owner}: maxInputs`, { integer: true, min: 1 }) ?? OPENAI_EMBEDDING_LIMITS.maxInputs,
      maxRequestTokens: optionalPositive(raw.maxRequestTokens, `${owner}: maxRequestTokens`, { integer: true, min: 1 }) ?? OPENAI_EMBEDDING_LIMITS.maxRequestTokens,
      maxInputTokens: optionalPositive(raw.maxInputTokens, `${owner}: maxInputTokens`, { integer: true, min: 1 }) ?? OPENAI_EMBEDDING_LIMITS.maxInputTokens,
    },
    tokenizer: resolveTokenizer(raw.tokenizer ?? 'cl100k_base', `${owner}: tokenizer`),
    encodingFormat: oneOf(raw.encodingFormat, `${owner}: encodingFormat`, ['base64', 'float'], 'base64'),
    body: optionalRecord(raw.body, `${owner}: body`) ?? {},
  };
}

/** A batch made ready to embed: the items that fail alone are in `results` already; `request` is undefined when nothing is left to send. */
export interface PreparedEmbeddings {
  readonly results: (Float32Array | Error)[];
  readonly sent: readonly { readonly text: string; readonly index: number; readonly position: number }[];
  readonly request: Record<string, unknown> | undefined;
}

/**
 * The request for a batch: items without text, empty or above `maxInputTokens` fail alone and are
 * not sent; a request above `maxInputs` or `maxRequestTokens` throws a ContextOverflowError.
 */
export function prepareEmbeddings<T>(settings: EmbeddingsSettings<T>, batch: Batch<T>): PreparedEmbeddings {
  const results = new Array<Float32Array | Error>(batch.items.length);
  const inputs: { text: string; index: number; position: number }[] = [];
  itemTexts(batch, settings.text).forEach((value, position) => {
    const index = batch.itemIndices[position] ?? position;
    if (value instanceof Error) results[position] = value;
    else if (value === '') results[position] = new InvalidItemError(`item ${index}: empty text cannot be embedded`, index);
    else inputs.push({ text: value, index, position });
  });
  const tooLong = checkEmbeddingLimits(inputs, settings.tokenizer, settings.limits);
  const sent = inputs.filter((input) => {
    const overflow = tooLong.get(input.index);
    if (overflow) results[input.position] = overflow;
    return !overflow;
  });
  if (sent.length === 0) return { results, sent, request: undefined };
  const request = {
    ...settings.body,
    model: settings.model,
    input: sent.map((input) => input.text),
    encoding_format: settings.encodingFormat,
    ...(settings.dimensions !== undefined ? { dimensions: settings.dimensions } : {}),
  };
  return { results, sent, request };
}

/** Fills a prepared batch's results from an embeddings response; no usable vector at all throws a BatchResultMismatchError. */
export function readEmbeddingResults(data: unknown, prepared: PreparedEmbeddings): (Float32Array | Error)[] {
  const { sent, results } = prepared;
  const { vectors, problems } = readEmbeddings(data, sent.length);
  if (problems.size === sent.length) {
    throw new BatchResultMismatchError(`openai embeddings: no valid vector for ${sent.length} inputs (${[...problems.values()][0]})`, sent.length, 0);
  }
  sent.forEach((input, i) => {
    results[input.position] =
      vectors[i] ?? new BatchResultMismatchError(`openai embeddings: no valid vector for input item ${input.index} (${problems.get(i)})`, 1, 0, { itemIndex: input.index });
  });
  return results;
}

/**
 * A batch handler for the embeddings endpoint: one request per batch, each vector matched to its
 * item by the response's `index` (the order of `data` is not trusted), as a `Float32Array`.
 *
 * **Per-item results.** The returned array holds each item's vector, or an `Error` for an item that
 * failed alone (the handler contract), and such items are not sent:
 * - an empty text (the API refuses it) or a `text` that throws: `InvalidItemError`;
 * - an input above `maxInputTokens` even alone: `ContextOverflowError`;
 * - an index the response misses, repeats, or sends a malformed vector for:
 *   {@link BatchResultMismatchError} with that item's `itemIndex`. A response with no usable vector
 *   at all fails the call with one.
 *
 * A request must respect per-request limits ({@link OPENAI_EMBEDDING_LIMITS}, configurable). Form
 * batches within them with `bufferByTokens` and they always hold; a batch with too many inputs or
 * tokens anyway fails the whole call with a {@link ContextOverflowError} before anything is sent,
 * so that `splitOnOverflow` halves it. Provider errors are mapped by {@link classifyOpenAIError}.
 * Usage (`outputTokens: 0`), model and `x-ratelimit-*` headers are reported through `context.report`.
 *
 * @example
 * ```ts
 * import { from } from 'rxjs';
 * import { bufferByTokens } from 'tokenbatch';
 * import { OPENAI_EMBEDDING_LIMITS, openAIEmbeddings } from 'tokenbatch/openai';
 *
 * const embed = openAIEmbeddings({ model: 'text-embedding-3-small' });
 * const batches$ = from(documents).pipe(
 *   bufferByTokens({ maxTokens: OPENAI_EMBEDDING_LIMITS.maxRequestTokens, maxItems: OPENAI_EMBEDDING_LIMITS.maxInputs, tokenizer: 'cl100k_base' }),
 * );
 * // batches$.pipe(mergeBatches(embed, { concurrency: 2 }))
 * ```
 */
export function openAIEmbeddings<T = string>(options: OpenAIEmbeddingsOptions<T>): (batch: Batch<T>, context: HandlerContext) => Promise<readonly Float32Array[]> {
  const raw = requireObject(options, 'openAIEmbeddings') as Partial<OpenAIEmbeddingsOptions<T>>;
  new OptionReader('openAIEmbeddings', raw, EMBEDDINGS_KEYS);
  const settings = embeddingsSettings<T>(raw, 'openAIEmbeddings');
  const client = makeClient(raw, 'openAIEmbeddings');

  return async (batch, context) => {
    const prepared = prepareEmbeddings(settings, batch);
    if (!prepared.request) return prepared.results as Float32Array[];
    const request = prepared.request as unknown as OpenAI.Embeddings.EmbeddingCreateParams;
    const requestOptions: RequestOptions = { signal: context.signal, maxRetries: 0 };
    const data = await call(
      'embeddings',
      context,
      () => client.embeddings.create(request, requestOptions).withResponse(),
      (response) => (response.usage ? { inputTokens: response.usage.prompt_tokens, outputTokens: 0 } : undefined),
    );
    return readEmbeddingResults(data, prepared) as Float32Array[];
  };
}
