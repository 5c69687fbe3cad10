import { normalizeText } from '../internal/similarity/normalize.js';

/**
 * What changes an answer besides the item's text. Give every part that would change a result:
 * an entry is reused only when all of them and the text are the same.
 *
 * @example
 * ```ts
 * const identity: CacheIdentity = { model: 'gpt-4o-mini', prompt: 'Classify the sentiment', handler: 'classify@3', schema: { type: 'string' } };
 * ```
 */
export interface CacheIdentity {
  /** The model name (and its version or snapshot). */
  model?: string;
  /** The prompt or instructions sent with the items. */
  prompt?: string;
  /** Names the handler and its version: bump it when the code that computes results changes. */
  handler?: string;
  /** The result schema (a JSON Schema or a name for it); objects are keyed by content, key order aside. */
  schema?: unknown;
  /** Anything else that changes the answer (temperature, tools, locale), by content. */
  extra?: unknown;
}

const IDENTITY_KEYS = ['model', 'prompt', 'handler', 'schema', 'extra'] as const;
const VERSION = 'tokenbatch-cache/1';

/** JSON with object keys sorted, so that equal content gives equal text. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  const text = JSON.stringify(value);
  if (text === undefined) throw new TypeError(`cacheKey: identity: expected JSON values, got ${typeof value}`);
  return text;
}

/**
 * Checks an identity: an object with only known keys and at least one of them set, since a cache
 * keyed by text alone would hand one model's or prompt's answer to another.
 *
 * @example
 * ```ts
 * checkIdentity({ model: 'gpt-4o-mini' }, 'mergeBatches: cache');
 * ```
 */
export function checkIdentity(identity: unknown, owner: string): CacheIdentity {
  if (typeof identity !== 'object' || identity === null || Array.isArray(identity)) {
    throw new TypeError(`${owner}: identity: expected an object naming what changes the answer ({ model, prompt, handler, schema, extra })`);
  }
  const keys = Object.keys(identity).filter((key) => (identity as Record<string, unknown>)[key] !== undefined);
  for (const key of keys) {
    if (!(IDENTITY_KEYS as readonly string[]).includes(key))
      throw new RangeError(`${owner}: identity: unknown key '${key}', expected ${IDENTITY_KEYS.map((k) => `'${k}'`).join(', ')}`);
  }
  for (const key of ['model', 'prompt', 'handler'] as const) {
    const value = (identity as Record<string, unknown>)[key];
    if (value !== undefined && typeof value !== 'string') throw new TypeError(`${owner}: identity.${key}: expected a string, got ${typeof value}`);
  }
  if (keys.length === 0) throw new TypeError(`${owner}: identity: name at least one of model, prompt, handler, schema, extra (what changes the answer)`);
  return identity;
}

/**
 * How a text is normalized before keying: `'text'` (default) as `dedupeSimilar`'s exact method does
 * (Unicode NFKC, case folded, white space collapsed), so case and spacing resends hit; `'none'` keys
 * the text exactly as given, for tasks where case or spacing changes the answer.
 *
 * @example
 * ```ts
 * const normalization: CacheKeyNormalization = 'none';
 * ```
 */
export type CacheKeyNormalization = 'text' | 'none';

const hex = (bytes: ArrayBuffer): string => Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');

/**
 * The cache key of an item's text under an identity: the SHA-256 (WebCrypto, so also in browsers)
 * of a versioned, canonical JSON of the normalized text and every part of the identity, as 64 hex
 * digits. The same text under another model, prompt, handler version or schema gets another key.
 *
 * @example
 * ```ts
 * import { cacheKey } from 'tokenbatch';
 *
 * const key = await cacheKey('  Great PRODUCT ', { model: 'm1', prompt: 'Classify the sentiment' });
 * console.log(key === (await cacheKey('great product', { model: 'm1', prompt: 'Classify the sentiment' }))); // true
 * console.log(key === (await cacheKey('great product', { model: 'm2', prompt: 'Classify the sentiment' }))); // false
 * ```
 */
export async function cacheKey(text: string, identity: CacheIdentity, normalization: CacheKeyNormalization = 'text'): Promise<string> {
  if (typeof text !== 'string') throw new TypeError(`cacheKey: expected a text string, got ${typeof text}`);
  checkIdentity(identity, 'cacheKey');
  if (normalization !== 'text' && normalization !== 'none') throw new RangeError(`cacheKey: normalization: expected 'text' or 'none', got ${String(normalization)}`);
  const keyed = normalization === 'text' ? normalizeText(text) : text;
  const material = canonicalJson([VERSION, normalization, keyed, ...IDENTITY_KEYS.map((key) => identity[key] ?? null)]);
  const digest = await globalThis.crypto.subtle.digest('SHA-256', new TextEncoder().encode(material));
  return hex(digest);
}
