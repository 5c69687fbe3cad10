import { OpenAIRequestError } from '../backends/openai/errors.js';
import { QuotaExhaustedError } from '../errors.js';

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ENETUNREACH', 'EHOSTUNREACH', 'EPIPE']);

/** The error and its causes, outermost first (a few levels at most). */
function* causes(error: unknown): Generator<unknown> {
  for (let current = error, depth = 0; typeof current === 'object' && current !== null && depth < 6; depth++) {
    yield current;
    current = (current as { cause?: unknown }).cause;
  }
}

function className(value: unknown): string {
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' ? name : '';
}

/** True when the error, or a cause of it, says the host could not be reached. */
export function isUnreachable(error: unknown): boolean {
  for (const current of causes(error)) {
    const { code } = current as { code?: unknown };
    if (typeof code === 'string' && (NETWORK_CODES.has(code) || code.startsWith('UND_ERR_CONNECT'))) return true;
    if (className(current) === 'APIConnectionError' || (current as { name?: unknown }).name === 'APIConnectionError') return true;
  }
  return false;
}

/**
 * Why an error means that no line of the run can succeed, so the run must stop rather than write
 * every line as failed: a rejected key (401), no access (403), an unknown model or route (404), an
 * exhausted quota, or a host still unreachable after the last attempt. `undefined` for errors of
 * one batch or item, which become that line's failed result as usual.
 *
 * @example
 * ```ts
 * fatalReason(new QuotaExhaustedError('You exceeded your current quota')); // 'the account's quota is exhausted (...)'
 * ```
 */
export function fatalReason(error: unknown, { lastAttempt = true }: { lastAttempt?: boolean } = {}): string | undefined {
  const detail = (value: unknown): string => (value instanceof Error ? value.message : String(value));
  for (const current of causes(error)) {
    if (current instanceof OpenAIRequestError) {
      if (current.status === 401) return `the API rejected the key (HTTP 401: ${current.message}); check --api-key or OPENAI_API_KEY`;
      if (current.status === 403) return `the API refused access (HTTP 403: ${current.message})`;
      if (current.status === 404) return `the API does not know this model or route (HTTP 404: ${current.message}); check --model and --base-url`;
    }
    if (current instanceof QuotaExhaustedError) return `the account's quota is exhausted (${current.message})`;
  }
  if (lastAttempt && isUnreachable(error)) return `the host cannot be reached (${detail(error)}); check --base-url and the network`;
  return undefined;
}
