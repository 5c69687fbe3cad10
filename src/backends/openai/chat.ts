import { BatchRejectedError, BatchResultMismatchError } from '../../errors.js';
import { itemTexts } from '../../internal/item-text.js';
import { OptionReader, requireObject } from '../../internal/options.js';
import type { Batch, HandlerContext } from '../../types.js';
import { CHAT_REQUEST_KEYS, chatRequest, chatSettings, readChatAnswer, type ChatReading, type ChatRequestOptions } from './chat-protocol.js';
import { call, CONNECTION_KEYS, makeClient, type OpenAIConnectionOptions, type RequestOptions } from './client.js';

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
export interface OpenAIChatOptions<T, R> extends OpenAIConnectionOptions, ChatRequestOptions<T, R> {
  /** Re-ask the items a response left unanswered, once (see {@link openAIChat}). Default true. */
  repair?: boolean;
}

const CHAT_KEYS = [...CONNECTION_KEYS, ...CHAT_REQUEST_KEYS, 'repair'];

/**
 * A batch handler that packs a batch into ONE chat-completions request: the `prompt` as the system
 * message (with fixed output instructions, so providers can cache it), the items as numbered JSON
 * lines in the user message, and a structured-output schema asking for `{ results: [{ id, result }] }`.
 * Results are matched to items by their number, never by position.
 *
 * **Per-item results.** The returned array holds each item's result, or an `Error` for an item that
 * failed alone (the handler contract): answered items always keep their answers.
 * - An item whose `text` throws or is not a string gets an `InvalidItemError` and is not sent.
 * - An item whose number is missing from the answer, given twice, out of range, or whose result
 *   `parse` rejects, is unanswered. If any are, and `repair` is on (default), the handler asks again
 *   for exactly those items, renumbered, in one more request (in two, one per half, when the first
 *   answer was cut off by the output limit, since the same request would be cut again): at most 3
 *   requests per call. Items still unanswered get a {@link BatchResultMismatchError} each
 *   (`expected` 1, `received` 0, `itemIndex` the item's input position).
 * - A refusal, or no usable answer for any item (unparseable content), throws a
 *   {@link BatchRejectedError}: some item made the model refuse the whole batch, and `mergeBatches`
 *   bisects the batch to find it.
 *
 * Errors of any request (rate limits, 5xx, overflow, abort) are thrown at once, mapped by
 * {@link classifyOpenAIError}, for the operator to retry or split. Each response's usage, model and
 * `x-ratelimit-*` headers are reported through `context.report`. `signal` is passed to the SDK, and
 * the SDK's own retries are off.
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
export function openAIChat<T = string, R = string>(options: OpenAIChatOptions<T, R>): (batch: Batch<T>, context: HandlerContext) => Promise<readonly R[]> {
  const raw = requireObject(options, 'openAIChat') as Partial<OpenAIChatOptions<T, R>>;
  new OptionReader('openAIChat', raw, CHAT_KEYS);
  const settings = chatSettings<T, R>(raw, 'openAIChat');
  if (raw.repair !== undefined && typeof raw.repair !== 'boolean') throw new TypeError('openAIChat: repair: expected a boolean');
  const repair = raw.repair ?? true;
  const client = makeClient(raw, 'openAIChat');

  return async (batch, context) => {
    const items = batch.items;
    const texts = itemTexts(batch, settings.text);
    const results = new Array<R | Error>(items.length);
    const answered = new Array<boolean>(items.length).fill(false);
    const sendable: number[] = [];
    texts.forEach((text, position) => {
      if (text instanceof Error) results[position] = text;
      else sendable.push(position);
    });
    if (sendable.length === 0) return results as R[];
    // The first reason an answer was unusable, kept as the cause of the errors below.
    let problem: unknown;

    const ask = async (positions: readonly number[]): Promise<ChatReading> => {
      const request = chatRequest(
        settings,
        positions.map((position) => texts[position] as string),
      );
      const requestOptions: RequestOptions = { signal: context.signal, maxRetries: 0 };
      const completion = await call(
        'chat',
        context,
        () => client.chat.completions.create(request, requestOptions).withResponse(),
        (data) => (data.usage ? { inputTokens: data.usage.prompt_tokens, outputTokens: data.usage.completion_tokens } : undefined),
      );
      const reading = readChatAnswer(settings, completion, positions, items, results, answered);
      problem ??= reading.problem;
      return reading;
    };

    const first = await ask(sendable);
    // The same items would be refused again: isolate the one that makes the model refuse.
    if (first.refusal !== undefined) throw new BatchRejectedError(`openai: the model refused the batch of ${sendable.length} items: ${first.refusal}`, { cause: problem });
    let missing = sendable.filter((position) => !answered[position]);
    if (missing.length > 0 && repair) {
      const groups = first.truncated && missing.length > 1 ? [missing.slice(0, missing.length >> 1), missing.slice(missing.length >> 1)] : [missing];
      for (const group of groups) await ask(group);
      missing = sendable.filter((position) => !answered[position]);
    }
    if (missing.length > 0 && missing.length === sendable.length) {
      throw new BatchRejectedError(`openai: no usable answer for any of the ${sendable.length} items`, { cause: problem });
    }
    for (const position of missing) {
      const itemIndex = batch.itemIndices[position] ?? position;
      results[position] = new BatchResultMismatchError(`openai: no valid result for input item ${itemIndex}`, 1, 0, { itemIndex, cause: problem });
    }
    return results as R[];
  };
}
