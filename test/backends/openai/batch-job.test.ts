import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { from, lastValueFrom, toArray } from 'rxjs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AbortError, BatchRejectedError, BatchResultMismatchError, RateLimitError, TransientError } from '../../../src/errors.js';
import { bufferByTokens, mergeBatches, orderedResults } from '../../../src/index.js';
import type { Batch } from '../../../src/index.js';
import { InputFile } from '../../../src/backends/openai/batch-lines.js';
import {
  openAIBatchJob,
  openAIEmbeddingsBatchJob,
  OpenAIRejectedError,
  OpenAIRequestError,
  type BatchJobProgress,
  type BatchJobState,
  type BatchJobStore,
  type OpenAIBatchJob,
  type OpenAIBatchJobOptions,
} from '../../../src/openai.js';
import { BatchApi, labelAnswer, type LineAnswer } from '../../support/openai-batch-api.js';
import { makeBatch, makeContext } from '../../support/batches.js';
import { chatItems, OpenAIServer, type RecordedRequest } from '../../support/openai-server.js';

let server: OpenAIServer;
let api: BatchApi;
beforeAll(async () => {
  server = await OpenAIServer.start();
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  api = new BatchApi();
  server.batchApi = api;
});
afterEach(() => server.reset());

const job = (options: Partial<OpenAIBatchJobOptions<string, string>> = {}) =>
  openAIBatchJob<string, string>({
    model: 'gpt-4o-mini',
    prompt: 'Label each ticket.',
    apiKey: 'test-key',
    baseURL: server.url,
    // Files go when a test says so (flushWhen), never because a timer ran out on a busy machine.
    collectMs: 600_000,
    pollIntervalMs: 1,
    maxPollIntervalMs: 4,
    ...options,
  });

const routes = () => server.requests.map((request) => BatchApi.routeOf(request));
const count = (route: string) => routes().filter((seen) => seen === route).length;
const inputLines = (fileIndex = 0) => {
  const inputs = [...api.files.values()].filter((file) => file.purpose === 'batch');
  return inputs[fileIndex]!.content.trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { custom_id: string; method: string; url: string; body: { messages: unknown[] } });
};

async function settled<V>(promise: Promise<V>): Promise<V | Error> {
  return promise.then(
    (value) => value,
    (error: unknown) => error as Error,
  );
}

/** Submits the file being packed once `count` calls have joined it. */
async function flushWhen(batchJob: OpenAIBatchJob<string, string>, count: number): Promise<void> {
  await expect.poll(() => batchJob.progress().collecting).toBe(count);
  batchJob.flush();
}

/** Calls the handler once per batch (attempt 1 unless given), submits them as one file, and settles them all. */
async function runCalls(batchJob: OpenAIBatchJob<string, string>, batches: Batch<string>[], attempt = 1): Promise<(readonly string[] | Error)[]> {
  const calls = batches.map((batch) => settled(batchJob.handler(batch, makeContext({ attempt }).context)));
  await flushWhen(batchJob, batches.length);
  return Promise.all(calls);
}

const oneEach = (texts: string[]) => Promise.all(texts.map((text) => makeBatch([text])));

/** Answers like the default, but `special(text)` decides for requests holding that text. */
const answering = (special: (texts: string[]) => LineAnswer | undefined) => (body: unknown) =>
  special(chatItems({ body } as RecordedRequest).map(({ text }) => text)) ?? labelAnswer(body);

describe('openAIBatchJob against the loopback Batch API', () => {
  it('packs the calls in flight into one input file, submits it, polls, and gives each call its own answer', async () => {
    const progress: BatchJobProgress[] = [];
    const batchJob = job({ metadata: { team: 'support' }, jobName: 'tickets', onProgress: (p) => progress.push(p) });
    const batches = await Promise.all([['refund please', 'app crashes'], ['wrong invoice']].map((items) => makeBatch(items)));
    const contexts = batches.map(() => makeContext());
    const calls = batches.map((batch, i) => batchJob.handler(batch, contexts[i]!.context));
    await flushWhen(batchJob, 2);
    expect(await Promise.all(calls)).toEqual([['label:refund please', 'label:app crashes'], ['label:wrong invoice']]);

    expect(count('POST /v1/files')).toBe(1);
    expect(count('POST /v1/batches')).toBe(1);
    expect(count('GET /v1/files/:id/content')).toBe(1);
    expect(count('GET /v1/batches/:id')).toBeGreaterThanOrEqual(3);
    const [batch] = api.batches.values();
    expect(batch).toMatchObject({ endpoint: '/v1/chat/completions', metadata: { team: 'support', tokenbatch_job: 'tickets' }, status: 'completed' });
    const upload = [...api.files.values()][0]!;
    expect(upload).toMatchObject({ purpose: 'batch', filename: 'tickets-1.jsonl' });
    const lines = inputLines();
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ method: 'POST', url: '/v1/chat/completions', custom_id: expect.stringMatching(/^tb-[0-9a-f]{32}$/) });
    expect(lines[0]!.body).toMatchObject({ model: 'gpt-4o-mini', response_format: { type: 'json_schema' } });
    expect(chatItems({ body: lines[0]!.body } as RecordedRequest).map(({ text }) => text)).toEqual(['refund please', 'app crashes']);
    // Usage and model of each request's own answer.
    expect(contexts[1]!.reports).toEqual([{ operation: 'chat', model: 'gpt-4o-mini', usage: { inputTokens: expect.any(Number), outputTokens: expect.any(Number) } }]);
    expect(progress.at(-1)).toMatchObject({ files: 1, requests: { total: 2, completed: 2, failed: 0 }, batches: [{ status: 'completed' }] });
    expect(progress.some((p) => p.batches[0]?.status === 'in_progress')).toBe(true);
  });

  it('starts a new file at maxRequestsPerFile and before maxFileBytes would be passed', async () => {
    const byCount = job({ maxRequestsPerFile: 2 });
    const calls = (await oneEach(['a', 'b', 'c', 'd', 'e'])).map((batch) => byCount.handler(batch, makeContext().context));
    await expect.poll(() => byCount.progress().files * 10 + byCount.progress().collecting).toBe(21);
    byCount.flush();
    await Promise.all(calls);
    expect(count('POST /v1/files')).toBe(3);
    expect([...api.batches.values()].map((batch) => batch.lines.length).sort()).toEqual([1, 2, 2]);

    const oneLine = Buffer.byteLength(JSON.stringify(inputLines(0)[0])) + 1;
    server.reset();
    api = new BatchApi();
    server.batchApi = api;
    const bySize = job({ maxFileBytes: Math.floor(oneLine * 2.5) });
    const more = (await oneEach(['p', 'q', 'r', 's', 't'])).map((batch) => bySize.handler(batch, makeContext().context));
    await expect.poll(() => bySize.progress().files * 10 + bySize.progress().collecting).toBe(21);
    bySize.flush();
    await Promise.all(more);
    expect([...api.batches.values()].map((batch) => batch.lines.length).sort()).toEqual([1, 2, 2]);
    for (const file of [...api.files.values()].filter((stored) => stored.purpose === 'batch')) expect(Buffer.byteLength(file.content)).toBeLessThanOrEqual(oneLine * 2.5);
  });

  it('keeps the answers it got and fails an item the answer left out alone; a refusal throws BatchRejectedError', async () => {
    api = new BatchApi({
      answer: answering((texts) => {
        if (texts.includes('refuse me')) return { status_code: 200, body: { choices: [{ message: { content: null, refusal: 'I cannot help.' }, finish_reason: 'stop' }] } };
        if (texts.includes('skip b')) {
          const content = JSON.stringify({
            results: [
              { id: 1, result: 'A' },
              { id: 3, result: 'C' },
            ],
          });
          return { status_code: 200, body: { model: 'gpt-4o-mini', choices: [{ message: { content, refusal: null }, finish_reason: 'stop' }] } };
        }
        return undefined;
      }),
    });
    server.batchApi = api;
    const [results, refusal] = await runCalls(job(), await Promise.all([makeBatch(['a', 'skip b', 'c']), makeBatch(['refuse me'])]));
    expect(refusal).toBeInstanceOf(BatchRejectedError);
    expect((refusal as Error).message).toMatch(/refused the batch of 1 items: I cannot help/);
    const values = results as readonly unknown[];
    expect(values[0]).toBe('A');
    expect(values[2]).toBe('C');
    expect(values[1]).toBeInstanceOf(BatchResultMismatchError);
    expect(values[1]).toMatchObject({ itemIndex: 1, expected: 1, received: 0 });
    expect(count('POST /v1/batches')).toBe(1);
  });

  it('maps the lines of a partial error file to their own calls, the others keep their answers', async () => {
    api = new BatchApi({
      answer: answering((texts) => {
        if (texts.includes('server trouble')) return { status_code: 500, body: { error: { message: 'The server had an error', type: 'server_error' } } };
        if (texts.includes('flagged'))
          return { status_code: 400, body: { error: { message: 'Invalid prompt: flagged as potentially violating our usage policy', code: 'invalid_prompt' } } };
        if (texts.includes('bad setting'))
          return { status_code: 400, body: { error: { message: "Invalid value for 'temperature'", code: 'invalid_value', param: 'temperature' } } };
        return undefined;
      }),
    });
    server.batchApi = api;
    const outcomes = await runCalls(job(), await oneEach(['fine', 'server trouble', 'flagged', 'bad setting']));
    expect(outcomes[0]).toEqual(['label:fine']);
    expect(outcomes[1]).toBeInstanceOf(TransientError);
    expect(outcomes[2]).toBeInstanceOf(OpenAIRejectedError);
    expect(outcomes[3]).toBeInstanceOf(OpenAIRequestError);
    const [batch] = api.batches.values();
    expect(api.files.get(batch!.outputFileId!)!.content.trim().split('\n')).toHaveLength(1);
    expect(api.files.get(batch!.errorFileId!)!.content.trim().split('\n')).toHaveLength(3);
  });

  it('an expired batch: the requests that ran keep their answers, the rest fail retryably and a retry submits them anew', async () => {
    api.plan.push({ end: 'expired', processed: 2 });
    const batchJob = job();
    const batches = await oneEach(['a', 'b', 'c', 'd']);
    const outcomes = await runCalls(batchJob, batches);
    expect(outcomes.slice(0, 2)).toEqual([['label:a'], ['label:b']]);
    for (const outcome of outcomes.slice(2)) {
      expect(outcome).toBeInstanceOf(TransientError);
      expect((outcome as Error).message).toMatch(/could not be executed before the completion window expired\. \(batch_expired\)/);
    }
    // mergeBatches' retry: attempt 2 of the same requests goes into a new file, never re-reads the failure.
    expect(await runCalls(batchJob, batches.slice(2), 2)).toEqual([['label:c'], ['label:d']]);
    expect(count('POST /v1/batches')).toBe(2);
    expect([...api.batches.values()][1]!.lines).toHaveLength(2);
  });

  it('a batch that failed validation: the named line gets its error, the others a retryable one', async () => {
    api.plan.push({ end: 'failed', errors: [{ code: 'invalid_request', message: "Invalid 'messages[1].content': string too long", line: 2, param: 'body.messages' }] });
    const batchJob = job();
    const texts = ['a', 'b', 'c'];
    const outcomes = await runCalls(batchJob, await oneEach(texts));
    // Calls join the file as their requests are ready: find the one on line 2.
    const second = texts.indexOf(chatItems({ body: inputLines()[1]!.body } as RecordedRequest)[0]!.text);
    outcomes.forEach((outcome, i) => {
      if (i === second) expect(outcome).toBeInstanceOf(OpenAIRejectedError);
      else expect((outcome as Error).message).toMatch(/failed validation.*not at fault/);
    });

    api.plan.push({ end: 'failed', errors: [{ code: 'token_limit_exceeded', message: 'Enqueued token limit reached for gpt-4o-mini' }] });
    expect((await runCalls(batchJob, await oneEach(['e'])))[0]).toBeInstanceOf(RateLimitError);
    api.plan.push({ end: 'failed', errors: [{ code: 'model_not_found', message: 'The model does not exist' }] });
    expect((await runCalls(batchJob, await oneEach(['f'])))[0]).toMatchObject({ name: 'OpenAIRequestError', code: 'model_not_found' });
  });

  it('fails the calls of a file whose upload fails, with the mapped error, and submits nothing', async () => {
    api.failNext.set('POST /v1/files', [{ kind: 'json', status: 503, body: { error: { message: 'overloaded', type: 'server_error' } } }]);
    expect((await runCalls(job(), await oneEach(['a'])))[0]).toBeInstanceOf(TransientError);
    expect(count('POST /v1/batches')).toBe(0);
  });

  it('rides out a failed poll and download, and gives up after maxPollFailures of them in a row', async () => {
    api.failNext.set('GET /v1/batches/:id', [{ kind: 'json', status: 502, body: { error: { message: 'bad gateway' } } }]);
    api.failNext.set('GET /v1/files/:id/content', [{ kind: 'json', status: 500, body: { error: { message: 'oops' } } }]);
    expect(await runCalls(job(), await oneEach(['a']))).toEqual([['label:a']]);

    api.failNext.set(
      'GET /v1/batches/:id',
      Array.from({ length: 3 }, () => ({ kind: 'json' as const, status: 500, body: { error: { message: 'down' } } })),
    );
    expect((await runCalls(job({ maxPollFailures: 3 }), await oneEach(['b'])))[0]).toBeInstanceOf(TransientError);
  });

  it('cancels the batch when every call waiting on it is aborted; with cancelOnAbort false it leaves it running', async () => {
    api.plan.push({ end: 'completed', polls: 1_000_000 }, { end: 'completed', polls: 1_000_000 });
    const batchJob = job();
    const contexts = [makeContext(), makeContext()];
    const pending = Promise.all((await oneEach(['a', 'b'])).map((batch, i) => settled(batchJob.handler(batch, contexts[i]!.context))));
    await flushWhen(batchJob, 2);
    await expect.poll(() => [...api.batches.values()][0]?.status).toBe('in_progress');
    contexts[0]!.controller.abort();
    // One call still waits: the batch runs on.
    const polls = count('GET /v1/batches/:id');
    await expect.poll(() => count('GET /v1/batches/:id')).toBeGreaterThan(polls + 2);
    expect(count('POST /v1/batches/:id/cancel')).toBe(0);
    contexts[1]!.controller.abort();
    const outcomes = await pending;
    expect(outcomes.every((outcome) => outcome instanceof AbortError)).toBe(true);
    await expect.poll(() => count('POST /v1/batches/:id/cancel')).toBe(1);
    expect([...api.batches.values()][0]!.status).toBe('cancelling');

    const detached = job({ cancelOnAbort: false });
    const context = makeContext();
    const call = settled(detached.handler(await makeBatch(['c']), context.context));
    await flushWhen(detached, 1);
    await expect.poll(() => [...api.batches.values()][1]?.status).toBe('in_progress');
    context.controller.abort();
    expect(await call).toBeInstanceOf(AbortError);
    expect(count('POST /v1/batches/:id/cancel')).toBe(1);
    expect([...api.batches.values()][1]!.status).toBe('in_progress');
  });

  it('submits nothing for calls aborted while their file was being packed', async () => {
    const batchJob = job();
    const context = makeContext();
    const call = settled(batchJob.handler(await makeBatch(['a']), context.context));
    await expect.poll(() => batchJob.progress().collecting).toBe(1);
    context.controller.abort();
    expect(await call).toBeInstanceOf(AbortError);
    expect(batchJob.progress().collecting).toBe(0);
    batchJob.flush();
    // An aborted signal is never sent anything either.
    expect(await settled(batchJob.handler(await makeBatch(['b']), context.context))).toBeInstanceOf(AbortError);
    batchJob.flush();
    await new Promise((resolve) => setTimeout(resolve, 20));
    // (A poll of the previous test's batch may still land here: only uploads and creations count.)
    expect(routes().filter((route) => route.startsWith('POST'))).toEqual([]);
  });

  it('a restarted job re-attaches to the batches in its state file instead of submitting again', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tokenbatch-batch-'));
    try {
      const stateFile = join(dir, 'state.json');
      api.plan.push({ end: 'completed', polls: 1_000_000 });
      const first = job({ stateFile, cancelOnAbort: false });
      const batches = await Promise.all([['a', 'b'], ['c']].map((items) => makeBatch(items)));
      const calls = batches.map((batch) => settled(first.handler(batch, makeContext().context)));
      await flushWhen(first, 2);
      await expect.poll(async () => (await readFile(stateFile, 'utf8').catch(() => '')).length).toBeGreaterThan(0);
      const state = JSON.parse(await readFile(stateFile, 'utf8')) as BatchJobState;
      expect(state).toMatchObject({ version: 1, batches: [{ id: [...api.batches.keys()][0], inputFileId: 'file-1', customIds: inputLines().map((line) => line.custom_id) }] });
      // The process dies: nothing is cancelled, the batch runs on.
      first.close();
      expect((await Promise.all(calls)).every((outcome) => outcome instanceof AbortError)).toBe(true);
      [...api.batches.values()][0]!.plan.polls = 2;

      const second = job({ stateFile });
      const results = await Promise.all(batches.map((batch) => second.handler(batch, makeContext().context)));
      expect(results).toEqual([['label:a', 'label:b'], ['label:c']]);
      expect(count('POST /v1/files')).toBe(1);
      expect(count('POST /v1/batches')).toBe(1);
      expect(second.progress()).toMatchObject({ files: 0, reattached: 2, batches: [{ status: 'completed', total: 2, completed: 2 }] });

      // A third run over a changed input: the known request re-attaches, the new one is submitted.
      const third = job({ stateFile });
      const mixed = [batches[1]!, await makeBatch(['new'])].map((batch) => third.handler(batch, makeContext().context));
      await flushWhen(third, 1);
      expect(await Promise.all(mixed)).toEqual([['label:c'], ['label:new']]);
      expect(count('POST /v1/batches')).toBe(2);
      expect(third.progress()).toMatchObject({ files: 1, reattached: 1 });
      expect((JSON.parse(await readFile(stateFile, 'utf8')) as BatchJobState).batches).toHaveLength(2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('resubmits, on restart, the requests whose recorded batch ended without an answer for them', async () => {
    let saved: BatchJobState | undefined;
    const store: BatchJobStore = { load: async () => saved, save: async (state) => void (saved = state) };
    api.plan.push({ end: 'expired', processed: 0 });
    expect((await runCalls(job({ store }), await oneEach(['a'])))[0]).toBeInstanceOf(TransientError);
    const second = job({ store });
    const call = second.handler(await makeBatch(['a']), makeContext().context);
    await flushWhen(second, 1);
    expect(await call).toEqual(['label:a']);
    expect(count('POST /v1/batches')).toBe(2);
    expect(saved?.batches).toHaveLength(2);
  });

  it('cancel() cancels every running batch and fails the waiting calls', async () => {
    api.plan.push({ end: 'completed', polls: 1_000_000 });
    const running = job();
    const call = settled(running.handler(await makeBatch(['a']), makeContext().context));
    await flushWhen(running, 1);
    await expect.poll(() => api.batches.size).toBe(1);
    await running.cancel();
    expect(await call).toBeInstanceOf(AbortError);
    expect(count('POST /v1/batches/:id/cancel')).toBe(1);
    expect(await settled(running.handler(await makeBatch(['b']), makeContext().context))).toBeInstanceOf(AbortError);
  });

  it('runs a whole chain: every item one outcome, in order, from one file', async () => {
    const items = Array.from({ length: 40 }, (_, i) => `ticket ${i}`);
    const batchJob = job();
    const done = lastValueFrom(
      from(items).pipe(bufferByTokens({ maxTokens: 1000, maxItems: 3 }), mergeBatches(batchJob.handler, { concurrency: 100 }), orderedResults(), toArray()),
    );
    await flushWhen(batchJob, 14);
    const outcomes = await done;
    expect(outcomes.map((outcome) => outcome.index)).toEqual(items.map((_, i) => i));
    expect(outcomes.every((outcome) => outcome.ok && outcome.value === `label:${outcome.item}`)).toBe(true);
    expect(count('POST /v1/batches')).toBe(1);
    expect([...api.batches.values()][0]!.lines).toHaveLength(14);
  });

  it('validates options at creation, naming them', () => {
    const base = { model: 'm', prompt: 'p', apiKey: 'k' };
    expect(() => openAIBatchJob({ ...base, pollMs: 5 } as never)).toThrow("openAIBatchJob: unknown option 'pollMs'");
    expect(() => openAIBatchJob({ ...base, collectMS: 5 } as never)).toThrow("openAIBatchJob: unknown option 'collectMS' (did you mean 'collectMs'?)");
    expect(() => openAIBatchJob({ ...base, maxRequestsPerFile: 50_001 })).toThrow(/^openAIBatchJob: maxRequestsPerFile: expected a number <= 50000/);
    expect(() => openAIBatchJob({ ...base, maxFileBytes: 0 })).toThrow(/^openAIBatchJob: maxFileBytes:/);
    expect(() => openAIBatchJob({ ...base, stateFile: 'a', store: { load: async () => undefined, save: async () => {} } })).toThrow(/pass one, not both/);
    expect(() => openAIBatchJob({ ...base, cancelOnAbort: 'yes' as never })).toThrow(/^openAIBatchJob: cancelOnAbort: expected a boolean/);
    expect(() => openAIBatchJob({ ...base, metadata: { a: 1 } as never })).toThrow(/^openAIBatchJob: metadata:/);
    expect(() => openAIBatchJob({ ...base, jobName: 'a b' })).toThrow(/^openAIBatchJob: jobName:/);
    expect(() => openAIBatchJob({ prompt: 'p', apiKey: 'k' } as never)).toThrow(/^openAIBatchJob: model:/);
  });
});

describe('openAIEmbeddingsBatchJob', () => {
  const embedAnswer = (skip: string) => (body: unknown) => {
    const { input, model } = body as { input: string[]; model: string };
    const data = input.flatMap((text, index) => (text === skip ? [] : [{ object: 'embedding', index, embedding: [text.length, index] }]));
    return { status_code: 200, body: { object: 'list', data, model, usage: { prompt_tokens: input.length * 3, total_tokens: input.length * 3 } } };
  };

  it('packs embeddings requests into a /v1/embeddings batch and gives each item its vector, or its own error', async () => {
    api = new BatchApi({ answer: embedAnswer('lost') });
    server.batchApi = api;
    const batchJob = openAIEmbeddingsBatchJob<string>({ model: 'text-embedding-3-small', apiKey: 'k', baseURL: server.url, collectMs: 600_000, pollIntervalMs: 1, dimensions: 2 });
    const batches = await Promise.all([makeBatch(['ab', 'lost', '']), makeBatch(['abcd'])]);
    const contexts = [makeContext(), makeContext()];
    const calls = batches.map((batch, i) => batchJob.handler(batch, contexts[i]!.context));
    await expect.poll(() => batchJob.progress().collecting).toBe(2);
    batchJob.flush();
    const [first, second] = await Promise.all(calls);
    expect([...(first![0] as Float32Array)]).toEqual([2, 0]);
    expect(first![1]).toMatchObject({ name: 'BatchResultMismatchError', itemIndex: 1 });
    expect(first![2]).toMatchObject({ name: 'InvalidItemError', itemIndex: 2 });
    expect([...(second![0] as Float32Array)]).toEqual([4, 0]);
    const [batch] = api.batches.values();
    expect(batch!.endpoint).toBe('/v1/embeddings');
    expect(batch!.lines.map((line) => line.body)).toEqual([
      { model: 'text-embedding-3-small', input: ['ab', 'lost'], encoding_format: 'base64', dimensions: 2 },
      { model: 'text-embedding-3-small', input: ['abcd'], encoding_format: 'base64', dimensions: 2 },
    ]);
    expect(batch!.lines[0]!.url).toBe('/v1/embeddings');
    expect(contexts[0]!.reports).toEqual([{ operation: 'embeddings', model: 'text-embedding-3-small', usage: { inputTokens: 6, outputTokens: 0 } }]);
  });

  it('validates its options, naming itself', () => {
    expect(() => openAIEmbeddingsBatchJob({ model: 'm', apiKey: 'k', prompt: 'p' } as never)).toThrow("openAIEmbeddingsBatchJob: unknown option 'prompt'");
    expect(() => openAIEmbeddingsBatchJob({ model: 'm', apiKey: 'k', dimensions: 0 })).toThrow(/^openAIEmbeddingsBatchJob: dimensions:/);
  });

  it('starts a new file before 50,000 embedding inputs (the Batch API limit)', () => {
    const file = new InputFile(50_000, 200 * 1024 * 1024, 50_000);
    file.add('a', 'x', 30_000);
    expect(file.fits('y', 20_000)).toBe(true);
    expect(file.fits('y', 20_001)).toBe(false);
    file.add('b', 'y', 20_000);
    expect(file.full).toBe(true);
    file.remove('b');
    expect(file.full).toBe(false);
  });
});
