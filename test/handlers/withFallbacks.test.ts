import { from, lastValueFrom, toArray, VirtualTimeScheduler } from 'rxjs';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  BatchRejectedError,
  bufferByTokens,
  ContextOverflowError,
  mergeBatches,
  orderedResults,
  QuotaExhaustedError,
  RateLimitError,
  splitOnOverflow,
  TransientError,
  withFallbacks,
  type Batch,
  type BatchHandler,
  type HandlerContext,
} from '../../src/index.js';
import { classifyOpenAIError, openAIChat } from '../../src/openai.js';
import { advanceTo, makeBatch, makeContext } from '../support/batches.js';
import { chatItems, OpenAIServer, reply } from '../support/openai-server.js';

/** A handler that records its calls and answers `name:item`, or throws what `fail` says for a call. */
function model(name: string, fail: (batch: Batch<string>, call: number, context: HandlerContext) => Error | undefined = () => undefined) {
  const calls: Batch<string>[] = [];
  const handler: BatchHandler<string, string> = async (batch, context) => {
    calls.push(batch);
    const error = fail(batch, calls.length, context);
    if (error) throw error;
    return batch.items.map((item) => `${name}:${item}`);
  };
  return { handler, calls };
}

async function settled<V>(promise: Promise<V>): Promise<V | Error> {
  return promise.then(
    (value) => value,
    (error: unknown) => error as Error,
  );
}

describe('withFallbacks', () => {
  it('sends a batch to the fallback on quota exhaustion, reports its model, and skips the primary while it cools down', async () => {
    const scheduler = new VirtualTimeScheduler();
    const primary = model('primary', () => new QuotaExhaustedError('out of credit'));
    const backup = model('backup');
    const handler = withFallbacks(primary.handler, [{ handler: backup.handler, model: 'backup-model' }], { model: 'primary-model', cooldownMs: 1000, scheduler });
    const batch = await makeBatch(['a', 'b']);
    const { context, reports } = makeContext();
    expect(await handler(batch, context)).toEqual(['backup:a', 'backup:b']);
    expect(reports).toEqual([{ model: 'backup-model' }]);
    expect(primary.calls).toHaveLength(1);

    // Cooling down: the next batches go straight to the backup.
    await handler(batch, makeContext().context);
    advanceTo(scheduler, 999);
    await handler(batch, makeContext().context);
    expect(primary.calls).toHaveLength(1);
    expect(backup.calls).toHaveLength(3);
    // Cooled down: the primary is asked again.
    advanceTo(scheduler, 1000);
    await handler(batch, makeContext().context);
    expect(primary.calls).toHaveLength(2);
  });

  it('on an outage, lets the first attempt fail for the retry, then falls back (outageAfterAttempts)', async () => {
    const primary = model('primary', () => new TransientError('503 from upstream'));
    const backup = model('backup');
    const handler = withFallbacks(primary.handler, [backup.handler], { cooldownMs: 0 });
    const batch = await makeBatch(['a']);
    expect(await settled(handler(batch, makeContext({ attempt: 1 }).context))).toBeInstanceOf(TransientError);
    expect(backup.calls).toHaveLength(0);
    expect(await handler(batch, makeContext({ attempt: 2 }).context)).toEqual(['backup:a']);
    expect(primary.calls).toHaveLength(2);
    // Rate limits are not an outage unless asked for.
    const limited = withFallbacks(model('p', () => new RateLimitError('slow down')).handler, [backup.handler]);
    expect(await settled(limited(batch, makeContext({ attempt: 3 }).context))).toBeInstanceOf(RateLimitError);
    const limitedToo = withFallbacks(model('p', () => new RateLimitError('slow down')).handler, [{ handler: backup.handler, on: ['rateLimit'] }]);
    expect(await limitedToo(batch, makeContext({ attempt: 2 }).context)).toEqual(['backup:a']);
  });

  it('throws errors no fallback takes as they are, without calling the fallbacks', async () => {
    const unauthorized = Object.assign(new Error('401 Incorrect API key'), { status: 401 });
    const backup = model('backup');
    const handler = withFallbacks(model('primary', () => unauthorized).handler, [backup.handler]);
    expect(await settled(handler(await makeBatch(['a']), makeContext({ attempt: 5 }).context))).toBe(unauthorized);
    const overflow = withFallbacks(model('primary', () => new ContextOverflowError('too long')).handler, [backup.handler]);
    expect(await settled(overflow(await makeBatch(['a']), makeContext().context))).toBeInstanceOf(ContextOverflowError);
    expect(backup.calls).toHaveLength(0);
  });

  it('tries the fallbacks in order, each for the reasons it takes, and throws the last failure', async () => {
    const primary = model('primary', () => new QuotaExhaustedError('no credit'));
    const second = model('second', () => new TransientError('down'));
    const longContext = model('long');
    const third = model('third', () => new QuotaExhaustedError('no credit either'));
    const handler = withFallbacks(primary.handler, [second.handler, { handler: longContext.handler, on: ['overflow'] }, third.handler], { cooldownMs: 0 });
    const error = await settled(handler(await makeBatch(['a']), makeContext({ attempt: 2 }).context));
    expect(error).toBeInstanceOf(QuotaExhaustedError);
    expect((error as Error).message).toBe('no credit either');
    expect([primary.calls.length, second.calls.length, longContext.calls.length, third.calls.length]).toEqual([1, 1, 0, 1]);
  });

  it('keeps the model a handler reported itself, and passes its reports through', async () => {
    const reporting: BatchHandler<string, string> = async (batch, context) => {
      context.report({ model: 'gpt-4o-2024-08-06', usage: { inputTokens: 10, outputTokens: 2 } });
      return batch.items;
    };
    const handler = withFallbacks(model('p', () => new QuotaExhaustedError('x')).handler, [{ handler: reporting, model: 'label' }]);
    const { context, reports } = makeContext();
    await handler(await makeBatch(['a']), context);
    expect(reports).toEqual([{ model: 'gpt-4o-2024-08-06', usage: { inputTokens: 10, outputTokens: 2 } }]);
  });

  it('in a chain, a larger-context model gets an overflowing batch before splitOnOverflow splits it', async () => {
    const small = model('small', (batch) => (batch.items.length > 2 ? new ContextOverflowError('too long for small') : undefined));
    const large = model('large', (batch) => (batch.items.length > 4 ? new ContextOverflowError('too long for large') : undefined));
    const handler = withFallbacks(small.handler, [{ handler: large.handler, on: ['overflow'], model: 'large' }]);
    const run = (items: string[]) =>
      lastValueFrom(from(items).pipe(bufferByTokens({ maxTokens: 1000 }), splitOnOverflow(), mergeBatches(handler, { concurrency: 1 }), orderedResults(), toArray()));
    const four = await run(['a', 'b', 'c', 'd']);
    expect(four.map((outcome) => outcome.ok && outcome.value)).toEqual(['large:a', 'large:b', 'large:c', 'large:d']);
    expect(four.every((outcome) => outcome.splitDepth === 0)).toBe(true);
    // Too long even for the large model: split in halves, and each half again goes to the large model first.
    const eight = await run(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']);
    expect(eight.every((outcome) => outcome.ok && outcome.splitDepth === 1 && outcome.value.startsWith('large:'))).toBe(true);
    const two = await run(['a', 'b']);
    expect(two.map((outcome) => outcome.ok && outcome.value)).toEqual(['small:a', 'small:b']);
  });

  it('sends a refused batch to a fallback that takes rejections', async () => {
    const handler = withFallbacks(model('strict', () => new BatchRejectedError('refused')).handler, [{ handler: model('lenient').handler, on: ['rejected'] }]);
    expect(await handler(await makeBatch(['a']), makeContext().context)).toEqual(['lenient:a']);
  });

  it('each outcome says which model answered it', async () => {
    const primary = model('primary', (batch) => (batch.items.includes('b') ? new QuotaExhaustedError('no credit') : undefined));
    const handler = withFallbacks(primary.handler, [{ handler: model('backup').handler, model: 'backup-model' }], { model: 'primary-model', cooldownMs: 0 });
    const outcomes = await lastValueFrom(from(['a', 'b']).pipe(bufferByTokens({ maxTokens: 100, maxItems: 1 }), mergeBatches(handler, { concurrency: 1 }), toArray()));
    expect(outcomes.map((outcome) => [outcome.item, outcome.ok, outcome.model])).toEqual([
      ['a', true, 'primary-model'],
      ['b', true, 'backup-model'],
    ]);
  });

  it('the batch span names the model that answered', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const primary = model('primary', (batch) => (batch.items.includes('b') ? new QuotaExhaustedError('no credit') : undefined));
    const handler = withFallbacks(primary.handler, [{ handler: model('backup').handler, model: 'backup-model' }], { model: 'primary-model', cooldownMs: 0 });
    await lastValueFrom(
      from(['a', 'b']).pipe(
        bufferByTokens({ maxTokens: 100, maxItems: 1 }),
        mergeBatches(handler, { concurrency: 1, telemetry: { tracer: provider.getTracer('test') } }),
        toArray(),
      ),
    );
    const models = exporter.getFinishedSpans().map((span) => span.attributes['gen_ai.request.model']);
    expect(models).toEqual(['primary-model', 'backup-model']);
  });

  it('validates its arguments at creation, naming them', () => {
    const handler = model('x').handler;
    expect(() => withFallbacks('no' as never, [handler])).toThrow(/^withFallbacks: primary:/);
    expect(() => withFallbacks(handler, [])).toThrow(/^withFallbacks: fallbacks:/);
    expect(() => withFallbacks(handler, [{ handler, on: ['down'] as never }])).toThrow(/^withFallbacks: fallbacks\[0\]\.on: expected one of/);
    expect(() => withFallbacks(handler, [{ handler, when: ['quota'] } as never])).toThrow("withFallbacks: unknown option 'fallbacks[0].when'");
    expect(() => withFallbacks(handler, [{} as never])).toThrow(/^withFallbacks: fallbacks\[0\]\.handler:/);
    expect(() => withFallbacks(handler, [handler], { cooldown: 5 } as never)).toThrow("withFallbacks: unknown option 'cooldown' (did you mean 'cooldownMs'?)");
    expect(() => withFallbacks(handler, [handler], { outageAfterAttempts: 0 })).toThrow(/^withFallbacks: outageAfterAttempts:/);
    expect(() => withFallbacks(handler, [handler], { cooldownMs: -1 })).toThrow(/^withFallbacks: cooldownMs:/);
  });
});

describe('withFallbacks with OpenAI handlers against the loopback server', () => {
  let server: OpenAIServer;
  beforeAll(async () => {
    server = await OpenAIServer.start();
  });
  afterAll(async () => {
    await server.close();
  });
  afterEach(() => server.reset());

  it('a quota-exhausted model hands its batches to the second model; outcomes come from it', async () => {
    server.fallback = (request) => {
      if (request.body.model === 'gpt-4o-mini') return reply.error(429, { message: 'You exceeded your current quota', code: 'insufficient_quota', type: 'insufficient_quota' });
      return reply.chatAnswering((text) => `second:${text}`, { model: 'gpt-4o-2024-08-06' })(request);
    };
    const connection = { apiKey: 'test', baseURL: server.url, prompt: 'Label each ticket.' };
    const handler = withFallbacks(openAIChat({ ...connection, model: 'gpt-4o-mini' }), [openAIChat({ ...connection, model: 'gpt-4o' })]);
    const items = ['refund', 'crash', 'thanks', 'invoice'];
    const outcomes = await lastValueFrom(
      from(items).pipe(
        bufferByTokens({ maxTokens: 1000, maxItems: 2 }),
        mergeBatches(handler, { concurrency: 1, classifyError: classifyOpenAIError }),
        orderedResults(),
        toArray(),
      ),
    );
    expect(outcomes.map((outcome) => outcome.ok && outcome.value)).toEqual(items.map((text) => `second:${text}`));
    // One failed call on the primary, then it cools down: the second batch goes straight to gpt-4o.
    expect(server.requests.map((request) => request.body.model)).toEqual(['gpt-4o-mini', 'gpt-4o', 'gpt-4o']);
    expect(chatItems(server.requests[2]!).map(({ text }) => text)).toEqual(['thanks', 'invoice']);
  });
});
