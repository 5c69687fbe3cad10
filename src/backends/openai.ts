import OpenAI from 'openai';
import { BatchResultMismatchError, ContextOverflowError, InvalidItemError } from '../errors.js';
import { abortError } from '../internal/abort.js';
import { batchTexts } from '../internal/item-text.js';
import type { TextOf } from '../internal/item-text.js';
import { oneOf, optionalFunction, optionalPositive, requireObject } from '../internal/options.js';
import type { Batch, HandlerContext, RateLimitHint, Tokenizer, TokenizerSpec, Usage } from '../types.js';
import { classifyOpenAIError, parseRateLimitHeaders } from './openai-errors.js';
import { resolveTokenizer } from '../tokens/tokenizers.js';

/**
 * How to reach the server: a client of your own, or a key and base URL for one made here.
 *
 * @example
 * ```ts
 * const local: OpenAIConnectionOptions = { baseURL: 'http://127.0.0.1:11434/v1', apiKey: 'ollama' };
 * ```
 */
export interface OpenAIConnectionOptions {
  /**
   * An OpenAI SDK client. Its own retries are turned off per request (`maxRetries: 0`): retrying is
   * the operator's job, and two retry layers multiply attempts.
   */
  client?: OpenAI;
  /** API key of the client made here. Default: the SDK's (`OPENAI_API_KEY`). */
  apiKey?: string;
  /** Base URL of the client made here, for Azure, vLLM, Ollama, llama.cpp and other compatible servers. Default: the SDK's (`OPENAI_BASE_URL` or api.openai.com). */
  baseURL?: string;
  /** Extra headers on every request of the client made here. */
  defaultHeaders?: Record<string, string>;
}

/**
 * How a chat request asks for structured output.
 * - `'json_schema'`: `response_format: { type: 'json_schema', strict: true }` (OpenAI, Azure, vLLM, recent llama.cpp and Ollama).
 * - `'json_object'`: `response_format: { type: 'json_object' }` with the shape described in the prompt.
 * - `'text'`: no `response_format`; the shape is described in the prompt (servers without JSON modes).
 *
 * @example
 * ```ts
 * const format: ChatResponseFormat = 'json_object';
 * ```
 */
export type ChatResponseFormat = 'json_schema' | 'json_object' | 'text';

/**
 * Options of {@link openAIChat}.
 *
 * @example
 * ```ts
 * const options: OpenAIChatOptions<string, string> = {
 *   model: 'gpt-4o-mini',
 *   prompt: 'Classify each support ticket as billing, bug, account or other.',
 *   resultSchema: { type: 'string', enum: ['billing', 'bug', 'account', 'other'] },
 * };
 * ```
 */
export interface OpenAIChatOptions<T, R> extends OpenAIConnectionOptions {
  /** The model. Required. */
  model: string;
  /** The task, as the system prompt: what to do with each item. Required. */
  prompt: string;
  /** The text of an item. Default: the item itself, which must then be a string. */
  text?: (item: T) => string;
  /**
   * JSON Schema of one item's result. Default `{ type: 'string' }`. With `'json_schema'` it is sent
   * in strict mode, so objects must list every property in `required` and set
   * `additionalProperties: false` (OpenAI's structured-output rules).
   */
  resultSchema?: Record<string, unknown>;
  /**
   * Checks and converts one item's result; throw to reject it (it then counts as unanswered). Default:
   * with the default schema, accept strings only; with a custom schema, accept any value.
   */
  parse?: (value: unknown, item: T) => R;
  /** How structured output is requested. Default `'json_schema'`. */
  responseFormat?: ChatResponseFormat;
  /** Extra request fields (`temperature`, `max_completion_tokens`, `seed`, ...). `model`, `messages` and `response_format` are set here and win. */
  body?: Record<string, unknown>;
  /** Re-ask the items a response left unanswered, once (see {@link openAIChat}). Default true. */
  repair?: boolean;
}

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

type RequestOptions = { signal: AbortSignal; maxRetries: 0 };

function makeClient(options: OpenAIConnectionOptions, operator: string): OpenAI {
  if (options.client !== undefined) {
    const client = options.client as Partial<OpenAI> | null;
    if (typeof client !== 'object' || client === null || typeof client.chat !== 'object' || typeof client.embeddings !== 'object') {
      throw new TypeError('client: expected an OpenAI SDK client');
    }
    return options.client;
  }
  for (const name of ['apiKey', 'baseURL'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'string') throw new TypeError(`${name}: expected a string`);
  }
  try {
    return new OpenAI({ apiKey: options.apiKey, baseURL: options.baseURL, defaultHeaders: options.defaultHeaders, maxRetries: 0 });
  } catch (cause) {
    throw new TypeError(`${operator}: could not create an OpenAI client (pass apiKey, set OPENAI_API_KEY, or pass a client)`, { cause });
  }
}

function requiredString(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new TypeError(`${name}: required, a non-empty string`);
  return value;
}

function optionalRecord(value: unknown, name: string): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TypeError(`${name}: expected an object`);
  return value as Record<string, unknown>;
}

/** What a successful SDK call gives back once `.withResponse()` is awaited. */
interface Answered<D> {
  readonly data: D;
  readonly response: { readonly headers: { get(name: string): string | null } };
}

/** Runs one SDK call: reports usage and rate-limit headers, maps failures to the taxonomy. */
async function call<D extends { model?: string }>(
  operation: 'chat' | 'embeddings',
  context: HandlerContext,
  request: () => PromiseLike<Answered<D>>,
  usageOf: (data: D) => Usage | undefined,
): Promise<D> {
  const { signal } = context;
  if (signal.aborted) throw abortError(signal);
  let answered: Answered<D>;
  try {
    answered = await request();
  } catch (error) {
    if (signal.aborted) throw abortError(signal, error);
    throw classifyOpenAIError(error);
  }
  // The GenAI semantic conventions' operation name, for the batch span.
  const facts: { usage?: Usage; rateLimit?: RateLimitHint; model?: string; operation: string } = { operation };
  const usage = usageOf(answered.data);
  const rateLimit = parseRateLimitHeaders(answered.response.headers);
  if (usage) facts.usage = usage;
  if (rateLimit) facts.rateLimit = rateLimit;
  if (typeof answered.data.model === 'string') facts.model = answered.data.model;
  context.report(facts);
  return answered.data;
}

const CHAT_INSTRUCTIONS = (format: ChatResponseFormat, resultSchema: Record<string, unknown>): string =>
  [
    'The user message lists items, one per line, each a JSON object with an integer "id" and a "text".',
    'Handle every item on its own, as the task above says.',
    'Reply with a JSON object {"results": [{"id": <the item id>, "result": <the result for that item>}, ...]} holding exactly one entry per item id, in any order.',
    ...(format === 'json_schema' ? [] : [`Each "result" must match this JSON Schema: ${JSON.stringify(resultSchema)}`, 'Reply with the JSON object only.']),
  ].join('\n');

function chatResponseFormat(format: ChatResponseFormat, resultSchema: Record<string, unknown>): Record<string, unknown> | undefined {
  if (format === 'text') return undefined;
  if (format === 'json_object') return { type: 'json_object' };
  return {
    type: 'json_schema',
    json_schema: {
      name: 'batch_results',
      strict: true,
      schema: {
        type: 'object',
        properties: {
          results: {
            type: 'array',
            items: {
              type: 'object',
              properties: { id: { type: 'integer' }, result: resultSchema },
              required: ['id', 'result'],
              additionalProperties: false,
            },
          },
        },
        required: ['results'],
        additionalProperties: false,
      },
    },
  };
}

/**
 * Reads the entries of a batched chat answer (`{ "results": [{ "id", "result" }] }`, a bare array
 * of such entries, or either wrapped in a Markdown code fence) into a map from item number to raw
 * result. Returns `undefined` for content that is not such JSON. Ids given twice are dropped (which
 * answer is right cannot be known), and so are ids outside 1..count; numeric strings count as ids.
 *
 * @example
 * ```ts
 * parseChatResults('{"results":[{"id":2,"result":"b"},{"id":1,"result":"a"}]}', 2); // Map { 2 => 'b', 1 => 'a' }
 * parseChatResults('not json', 2); // undefined
 * ```
 */
export function parseChatResults(content: string | null | undefined, count: number): Map<number, unknown> | undefined {
  if (typeof content !== 'string') return undefined;
  // Models without a JSON mode like to wrap JSON in a Markdown fence.
  const unfenced = content.trim().replace(/^```(?:json)?\s*\n?([\s\S]*?)\n?```$/, '$1');
  let parsed: unknown;
  try {
    parsed = JSON.parse(unfenced);
  } catch {
    return undefined;
  }
  const entries = Array.isArray(parsed) ? parsed : (parsed as { results?: unknown } | null)?.results;
  if (!Array.isArray(entries)) return undefined;
  const byId = new Map<number, unknown>();
  const duplicated = new Set<number>();
  for (const entry of entries) {
    if (typeof entry !== 'object' || entry === null || !('result' in entry)) continue;
    const raw = (entry as { id?: unknown }).id;
    const id = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : raw;
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 1 || id > count) continue;
    if (byId.has(id)) duplicated.add(id);
    byId.set(id, (entry as { result: unknown }).result);
  }
  for (const id of duplicated) byId.delete(id);
  return byId;
}

/**
 * A batch handler that packs a batch into ONE chat-completions request: the `prompt` as the system
 * message (with fixed output instructions, so providers can cache it), the items as numbered JSON
 * lines in the user message, and a structured-output schema asking for `{ results: [{ id, result }] }`.
 * Results are matched to items by their number, never by position.
 *
 * **Repair policy.** An item whose number is missing from the answer, given twice, out of range, or
 * whose result `parse` rejects, is unanswered. Unparseable content (or a refusal) leaves every item
 * unanswered. If any are, and `repair` is on (default), the handler asks again for exactly those
 * items, renumbered, in one more request — in two requests (one per half) when the first answer was
 * cut off by the output limit (`finish_reason: 'length'`), since the same request would be cut
 * again. That is at most 3 requests per call. Items still unanswered then make the call throw
 * {@link BatchResultMismatchError} (`expected`: the batch size; `received`: the items answered),
 * and the answers obtained are discarded. This is the only retry inside the handler: errors of any
 * request (rate limits, 5xx, overflow, abort) are thrown at once, mapped by
 * {@link classifyOpenAIError}, for the operator to retry or split.
 *
 * Each response's usage, model and `x-ratelimit-*` headers are reported through `context.report`.
 * `signal` is passed to the SDK, and the SDK's own retries are off.
 *
 * Budget for the wrapper when forming batches: `batchOverheadTokens` about the tokens of `prompt`
 * plus 120, `itemOverheadTokens` about 10 (JSON line, id), and leave room for the output.
 *
 * @example
 * ```ts
 * import { from } from 'rxjs';
 * import { bufferByTokens } from 'tokenbatch';
 * import { openAIChat } from 'tokenbatch/openai';
 *
 * const classify = openAIChat({
 *   model: 'gpt-4o-mini',
 *   prompt: 'Classify each support ticket as billing, bug, account or other.',
 *   resultSchema: { type: 'string', enum: ['billing', 'bug', 'account', 'other'] },
 * });
 * // from(tickets).pipe(bufferByTokens({ maxTokens: 6000, batchOverheadTokens: 150, itemOverheadTokens: 10 }), mergeBatches(classify, { concurrency: 4 }))
 * ```
 */
export function openAIChat<T = string, R = string>(
  options: OpenAIChatOptions<T, R>,
): (batch: Batch<T>, context: HandlerContext) => Promise<readonly R[]> {
  const raw = requireObject(options, 'openAIChat') as Partial<OpenAIChatOptions<T, R>>;
  const model = requiredString(raw.model, 'model');
  const prompt = requiredString(raw.prompt, 'prompt');
  const text = optionalFunction<TextOf<T>>(raw.text, 'text');
  const customSchema = optionalRecord(raw.resultSchema, 'resultSchema');
  const resultSchema = customSchema ?? { type: 'string' };
  const parse =
    optionalFunction<(value: unknown, item: T) => R>(raw.parse, 'parse') ??
    ((value: unknown): R => {
      if (customSchema === undefined && typeof value !== 'string') throw new TypeError(`expected a string result, got ${typeof value}`);
      return value as R;
    });
  const format = oneOf(raw.responseFormat, 'responseFormat', ['json_schema', 'json_object', 'text'], 'json_schema');
  const body = optionalRecord(raw.body, 'body') ?? {};
  if (body.stream) throw new TypeError('body.stream: streaming responses are not supported (a batch is answered as one JSON object)');
  if (raw.repair !== undefined && typeof raw.repair !== 'boolean') throw new TypeError('repair: expected a boolean');
  const repair = raw.repair ?? true;
  const client = makeClient(raw, 'openAIChat');
  const system = `${prompt}\n\n${CHAT_INSTRUCTIONS(format, resultSchema)}`;
  const responseFormat = chatResponseFormat(format, resultSchema);

  return async (batch, context) => {
    const items = batch.items;
    const texts = batchTexts(batch, text);
    const results = new Array<R>(items.length);
    const answered = new Array<boolean>(items.length).fill(false);
    // The first reason an answer was unusable, kept as the cause of a BatchResultMismatchError.
    let problem: unknown;

    /** Asks for `positions` (indices into the batch); returns whether the answer was cut off. */
    const ask = async (positions: readonly number[]): Promise<boolean> => {
      const lines = positions.map((position, i) => JSON.stringify({ id: i + 1, text: texts[position] }));
      const request = {
        ...body,
        model,
        messages: [
          { role: 'system', content: system },
          { role: 'user', content: `${positions.length} items:\n${lines.join('\n')}` },
        ],
        ...(responseFormat ? { response_format: responseFormat } : {}),
      } as OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming;
      const requestOptions: RequestOptions = { signal: context.signal, maxRetries: 0 };
      const data = await call(
        'chat',
        context,
        () => client.chat.completions.create(request, requestOptions).withResponse(),
        (completion) =>
          completion.usage ? { inputTokens: completion.usage.prompt_tokens, outputTokens: completion.usage.completion_tokens } : undefined,
      );
      const choice = data.choices?.[0];
      const refusal = choice?.message?.refusal;
      const byId = refusal ? undefined : parseChatResults(choice?.message?.content, positions.length);
      if (!byId) problem ??= new Error(refusal ? `refusal: ${refusal}` : `unusable content: ${String(choice?.message?.content).slice(0, 200)}`);
      for (const [id, value] of byId ?? []) {
        const position = positions[id - 1]!;
        try {
          results[position] = parse(value, items[position]!);
          answered[position] = true;
        } catch (error) {
          // A rejected result leaves its item unanswered, for the repair request.
          problem ??= error;
        }
      }
      return choice?.finish_reason === 'length';
    };

    const all = items.map((_, position) => position);
    const truncated = await ask(all);
    let missing = all.filter((position) => !answered[position]);
    if (missing.length > 0 && repair) {
      const groups = truncated && missing.length > 1 ? [missing.slice(0, missing.length >> 1), missing.slice(missing.length >> 1)] : [missing];
      for (const group of groups) await ask(group);
      missing = all.filter((position) => !answered[position]);
    }
    if (missing.length > 0) {
      const shown = missing.slice(0, 10).map((position) => batch.itemIndices[position] ?? position);
      throw new BatchResultMismatchError(
        `openai: no valid result for ${missing.length} of ${items.length} items (input items ${shown.join(', ')}${missing.length > 10 ? ', ...' : ''})`,
        items.length,
        items.length - missing.length,
        { cause: problem },
      );
    }
    return results;
  };
}

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

/** Exact counts where the cheap bound is not enough to prove the limits hold. */
function checkEmbeddingLimits(texts: readonly string[], tokenizer: Tokenizer, limits: { maxInputs: number; maxRequestTokens: number; maxInputTokens: number }, batch: Batch<unknown>): void {
  if (texts.length > limits.maxInputs) {
    throw new ContextOverflowError(`openai embeddings: a batch of ${texts.length} inputs exceeds maxInputs (${limits.maxInputs})`);
  }
  const counts = texts.map((text) => {
    const bound = tokenizer.upperBound?.(text);
    return bound !== undefined && bound <= limits.maxInputTokens ? { tokens: bound, exact: false } : { tokens: tokenizer.count(text), exact: true };
  });
  counts.forEach(({ tokens }, i) => {
    if (tokens > limits.maxInputTokens) {
      throw new ContextOverflowError(
        `openai embeddings: item ${batch.itemIndices[i] ?? i} has ${tokens} tokens, more than maxInputTokens (${limits.maxInputTokens})`,
      );
    }
  });
  let total = counts.reduce((sum, { tokens }) => sum + tokens, 0);
  if (total > limits.maxRequestTokens) {
    total = counts.reduce((sum, count, i) => sum + (count.exact ? count.tokens : tokenizer.count(texts[i]!)), 0);
    if (total > limits.maxRequestTokens) {
      throw new ContextOverflowError(`openai embeddings: a batch of ${total} tokens exceeds maxRequestTokens (${limits.maxRequestTokens})`);
    }
  }
}

/**
 * A batch handler for the embeddings endpoint: one request per batch, each vector matched to its
 * item by the response's `index` (the order of `data` is not trusted), as a `Float32Array`.
 *
 * A request must respect per-request limits ({@link OPENAI_EMBEDDING_LIMITS}, configurable). Form
 * batches within them with `bufferByTokens` and they always hold; a batch that breaks one anyway
 * (too many inputs, too many tokens, or one input above `maxInputTokens`) fails the whole call with
 * a {@link ContextOverflowError} before anything is sent, so that `splitOnOverflow` halves it; an
 * input too long even alone ends as that item's ContextOverflowError. An empty text fails the call
 * with an {@link InvalidItemError} (the API refuses empty inputs): filter them out upstream.
 *
 * A response missing an index, repeating one, or with a malformed vector fails the call with a
 * {@link BatchResultMismatchError}. Provider errors are mapped by {@link classifyOpenAIError}.
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
export function openAIEmbeddings<T = string>(
  options: OpenAIEmbeddingsOptions<T>,
): (batch: Batch<T>, context: HandlerContext) => Promise<readonly Float32Array[]> {
  const raw = requireObject(options, 'openAIEmbeddings') as Partial<OpenAIEmbeddingsOptions<T>>;
  const model = requiredString(raw.model, 'model');
  const dimensions = optionalPositive(raw.dimensions, 'dimensions', { integer: true, min: 1 });
  const text = optionalFunction<TextOf<T>>(raw.text, 'text');
  const limits = {
    maxInputs: optionalPositive(raw.maxInputs, 'maxInputs', { integer: true, min: 1 }) ?? OPENAI_EMBEDDING_LIMITS.maxInputs,
    maxRequestTokens: optionalPositive(raw.maxRequestTokens, 'maxRequestTokens', { integer: true, min: 1 }) ?? OPENAI_EMBEDDING_LIMITS.maxRequestTokens,
    maxInputTokens: optionalPositive(raw.maxInputTokens, 'maxInputTokens', { integer: true, min: 1 }) ?? OPENAI_EMBEDDING_LIMITS.maxInputTokens,
  };
  const tokenizer = resolveTokenizer(raw.tokenizer ?? 'cl100k_base');
  const encodingFormat = oneOf(raw.encodingFormat, 'encodingFormat', ['base64', 'float'], 'base64');
  const body = optionalRecord(raw.body, 'body') ?? {};
  const client = makeClient(raw, 'openAIEmbeddings');

  return async (batch, context) => {
    const texts = batchTexts(batch, text);
    texts.forEach((value, i) => {
      if (value === '') {
        const index = batch.itemIndices[i] ?? i;
        throw new InvalidItemError(`item ${index}: empty text cannot be embedded`, index);
      }
    });
    checkEmbeddingLimits(texts, tokenizer, limits, batch);
    const request = {
      ...body,
      model,
      input: texts,
      encoding_format: encodingFormat,
      ...(dimensions !== undefined ? { dimensions } : {}),
    } as OpenAI.Embeddings.EmbeddingCreateParams;
    const requestOptions: RequestOptions = { signal: context.signal, maxRetries: 0 };
    const data = await call(
      'embeddings',
      context,
      () => client.embeddings.create(request, requestOptions).withResponse(),
      (response) => (response.usage ? { inputTokens: response.usage.prompt_tokens, outputTokens: 0 } : undefined),
    );
    const vectors = new Array<Float32Array | undefined>(texts.length);
    let problem: string | undefined;
    let width: number | undefined;
    for (const entry of Array.isArray(data.data) ? data.data : []) {
      const index = (entry as { index?: unknown }).index;
      if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= texts.length) {
        problem ??= `index ${String(index)} out of range`;
        continue;
      }
      if (vectors[index] !== undefined) {
        problem ??= `index ${index} given twice`;
        continue;
      }
      const vector = decodeVector((entry as { embedding?: unknown }).embedding);
      if (!vector || vector.length === 0 || (width !== undefined && vector.length !== width)) {
        problem ??= `malformed vector at index ${index}`;
        continue;
      }
      width = vector.length;
      vectors[index] = vector;
    }
    const received = vectors.filter((vector) => vector !== undefined).length;
    if (received !== texts.length || problem !== undefined) {
      throw new BatchResultMismatchError(
        `openai embeddings: ${received} valid vectors for ${texts.length} inputs${problem ? ` (${problem})` : ''}`,
        texts.length,
        received,
      );
    }
    return vectors as Float32Array[];
  };
}
