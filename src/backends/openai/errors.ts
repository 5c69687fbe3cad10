import { AbortError, BatchRejectedError, ContextOverflowError, QuotaExhaustedError, RateLimitError, TimeoutError, TokenbatchError, TransientError } from '../../errors.js';
import type { RateLimitHint } from '../../types.js';

/**
 * A request the provider refused for a reason that retrying cannot fix: a bad key (401), no access
 * (403), an unknown model or route (404), an invalid request (other 4xx). Never retried. `cause`
 * holds the SDK's error.
 *
 * @example
 * ```ts
 * if (outcome.ok === false && outcome.error instanceof OpenAIRequestError && outcome.error.status === 401) {
 *   console.error('check OPENAI_API_KEY');
 * }
 * ```
 */
export class OpenAIRequestError extends TokenbatchError {
  override name = 'OpenAIRequestError';
  constructor(
    message: string,
    /** The HTTP status. */
    readonly status: number,
    /** The provider's error code (`error.code` in the body), if any. */
    readonly code: string | undefined,
    /** The provider's error type (`error.type` in the body), if any. */
    readonly type: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A request the provider refused because of what it says: a content-policy rejection
 * (`content_filter`, `invalid_prompt`, `content_policy_violation`) or an invalid request about the
 * messages or inputs themselves (`param` under `messages` or `input`). Some item of the batch
 * caused it, so it is a {@link BatchRejectedError}: `mergeBatches` bisects the batch to find the
 * items that fail alone, and their batch-mates keep their results. `cause` holds the SDK's error.
 *
 * @example
 * ```ts
 * if (outcome.ok === false && outcome.error instanceof OpenAIRejectedError) console.warn(outcome.index, outcome.error.code);
 * ```
 */
export class OpenAIRejectedError extends BatchRejectedError {
  override name = 'OpenAIRejectedError';
  constructor(
    message: string,
    /** The HTTP status (400 or 422 as a rule). */
    readonly status: number,
    /** The provider's error code, if any (`content_filter`, `invalid_prompt`, ...). */
    readonly code: string | undefined,
    /** The provider's error type, if any. */
    readonly type: string | undefined,
    /** The request field the provider blamed (`messages[1].content`, `input`), if it said. */
    readonly param: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Headers as the SDK gives them (fetch `Headers`) or as a plain record. */
type HeaderSource = { get(name: string): string | null } | Record<string, string | string[] | undefined> | null | undefined;

function header(headers: HeaderSource, name: string): string | undefined {
  if (!headers) return undefined;
  if (typeof (headers as { get?: unknown }).get === 'function') return (headers as { get(name: string): string | null }).get(name) ?? undefined;
  const record = headers as Record<string, string | string[] | undefined>;
  const value = record[name] ?? Object.entries(record).find(([key]) => key.toLowerCase() === name)?.[1];
  return Array.isArray(value) ? value[0] : value;
}

const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, µs: 0.001, ns: 0.000001 };

/**
 * Parses a duration as OpenAI writes them in `x-ratelimit-reset-*` headers and 429 messages
 * (Go-style: `"20ms"`, `"1s"`, `"1.5s"`, `"6m0s"`, `"1h2m3.5s"`), or a bare number of seconds.
 * Returns whole milliseconds, rounded up; `undefined` when the text is not a duration.
 *
 * @example
 * ```ts
 * parseDurationMs('6m0s'); // 360000
 * parseDurationMs('20ms'); // 20
 * parseDurationMs('0.5'); // 500
 * ```
 */
export function parseDurationMs(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.ceil(Number(trimmed) * 1000);
  const parts = /^(?:\d+(?:\.\d+)?(?:ms|us|µs|ns|h|m|s))+$/.test(trimmed) ? trimmed.match(/\d+(?:\.\d+)?(?:ms|us|µs|ns|h|m|s)/g) : null;
  if (!parts) return undefined;
  let total = 0;
  for (const part of parts) {
    const [, amount, unit] = /^(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)$/.exec(part)!;
    total += Number(amount) * UNIT_MS[unit!]!;
  }
  // Round away float noise (1.898s is 1898ms, not 1898.0000000000002) before rounding up.
  return Math.ceil(Number(total.toFixed(6)));
}

/**
 * How long a 429 asks the caller to wait, in milliseconds: from the `retry-after-ms` header, else
 * `retry-after` (seconds, or an HTTP date), else "try again in 1.5s" in the message.
 *
 * @example
 * ```ts
 * retryAfterMs(new Headers({ 'retry-after': '2' }), ''); // 2000
 * retryAfterMs(undefined, 'Rate limit reached ... Please try again in 20ms.'); // 20
 * ```
 */
export function retryAfterMs(headers: HeaderSource, message: string): number | undefined {
  const ms = header(headers, 'retry-after-ms');
  if (ms !== undefined && /^\d+(\.\d+)?$/.test(ms.trim())) return Math.ceil(Number(ms));
  const after = header(headers, 'retry-after');
  if (after !== undefined) {
    const seconds = parseDurationMs(after);
    if (seconds !== undefined) return seconds;
    const date = Date.parse(after);
    if (!Number.isNaN(date)) return Math.max(0, date - Date.now());
  }
  const inMessage = /try again in\s+((?:\d+(?:\.\d+)?\s?(?:ms|us|µs|ns|h|m|s))+)/i.exec(message);
  return inMessage ? parseDurationMs(inMessage[1]!.replace(/\s/g, '')) : undefined;
}

/**
 * Reads OpenAI's rate-limit headers (`x-ratelimit-remaining-requests`, `-tokens`,
 * `x-ratelimit-reset-requests`, `-tokens`) into a {@link RateLimitHint}; `undefined` when none is there.
 *
 * @example
 * ```ts
 * parseRateLimitHeaders(new Headers({ 'x-ratelimit-remaining-tokens': '1500', 'x-ratelimit-reset-tokens': '6m0s' }));
 * // { remainingTokens: 1500, resetTokensMs: 360000 }
 * ```
 */
export function parseRateLimitHeaders(headers: HeaderSource): RateLimitHint | undefined {
  const count = (name: string): number | undefined => {
    const value = header(headers, name);
    return value !== undefined && /^\d+$/.test(value.trim()) ? Number(value) : undefined;
  };
  const hint: { -readonly [K in keyof RateLimitHint]: RateLimitHint[K] } = {};
  const remainingRequests = count('x-ratelimit-remaining-requests');
  const remainingTokens = count('x-ratelimit-remaining-tokens');
  const resetRequestsMs = parseDurationMs(header(headers, 'x-ratelimit-reset-requests'));
  const resetTokensMs = parseDurationMs(header(headers, 'x-ratelimit-reset-tokens'));
  if (remainingRequests !== undefined) hint.remainingRequests = remainingRequests;
  if (remainingTokens !== undefined) hint.remainingTokens = remainingTokens;
  if (resetRequestsMs !== undefined) hint.resetRequestsMs = resetRequestsMs;
  if (resetTokensMs !== undefined) hint.resetTokensMs = resetTokensMs;
  return Object.keys(hint).length > 0 ? hint : undefined;
}

const CONTEXT_MESSAGE =
  /maximum context length|context[ _-]length[ _-]exceeded|context window|exceeds? the (?:available )?context|context size|prompt is too long|too many (?:input )?tokens/i;
const QUOTA_MESSAGE = /exceeded your current quota|insufficient[ _]quota|check your plan and billing/i;
const REJECTION_CODES = new Set(['content_filter', 'content_policy_violation', 'invalid_prompt', 'string_above_max_length', 'invalid_image', 'image_content_policy_violation']);
const REJECTION_MESSAGE = /content (?:management )?policy|flagged as potentially violating|usage polic(?:y|ies)|safety system/i;
/** A 400/422 that an item's content caused, not the request's settings (model, temperature, ...). */
const isContentRejection = (code: string | undefined, type: string | undefined, param: string | undefined, message: string): boolean =>
  (code !== undefined && REJECTION_CODES.has(code)) ||
  type === 'content_filter' ||
  REJECTION_MESSAGE.test(message) ||
  (param !== undefined && /^(?:body\.)?(?:messages|input)\b/.test(param));
const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH']);

interface ErrorFacts {
  /** The error's `name` and the class names along its prototype chain (the SDK leaves `name` as 'Error'). */
  readonly names: ReadonlySet<string>;
  readonly status: number | undefined;
  readonly code: string | undefined;
  readonly type: string | undefined;
  readonly param: string | undefined;
  readonly message: string;
  readonly headers: HeaderSource;
}

function facts(error: unknown): ErrorFacts {
  const value = (typeof error === 'object' && error !== null ? error : {}) as Record<string, unknown>;
  const body = (typeof value.error === 'object' && value.error !== null ? value.error : {}) as Record<string, unknown>;
  const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
  return {
    names: classNames(error),
    status: typeof value.status === 'number' ? value.status : undefined,
    code: text(value.code) ?? text(body.code),
    type: text(value.type) ?? text(body.type),
    param: text(value.param) ?? text(body.param),
    message: text(value.message) ?? text(body.message) ?? String(error),
    headers: value.headers as HeaderSource,
  };
}

function classNames(error: unknown): Set<string> {
  const names = new Set<string>();
  if (typeof error !== 'object' || error === null) return names;
  const { name } = error as { name?: unknown };
  if (typeof name === 'string') names.add(name);
  for (let proto: unknown = Object.getPrototypeOf(error); proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    const ctor = (proto as { constructor?: { name?: unknown } }).constructor;
    if (typeof ctor?.name === 'string') names.add(ctor.name);
  }
  return names;
}

/** True if the error or anything in its cause chain is a network failure. */
function isNetworkFailure(error: unknown): boolean {
  for (let current = error, depth = 0; typeof current === 'object' && current !== null && depth < 5; depth++) {
    const { code } = current as { code?: unknown };
    if (typeof code === 'string' && (NETWORK_CODES.has(code) || code.startsWith('UND_ERR'))) return true;
    const names = classNames(current);
    if (names.has('APIConnectionError') || names.has('FetchError')) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * Maps an error of the OpenAI SDK (or of any OpenAI-compatible server reached through it) to the
 * tokenbatch error taxonomy, keeping the original as `cause`. It looks at the HTTP status, the
 * error code and type from the body, and the message together, never at the class alone, so it
 * also works with errors from another copy of the SDK:
 *
 * | condition | result |
 * | --- | --- |
 * | already a tokenbatch error | returned unchanged |
 * | 400/413 with code `context_length_exceeded`, type `exceed_context_size_error`, or a message like "maximum context length" | {@link ContextOverflowError} |
 * | 413 otherwise (payload too large) | {@link ContextOverflowError} |
 * | 400/422 content rejection (code `content_filter`, `invalid_prompt`, `content_policy_violation`, "content management policy", "flagged") or blaming `param` `messages…`/`input…` | {@link OpenAIRejectedError} (a {@link BatchRejectedError}: isolated by bisection) |
 * | 429 with code or type `insufficient_quota`, or "exceeded your current quota" | {@link QuotaExhaustedError} |
 * | 429 "Request too large" (one request above the tokens-per-minute limit) | {@link ContextOverflowError} |
 * | 429 otherwise | {@link RateLimitError}, `retryAfterMs` from `retry-after-ms`, `retry-after` or "try again in …" |
 * | 408 | {@link TimeoutError} |
 * | 409, 5xx | {@link TransientError} |
 * | other 4xx (400, 401, 403, 404, 422, …) | {@link OpenAIRequestError} (fatal, never isolated: no item causes it) |
 * | SDK connection timeout (`APIConnectionTimeoutError`) | {@link TimeoutError} |
 * | connection failure (`APIConnectionError`, ECONNRESET, …) or an unparseable response body | {@link TransientError} |
 * | user abort (`APIUserAbortError`, `AbortError`) | {@link AbortError} |
 * | anything else | returned unchanged (a bug, not a provider failure) |
 *
 * @example
 * ```ts
 * try {
 *   await client.chat.completions.create(request, { signal });
 * } catch (error) {
 *   throw classifyOpenAIError(error);
 * }
 * ```
 */
export function classifyOpenAIError(error: unknown): Error {
  if (error instanceof TokenbatchError) return error;
  const { names, status, code, type, param, message, headers } = facts(error);
  const cause = { cause: error };
  const text = `openai: ${message}`;
  if (status === undefined) {
    if (names.has('APIUserAbortError') || names.has('AbortError')) return new AbortError(text, cause);
    if (names.has('APIConnectionTimeoutError') || names.has('TimeoutError')) return new TimeoutError(text, cause);
    if (isNetworkFailure(error)) return new TransientError(text, cause);
    // A 2xx whose body is not JSON: a proxy or server hiccup, worth another try.
    if (error instanceof SyntaxError) return new TransientError(`openai: malformed response body: ${message}`, cause);
    return error instanceof Error ? error : new TokenbatchError(text, cause);
  }
  if (status === 400 || status === 413) {
    if (code === 'context_length_exceeded' || type === 'exceed_context_size_error' || CONTEXT_MESSAGE.test(message) || status === 413) {
      return new ContextOverflowError(text, cause);
    }
  }
  if ((status === 400 || status === 422) && isContentRejection(code, type, param, message)) return new OpenAIRejectedError(text, status, code, type, param, cause);
  if (status === 429) {
    if (code === 'insufficient_quota' || type === 'insufficient_quota' || QUOTA_MESSAGE.test(message)) return new QuotaExhaustedError(text, cause);
    if (/request too large/i.test(message)) return new ContextOverflowError(text, cause);
    return new RateLimitError(text, { retryAfterMs: retryAfterMs(headers, message), cause: error });
  }
  if (status === 408) return new TimeoutError(text, cause);
  if (status === 409 || status >= 500) return new TransientError(text, cause);
  return new OpenAIRequestError(text, status, code, type, cause);
}
