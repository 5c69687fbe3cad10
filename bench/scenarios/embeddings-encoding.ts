import { firstValueFrom, from } from 'rxjs';
import { openAIEmbeddings } from '../../src/openai.js';
import { bufferByTokens } from '../../src/operators/bufferByTokens.js';
import { OpenAIServer, reply, type RecordedRequest } from '../../test/support/openai-server.js';
import { bestOfAsync, type BenchResult, type Scenario } from '../harness.js';

/**
 * openAIEmbeddings end to end (SDK, loopback HTTP, decoding) for one full batch, with vectors sent
 * as JSON float arrays (baseline) or as base64 Float32 (the default). Justifies the default.
 */
export const embeddingsEncoding: Scenario = {
  name: 'embeddings-encoding',
  async run({ quick }): Promise<BenchResult> {
    const inputs = quick ? 64 : 2048;
    const dimensions = quick ? 256 : 1536;
    let seed = 1;
    const random = () => ((seed = (Math.imul(seed, 48271) >>> 0) % 2147483647) / 2147483647) * 2 - 1;
    const vectors = Array.from({ length: inputs }, () => Array.from({ length: dimensions }, () => Math.fround(random() * 0.1)));
    const batch = await firstValueFrom(from(Array.from({ length: inputs }, (_, i) => `document ${i}`)).pipe(bufferByTokens({ maxTokens: 300_000, tokenizer: 'cl100k_base' })));
    const server = await OpenAIServer.start();
    const context = { signal: new AbortController().signal, attempt: 1, splitDepth: 0, report: () => undefined };
    const rows = [];
    try {
      for (const encodingFormat of ['float', 'base64'] as const) {
        // Serialized once, so the timing is the client's: SDK, HTTP, JSON parsing, decoding.
        const planned = reply.embeddings(vectors, { encoding: encodingFormat })({ body: {} } as RecordedRequest);
        const body = planned.kind === 'json' ? JSON.stringify(planned.body) : '';
        server.fallback = { kind: 'raw', body };
        const handler = openAIEmbeddings({ model: 'text-embedding-3-small', apiKey: 'bench', baseURL: server.url, encodingFormat });
        const ms = await bestOfAsync(quick ? 2 : 5, async () => {
          const result = await handler(batch, context);
          if (result.length !== inputs || result[inputs - 1]![dimensions - 1] !== vectors[inputs - 1]![dimensions - 1]) throw new Error('wrong vectors');
        });
        server.requests.length = 0;
        rows.push({ name: encodingFormat, 'batch ms': ms, 'response MB': body.length / 1e6 });
      }
    } finally {
      await server.close();
    }
    const baseline = rows[0]!;
    return {
      scenario: 'embeddings-encoding',
      title: `openAIEmbeddings: one batch of ${inputs} x ${dimensions}-dim vectors over loopback`,
      rows: rows.map((row) => ({ ...row, 'time ratio': row['batch ms'] / baseline['batch ms'], 'size ratio': row['response MB'] / baseline['response MB'] })),
      notes: ['best of several runs; response bodies pre-serialized; loopback only, so a real network widens the gap by the size ratio'],
    };
  },
};
