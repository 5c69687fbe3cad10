/**
 * tokenbatch/openai: batch handlers for OpenAI and OpenAI-compatible servers (Azure OpenAI, vLLM,
 * Ollama, llama.cpp), built on the official `openai` SDK, which must be installed alongside.
 *
 * @packageDocumentation
 */
export {
  OPENAI_EMBEDDING_LIMITS,
  openAIChat,
  openAIEmbeddings,
  parseChatResults,
  type ChatResponseFormat,
  type OpenAIChatOptions,
  type OpenAIConnectionOptions,
  type OpenAIEmbeddingsOptions,
} from './backends/openai.js';
export { classifyOpenAIError, OpenAIRequestError, parseDurationMs, parseRateLimitHeaders, retryAfterMs } from './backends/openai-errors.js';
