import { get_encoding, type Tiktoken } from 'tiktoken';
import type { EncodingName, Tokenizer } from '../types.js';
import { utf8Length } from '../tokens/tokenizers.js';

const ENCODINGS: readonly EncodingName[] = ['o200k_base', 'cl100k_base'];

const cache = new Map<EncodingName, Tokenizer>();

/**
 * An exact tokenizer for an OpenAI encoding through `tiktoken` (OpenAI's Rust tokenizer compiled to
 * WebAssembly), an optional peer dependency: several times faster than the default gpt-tokenizer
 * backend on exact counts, with the same results. Special-token strings in the text are counted as
 * ordinary text, as the default backend does.
 *
 * Each call returns the same instance for the same encoding. The WebAssembly encoder lives as long
 * as the process: it is built once (a few hundred milliseconds) and never freed.
 *
 * @param encoding - `'o200k_base'` (GPT-4o and later) or `'cl100k_base'` (GPT-4, GPT-3.5)
 *
 * @example
 * ```ts
 * import { from } from 'rxjs';
 * import { bufferByTokens } from 'tokenbatch';
 * import { tiktokenTokenizer } from 'tokenbatch/tiktoken';
 *
 * from(messages)
 *   .pipe(bufferByTokens({ maxTokens: 8000, tokenizer: tiktokenTokenizer('o200k_base') }))
 *   .subscribe((batch) => send(batch.items));
 * ```
 */
export function tiktokenTokenizer(encoding: EncodingName): Tokenizer {
  let tokenizer = cache.get(encoding);
  if (tokenizer) return tokenizer;
  if (!ENCODINGS.includes(encoding)) {
    throw new RangeError(`tiktokenTokenizer: unknown encoding "${String(encoding)}" (expected ${ENCODINGS.join(' or ')})`);
  }
  const encoder: Tiktoken = get_encoding(encoding);
  tokenizer = {
    name: `${encoding} (tiktoken)`,
    count: (text) => encoder.encode_ordinary(text).length,
    // Byte-level BPE: every token stands for at least one byte.
    upperBound: utf8Length,
  };
  cache.set(encoding, tokenizer);
  return tokenizer;
}
