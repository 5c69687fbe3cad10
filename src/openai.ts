/**
 * tokenbatch/openai: batch handlers for OpenAI and OpenAI-compatible servers (Azure OpenAI, vLLM,
 * Ollama, llama.cpp), built on the official `openai` SDK, which must be installed alongside.
 *
 * @packageDocumentation
 */
export { type OpenAIConnectionOptions } from './backends/openai/client.js';
export { parseChatResults, type ChatRequestOptions, type ChatResponseFormat } from './backends/openai/chat-protocol.js';
export { openAIChat, type OpenAIChatOptions } from './backends/openai/chat.js';
export { OPENAI_EMBEDDING_LIMITS, openAIEmbeddings, type OpenAIEmbeddingsOptions } from './backends/openai/embeddings.js';
export { classifyOpenAIError, OpenAIRejectedError, OpenAIRequestError, parseDurationMs, parseRateLimitHeaders, retryAfterMs } from './backends/openai/errors.js';
export {
  openAIBatchJob,
  openAIEmbeddingsBatchJob,
  type BatchJobProgress,
  type BatchJobSettings,
  type OpenAIBatchJob,
  type OpenAIBatchJobOptions,
  type OpenAIEmbeddingsBatchJobOptions,
} from './backends/openai/batch-job.js';
export { BATCH_FILE_LIMITS } from './backends/openai/batch-lines.js';
export { batchJobFileStore, type BatchJobState, type BatchJobStore } from './backends/openai/batch-state.js';
export type { BatchSnapshot } from './backends/openai/batch-tracker.js';
