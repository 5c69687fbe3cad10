import type OpenAI from 'openai';
import type { TextOf } from '../../internal/item-text.js';
import { oneOf, optionalFunction } from '../../internal/options.js';
import { optionalRecord, requiredString } from './client.js';

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
 * What a batched chat request is made of: the options {@link openAIChat} and
 * {@link openAIBatchJob} share.
 *
 * @example
 * ```ts
 * const request: ChatRequestOptions<string, string> = { model: 'gpt-4o-mini', prompt: 'Label each ticket.' };
 * ```
 */
export interface ChatRequestOptions<T, R> {
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
}

/** The option keys of {@link ChatRequestOptions}, for unknown-key checks. */
export const CHAT_REQUEST_KEYS = ['model', 'prompt', 'text', 'resultSchema', 'parse', 'responseFormat', 'body'] as const;

/** Chat request options, checked once at creation. */
export interface ChatSettings<T, R> {
  readonly model: string;
  readonly system: string;
  readonly text: TextOf<T> | undefined;
  readonly parse: (value: unknown, item: T) => R;
  readonly responseFormat: Record<string, unknown> | undefined;
  readonly body: Record<string, unknown>;
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

/** Checks the chat request options once, at creation; errors name `owner` and the option. */
export function chatSettings<T, R>(raw: Partial<ChatRequestOptions<T, R>>, owner: string): ChatSettings<T, R> {
  const model = requiredString(raw.model, `${owner}: model`);
  const prompt = requiredString(raw.prompt, `${owner}: prompt`);
  const text = optionalFunction<TextOf<T>>(raw.text, `${owner}: text`);
  const customSchema = optionalRecord(raw.resultSchema, `${owner}: resultSchema`);
  const resultSchema = customSchema ?? { type: 'string' };
  const parse =
    optionalFunction<(value: unknown, item: T) => R>(raw.parse, `${owner}: parse`) ??
    ((value: unknown): R => {
      if (customSchema === undefined && typeof value !== 'string') throw new TypeError(`expected a string result, got ${typeof value}`);
      return value as R;
    });
  const format = oneOf(raw.responseFormat, `${owner}: responseFormat`, ['json_schema', 'json_object', 'text'], 'json_schema');
  const body = optionalRecord(raw.body, `${owner}: body`) ?? {};
  if (body.stream) throw new TypeError(`${owner}: body.stream: streaming responses are not supported (a batch is answered as one JSON object)`);
  return { model, system: `${prompt}\n\n${CHAT_INSTRUCTIONS(format, resultSchema)}`, text, parse, responseFormat: chatResponseFormat(format, resultSchema), body };
}

/** The request asking for `texts`, numbered 1..n in the user message. */
export function chatRequest(
  settings: Pick<ChatSettings<unknown, unknown>, 'model' | 'system' | 'responseFormat' | 'body'>,
  texts: readonly string[],
): OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming {
  const lines = texts.map((text, i) => JSON.stringify({ id: i + 1, text }));
  return {
    ...settings.body,
    model: settings.model,
    messages: [
      { role: 'system', content: settings.system },
      { role: 'user', content: `${texts.length} items:\n${lines.join('\n')}` },
    ],
    ...(settings.responseFormat ? { response_format: settings.responseFormat } : {}),
  } as OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming;
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

/** What one chat completion said about the items it was asked. */
export interface ChatReading {
  /** The model refused the request as a whole (`message.refusal`). */
  readonly refusal: string | undefined;
  /** The answer was cut off by the output limit (`finish_reason: 'length'`). */
  readonly truncated: boolean;
  /** The first reason an answer or a result was unusable. */
  readonly problem: unknown;
}

/** A chat completion as far as the reader needs it (the SDK's type, or a Batch API output body). */
export interface CompletionLike {
  readonly choices?: readonly { readonly message?: { readonly content?: string | null; readonly refusal?: string | null }; readonly finish_reason?: string | null }[];
}

/**
 * Reads `completion`, the answer for `positions` (indices into the batch, numbered 1..n in the
 * request), into `results`, marking `answered`. Items left unanswered stay as they were.
 */
export function readChatAnswer<T, R>(
  settings: ChatSettings<T, R>,
  completion: CompletionLike,
  positions: readonly number[],
  items: readonly T[],
  results: (R | Error)[],
  answered: boolean[],
): ChatReading {
  const choice = completion.choices?.[0];
  const refusal = choice?.message?.refusal ?? undefined;
  const byId = refusal ? undefined : parseChatResults(choice?.message?.content, positions.length);
  let problem: unknown = byId ? undefined : new Error(refusal ? `refusal: ${refusal}` : `unusable content: ${String(choice?.message?.content).slice(0, 200)}`);
  for (const [id, value] of byId ?? []) {
    const position = positions[id - 1]!;
    try {
      results[position] = settings.parse(value, items[position]!);
      answered[position] = true;
    } catch (error) {
      // A rejected result leaves its item unanswered, for the repair request.
      problem ??= error;
    }
  }
  return { refusal: refusal || undefined, truncated: choice?.finish_reason === 'length', problem };
}
