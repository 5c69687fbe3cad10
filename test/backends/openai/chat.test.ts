import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { BatchRejectedError, BatchResultMismatchError } from '../../../src/errors.js';
import { openAIChat, parseChatResults } from '../../../src/openai.js';
import type { Batch } from '../../../src/index.js';
import { makeBatch, makeContext } from '../../support/batches.js';
import { chatItems, OpenAIServer, reply } from '../../support/openai-server.js';

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

async function failure(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  if (!(outcome instanceof Error)) throw new Error('expected the call to fail');
  return outcome;
}
describe('openAIChat', () => {
  const RATE_HEADERS = {
    'x-ratelimit-limit-requests': '500',
    'x-ratelimit-remaining-requests': '499',
    'x-ratelimit-remaining-tokens': '199000',
    'x-ratelimit-reset-requests': '120ms',
    'x-ratelimit-reset-tokens': '1m30s',
  };

  it('sends one request: system prompt, numbered JSON lines, strict JSON schema; reports usage, model and rate limits', async () => {
    server.enqueue(
      reply.chatResults(
        [
          { id: 1, result: 'billing' },
          { id: 2, result: 'bug' },
        ],
        { headers: RATE_HEADERS, usage: { prompt_tokens: 321, completion_tokens: 17 } },
      ),
    );
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
    server.enqueue(
      reply.chatResults([
        { id: 3, result: 'c' },
        { id: 1, result: 'a' },
        { id: '2', result: 'b' },
      ]),
    );
    expect(await chat()(await makeBatch(['x', 'y', 'z']), makeContext().context)).toEqual(['a', 'b', 'c']);
  });

  it('re-asks exactly the missing items, renumbered, once, when a response is short', async () => {
    server.enqueue(
      reply.chatResults([
        { id: 3, result: 'C' },
        { id: 1, result: 'A' },
      ]),
      reply.chatAnswering((text) => text.toUpperCase()),
    );
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

  it('keeps the answers it got, re-asks only the missing items, and fails those still unanswered alone', async () => {
    // One item (b) is never answered: a and c keep their answers, the repair asks for b only.
    server.enqueue(
      reply.chatResults([
        { id: 1, result: 'A' },
        { id: 3, result: 'C' },
      ]),
      reply.chatResults([]),
    );
    const results = await chat()(await makeBatch(['a', 'b', 'c']), makeContext().context);
    expect(results[0]).toBe('A');
    expect(results[2]).toBe('C');
    expect(results[1]).toBeInstanceOf(BatchResultMismatchError);
    expect(results[1]).toMatchObject({ expected: 1, received: 0, itemIndex: 1, message: expect.stringMatching(/input item 1$/) });
    expect(server.requests.map((request) => chatItems(request).map(({ text }) => text))).toEqual([['a', 'b', 'c'], ['b']]);
  });

  it('names the input position of an unanswered item, not its place in the batch', async () => {
    server.enqueue(reply.chatResults([{ id: 1, result: 'A' }]), reply.chatResults([]));
    const batch: Batch<string> = {
      items: ['a', 'b'],
      itemIndices: [40, 41],
      itemTokens: [1, 1],
      tokens: 2,
      index: 0,
      oversize: false,
      closeReason: 'end',
      maxTokens: 10,
      utilization: 0.2,
      skipped: [],
    };
    const results = await chat()(batch, makeContext().context);
    expect(results[0]).toBe('A');
    expect(results[1]).toMatchObject({ name: 'BatchResultMismatchError', itemIndex: 41 });
  });

  it('does not repair with repair: false', async () => {
    server.enqueue(reply.chatResults([{ id: 1, result: 'A' }]));
    const results = await chat({ repair: false })(await makeBatch(['a', 'b']), makeContext().context);
    expect(results[0]).toBe('A');
    expect(results[1]).toMatchObject({ name: 'BatchResultMismatchError', expected: 1, received: 0, itemIndex: 1 });
    expect(server.requests).toHaveLength(1);
  });

  it('fails an item without text alone (InvalidItemError) and does not send it', async () => {
    server.enqueue(reply.chatAnswering((text) => text.toUpperCase()));
    const handler = openAIChat<{ body?: string }, string>({ model: 'm', prompt: PROMPT, apiKey: 'k', baseURL: server.url, text: (item) => item.body as string });
    const batch = await makeBatch<{ body?: string }>([{ body: 'a' }, {}, { body: 'c' }], { text: (item) => item.body ?? '' });
    const results = await handler(batch, makeContext().context);
    expect(results[0]).toBe('A');
    expect(results[1]).toMatchObject({ name: 'InvalidItemError', itemIndex: 1 });
    expect(results[2]).toBe('C');
    expect(chatItems(server.requests[0]!).map(({ text }) => text)).toEqual(['a', 'c']);
  });

  it('throws BatchRejectedError when no item gets a usable answer, even after the repair', async () => {
    server.enqueue(reply.chat('this is not JSON at all'), reply.chat('still not JSON'));
    const error = await failure(chat()(await makeBatch(['a', 'b']), makeContext().context));
    expect(error).toBeInstanceOf(BatchRejectedError);
    expect(error.message).toMatch(/no usable answer for any of the 2 items/);
    expect(String((error.cause as Error).message)).toMatch(/unusable content: this is not JSON/);
    expect(server.requests).toHaveLength(2);
  });

  it('repairs malformed content, duplicated ids, out-of-range ids and results that parse rejects', async () => {
    server.enqueue(
      reply.chat('{"results": [{"id": 1, "result": "A"'),
      reply.chatAnswering((text) => text.toUpperCase()),
    );
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

  it('throws BatchRejectedError at once on a refusal (asking the same items again would be refused again)', async () => {
    server.enqueue(reply.chat(null, { refusal: 'I cannot help with that.' }));
    const error = await failure(chat()(await makeBatch(['a', 'b']), makeContext().context));
    expect(error).toBeInstanceOf(BatchRejectedError);
    expect(error.message).toMatch(/refused the batch of 2 items: I cannot help with that\./);
    expect(server.requests).toHaveLength(1);
  });

  it('fails the items of a refused repair request alone, keeping the others', async () => {
    server.enqueue(reply.chatResults([{ id: 2, result: 'B' }]), reply.chat(null, { refusal: 'No.' }));
    const results = await chat()(await makeBatch(['a', 'b']), makeContext().context);
    expect(results[1]).toBe('B');
    expect(results[0]).toMatchObject({ name: 'BatchResultMismatchError', itemIndex: 0 });
    expect(String(((results[0] as unknown as Error).cause as Error).message)).toMatch(/refusal: No\./);
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
    expect(() => openAIChat({ prompt: PROMPT, apiKey: 'k' } as never)).toThrow(/^openAIChat: model:/);
    expect(() => openAIChat({ model: 'm', apiKey: 'k' } as never)).toThrow(/^openAIChat: prompt:/);
    expect(() => openAIChat({ model: 'm', prompt: PROMPT, apiKey: 'k', responseFormat: 'xml' as never })).toThrow(RangeError);
    expect(() => openAIChat({ model: 'm', prompt: PROMPT, client: {} as never })).toThrow(/^openAIChat: client:/);
    expect(() => openAIChat({ model: 'm', prompt: PROMPT, apiKey: 'k', parse: 'no' as never })).toThrow(/^openAIChat: parse:/);
    expect(() => openAIChat({ model: 'm', prompt: PROMPT, apiKey: 'k', repair: 1 as never })).toThrow(/^openAIChat: repair:/);
    expect(() => openAIChat({ model: 'm', prompt: PROMPT, apiKey: 'k', body: { stream: true } })).toThrow(/^openAIChat: body\.stream:/);
    expect(() => openAIChat({ model: 'm', prompt: PROMPT, apiKey: 'k', repiar: false } as never)).toThrow("openAIChat: unknown option 'repiar' (did you mean 'repair'?)");
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
