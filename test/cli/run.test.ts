import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { simulatedUntranslate } from '../../src/backends/simulated.js';
import { cli, completeLines, expectComplete, simulated, testFolder, writeInput } from '../support/cli.js';
import { chatItems, OpenAIServer, reply } from '../support/openai-server.js';

const { path, dir: folder } = testFolder();

describe('tokenbatch run (a child process)', () => {
  it('--help lists every option', async () => {
    const { code, stdout } = await cli(['run', '--help']);
    expect(code).toBe(0);
    const options = [
      '--input',
      '--output',
      '--prompt',
      '--model',
      '--base-url',
      '--api-key',
      '--max-tokens',
      '--max-items',
      '--concurrency',
      '--rpm',
      '--tpm',
      '--timeout-ms',
      '--max-attempts',
      '--text-field',
      '--id-field',
      '--backend',
      '--task',
      '--response-format',
      '--result-schema',
      '--tokenizer',
      '--sim-latency-ms',
      '--sim-failure-rate',
      '--seed',
      '--progress',
      '--retry-failed',
      '--ignore-fingerprint',
      '--dedupe',
      '--dedupe-threshold',
      '--group-by-length',
    ];
    for (const option of options) expect(stdout).toContain(option);
    expect(stdout).toContain('OPENAI_API_KEY');
    const top = await cli(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toContain('run [options]');
  });

  it('runs a JSONL file on the simulated backend: every line once, in input order', async () => {
    const input = path('items.jsonl');
    const output = path('results.jsonl');
    const texts = writeInput(input, 60);
    const { code, stderr } = await cli(simulated(input, output, '--sim-latency-ms', '5', '--max-items', '4', '--concurrency', '4', '--seed', '3', '--sim-failure-rate', '0.2'));
    expect(stderr).toContain('wrote 60 result lines');
    expect(code).toBe(0);
    expectComplete(output, texts);
    // Plain progress lines off a terminal, no escape codes.
    expect(stderr).toMatch(/tokenbatch: 60\/60 lines \(100%\), 0 failed/);
    expect(stderr).not.toContain('\u001b[');
  });

  it('writes embeddings as arrays and translations as strings', async () => {
    const input = path('items.jsonl');
    const texts = writeInput(input, 5);
    const vectors = path('vectors.jsonl');
    const embedded = await cli(['run', '-i', input, '-o', vectors, '--backend', 'simulated', '--task', 'embed', '--sim-latency-ms', '1']);
    expect(embedded.code).toBe(0);
    for (const result of completeLines(vectors)) {
      const vector = result.value as number[];
      expect(Array.isArray(vector) && vector.length).toBe(256);
      expect(vector.reduce((sum, x) => sum + x * x, 0)).toBeCloseTo(1, 5);
    }
    const translated = path('translated.jsonl');
    expect((await cli(['run', '-i', input, '-o', translated, '--backend', 'simulated', '--task', 'translate', '--sim-latency-ms', '1'])).code).toBe(0);
    expect(completeLines(translated).map((result) => simulatedUntranslate(result.value as string))).toEqual(texts);
  });

  it('talks to an OpenAI-compatible server, retrying a 429 and a 500', async () => {
    const server = await OpenAIServer.start();
    try {
      server.enqueue(
        reply.error(429, { message: 'Rate limit reached for requests', type: 'requests', code: 'rate_limit_exceeded' }, { 'retry-after-ms': '30' }),
        reply.error(500, { message: 'The server had an error while processing your request.', type: 'server_error' }),
      );
      server.fallback = reply.chatAnswering((text) => text.toUpperCase());
      const input = path('items.jsonl');
      const output = path('results.jsonl');
      const texts = writeInput(input, 10);
      const prompt = 'Rewrite each item in capital letters.';
      // The key comes from OPENAI_API_KEY; one batch at a time, so the scripted replies meet known batches.
      const args = ['run', '-i', input, '-o', output, '-p', prompt, '-m', 'test-model', '--base-url', server.url, '--max-items', '4', '-c', '1', '--max-attempts', '3'];
      const { code, stderr } = await cli(args, { OPENAI_API_KEY: 'sk-from-env' });
      expect(stderr).toContain('wrote 10 result lines');
      expect(code).toBe(0);
      const results = completeLines(output);
      expect(results.map((result) => result.line)).toEqual(texts.map((_, i) => i + 1));
      expect(results.map((result) => result.value)).toEqual(texts.map((text) => text.toUpperCase()));
      expect(results[1]?.id).toBe('t2');
      // 3 batches of 4, 4, 2 items; the first was refused twice (429, then 500) and answered on its third attempt.
      expect(server.requests).toHaveLength(5);
      expect(server.requests.map((request) => chatItems(request).length)).toEqual([4, 4, 4, 4, 2]);
      expect(chatItems(server.requests[0]!)).toEqual(chatItems(server.requests[2]!));
      for (const request of server.requests) {
        expect(request.path).toBe('/v1/chat/completions');
        expect(request.headers.authorization).toBe('Bearer sk-from-env');
        expect(request.body.model).toBe('test-model');
        expect(request.body.messages[0].content).toContain(prompt);
      }
    } finally {
      await server.close();
    }
  });

  it('says so when the input file is missing', async () => {
    const output = path('results.jsonl');
    const { code, stderr } = await cli(simulated(join(folder(), 'no-such-file.jsonl'), output));
    expect(code).toBe(1);
    expect(stderr).toMatch(/cannot read input file '.*no-such-file\.jsonl': no such file/);
    expect(existsSync(output)).toBe(false);
  });

  it('says so when the openai backend has no API key', async () => {
    const input = path('items.jsonl');
    writeInput(input, 3);
    const output = path('results.jsonl');
    const { code, stderr } = await cli(['run', '-i', input, '-o', output, '-p', 'Classify.']);
    expect(code).toBe(1);
    expect(stderr).toContain('no API key: pass --api-key or set OPENAI_API_KEY');
    expect(existsSync(output)).toBe(false);
    const noPrompt = await cli(['run', '-i', input, '-o', output, '--api-key', 'k']);
    expect(noPrompt.code).toBe(1);
    expect(noPrompt.stderr).toContain('--prompt is required with --backend openai');
  });

  it('reports malformed lines with their line numbers and gives each a failed result line', async () => {
    const input = path('items.jsonl');
    const output = path('results.jsonl');
    writeFileSync(
      input,
      ['"Please refund me"', '{oops', '{"id": 3, "text": "The app crashes"}', '[1, 2]', '{"id": 9, "body": "no text field"}', '   ', '"Thanks!"', ''].join('\n'),
    );
    const { code, stderr } = await cli(simulated(input, output, '--sim-latency-ms', '1'));
    expect(code).toBe(2);
    expect(stderr).toContain('line 2: not valid JSON');
    expect(stderr).toContain('line 4: expected a JSON string or object, got an array');
    expect(stderr).toContain('line 5: expected a string in field "text", but it has none');
    expect(stderr).toContain('3 of 6 lines failed');
    const results = completeLines(output);
    expect(results.map((result) => [result.line, result.ok])).toEqual([
      [1, true],
      [2, false],
      [3, true],
      [4, false],
      [5, false],
      [7, true],
    ]);
    expect(results[1]?.error).toEqual({ name: 'InvalidItemError', message: expect.stringContaining('line 2: not valid JSON') });
    expect(results[4]).toMatchObject({ line: 5, id: 9, ok: false, error: { name: 'InvalidItemError' } });
    expect(results[2]).toEqual({ line: 3, id: 3, ok: true, value: 'bug' });
    // A rerun finds everything done (failures included) and still reports them in its exit code.
    const again = await cli(simulated(input, output, '--sim-latency-ms', '1'));
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('resuming: 6 of 6 lines');
    expect(completeLines(output)).toHaveLength(6);
  });

  it('refuses to append to a file that is not a results file', async () => {
    const input = path('items.jsonl');
    writeInput(input, 3);
    const output = path('notes.txt');
    writeFileSync(output, 'my precious notes\n');
    const { code, stderr } = await cli(simulated(input, output));
    expect(code).toBe(1);
    expect(stderr).toContain('line 1 is not a tokenbatch result line; refusing to append');
    expect(readFileSync(output, 'utf8')).toBe('my precious notes\n');
  });
});
