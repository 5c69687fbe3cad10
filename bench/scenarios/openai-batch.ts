import { from, lastValueFrom, toArray } from 'rxjs';
import { bufferByTokens, mergeBatches, orderedResults, type BatchHandler, type HandlerContext, type Usage } from '../../src/index.js';
import { classifyOpenAIError, openAIBatchJob, openAIChat } from '../../src/openai.js';
import { BatchApi, labelAnswer } from '../../test/support/openai-batch-api.js';
import { OpenAIServer, reply } from '../../test/support/openai-server.js';
import { makeCorpus } from '../corpus.js';
import type { BenchResult, BenchRow, Scenario } from '../harness.js';

/** gpt-4o-mini list prices in USD per million tokens; the Batch API bills half. */
export const PRICES = Object.freeze({ model: 'gpt-4o-mini', input: 0.15, output: 0.6, batchDiscount: 0.5 });

/** Counts the usage a handler reports, on top of passing it on. */
function tallied<T, R>(handler: (batch: Parameters<BatchHandler<T, R>>[0], context: HandlerContext) => Promise<readonly R[]>) {
  const usage = { inputTokens: 0, outputTokens: 0 };
  const wrapped = (batch: Parameters<BatchHandler<T, R>>[0], context: HandlerContext) =>
    handler(batch, {
      ...context,
      report(facts: { usage?: Usage }) {
        usage.inputTokens += facts.usage?.inputTokens ?? 0;
        usage.outputTokens += facts.usage?.outputTokens ?? 0;
        context.report(facts);
      },
    });
  return { wrapped, usage };
}

/**
 * A Batch API job of 20,000 items (tickets of the bench corpus, 25 a request) against the loopback
 * Batch API, beside the same items through the real-time chat endpoint: HTTP requests made, model
 * requests, files, tokens and cost at batch prices against real-time prices. Answers and usage come
 * from the same simulated model on both paths, so the tokens are equal and the cost ratio is the
 * price ratio; the request counts are what differ.
 */
export const openAIBatchScenario: Scenario = {
  name: 'openai-batch',
  async run({ quick }): Promise<BenchResult> {
    const count = quick ? 600 : 20_000;
    const perRequest = 25;
    const items = makeCorpus({ seed: 16, items: count });
    const server = await OpenAIServer.start();
    const rows: BenchRow[] = [];
    const costs: number[] = [];
    const connection = { apiKey: 'bench', baseURL: server.url, model: PRICES.model, prompt: 'Classify each support ticket as billing, bug, account or other.' };
    const run = async (name: string, handler: BatchHandler<string, string>, usage: { inputTokens: number; outputTokens: number }, price: number) => {
      const outcomes = await lastValueFrom(
        from(items).pipe(
          bufferByTokens({ maxTokens: 100_000, maxItems: perRequest }),
          mergeBatches(handler, { concurrency: Math.ceil(count / perRequest), retry: { maxAttempts: 3, baseDelayMs: 1 }, classifyError: classifyOpenAIError }),
          orderedResults(),
          toArray(),
        ),
      );
      const routes = server.requests.map((request) => BatchApi.routeOf(request));
      const of = (route: string) => routes.filter((seen) => seen === route).length;
      const lines = [...(server.batchApi?.batches.values() ?? [])].reduce((sum, batch) => sum + batch.lines.length, 0);
      const cost = (usage.inputTokens * PRICES.input + usage.outputTokens * PRICES.output) * price * 1e-6;
      rows.push({
        name,
        items: count,
        'ok items': outcomes.filter((outcome) => outcome.ok && outcome.value === `label:${outcome.item}`).length,
        'HTTP requests': server.requests.length,
        'model requests': server.batchApi ? lines : of('POST /v1/chat/completions'),
        files: of('POST /v1/files'),
        polls: of('GET /v1/batches/:id'),
        'input tokens': usage.inputTokens,
        'output tokens': usage.outputTokens,
        'cost $': Number(cost.toFixed(4)),
      });
      costs.push(cost);
      server.reset();
    };
    try {
      // The real-time baseline: one chat request per batch of 25, answered like the Batch API's lines.
      server.fallback = (request) => reply.json(labelAnswer(request.body).body);
      const realtime = tallied(openAIChat<string, string>(connection));
      await run('real-time openAIChat', realtime.wrapped, realtime.usage, 1);

      for (const maxRequestsPerFile of [50_000, Math.ceil(count / perRequest / 4)]) {
        server.batchApi = new BatchApi({ pollsToFinish: 4 });
        const job = openAIBatchJob<string, string>({ ...connection, maxRequestsPerFile, collectMs: 500, pollIntervalMs: 5, maxPollIntervalMs: 20 });
        const batch = tallied(job.handler);
        await run(`openAIBatchJob (maxRequestsPerFile ${maxRequestsPerFile.toLocaleString('en-US')})`, batch.wrapped, batch.usage, PRICES.batchDiscount);
      }
    } finally {
      await server.close();
    }
    return {
      scenario: 'openai-batch',
      title: `OpenAI Batch API job: ${count.toLocaleString('en-US')} items, ${perRequest} a request, against the loopback server`,
      rows: rows.map((row, i) => ({ ...row, 'cost ratio': costs[i]! / costs[0]! })),
      notes: [
        `prices: ${PRICES.model} $${PRICES.input}/M input, $${PRICES.output}/M output tokens real-time; the Batch API bills ${PRICES.batchDiscount * 100}% of that`,
        'HTTP requests of a batch job: uploads + creates + polls + downloads (each simulated batch ends on its 4th poll)',
        'collectMs 500: a file is sealed after 500 ms without a new request; with 50 ms a loaded machine seals partial files (13 instead of 4 at 200 a file)',
        'tokens from the same simulated answers on both paths (about 4 characters a token), so the cost ratio is the price ratio',
      ],
    };
  },
};
