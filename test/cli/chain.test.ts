import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cli, completeLines, headerOf, testFolder } from '../support/cli.js';
import { chatItems, OpenAIServer, reply } from '../support/openai-server.js';
import { sqliteLoads } from '../support/sqlite.js';

const { path } = testFolder();

async function withServer(body: (server: OpenAIServer) => Promise<void>): Promise<void> {
  const server = await OpenAIServer.start();
  try {
    server.fallback = reply.chatAnswering((text) => text.toUpperCase());
    await body(server);
  } finally {
    await server.close();
  }
}

const run = (server: OpenAIServer, input: string, output: string, ...extra: string[]): string[] => [
  'run',
  '-i',
  input,
  '-o',
  output,
  '-p',
  'Rewrite each item in capital letters.',
  '--base-url',
  server.url,
  ...extra,
];
const KEY = { OPENAI_API_KEY: 'sk-test' };

describe('tokenbatch run: chain features (a child process)', () => {
  it("--dedupe sends duplicate lines once and writes their representative's result with duplicateOf", async () => {
    await withServer(async (server) => {
      const input = path('items.jsonl');
      const output = path('results.jsonl');
      const texts = ['Refund please', 'The app crashes', 'refund   PLEASE', 'Refund please', 'Where is my parcel?'];
      writeFileSync(input, texts.map((text) => JSON.stringify(text)).join('\n') + '\n');
      const { code, stderr } = await cli(run(server, input, output, '--dedupe', 'exact'), KEY);
      expect(stderr).toContain('wrote 5 result lines');
      expect(code).toBe(0);
      expect(server.requests.flatMap((request) => chatItems(request).map((item) => item.text))).toEqual(['Refund please', 'The app crashes', 'Where is my parcel?']);
      expect(completeLines(output)).toEqual([
        { line: 1, ok: true, value: 'REFUND PLEASE' },
        { line: 2, ok: true, value: 'THE APP CRASHES' },
        { line: 3, duplicateOf: 1, ok: true, value: 'REFUND PLEASE' },
        { line: 4, duplicateOf: 1, ok: true, value: 'REFUND PLEASE' },
        { line: 5, ok: true, value: 'WHERE IS MY PARCEL?' },
      ]);
      // Deduplication changes results, so it is part of the fingerprint: a resume without it is refused.
      expect(headerOf(output)).toMatchObject({ options: { dedupe: 'exact' } });
      const without = await cli(run(server, input, output), KEY);
      expect(without.code).toBe(1);
      expect(without.stderr).toContain('dedupe differs (was exact, now unset)');
    });
  });

  it('--group-by-length batches lines of similar length together and still writes them in input order', async () => {
    await withServer(async (server) => {
      const input = path('items.jsonl');
      const output = path('results.jsonl');
      const short = (i: number): string => `short ${i}`;
      const long = (i: number): string => `long ${i}: ${'the quick brown fox jumps over the lazy dog '.repeat(12)}`;
      const texts = Array.from({ length: 24 }, (_, i) => (i % 2 === 0 ? short(i) : long(i)));
      writeFileSync(input, texts.map((text) => JSON.stringify(text)).join('\n') + '\n');
      const { code } = await cli(run(server, input, output, '--group-by-length', '--max-items', '4', '-c', '1'), KEY);
      expect(code).toBe(0);
      expect(completeLines(output).map((result) => [result.line, result.value])).toEqual(texts.map((text, i) => [i + 1, text.toUpperCase()]));
      for (const request of server.requests) {
        const kinds = new Set(chatItems(request).map((item) => item.text.split(' ')[0]));
        expect(kinds.size, JSON.stringify([...kinds])).toBe(1);
      }
    });
  });
});

describe('tokenbatch run --backend openai-batch (a child process, against the loopback Batch API)', () => {
  it('sends the lines as one Batch API job, writes every result in input order, and a rerun sends nothing', async () => {
    const { BatchApi } = await import('../support/openai-batch-api.js');
    await withServer(async (server) => {
      server.batchApi = new BatchApi();
      const input = path('batch-items.jsonl');
      const output = path('batch-results.jsonl');
      writeFileSync(input, ['Refund please', 'The app crashes', 'Thanks'].map((text) => JSON.stringify(text)).join('\n') + '\n');
      const first = await cli(run(server, input, output, '--backend', 'openai-batch', '--poll-interval-ms', '5'), KEY);
      expect(first.stderr).toContain('wrote 3 result lines');
      expect(first.code).toBe(0);
      expect(first.stderr).toMatch(/batch API: 1 batch \(completed\), \d+ of \d+ requests done/);
      expect(completeLines(output).map((line) => (line as { ok: boolean }).ok)).toEqual([true, true, true]);
      const requests = server.requests.length;
      const again = await cli(run(server, input, output, '--backend', 'openai-batch', '--poll-interval-ms', '5'), KEY);
      expect(again.code).toBe(0);
      expect(server.requests.length).toBe(requests);
    });
  });
});

describe('tokenbatch run --cache (a child process)', () => {
  it.skipIf(!sqliteLoads)('a second run of the same job with --cache sends no request and writes the same results', async () => {
    await withServer(async (server) => {
      const input = path('cache-items.jsonl');
      const cacheFile = path('results-cache.db');
      writeFileSync(input, ['Refund please', 'The app crashes', 'refund PLEASE', 'Thanks'].map((text) => JSON.stringify(text)).join('\n') + '\n');
      const first = await cli(run(server, input, path('cache-first.jsonl'), '--cache', cacheFile), KEY);
      expect(first.code).toBe(0);
      const requests = server.requests.length;
      expect(requests).toBeGreaterThan(0);
      const second = await cli(run(server, input, path('cache-second.jsonl'), '--cache', cacheFile), KEY);
      expect(second.code).toBe(0);
      expect(server.requests.length).toBe(requests);
      expect(second.stderr).toMatch(/4 lines answered from it, 0 lines sent/);
      expect(completeLines(path('cache-second.jsonl'))).toEqual(completeLines(path('cache-first.jsonl')));
    });
  });
});
