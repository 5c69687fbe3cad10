/**
 * tokenbatch's tiktoken backend: exact token counts through the `tiktoken` package (WebAssembly),
 * an optional peer dependency. Pass its tokenizer to any operator's `tokenizer` option, on either
 * face.
 *
 * @packageDocumentation
 */
export { tiktokenTokenizer } from './backends/tiktoken.js';
export type { EncodingName, Tokenizer } from './types.js';
