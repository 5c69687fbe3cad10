import { BatchRejectedError, BatchResultMismatchError } from '../../errors.js';
import { itemTexts } from '../../internal/item-text.js';
import type { Batch, Usage } from '../../types.js';
import { chatRequest, readChatAnswer, type ChatSettings, type CompletionLike } from './chat-protocol.js';
import { prepareEmbeddings, readEmbeddingResults, type EmbeddingsSettings } from './embeddings.js';

/** One batch made ready for a Batch API file: its request, and how to read the answer to it. */
export interface PreparedRequest<R> {
  /** The items that failed alone before sending, and later the answers. */
  readonly results: (R | Error)[];
  /** The request body; undefined when no item is left to send. */
  readonly body: Record<string, unknown> | undefined;
  /** Inputs the request carries (embeddings count them against a file's limit). */
  readonly inputs: number;
  /** The results from the answer's body (a 200 line); throws for a whole-request failure. */
  read(body: unknown): (R | Error)[];
}

/** What differs between the endpoints a batch job can use. */
export interface BatchProtocol<T, R> {
  readonly endpoint: '/v1/chat/completions' | '/v1/embeddings';
  readonly operation: 'chat' | 'embeddings';
  /** The Batch API's ceiling of inputs over all requests of one batch (embeddings: 50,000). */
  readonly maxInputsPerFile: number;
  prepare(batch: Batch<T>): PreparedRequest<R>;
  usage(body: unknown): Usage | undefined;
}

type UsageBody = { usage?: { prompt_tokens?: number; completion_tokens?: number } } | null;

/** Chat requests as openAIChat builds them; the answer read per item, with no repair request. */
export function chatProtocol<T, R>(settings: ChatSettings<T, R>): BatchProtocol<T, R> {
  return {
    endpoint: '/v1/chat/completions',
    operation: 'chat',
    maxInputsPerFile: Number.POSITIVE_INFINITY,
    usage(body) {
      const usage = (body as UsageBody)?.usage;
      return usage ? { inputTokens: usage.prompt_tokens ?? 0, outputTokens: usage.completion_tokens ?? 0 } : undefined;
    },
    prepare(batch) {
      const items = batch.items;
      const texts = itemTexts(batch, settings.text);
      const results = new Array<R | Error>(items.length);
      const sendable: number[] = [];
      texts.forEach((text, position) => {
        if (text instanceof Error) results[position] = text;
        else sendable.push(position);
      });
      const body =
        sendable.length === 0
          ? undefined
          : (chatRequest(
              settings,
              sendable.map((position) => texts[position] as string),
            ) as unknown as Record<string, unknown>);
      return {
        results,
        body,
        inputs: sendable.length,
        read(answer) {
          const answered = new Array<boolean>(items.length).fill(false);
          const reading = readChatAnswer(settings, answer as CompletionLike, sendable, items, results, answered);
          if (reading.refusal !== undefined)
            throw new BatchRejectedError(`openai batch: the model refused the batch of ${sendable.length} items: ${reading.refusal}`, { cause: reading.problem });
          const missing = sendable.filter((position) => !answered[position]);
          if (missing.length === sendable.length)
            throw new BatchRejectedError(`openai batch: no usable answer for any of the ${sendable.length} items`, { cause: reading.problem });
          for (const position of missing) {
            const itemIndex = batch.itemIndices[position] ?? position;
            results[position] = new BatchResultMismatchError(`openai batch: no valid result for input item ${itemIndex}`, 1, 0, { itemIndex, cause: reading.problem });
          }
          return results;
        },
      };
    },
  };
}

/** Embeddings requests as openAIEmbeddings builds them; vectors matched by index, per item. */
export function embeddingsProtocol<T>(settings: EmbeddingsSettings<T>): BatchProtocol<T, Float32Array> {
  return {
    endpoint: '/v1/embeddings',
    operation: 'embeddings',
    maxInputsPerFile: 50_000,
    usage(body) {
      const usage = (body as UsageBody)?.usage;
      return usage ? { inputTokens: usage.prompt_tokens ?? 0, outputTokens: 0 } : undefined;
    },
    prepare(batch) {
      const prepared = prepareEmbeddings(settings, batch);
      return { results: prepared.results, body: prepared.request, inputs: prepared.sent.length, read: (answer) => readEmbeddingResults(answer, prepared) };
    },
  };
}
