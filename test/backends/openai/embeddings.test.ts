import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InvalidItemError } from '../../../src/errors.js';
import { OPENAI_EMBEDDING_LIMITS, openAIEmbeddings } from '../../../src/openai.js';
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
describe('openAIEmbeddings', () => {
  // Exactly representable in float32, so base64 round trips compare exactly.
  const vectors = [
    [0.5, -0.25, 1.125],
    [0, 1, -1],
    [0.75, 0.5, -0.5],
  ];

  it('sends one request and matches vectors by index, decoding base64', async () => {
    server.enqueue(
      reply.embeddings(vectors, {
        order: [2, 0, 1],
        headers: { 'x-ratelimit-remaining-requests': '9', 'x-ratelimit-reset-tokens': '20ms' },
        usage: { prompt_tokens: 7, total_tokens: 7 },
      }),
    );
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

  it('fails only the items whose index is missing, repeated or malformed; the others keep their vectors', async () => {
    const batch = await makeBatch(['a', 'b', 'c']);
    server.enqueue(reply.embeddings(vectors, { order: [0, 2] }));
    let results = await embeddings()(batch, makeContext().context);
    expect([...(results[0] as Float32Array)]).toEqual(vectors[0]);
    expect(results[1]).toMatchObject({ name: 'BatchResultMismatchError', expected: 1, received: 0, itemIndex: 1, message: expect.stringMatching(/no vector for index 1/) });
    expect([...(results[2] as Float32Array)]).toEqual(vectors[2]);

    server.enqueue(reply.embeddings(vectors, { order: [0, 1, 1, 2] }));
    results = await embeddings()(batch, makeContext().context);
    expect(results[1]).toMatchObject({ name: 'BatchResultMismatchError', itemIndex: 1, message: expect.stringMatching(/index 1 given twice/) });
    expect(results[0]).toBeInstanceOf(Float32Array);

    server.enqueue(
      reply.json({
        object: 'list',
        data: [
          { index: 0, embedding: 'AAA' },
          { index: 1, embedding: [1] },
          { index: 2, embedding: [1] },
        ],
        model: 'm',
      }),
    );
    results = await embeddings()(batch, makeContext().context);
    expect(results[0]).toMatchObject({ name: 'BatchResultMismatchError', itemIndex: 0, message: expect.stringMatching(/malformed vector at index 0/) });
    expect(results.slice(1).map((vector) => [...vector])).toEqual([[1], [1]]);

    // A vector whose width differs from the others' is the odd one out.
    server.enqueue(
      reply.json({
        object: 'list',
        data: [
          { index: 0, embedding: [1, 2] },
          { index: 1, embedding: [1] },
          { index: 2, embedding: [3, 4] },
        ],
        model: 'm',
      }),
    );
    results = await embeddings()(batch, makeContext().context);
    expect(results[1]).toMatchObject({ name: 'BatchResultMismatchError', itemIndex: 1, message: expect.stringMatching(/1 dimensions at index 1, others have 2/) });
  });

  it('fails the whole call with BatchResultMismatchError when no vector is usable', async () => {
    server.enqueue(reply.json({ object: 'list', data: [], model: 'm' }));
    expect(await failure(embeddings()(await makeBatch(['a', 'b']), makeContext().context))).toMatchObject({ name: 'BatchResultMismatchError', expected: 2, received: 0 });
  });

  it('fails a batch beyond the per-request limits with ContextOverflowError before sending anything; an input too long fails alone', async () => {
    const words = (count: number) => Array.from({ length: count }, () => 'hello').join(' ');
    const handler = embeddings({ maxInputs: 2, maxInputTokens: 10, maxRequestTokens: 15 });
    expect(await failure(handler(await makeBatch(['a', 'b', 'c']), makeContext().context))).toMatchObject({
      name: 'ContextOverflowError',
      message: expect.stringMatching(/3 inputs exceeds maxInputs \(2\)/),
    });
    expect(await failure(handler(await makeBatch([words(8), words(8)]), makeContext().context))).toMatchObject({
      name: 'ContextOverflowError',
      message: expect.stringMatching(/16 tokens exceeds maxRequestTokens \(15\)/),
    });
    expect(server.requests).toHaveLength(0);
    server.enqueue(reply.embeddings([[1]]));
    const results = await handler(await makeBatch(['a', words(11)]), makeContext().context);
    expect(results[1]).toMatchObject({ name: 'ContextOverflowError', message: expect.stringMatching(/item 1 has 11 tokens, more than maxInputTokens \(10\)/) });
    expect([...(results[0] as Float32Array)]).toEqual([1]);
    expect(server.requests[0]!.body.input).toEqual(['a']);
    // Exactly at the limits: sent.
    server.enqueue(reply.embeddings([[1], [1]]));
    await expect(handler(await makeBatch([words(10), words(5)]), makeContext().context)).resolves.toHaveLength(2);
    expect(OPENAI_EMBEDDING_LIMITS).toEqual({ maxInputs: 2048, maxRequestTokens: 300_000, maxInputTokens: 8192 });
  });

  it('fails an item with an empty text alone (InvalidItemError), without sending it', async () => {
    server.enqueue(reply.embeddings([[2]]));
    const results = await embeddings()(await makeBatch(['a', '']), makeContext().context);
    expect(results[1]).toBeInstanceOf(InvalidItemError);
    expect((results[1] as unknown as InvalidItemError).itemIndex).toBe(1);
    expect([...(results[0] as Float32Array)]).toEqual([2]);
    expect(server.requests[0]!.body.input).toEqual(['a']);
  });

  it('sends nothing when no item has text to embed', async () => {
    const results = await embeddings()(await makeBatch(['']), makeContext().context);
    expect(results[0]).toBeInstanceOf(InvalidItemError);
    expect(server.requests).toHaveLength(0);
  });

  it('validates options at creation, naming them', () => {
    expect(() => openAIEmbeddings({ apiKey: 'k' } as never)).toThrow(/^openAIEmbeddings: model:/);
    expect(() => openAIEmbeddings({ model: 'm', apiKey: 'k', dimensions: 0 })).toThrow(/^openAIEmbeddings: dimensions:/);
    expect(() => openAIEmbeddings({ model: 'm', apiKey: 'k', maxInputs: 1.5 })).toThrow(/^openAIEmbeddings: maxInputs:/);
    expect(() => openAIEmbeddings({ model: 'm', apiKey: 'k', encodingFormat: 'hex' as never })).toThrow(/^openAIEmbeddings: encodingFormat:/);
    expect(() => openAIEmbeddings({ model: 'm', apiKey: 'k', tokenizer: 'p50k' as never })).toThrow(/^openAIEmbeddings: tokenizer:/);
    expect(() => openAIEmbeddings({ model: 'm', apiKey: 'k', dimension: 3 } as never)).toThrow("openAIEmbeddings: unknown option 'dimension' (did you mean 'dimensions'?)");
  });
});
