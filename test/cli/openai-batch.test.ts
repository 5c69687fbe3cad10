import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { from, lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatBatchProgress, openAIBatchBackend, type OpenAIBatchCliConfig } from '../../src/cli/openai-batch.js';
import type { InputItem } from '../../src/cli/input.js';
import { bufferByTokens, mergeBatches, orderedResults } from '../../src/index.js';
import { BatchApi } from '../support/openai-batch-api.js';
import { OpenAIServer } from '../support/openai-server.js';

let server: OpenAIServer;
let dir: string;
beforeAll(async () => {
  server = await OpenAIServer.start();
  dir = await mkdtemp(join(tmpdir(), 'tokenbatch-cli-batch-'));
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

const config = (overrides: Partial<OpenAIBatchCliConfig> = {}): OpenAIBatchCliConfig => ({
  output: join(dir, 'labels.jsonl'),
  prompt: 'Label each ticket.',
  model: 'gpt-4o-mini',
  baseURL: server.url,
  apiKey: 'test',
  responseFormat: 'json_schema',
  tokenizer: 'o200k_base',
  pollIntervalMs: 1,
  ...overrides,
});

describe('tokenbatch run --backend openai-batch (the CLI glue)', () => {
  it('runs the items through a batch job recorded next to the output, with progress lines from the request counts', async () => {
    server.batchApi = new BatchApi();
    const lines: string[] = [];
    let clock = 0;
    const backend = await openAIBatchBackend(
      config(),
      (line) => lines.push(line),
      () => (clock += 20_000),
    );
    expect(backend.stateFile).toBe(join(dir, 'labels.jsonl.batch-state.json'));
    expect(backend.concurrency).toBe(5000);
    const items: InputItem[] = ['refund please', 'app crashes', 'thanks'].map((text, i) => ({ line: i + 1, text }));
    const outcomes = await lastValueFrom(
      from(items).pipe(
        bufferByTokens({ maxTokens: 1000, maxItems: 2, text: (item) => item.text as string }),
        mergeBatches(backend.handler, { concurrency: backend.concurrency }),
        orderedResults(),
        toArray(),
      ),
    );
    backend.close();
    expect(outcomes.map((outcome) => outcome.ok && outcome.value)).toEqual(['label:refund please', 'label:app crashes', 'label:thanks']);
    expect(JSON.parse(await readFile(backend.stateFile, 'utf8'))).toMatchObject({ version: 1, batches: [{ customIds: [expect.any(String), expect.any(String)] }] });
    expect(lines[0]).toMatch(/^batch API: 1 batch \(submitted\), 0 of 2 requests done, 0 failed; 0 being packed$/);
    expect(lines.at(-1)).toBe('batch API: 1 batch (completed), 2 of 2 requests done, 0 failed; 0 being packed');
    server.reset();
  });

  it('refuses to start without a prompt or a key', async () => {
    await expect(openAIBatchBackend(config({ prompt: ' ' }), () => {})).rejects.toThrow(/--prompt is required with --backend openai-batch/);
    await expect(openAIBatchBackend(config({ apiKey: '' }), () => {})).rejects.toThrow(/no API key/);
  });

  it('formats progress over several batches', () => {
    const line = formatBatchProgress({
      batches: [
        { id: 'b1', status: 'completed', total: 3000, completed: 2990, failed: 10 },
        { id: 'b2', status: 'in_progress', total: 2000, completed: 500, failed: 0 },
      ],
      requests: { total: 5000, completed: 3490, failed: 10 },
      files: 2,
      collecting: 7,
      reattached: 1200,
    });
    expect(line).toBe('batch API: 2 batches (1 completed, 1 in_progress), 3,500 of 5,000 requests done, 10 failed; 7 being packed; 1,200 answered from earlier batches');
  });
});
