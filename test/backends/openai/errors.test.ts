import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AbortError, BatchRejectedError, ContextOverflowError, QuotaExhaustedError, RateLimitError, TimeoutError, TransientError } from '../../../src/errors.js';
import { OpenAIRequestError, classifyOpenAIError, openAIChat, openAIEmbeddings, parseDurationMs, parseRateLimitHeaders, retryAfterMs } from '../../../src/openai.js';
import { makeBatch, makeContext } from '../../support/batches.js';
import { OpenAIServer, reply } from '../../support/openai-server.js';

let server: OpenAIServer;
beforeAll(async () => {
  server = await OpenAIServer.start();
});
afterAll(async () => {
  await server.close();
});
afterEach(() => server.reset());

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
      [
        429,
        {
          message:
            'Rate limit reached for gpt-4o in organization org-x on tokens per min (TPM): Limit 30000, Used 29990, Requested 120. Please try again in 20ms. Visit https://platform.openai.com/account/rate-limits to learn more.',
          type: 'tokens',
          code: 'rate_limit_exceeded',
        },
      ],
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
      [
        429,
        {
          message:
            'Request too large for gpt-4o in organization org-x on tokens per min (TPM): Limit 30000, Requested 45000. The input or output tokens must be reduced in order to run successfully.',
          type: 'tokens',
          code: 'rate_limit_exceeded',
        },
      ],
      (error) => expect(error).toBeInstanceOf(ContextOverflowError),
    ],
    [
      '400 context_length_exceeded',
      [
        400,
        { message: "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.", code: 'context_length_exceeded', param: 'messages' },
      ],
      (error) => expect(error).toBeInstanceOf(ContextOverflowError),
    ],
    [
      '400 "maximum context length" without a code (vLLM)',
      [
        400,
        {
          message: "This model's maximum context length is 8192 tokens. However, you requested 9000 tokens (8000 in the messages, 1000 in the completion).",
          type: 'BadRequestError',
        },
      ],
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
      (error) => {
        expect(error).toMatchObject({ name: 'OpenAIRequestError', status: 400, code: 'invalid_value' });
        // A setting of the request, not an item, caused it: never isolated.
        expect(error).not.toBeInstanceOf(BatchRejectedError);
      },
    ],
    [
      '400 invalid_prompt (flagged): isolatable rejection',
      [400, { message: 'Invalid prompt: your prompt was flagged as potentially violating our usage policy.', code: 'invalid_prompt' }],
      (error) => {
        expect(error).toMatchObject({ name: 'OpenAIRejectedError', status: 400, code: 'invalid_prompt' });
        expect(error).toBeInstanceOf(BatchRejectedError);
      },
    ],
    [
      '400 content_filter (Azure): isolatable rejection',
      [400, { message: "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.", code: 'content_filter', param: 'prompt' }],
      (error) => expect(error).toBeInstanceOf(BatchRejectedError),
    ],
    [
      '400 blaming a message: isolatable rejection',
      [400, { message: "Invalid 'messages[1].content': string too long.", code: 'invalid_value', param: 'messages[1].content' }],
      (error) => expect(error).toMatchObject({ name: 'OpenAIRejectedError', param: 'messages[1].content' }),
    ],
    ['401: fatal', [401, { message: 'Incorrect API key provided', code: 'invalid_api_key' }], (error) => expect(error).toMatchObject({ name: 'OpenAIRequestError', status: 401 })],
    [
      '403: fatal',
      [403, { message: 'Country not supported', code: 'unsupported_country_region_territory' }],
      (error) => expect(error).toMatchObject({ name: 'OpenAIRequestError', status: 403 }),
    ],
    [
      '404: fatal',
      [404, { message: 'The model `gpt-9` does not exist', code: 'model_not_found' }],
      (error) => expect(error).toMatchObject({ name: 'OpenAIRequestError', status: 404 }),
    ],
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
  const apiError = (status: number, error: object, headers: Record<string, string> = {}) => OpenAI.APIError.generate(status, { error }, undefined, new Headers(headers));

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
