import { from, lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bufferByTokens, mergeBatches, orderedResults, splitOnOverflow, type Outcome } from '../../../src/index.js';
import { classifyOpenAIError, openAIChat, openAIEmbeddings } from '../../../src/openai.js';
import { BatchRejectedError } from '../../../src/errors.js';
import { chatItems, OpenAIServer, reply, type RecordedRequest } from '../../support/openai-server.js';

// The OpenAI backends inside the whole chain, against a real HTTP server on loopback: every item
// ends with exactly one outcome, and the requests made are the retries and splits the script implies.
let server: OpenAIServer;
beforeAll(async () => {
  server = await OpenAIServer.start();
});
afterAll(async () => {
  await server.close();
});

const items = ['refund please', 'app crashes', 'love it', 'wrong invoice', 'cannot log in', 'thanks!'];
const label = (text: string) => `label:${text}`;

async function runChat(scripts: ((request: RecordedRequest) => ReturnType<typeof reply.chat>)[], options: { maxItems?: number; maxAttempts?: number } = {}) {
  server.requests.length = 0;
  let call = 0;
  server.fallback = (request) => (scripts[call++] ?? reply.chatAnswering(label))(request);
  const handler = openAIChat<string, string>({ model: 'gpt-test', prompt: 'Label each ticket.', apiKey: 'test', baseURL: server.url });
  const outcomes = await lastValueFrom(
    from(items).pipe(
      bufferByTokens({ maxTokens: 1000, maxItems: options.maxItems ?? 6 }),
      splitOnOverflow(),
      mergeBatches(handler, { concurrency: 1, retry: { maxAttempts: options.maxAttempts ?? 3, baseDelayMs: 1, random: () => 0 }, classifyError: classifyOpenAIError }),
      orderedResults(),
      toArray(),
    ),
  );
  return { outcomes: outcomes, requests: [...server.requests] };
}

const expectComplete = (outcomes: Outcome<string, string>[]) => expect(outcomes.map((outcome) => outcome.index)).toEqual(items.map((_, i) => i));

describe('openAIChat in the chain, against a scripted OpenAI-compatible server', () => {
  it('answers every item in one request when all goes well', async () => {
    const { outcomes, requests } = await runChat([]);
    expectComplete(outcomes);
    expect(outcomes.every((outcome) => outcome.ok && outcome.value === label(outcome.item))).toBe(true);
    expect(requests).toHaveLength(1);
  });

  it('waits out a 429 with retry-after-ms and retries once', async () => {
    const { outcomes, requests } = await runChat([() => reply.error(429, { message: 'Rate limit reached', code: 'rate_limit_exceeded' }, { 'retry-after-ms': '5' })]);
    expectComplete(outcomes);
    expect(outcomes.every((outcome) => outcome.ok && outcome.attempts === 2)).toBe(true);
    expect(requests).toHaveLength(2);
  });

  it('retries a 500 and fails the items after maxAttempts of them', async () => {
    const failing = () => reply.error(500, { message: 'The server had an error', type: 'server_error' });
    const { outcomes, requests } = await runChat([failing, failing], { maxAttempts: 2 });
    expectComplete(outcomes);
    expect(outcomes.every((outcome) => !outcome.ok && outcome.error.name === 'TransientError' && outcome.attempts === 2)).toBe(true);
    expect(requests).toHaveLength(2);
  });

  it('splits a batch refused as too long into halves, each answered', async () => {
    const overflow = () => reply.error(400, { message: "This model's maximum context length is 8192 tokens", code: 'context_length_exceeded' });
    const { outcomes, requests } = await runChat([overflow]);
    expectComplete(outcomes);
    expect(outcomes.every((outcome) => outcome.ok && outcome.splitDepth === 1 && outcome.value === label(outcome.item))).toBe(true);
    expect(requests.map((request) => chatItems(request).length)).toEqual([6, 3, 3]);
  });

  it('never retries quota exhaustion', async () => {
    const { outcomes, requests } = await runChat([() => reply.error(429, { message: 'You exceeded your current quota', code: 'insufficient_quota', type: 'insufficient_quota' })]);
    expectComplete(outcomes);
    expect(outcomes.every((outcome) => !outcome.ok && outcome.error.name === 'QuotaExhaustedError' && outcome.attempts === 1)).toBe(true);
    expect(requests).toHaveLength(1);
  });

  it('repairs a short answer by asking again for the missing items only', async () => {
    const short = (request: RecordedRequest) =>
      reply.chatResults(
        chatItems(request)
          .slice(0, 4)
          .map(({ id, text }) => ({ id, result: label(text) })),
      );
    const { outcomes, requests } = await runChat([short]);
    expectComplete(outcomes);
    expect(outcomes.every((outcome) => outcome.ok && outcome.value === label(outcome.item))).toBe(true);
    expect(requests.map((request) => chatItems(request).length)).toEqual([6, 2]);
  });

  it('fails a batch whose answer stays malformed with BatchRejectedError (isolated by bisection under the per-item contract)', async () => {
    const broken = () => reply.chat('this is not JSON at all');
    const { outcomes } = await runChat(
      Array.from({ length: 60 }, () => broken),
      { maxAttempts: 2 },
    );
    expectComplete(outcomes);
    expect(outcomes.every((outcome) => !outcome.ok && outcome.error instanceof BatchRejectedError)).toBe(true);
  });

  it('one item never answered: the others keep their answers, the repair asks for it alone, and it fails alone', async () => {
    const skipsTheThird = (request: RecordedRequest) =>
      reply.chatResults(
        chatItems(request)
          .filter(({ text }) => text !== items[2])
          .map(({ id, text }) => ({ id, result: label(text) })),
      );
    const { outcomes, requests } = await runChat([skipsTheThird, skipsTheThird, skipsTheThird, skipsTheThird, skipsTheThird, skipsTheThird], { maxAttempts: 1 });
    expectComplete(outcomes);
    for (const outcome of outcomes) {
      if (outcome.index === 2) expect(outcome).toMatchObject({ ok: false, error: { name: 'BatchResultMismatchError', itemIndex: 2 } });
      else expect(outcome).toMatchObject({ ok: true, value: label(outcome.item) });
    }
    expect(requests.map((request) => chatItems(request).map(({ text }) => text))).toEqual([items, [items[2]]]);
  });
});

describe('openAIEmbeddings in the chain', () => {
  it('matches vectors to items by index, one request per batch', async () => {
    server.requests.length = 0;
    server.fallback = (request) => {
      const inputs = (request.body as { input: string[] }).input;
      // Answer in reverse order: mapping must go by index, not position.
      return reply.embeddings(
        inputs.map((text) => [text.length, 1, 0]),
        { order: inputs.map((_, i) => inputs.length - 1 - i) },
      )(request);
    };
    const handler = openAIEmbeddings<string>({ model: 'text-embedding-3-small', apiKey: 'test', baseURL: server.url });
    const outcomes = await lastValueFrom(from(items).pipe(bufferByTokens({ maxTokens: 1000, maxItems: 4 }), mergeBatches(handler), orderedResults(), toArray()));
    expect(outcomes.map((outcome) => outcome.index)).toEqual(items.map((_, i) => i));
    for (const outcome of outcomes) {
      expect(outcome.ok).toBe(true);
      if (outcome.ok) expect(Array.from(outcome.value).slice(0, 1)).toEqual([outcome.item.length]);
    }
    expect(server.requests).toHaveLength(2);
  });

  it('a vector missing from the response fails its item alone; the others keep theirs', async () => {
    server.requests.length = 0;
    server.fallback = (request) => {
      const inputs = (request.body as { input: string[] }).input;
      // Index 1 is never sent back.
      return reply.embeddings(
        inputs.map((text) => [text.length, 1, 0]),
        { order: inputs.map((_, i) => i).filter((i) => i !== 1) },
      )(request);
    };
    const handler = openAIEmbeddings<string>({ model: 'text-embedding-3-small', apiKey: 'test', baseURL: server.url });
    const outcomes = await lastValueFrom(from(items).pipe(bufferByTokens({ maxTokens: 1000, maxItems: 6 }), mergeBatches(handler, { retry: false }), orderedResults(), toArray()));
    expect(outcomes.map((outcome) => outcome.ok)).toEqual([true, false, true, true, true, true]);
    expect(outcomes[1]).toMatchObject({ ok: false, error: { name: 'BatchResultMismatchError', itemIndex: 1 } });
  });
});
