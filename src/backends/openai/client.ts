import OpenAI from 'openai';
import { abortError } from '../../internal/abort.js';
import type { HandlerContext, RateLimitHint, Usage } from '../../types.js';
import { classifyOpenAIError, parseRateLimitHeaders } from './errors.js';

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

/** The option keys of {@link OpenAIConnectionOptions}, for unknown-key checks. */
export const CONNECTION_KEYS = ['client', 'apiKey', 'baseURL', 'defaultHeaders'] as const;

/** Per-request options of every SDK call made here: the caller's signal, and no SDK retries. */
export type RequestOptions = { signal: AbortSignal; maxRetries: 0 };

/** The client of `options`, or a new one; `resources` are the SDK resources the caller needs. */
export function makeClient(options: OpenAIConnectionOptions, operator: string, resources: readonly string[] = ['chat', 'embeddings']): OpenAI {
  if (options.client !== undefined) {
    const client = options.client as unknown as Record<string, unknown> | null;
    if (typeof client !== 'object' || client === null || resources.some((name) => typeof client[name] !== 'object')) {
      throw new TypeError(`${operator}: client: expected an OpenAI SDK client`);
    }
    return options.client;
  }
  for (const name of ['apiKey', 'baseURL'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'string') throw new TypeError(`${operator}: ${name}: expected a string`);
  }
  try {
    return new OpenAI({ apiKey: options.apiKey, baseURL: options.baseURL, defaultHeaders: options.defaultHeaders, maxRetries: 0 });
  } catch (cause) {
    throw new TypeError(`${operator}: could not create an OpenAI client (pass apiKey, set OPENAI_API_KEY, or pass a client)`, { cause });
  }
}

/** `value` if it is a non-empty string, else a TypeError naming the option. */
export function requiredString(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new TypeError(`${name}: required, a non-empty string`);
  return value;
}

/** `value` if it is a plain object or undefined, else a TypeError naming the option. */
export function optionalRecord(value: unknown, name: string): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TypeError(`${name}: expected an object`);
  return value as Record<string, unknown>;
}

/** What a successful SDK call gives back once `.withResponse()` is awaited. */
export interface Answered<D> {
  readonly data: D;
  readonly response: { readonly headers: { get(name: string): string | null } };
}

/** The facts a handler reports for one response. */
export type ResponseFacts = { usage?: Usage; rateLimit?: RateLimitHint; model?: string; operation: string };

/** Runs one SDK call: reports usage and rate-limit headers, maps failures to the taxonomy. */
export async function call<D extends { model?: string }>(
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
  const facts: ResponseFacts = { operation };
  const usage = usageOf(answered.data);
  const rateLimit = parseRateLimitHeaders(answered.response.headers);
  if (usage) facts.usage = usage;
  if (rateLimit) facts.rateLimit = rateLimit;
  if (typeof answered.data.model === 'string') facts.model = answered.data.model;
  context.report(facts);
  return answered.data;
}
