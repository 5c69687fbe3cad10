import { GptEncoding } from 'gpt-tokenizer/GptEncoding';
import o200kRanks from 'gpt-tokenizer/bpeRanks/o200k_base';
import cl100kRanks from 'gpt-tokenizer/bpeRanks/cl100k_base';
import type { EncodingName, Tokenizer, TokenizerSpec } from '../types.js';

type Ranks = typeof o200kRanks;
// Under CommonJS the default import of these ESM-compiled modules arrives wrapped once more.
const unwrap = (ranks: Ranks | { default: Ranks }): Ranks => (Array.isArray(ranks) ? ranks : (ranks).default);

const RANKS: Record<EncodingName, Ranks> = {
  o200k_base: unwrap(o200kRanks),
  cl100k_base: unwrap(cl100kRanks),
};

// Special-token strings in user text are counted as the ordinary text they are (like tiktoken's
// encode_ordinary) instead of throwing: a chat message may well contain "<|endoftext|>".
const ORDINARY = { disallowedSpecial: new Set<string>() };

const cache = new Map<EncodingName, Tokenizer>();

const nodeBuffer = (globalThis as { Buffer?: { byteLength(text: string, encoding: 'utf8'): number } }).Buffer;

/**
 * The UTF-8 length of `text` in bytes: an upper bound on any byte-level BPE token count, since every
 * such token stands for at least one byte. Hundreds of times cheaper than tokenizing.
 *
 * @example
 * ```ts
 * utf8Length('héllo'); // 6
 * ```
 */
export function utf8Length(text: string): number {
  if (nodeBuffer) return nodeBuffer.byteLength(text, 'utf8');
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code < 0xdc00 && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next < 0xe000) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * An exact tokenizer for an OpenAI encoding, through gpt-tokenizer.
 *
 * Each call returns the same instance for the same name, so operators of one chain share its work.
 * The instance is private to tokenbatch and runs with gpt-tokenizer's merge cache off: on varied text
 * the default cache thrashes and halves the speed, and turning it off here leaves the cache of the
 * shared gpt-tokenizer module, which the application may use itself, untouched.
 *
 * @example
 * ```ts
 * const tokenizer = getTokenizer('o200k_base');
 * tokenizer.count('Hello, world!'); // 4
 * ```
 */
export function getTokenizer(name: EncodingName): Tokenizer {
  let tokenizer = cache.get(name);
  if (tokenizer) return tokenizer;
  const ranks = RANKS[name];
  if (!ranks) throw new RangeError(`tokenizer: unknown encoding "${String(name)}" (expected ${Object.keys(RANKS).join(' or ')})`);
  const api = GptEncoding.getEncodingApi(name, () => ranks);
  api.setMergeCacheSize(0);
  tokenizer = {
    name,
    count: (text) => api.countTokens(text, ORDINARY),
    upperBound: utf8Length,
  };
  cache.set(name, tokenizer);
  return tokenizer;
}

/**
 * Turns the `tokenizer` option of an operator into a {@link Tokenizer}.
 *
 * @param spec - a Tokenizer, a `(text) => number` function, or an encoding name
 * @param option - the option's name, for the error message
 *
 * @example
 * ```ts
 * resolveTokenizer('cl100k_base').count('hi'); // 1
 * resolveTokenizer((text) => text.length).count('hi'); // 2
 * ```
 */
export function resolveTokenizer(spec: TokenizerSpec | undefined, option = 'tokenizer'): Tokenizer {
  if (spec === undefined) return getTokenizer('o200k_base');
  if (typeof spec === 'string') {
    if (!(spec in RANKS)) throw new RangeError(`${option}: unknown encoding "${spec}" (expected ${Object.keys(RANKS).join(' or ')})`);
    return getTokenizer(spec);
  }
  if (typeof spec === 'function') return { name: spec.name || 'custom', count: spec };
  if (spec && typeof spec === 'object' && typeof spec.count === 'function') return spec;
  throw new TypeError(`${option}: expected a Tokenizer, a (text) => number function or an encoding name`);
}
