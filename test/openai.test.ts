import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  AbortError,
  BatchResultMismatchError,
  ContextOverflowError,
  InvalidItemError,
  QuotaExhaustedError,
  RateLimitError,
  TimeoutError,
  TransientError,
} from '../src/errors.js';
import {
  OPENAI_EMBEDDING_LIMITS,
  OpenAIRequestError,
  classifyOpenAIError,
  openAIChat,
  openAIEmbeddings,
  parseChatResults,
  parseDurationMs,
  parseRateLimitHeaders,
  retryAfterMs,
} from '../src/openai.js';
import { makeBatch, makeContext } from './support/batches.js';
import { chatItems, OpenAIServer, reply } from './support/openai-server.js';

let server: OpenAIServer;
beforeAll(async () => {
  server = await OpenAIServer.start();
});
afterAll(async () => {
  await server.close();
});
afterEach(() => {
  server.requests.length = 0;
  server.fallback = undefined;
});

const PROMPT = 'Classify each support ticket as billing, bug or other.';
const chat = (options: Partial<Parameters<typeof openAIChat<string, string>>[0]> = {}) =>
  openAIChat<string, string>({ model: 'gpt-4o-mini', prompt: PROMPT, apiKey: 'test-key', baseURL: server.url, ...options });
const embeddings = (options: Partial<Parameters<typeof openAIEmbeddings<string>>[0]> = {}) =>
  openAIEmbeddings<string>({ model: 'text-embedding-3-small', apiKey: 'test-key', baseURL: server.url, ...options });

async function failure(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  if (!(outcome instanceof Error)) throw new Error('expected the call to fail');
  return outcome;
}

describe('OpenAI error mapping, through the SDK and a real server', () => {
  const table: [string, Parameters<typeof reply.error>, (error: Error) => void][] = [
    [
      '429 rate_limit_exceeded + retry-after seconds',
      [429, { message: 'Rate limit reached for requests', type: 'requests', code: 'rate_limit_exceeded' }, { 'retry-after': '2' }],
      (error) => expect(error).toMatchObject({ name: 'RateLimitError', retryAfterMs: 2000 }),
    ],
    [
      '429 + retry-after-ms (preferred over retry-after)',
      [429, { message: 'Rate limit reached', code: 'rate_limit_exceeded' }, { 'retry-after-ms': '1500.2', 'retry-after': '9' }],
      (error) => expect(error).toMatchObject({ name: 'RateLimitError', retryAfterMs: 1501 }),
    ],
    [
      '429 + "try again in 20ms" in the message',
      [429, { message: 'Rate limit reached for gpt-4o in organization org-x on tokens per min (TPM): Limit 30000, Used 29990, Requested 120. Please try again in 20ms. Visit https://platform.openai.com/account/rate-limits to learn more.', type: 'tokens', code: 'rate_limit_exceeded' }],
      (error) => expect(error).toMatchObject({ name: 'RateLimitError', retryAfterMs: 20 }),
    ],
    [
      '429 + "try again in 1.898s"',
      [429, { message: 'Rate limit reached ... Please try again in 1.898s.', code: 'rate_limit_exceeded' }],
      (error) => expect(error).toMatchObject({ retryAfterMs: 1898 }),
    ],
    [
      '429 + "try again in 6m0s"',
      [429, { message: 'Rate limit reached for requests per day (RPD). Please try again in 6m0s.', code: 'rate_limit_exceeded' }],
      (error) => expect(error).toMatchObject({ retryAfterMs: 360_000 }),
    ],
    [
      '429 without any hint',
      [429, { message: 'Too many requests', code: 'rate_limit_exceeded' }],
      (error) => {
        expect(error).toBeInstanceOf(RateLimitError);
        expect((error as RateLimitError).retryAfterMs).toBeUndefined();
      },
    ],
    [
      '429 insufficient_quota',
      [429, { message: 'You exceeded your current quota, please check your plan and billing details.', type: 'insufficient_quota', code: 'insufficient_quota' }],
      (error) => expect(error).toBeInstanceOf(QuotaExhaustedError),
    ],
    [
      '429 "Request too large" (above TPM alone)',
      [429, { message: 'Request too large for gpt-4o in organization org-x on tokens per min (TPM): Limit 30000, Requested 45000. The input or output tokens must be reduced in order to run successfully.', type: 'tokens', code: 'rate_limit_exceeded' }],
      (error) => expect(error).toBeInstanceOf(ContextOverflowError),
    ],
    [
      '400 context_length_exceeded',
      [400, { message: "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.", code: 'context_length_exceeded', param: 'messages' }],
      (error) => expect(error).toBeInstanceOf(ContextOverflowError),
    ],
    [
      '400 "maximum context length" without a code (vLLM)',
      [400, { message: "This model's maximum context length is 8192 tokens. However, you requested 9000 tokens (8000 in the messages, 1000 in the completion).", type: 'BadRequestError' }],
      (error) => expect(error).toBeInstanceOf(ContextOverflowError),
    ],
    [
      '400 exceed_context_size_error (llama.cpp)',
      [400, { message: 'the request exceeds the available context size, try increasing it', type: 'exceed_context_size_error' }],
      (error) => expect(error).toBeInstanceOf(ContextOverflowError),
    ],
    [
      '400 other invalid request: fatal',
      [400, { message: "Invalid value for 'temperature'", param: 'temperature', code: 'invalid_value' }],
      (error) => expect(error).toMatchObject({ name: 'OpenAIRequestError', status: 400, code: 'invalid_value' }),
    ],
    ['401: fatal', [401, { message: 'Incorrect API key provided', code: 'invalid_api_key' }], (error) => expect(error).toMatchObject({ name: 'OpenAIRequestError', status: 401 })],
    ['403: fatal', [403, { message: 'Country not supported', code: 'unsupported_country_region_territory' }], (error) => expect(error).toMatchObject({ name: 'OpenAIRequestError', status: 403 })],
    ['404: fatal', [404, { message: 'The model `gpt-9` does not exist', code: 'model_not_found' }], (error) => expect(error).toMatchObject({ name: 'OpenAIRequestError', status: 404 })],
    ['408: timeout', [408, { message: 'Request timeout' }], (error) => expect(error).toBeInstanceOf(TimeoutError)],
    ['409: transient', [409, { message: 'lock timeout' }], (error) => expect(error).toBeInstanceOf(TransientError)],
    ['500: transient', [500, { message: 'The server had an error', type: 'server_error' }], (error) => expect(error).toBeInstanceOf(TransientError)],
    ['502: transient', [502, { message: 'Bad gateway' }], (error) => expect(error).toBeInstanceOf(TransientError)],
    ['503: transient', [503, { message: 'The engine is currently overloaded', type: 'server_error' }], (error) => expect(error).toBeInstanceOf(TransientError)],
  ];

  for (const [label, args, check] of table) {
    it(`${label}, with the SDK error as cause and one request only`, async () => {
      server.enqueue(reply.error(...args));
      const error = await failure(chat()(await makeBatch(['refund please']), makeContext().context));
      check(error);
      expect(error.cause).toBeInstanceOf(OpenAI.APIError);
      expect((error.cause as InstanceType<typeof OpenAI.APIError>).status).toBe(args[0]);
      expect(server.requests).toHaveLength(1);
    });
  }

  it('maps the same errors for the embeddings endpoint', async () => {
    server.enqueue(reply.error(429, { message: 'Rate limit', code: 'rate_limit_exceeded' }, { 'retry-after': '0.25' }));
    const error = await failure(embeddings()(await makeBatch(['a']), makeContext().context));
    expect(error).toMatchObject({ name: 'RateLimitError', retryAfterMs: 250 });
    expect(server.requests).toHaveLength(1);
  });

  it('does not retry inside the SDK even with a user client that would (maxRetries per request)', async () => {
    const client = new OpenAI({ apiKey: 'test-key', baseURL: server.url, maxRetries: 3 });
    server.enqueue(reply.error(500, { message: 'boom' }), reply.error(429, { message: 'slow', code: 'rate_limit_exceeded' }, { 'retry-after-ms': '1' }));
    const handler = openAIChat({ model: 'm', prompt: PROMPT, client });
    const batch = await makeBatch(['x']);
    expect(await failure(handler(batch, makeContext().context))).toBeInstanceOf(TransientError);
    expect(await failure(handler(batch, makeContext().context))).toBeInstanceOf(RateLimitError);
    expect(server.requests).toHaveLength(2);
  });

  it('maps a dropped connection to TransientError', async () => {
    server.enqueue(reply.destroy());
    const error = await failure(chat()(await makeBatch(['x']), makeContext().context));
    expect(error).toBeInstanceOf(TransientError);
    expect(error.cause).toBeInstanceOf(OpenAI.APIConnectionError);
  });

  it('maps a refused connection to TransientError', async () => {
    const closed = await OpenAIServer.start();
    const url = closed.url;
    await closed.close();
    const error = await failure(openAIChat({ model: 'm', prompt: PROMPT, apiKey: 'k', baseURL: url })(await makeBatch(['x']), makeContext().context));
    expect(error).toBeInstanceOf(TransientError);
  });

  it('maps a 200 whose body is not JSON to TransientError', async () => {
    server.enqueue(reply.malformed());
    const error = await failure(chat()(await makeBatch(['x']), makeContext().context));
    expect(error).toBeInstanceOf(TransientError);
    expect(error.message).toMatch(/malformed response body/);
  });

  it('aborts a response slower than the caller: AbortError, and the server sees the client go away', async () => {
    server.enqueue(reply.hang());
    const { context, controller } = makeContext();
    const aborted = server.nextAbort();
    const pending = failure(chat()(await makeBatch(['x']), context));
    await expect.poll(() => server.held).toBe(1);
    controller.abort();
    const error = await pending;
    expect(error).toBeInstanceOf(AbortError);
    expect((await aborted).path).toBe('/v1/chat/completions');
    await expect.poll(() => server.held).toBe(0);
  });

  it('rejects with the abort reason when it is a tokenbatch TimeoutError (an operator timing out)', async () => {
    server.enqueue(reply.hang());
    const { context, controller } = makeContext();
    const pending = failure(embeddings()(await makeBatch(['x']), context));
    await expect.poll(() => server.held).toBe(1);
    const timeout = new TimeoutError('attempt 1 timed out');
    controller.abort(timeout);
    expect(await pending).toBe(timeout);
    await expect.poll(() => server.held).toBe(0);
  });

  it('rejects at once, without a request, when the signal is already aborted', async () => {
    const { context, controller } = makeContext();
    controller.abort();
    expect(await failure(chat()(await makeBatch(['x']), context))).toBeInstanceOf(AbortError);
    expect(server.requests).toHaveLength(0);
  });

  it("maps the SDK's own timeout (APIConnectionTimeoutError) to TimeoutError", async () => {
    server.enqueue(reply.hang());
    const client = new OpenAI({ apiKey: 'k', baseURL: server.url, timeout: 20 });
    const error = await failure(openAIChat({ model: 'm', prompt: PROMPT, client })(await makeBatch(['x']), makeContext().context));
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error.cause).toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
  });
});

describe('classifyOpenAIError', () => {
  const apiError = (status: number, error: object, headers: Record<string, string> = {}) =>
    OpenAI.APIError.generate(status, { error }, undefined, new Headers(headers));

  it('classifies by status, code and message together', () => {
    expect(classifyOpenAIError(apiError(400, { message: 'context_length_exceeded', code: 'context_length_exceeded' }))).toBeInstanceOf(ContextOverflowError);
    expect(classifyOpenAIError(apiError(413, { message: 'Payload Too Large' }))).toBeInstanceOf(ContextOverflowError);
    // The same words under another status do not make an overflow.
    expect(classifyOpenAIError(apiError(500, { message: 'maximum context length' }))).toBeInstanceOf(TransientError);
    expect(classifyOpenAIError(apiError(429, { message: 'You exceeded your current quota' }))).toBeInstanceOf(QuotaExhaustedError);
    expect(classifyOpenAIError(apiError(429, { message: 'x', code: 'insufficient_quota' }))).toBeInstanceOf(QuotaExhaustedError);
    expect(classifyOpenAIError(apiError(422, { message: 'Unprocessable' }))).toBeInstanceOf(OpenAIRequestError);
  });

  it('keeps tokenbatch errors, maps SDK aborts and connection errors, and passes unknown errors through', () => {
    const overflow = new ContextOverflowError('x');
    expect(classifyOpenAIError(overflow)).toBe(overflow);
    expect(classifyOpenAIError(new OpenAI.APIUserAbortError())).toBeInstanceOf(AbortError);
    expect(classifyOpenAIError(new OpenAI.APIConnectionTimeoutError())).toBeInstanceOf(TimeoutError);
    expect(classifyOpenAIError(new OpenAI.APIConnectionError({ message: 'Connection error.' }))).toBeInstanceOf(TransientError);
    const reset = Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }) });
    expect(classifyOpenAIError(reset)).toBeInstanceOf(TransientError);
    const bug = new TypeError('cannot read properties of undefined');
    expect(classifyOpenAIError(bug)).toBe(bug);
    expect(classifyOpenAIError('a string')).toMatchObject({ name: 'TokenbatchError', cause: 'a string' });
  });
});

describe('duration and header parsing', () => {
  it('parses OpenAI durations', () => {
    const cases: [string, number | undefined][] = [
      ['1s', 1000],
      ['6m0s', 360_000],
      ['20ms', 20],
      ['1.5s', 1500],
      ['1.898s', 1898],
      ['1h2m3.5s', 3_723_500],
      ['2m59.56s', 179_560],
      ['500us', 1],
      ['0.5', 500],
      ['7', 7000],
      ['', undefined],
      ['soon', undefined],
      ['5 parsecs', undefined],
      ['1s garbage', undefined],
    ];
    for (const [text, expected] of cases) expect([text, parseDurationMs(text)]).toEqual([text, expected]);
  });

  it('reads retry hints in order: retry-after-ms, retry-after (seconds or date), message', () => {
    expect(retryAfterMs(new Headers({ 'retry-after-ms': '30', 'retry-after': '5' }), 'try again in 9s')).toBe(30);
    expect(retryAfterMs(new Headers({ 'retry-after': '5' }), 'try again in 9s')).toBe(5000);
    expect(retryAfterMs({ 'Retry-After': '3' }, '')).toBe(3000);
    expect(retryAfterMs(new Headers(), 'Please try again in 9s.')).toBe(9000);
    expect(retryAfterMs(new Headers(), 'no hint')).toBeUndefined();
    const date = new Date(Date.now() + 3_600_000).toUTCString();
    const fromDate = retryAfterMs(new Headers({ 'retry-after': date }), '')!;
    expect(fromDate).toBeGreaterThan(3_500_000);
    expect(fromDate).toBeLessThanOrEqual(3_600_000);
  });

  it('reads x-ratelimit headers, ignoring malformed ones', () => {
    expect(
      parseRateLimitHeaders(
        new Headers({
          'x-ratelimit-remaining-requests': '59',
          'x-ratelimit-remaining-tokens': '149000',
          'x-ratelimit-reset-requests': '1s',
          'x-ratelimit-reset-tokens': '6m0s',
        }),
      ),
    ).toEqual({ remainingRequests: 59, remainingTokens: 149_000, resetRequestsMs: 1000, resetTokensMs: 360_000 });
    expect(parseRateLimitHeaders(new Headers({ 'x-ratelimit-remaining-tokens': 'lots', 'x-ratelimit-reset-tokens': '20ms' }))).toEqual({ resetTokensMs: 20 });
    expect(parseRateLimitHeaders(new Headers())).toBeUndefined();
  });
});

describe('openAIChat', () => {
  const RATE_HEADERS = {
    'x-ratelimit-limit-requests': '500',
    'x-ratelimit-remaining-requests': '499',
    'x-ratelimit-remaining-tokens': '199000',
    'x-ratelimit-reset-requests': '120ms',
    'x-ratelimit-reset-tokens': '1m30s',
  };

  it('sends one request: system prompt, numbered JSON lines, strict JSON schema; reports usage, model and rate limits', async () => {
    server.enqueue(reply.chatResults([{ id: 1, result: 'billing' }, { id: 2, result: 'bug' }], { headers: RATE_HEADERS, usage: { prompt_tokens: 321, completion_tokens: 17 } }));
    const { context, reports } = makeContext();
    const handler = chat({ body: { temperature: 0, seed: 7, model: 'ignored' }, resultSchema: { type: 'string', enum: ['billing', 'bug', 'other'] } });
    const results = await handler(await makeBatch(['I want a refund', 'App crashes\non "start"']), context);
    expect(results).toEqual(['billing', 'bug']);
    expect(reports).toEqual([
      {
        usage: { inputTokens: 321, outputTokens: 17 },
        model: 'gpt-4o-mini-2024-07-18',
        operation: 'chat',
        rateLimit: { remainingRequests: 499, remainingTokens: 199_000, resetRequestsMs: 120, resetTokensMs: 90_000 },
      },
    ]);
    expect(server.requests).toHaveLength(1);
    const [request] = server.requests;
    expect(request!.path).toBe('/v1/chat/completions');
    expect(request!.headers.authorization).toBe('Bearer test-key');
    const body = request!.body;
    expect(body.model).toBe('gpt-4o-mini');
    expect(body.temperature).toBe(0);
    expect(body.seed).toBe(7);
    expect(body.messages).toHaveLength(2);
    expect(body.messages[0].role).toBe('system');
    expect(body.messages[0].content.startsWith(PROMPT)).toBe(true);
    expect(body.messages[1]).toEqual({ role: 'user', content: '2 items:\n{"id":1,"text":"I want a refund"}\n{"id":2,"text":"App crashes\\non \\"start\\""}' });
    expect(chatItems(request!)).toEqual([
      { id: 1, text: 'I want a refund' },
      { id: 2, text: 'App crashes\non "start"' },
    ]);
    expect(body.response_format).toEqual({
      type: 'json_schema',
      json_schema: {
        name: 'batch_results',
        strict: true,
        schema: {
          type: 'object',
          properties: {
            results: {
              type: 'array',
              items: {
                type: 'object',
                properties: { id: { type: 'integer' }, result: { type: 'string', enum: ['billing', 'bug', 'other'] } },
                required: ['id', 'result'],
                additionalProperties: false,
              },
            },
          },
          required: ['results'],
          additionalProperties: false,
        },
      },
    });
  });

  it('maps out-of-order results by number, not by position', async () => {
    server.enqueue(reply.chatResults([{ id: 3, result: 'c' }, { id: 1, result: 'a' }, { id: '2', result: 'b' }]));
    expect(await chat()(await makeBatch(['x', 'y', 'z']), makeContext().context)).toEqual(['a', 'b', 'c']);
  });

  it('re-asks exactly the missing items, renumbered, once, when a response is short', async () => {
    server.enqueue(reply.chatResults([{ id: 3, result: 'C' }, { id: 1, result: 'A' }]), reply.chatAnswering((text) => text.toUpperCase()));
    const { context, reports } = makeContext();
    expect(await chat()(await makeBatch(['a', 'b', 'c', 'd']), context)).toEqual(['A', 'B', 'C', 'D']);
    expect(server.requests).toHaveLength(2);
    expect(chatItems(server.requests[1]!)).toEqual([
      { id: 1, text: 'b' },
      { id: 2, text: 'd' },
    ]);
    expect(server.requests[1]!.body.messages[0]).toEqual(server.requests[0]!.body.messages[0]);
    expect(reports).toHaveLength(2);
  });

  it('throws BatchResultMismatchError when items stay unanswered after the repair', async () => {
    server.enqueue(reply.chatResults([{ id: 1, result: 'A' }]), reply.chatResults([{ id: 2, result: 'C' }]));
    const error = await failure(chat()(await makeBatch(['a', 'b', 'c'], {}), makeContext().context));
    expect(error).toBeInstanceOf(BatchResultMismatchError);
    expect(error).toMatchObject({ expected: 3, received: 2 });
    expect(error.message).toMatch(/input items 1\b/);
    expect(server.requests).toHaveLength(2);
  });

  it('does not repair with repair: false', async () => {
    server.enqueue(reply.chatResults([{ id: 1, result: 'A' }]));
    const error = await failure(chat({ repair: false })(await makeBatch(['a', 'b']), makeContext().context));
    expect(error).toMatchObject({ name: 'BatchResultMismatchError', expected: 2, received: 1 });
    expect(server.requests).toHaveLength(1);
  });

  it('repairs malformed content, duplicated ids, out-of-range ids and results that parse rejects', async () => {
    server.enqueue(reply.chat('{"results": [{"id": 1, "result": "A"'), reply.chatAnswering((text) => text.toUpperCase()));
    expect(await chat()(await makeBatch(['a', 'b']), makeContext().context)).toEqual(['A', 'B']);
    expect(chatItems(server.requests[1]!)).toHaveLength(2);

    server.requests.length = 0;
    server.enqueue(
      reply.chatResults([
        { id: 1, result: 'A' },
        { id: 2, result: 'B' },
        { id: 2, result: 'X' },
        { id: 3, result: 42 },
        { id: 9, result: 'Z' },
        { id: 0, result: 'Z' },
      ]),
      reply.chatAnswering((text) => text.toUpperCase()),
    );
    expect(await chat()(await makeBatch(['a', 'b', 'c']), makeContext().context)).toEqual(['A', 'B', 'C']);
    expect(chatItems(server.requests[1]!).map(({ text }) => text)).toEqual(['b', 'c']);
  });

  it('repairs a truncated answer (finish_reason length) in two halves', async () => {
    server.enqueue(
      reply.chat('{"results": [{"id": 1, "result": "A"}, {"id": 2, "res', { finishReason: 'length' }),
      reply.chatAnswering((text) => text.toUpperCase()),
      reply.chatAnswering((text) => text.toUpperCase()),
    );
    expect(await chat()(await makeBatch(['a', 'b', 'c', 'd', 'e']), makeContext().context)).toEqual(['A', 'B', 'C', 'D', 'E']);
    expect(server.requests.map((request) => chatItems(request).map(({ text }) => text))).toEqual([
      ['a', 'b', 'c', 'd', 'e'],
      ['a', 'b'],
      ['c', 'd', 'e'],
    ]);
  });

  it('treats a refusal as unanswered, and keeps the reason as the cause', async () => {
    server.enqueue(reply.chat(null, { refusal: 'I cannot help with that.' }), reply.chat(null, { refusal: 'Still no.' }));
    const error = await failure(chat()(await makeBatch(['a']), makeContext().context));
    expect(error).toMatchObject({ name: 'BatchResultMismatchError', expected: 1, received: 0 });
    expect(String((error.cause as Error).message)).toMatch(/refusal: I cannot help/);
  });

  it('throws the mapped error of a failed repair request', async () => {
    server.enqueue(reply.chatResults([{ id: 1, result: 'A' }]), reply.error(429, { message: 'slow', code: 'rate_limit_exceeded' }, { 'retry-after': '1' }));
    const error = await failure(chat()(await makeBatch(['a', 'b']), makeContext().context));
    expect(error).toMatchObject({ name: 'RateLimitError', retryAfterMs: 1000 });
  });

  it('falls back to json_object or plain text with the schema in the prompt, accepting fenced JSON', async () => {
    server.enqueue(reply.chatResults([{ id: 1, result: 'A' }]));
    expect(await chat({ responseFormat: 'json_object' })(await makeBatch(['a']), makeContext().context)).toEqual(['A']);
    expect(server.requests[0]!.body.response_format).toEqual({ type: 'json_object' });
    expect(server.requests[0]!.body.messages[0].content).toContain('{"type":"string"}');

    server.enqueue(reply.chat('Here you go:\n```json\n{"results": [{"id": 1, "result": "A"}]}\n```'), reply.chat('```json\n[{"id": 1, "result": "A"}]\n```'));
    await expect(chat({ responseFormat: 'text' })(await makeBatch(['a']), makeContext().context)).resolves.toEqual(['A']);
    expect(server.requests[1]!.body.response_format).toBeUndefined();
    expect(server.requests).toHaveLength(3);
  });

  it('supports objects with a text option, custom schemas and parse', async () => {
    interface Ticket {
      id: string;
      body: string;
    }
    const handler = openAIChat<Ticket, { label: string; urgent: boolean }>({
      model: 'm',
      prompt: PROMPT,
      apiKey: 'k',
      baseURL: server.url,
      text: (ticket) => ticket.body,
      resultSchema: { type: 'object', properties: { label: { type: 'string' }, urgent: { type: 'boolean' } }, required: ['label', 'urgent'], additionalProperties: false },
      parse: (value) => {
        const result = value as { label?: unknown; urgent?: unknown };
        if (typeof result.label !== 'string' || typeof result.urgent !== 'boolean') throw new TypeError('bad result');
        return { label: result.label, urgent: result.urgent };
      },
    });
    server.enqueue(reply.chatAnswering((text) => ({ label: text.includes('refund') ? 'billing' : 'bug', urgent: text.includes('!') })));
    const tickets = [
      { id: 't1', body: 'refund now!' },
      { id: 't2', body: 'it crashed' },
    ];
    const batch = await makeBatch(tickets, { text: (ticket) => ticket.body });
    expect(await handler(batch, makeContext().context)).toEqual([
      { label: 'billing', urgent: true },
      { label: 'bug', urgent: false },
    ]);
  });

  it('validates options at creation, naming them', () => {
    expect(() => openAIChat({ prompt: PROMPT, apiKey: 'k' } as never)).toThrow(/^model:/);
    expect(() => openAIChat({ model: 'm', apiKey: 'k' } as never)).toThrow(/^prompt:/);
    expect(() => openAIChat({ model: 'm', prompt: PROMPT, apiKey: 'k', responseFormat: 'xml' as never })).toThrow(RangeError);
    expect(() => openAIChat({ model: 'm', prompt: PROMPT, client: {} as never })).toThrow(/^client:/);
    expect(() => openAIChat({ model: 'm', prompt: PROMPT, apiKey: 'k', parse: 'no' as never })).toThrow(/^parse:/);
    expect(() => openAIChat({ model: 'm', prompt: PROMPT, apiKey: 'k', repair: 1 as never })).toThrow(/^repair:/);
    expect(() => openAIChat({ model: 'm', prompt: PROMPT, apiKey: 'k', body: { stream: true } })).toThrow(/^body\.stream:/);
    vi.stubEnv('OPENAI_API_KEY', undefined);
    try {
      expect(() => openAIChat({ model: 'm', prompt: PROMPT })).toThrow(/pass apiKey, set OPENAI_API_KEY, or pass a client/);
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

describe('parseChatResults', () => {
  it('reads results by id and rejects what is not the expected JSON', () => {
    expect(parseChatResults('{"results":[{"id":2,"result":"b"},{"id":1,"result":"a"}]}', 2)).toEqual(
      new Map([
        [2, 'b'],
        [1, 'a'],
      ]),
    );
    expect(parseChatResults('{"results":[{"id":1,"result":null}]}', 1)).toEqual(new Map([[1, null]]));
    expect(parseChatResults('{"results":[{"id":1}]}', 1)).toEqual(new Map());
    expect(parseChatResults('{"results":[{"id":1.5,"result":"x"}]}', 2)).toEqual(new Map());
    expect(parseChatResults('{"answers":[]}', 1)).toBeUndefined();
    expect(parseChatResults('not json', 1)).toBeUndefined();
    expect(parseChatResults(null, 1)).toBeUndefined();
  });
});

describe('openAIEmbeddings', () => {
  // Exactly representable in float32, so base64 round trips compare exactly.
  const vectors = [
    [0.5, -0.25, 1.125],
    [0, 1, -1],
    [0.75, 0.5, -0.5],
  ];

  it('sends one request and matches vectors by index, decoding base64', async () => {
    server.enqueue(reply.embeddings(vectors, { order: [2, 0, 1], headers: { 'x-ratelimit-remaining-requests': '9', 'x-ratelimit-reset-tokens': '20ms' }, usage: { prompt_tokens: 7, total_tokens: 7 } }));
    const { context, reports } = makeContext();
    const results = await embeddings({ dimensions: 3, body: { user: 'u-1' } })(await makeBatch(['a', 'b', 'c']), context);
    expect(results.map((vector) => [...vector])).toEqual(vectors);
    expect(results[0]).toBeInstanceOf(Float32Array);
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]!.path).toBe('/v1/embeddings');
    expect(server.requests[0]!.body).toEqual({ user: 'u-1', model: 'text-embedding-3-small', input: ['a', 'b', 'c'], encoding_format: 'base64', dimensions: 3 });
    expect(reports).toEqual([
      { usage: { inputTokens: 7, outputTokens: 0 }, model: 'text-embedding-3-small', operation: 'embeddings', rateLimit: { remainingRequests: 9, resetTokensMs: 20 } },
    ]);
  });

  it('asks for float arrays with encodingFormat float, and accepts arrays from servers that ignore base64', async () => {
    server.enqueue(reply.embeddings(vectors.slice(0, 2)), reply.embeddings(vectors.slice(0, 2), { encoding: 'float' }));
    const batch = await makeBatch(['a', 'b']);
    const floats = await embeddings({ encodingFormat: 'float' })(batch, makeContext().context);
    expect(server.requests[0]!.body.encoding_format).toBe('float');
    expect(floats.map((vector) => [...vector])).toEqual(vectors.slice(0, 2));
    const ignored = await embeddings()(batch, makeContext().context);
    expect(ignored.map((vector) => [...vector])).toEqual(vectors.slice(0, 2));
  });

  it('fails with BatchResultMismatchError on a missing, repeated or malformed index', async () => {
    const batch = await makeBatch(['a', 'b', 'c']);
    server.enqueue(reply.embeddings(vectors, { order: [0, 2] }));
    expect(await failure(embeddings()(batch, makeContext().context))).toMatchObject({ name: 'BatchResultMismatchError', expected: 3, received: 2 });
    server.enqueue(reply.embeddings(vectors, { order: [0, 1, 1, 2] }));
    expect(await failure(embeddings()(batch, makeContext().context))).toMatchObject({ name: 'BatchResultMismatchError', message: expect.stringMatching(/index 1 given twice/) });
    server.enqueue(reply.json({ object: 'list', data: [{ index: 0, embedding: 'AAA' }, { index: 1, embedding: [1] }, { index: 2, embedding: [1] }], model: 'm' }));
    expect(await failure(embeddings()(batch, makeContext().context))).toMatchObject({ name: 'BatchResultMismatchError', received: 2 });
  });

  it('fails a batch beyond the per-request limits with ContextOverflowError before sending anything', async () => {
    const words = (count: number) => Array.from({ length: count }, () => 'hello').join(' ');
    const handler = embeddings({ maxInputs: 2, maxInputTokens: 10, maxRequestTokens: 15 });
    expect(await failure(handler(await makeBatch(['a', 'b', 'c']), makeContext().context))).toMatchObject({
      name: 'ContextOverflowError',
      message: expect.stringMatching(/3 inputs exceeds maxInputs \(2\)/),
    });
    expect(await failure(handler(await makeBatch(['a', words(11)]), makeContext().context))).toMatchObject({
      name: 'ContextOverflowError',
      message: expect.stringMatching(/item 1 has 11 tokens, more than maxInputTokens \(10\)/),
    });
    expect(await failure(handler(await makeBatch([words(8), words(8)]), makeContext().context))).toMatchObject({
      name: 'ContextOverflowError',
      message: expect.stringMatching(/16 tokens exceeds maxRequestTokens \(15\)/),
    });
    expect(server.requests).toHaveLength(0);
    // Exactly at the limits: sent.
    server.enqueue(reply.embeddings([[1], [1]]));
    await expect(handler(await makeBatch([words(10), words(5)]), makeContext().context)).resolves.toHaveLength(2);
    expect(OPENAI_EMBEDDING_LIMITS).toEqual({ maxInputs: 2048, maxRequestTokens: 300_000, maxInputTokens: 8192 });
  });

  it('fails a batch with an empty text with InvalidItemError naming the item', async () => {
    const error = await failure(embeddings()(await makeBatch(['a', '']), makeContext().context));
    expect(error).toBeInstanceOf(InvalidItemError);
    expect((error as InvalidItemError).itemIndex).toBe(1);
    expect(server.requests).toHaveLength(0);
  });

  it('validates options at creation, naming them', () => {
    expect(() => openAIEmbeddings({ apiKey: 'k' } as never)).toThrow(/^model:/);
    expect(() => openAIEmbeddings({ model: 'm', apiKey: 'k', dimensions: 0 })).toThrow(/^dimensions:/);
    expect(() => openAIEmbeddings({ model: 'm', apiKey: 'k', maxInputs: 1.5 })).toThrow(/^maxInputs:/);
    expect(() => openAIEmbeddings({ model: 'm', apiKey: 'k', encodingFormat: 'hex' as never })).toThrow(/^encodingFormat:/);
    expect(() => openAIEmbeddings({ model: 'm', apiKey: 'k', tokenizer: 'p50k' as never })).toThrow(/^tokenizer:/);
  });
});
