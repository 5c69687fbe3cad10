/**
 * tokenbatch for async iterables: the same operators as the main entry point, with the same options
 * and semantics, for ix `pipe` (`from(source).pipe(bufferByTokens(...))`). They pull from their
 * source only as fast as their consumer asks.
 *
 * @packageDocumentation
 */
import type { OperatorAsyncFunction } from 'ix/interfaces';
import { bufferByTokensSpec, type BufferByTokensOptions } from './operators/bufferByTokens.js';
import { iterableOperator } from './internal/iterable-face.js';
import type { Batch } from './types.js';

export type { BufferByTokensOptions } from './operators/bufferByTokens.js';
export type { Batch, CloseReason, EncodingName, Tokenizer, TokenizerSpec } from './types.js';

/**
 * Buffers items of an async iterable into token-budgeted batches: the async-iterable face of the
 * RxJS `bufferByTokens`, with the same options and closing rules. A batch closes on `maxWaitMs` even
 * while the source is silent, and the source is pulled only while the consumer waits for a batch.
 *
 * @example
 * ```ts
 * import { from } from 'ix/asynciterable';
 * import { bufferByTokens } from 'tokenbatch/iterable';
 *
 * for await (const batch of from(lines).pipe(bufferByTokens({ maxTokens: 4000, maxWaitMs: 200 }))) {
 *   await send(batch.items);
 * }
 * ```
 */
export function bufferByTokens<T>(options: BufferByTokensOptions<T>): OperatorAsyncFunction<T, Batch<T>> {
  return iterableOperator(bufferByTokensSpec(options)) as OperatorAsyncFunction<T, Batch<T>>;
}
