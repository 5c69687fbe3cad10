import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, completeLines, expectComplete, headerOf, simulated, start, testFolder, until, writeInput } from '../support/cli.js';
import { OpenAIServer, reply } from '../support/openai-server.js';

const { path, dir: folder } = testFolder();

/** `run` arguments for the openai backend against a loopback server. */
const openai = (server: OpenAIServer, input: string, output: string, ...extra: string[]): string[] => [
  'run',
  '-i',
  input,
  '-o',
  output,
  '-p',
  'Rewrite each item in capital letters.',
  '-m',
  'test-model',
  '--base-url',
  server.url,
  '--max-items',
  '4',
  ...extra,
];
const KEY = { OPENAI_API_KEY: 'sk-test' };

async function withServer(body: (server: OpenAIServer) => Promise<void>): Promise<void> {
  const server = await OpenAIServer.start();
  try {
    await body(server);
  } finally {
    await server.close();
  }
}

describe('tokenbatch run never loses or repeats work (a child process)', () => {
  it("locks the output: a second run is refused and names the pid; a dead holder's lock is taken over", async () => {
    const input = path('items.jsonl');
    const output = path('results.jsonl');
    const texts = writeInput(input, 12);
    // Calls of 20 s: the first run holds the output for the whole test.
    const holder = start(simulated(input, output, '--sim-latency-ms', '20000'));
    await until(() => (existsSync(`${output}.lock`) && holder.stderr().includes('0/12 lines') ? true : undefined), 'the first run to start');
    const second = await cli(simulated(input, output, '--sim-latency-ms', '1'));
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`is in use by another tokenbatch run (pid ${holder.child.pid}`);
    expect(second.stderr.trim().split('\n')).toHaveLength(1);
    // A supervisor kills the holder with SIGKILL: its lock stays behind, naming a dead process.
    holder.child.kill('SIGKILL');
    await holder.done;
    expect(JSON.parse(readFileSync(`${output}.lock`, 'utf8'))).toMatchObject({ pid: holder.child.pid });
    const third = await cli(simulated(input, output, '--sim-latency-ms', '1'));
    expect(third.code).toBe(0);
    expectComplete(output, texts);
    expect(existsSync(`${output}.lock`)).toBe(false);
  });

  it('stops on a rejected key (401) with exit 1, marks no line done, and a rerun with a good key does them all', async () => {
    await withServer(async (server) => {
      server.fallback = reply.error(401, { message: 'Incorrect API key provided: sk-bad.', type: 'invalid_request_error', code: 'invalid_api_key' });
      const input = path('items.jsonl');
      const output = path('results.jsonl');
      const texts = writeInput(input, 20);
      const bad = await cli(openai(server, input, output, '-c', '2'), KEY);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain('stopped: the API rejected the key (HTTP 401');
      expect(bad.stderr).toContain('No line was marked done');
      expect(completeLines(output)).toEqual([]);
      expect(server.requests.length).toBeLessThanOrEqual(2);
      server.fallback = reply.chatAnswering((text) => text.toUpperCase());
      const before = server.requests.length;
      const good = await cli(openai(server, input, output, '-c', '2'), KEY);
      expect(good.code).toBe(0);
      expect(server.requests.length - before).toBe(5);
      expect(completeLines(output).map((result) => result.value)).toEqual(texts.map((text) => text.toUpperCase()));
    });
  });

  it('stops on an exhausted quota and on a host that stays unreachable, marking no line done', async () => {
    await withServer(async (server) => {
      server.fallback = reply.error(429, {
        message: 'You exceeded your current quota, please check your plan and billing details.',
        type: 'insufficient_quota',
        code: 'insufficient_quota',
      });
      const input = path('items.jsonl');
      writeInput(input, 8);
      const quota = path('quota.jsonl');
      const stopped = await cli(openai(server, input, quota), KEY);
      expect(stopped.code).toBe(1);
      expect(stopped.stderr).toContain("stopped: the account's quota is exhausted");
      expect(completeLines(quota)).toEqual([]);
    });
    // A server that has gone away: connections are refused on every attempt.
    const gone = await OpenAIServer.start();
    const url = gone.url;
    await gone.close();
    const input = path('items.jsonl');
    writeInput(input, 8);
    const output = path('unreachable.jsonl');
    const args = ['run', '-i', input, '-o', output, '-p', 'Classify.', '--base-url', url, '--max-attempts', '2'];
    const unreachable = await cli(args, KEY);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain('stopped: the host cannot be reached');
    expect(completeLines(output)).toEqual([]);
  });

  it('--retry-failed redoes the failed lines and rewrites the output in input order, atomically', async () => {
    const input = path('items.jsonl');
    const output = path('results.jsonl');
    const texts = writeInput(input, 40);
    const first = await cli(simulated(input, output, '--sim-latency-ms', '1', '--max-items', '2', '--max-attempts', '1', '--sim-failure-rate', '0.4', '--seed', '7'));
    expect(first.code).toBe(2);
    const failed = completeLines(output)
      .filter((result) => !result.ok)
      .map((result) => result.line);
    expect(failed.length).toBeGreaterThan(3);
    expect(first.stderr).toContain('rerun with --retry-failed');
    // A plain rerun counts failed lines as done.
    expect((await cli(simulated(input, output, '--sim-latency-ms', '1'))).code).toBe(2);
    const inode = statSync(output).ino;
    const header = headerOf(output);
    // What a run killed in the middle of a rewrite leaves behind: removed by the next run.
    writeFileSync(`${output}.tmp-99999`, '{"line":1,"ok":true,"value":"stale"}\n');
    const retried = await cli(simulated(input, output, '--sim-latency-ms', '1', '--retry-failed'));
    expect(retried.stderr).toContain(`retrying ${failed.length} failed lines`);
    expect(retried.code).toBe(0);
    expectComplete(output, texts);
    expect(headerOf(output)).toEqual(header);
    // Rewritten through a new file renamed over the old one, which leaves no temporary file behind.
    expect(statSync(output).ino).not.toBe(inode);
    expect(readdirSync(dirname(output)).filter((name) => name.startsWith(`${basename(output)}.`))).toEqual([]);
  });

  it('records a fingerprint of the input and settings, and refuses a resume that does not match unless told', async () => {
    const input = path('items.jsonl');
    const output = path('results.jsonl');
    writeInput(input, 6);
    expect((await cli(simulated(input, output, '--sim-latency-ms', '1'))).code).toBe(0);
    expect(headerOf(output)).toMatchObject({ tokenbatch: 1, input: { bytes: statSync(input).size }, options: { backend: 'simulated', task: 'classify' } });
    const before = readFileSync(output, 'utf8');

    const other = path('other.jsonl');
    writeInput(other, 8);
    const wrongInput = await cli(simulated(other, output, '--sim-latency-ms', '1'));
    expect(wrongInput.code).toBe(1);
    expect(wrongInput.stderr).toContain(`output '${output}' does not match this run: the input file differs`);
    expect(wrongInput.stderr).toContain('--ignore-fingerprint');

    const wrongTask = await cli(['run', '-i', input, '-o', output, '--backend', 'simulated', '--task', 'summarize', '--sim-latency-ms', '1']);
    expect(wrongTask.code).toBe(1);
    expect(wrongTask.stderr).toContain('task differs (was classify, now summarize)');
    expect(readFileSync(output, 'utf8')).toBe(before);

    const forced = await cli(simulated(other, output, '--sim-latency-ms', '1', '--ignore-fingerprint'));
    expect(forced.code).toBe(0);
    expect(forced.stderr).toContain('warning: resuming');
    expect(completeLines(output).map((result) => result.line)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('strips a BOM, refuses binary input up front, and says in one line that the output directory is missing', async () => {
    const input = path('bom.jsonl');
    writeFileSync(input, '\uFEFF"Please refund my order"\n{"id": 2, "text": "The app crashes"}\n');
    const output = path('bom-results.jsonl');
    const bom = await cli(simulated(input, output, '--sim-latency-ms', '1'));
    expect(bom.code).toBe(0);
    expect(completeLines(output).map((result) => [result.line, result.ok])).toEqual([
      [1, true],
      [2, true],
    ]);

    const binary = path('image.png');
    writeFileSync(binary, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0xff, 0xfe, 0x0a, 0x01]));
    const binaryOut = path('binary-results.jsonl');
    const refused = await cli(simulated(binary, binaryOut));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(`tokenbatch: input '${binary}' is not JSONL text: it holds binary data (a NUL byte at offset 8)\n`);
    expect(existsSync(binaryOut)).toBe(false);

    const missing = join(folder(), 'no-such-dir', 'results.jsonl');
    const noDir = await cli(simulated(input, missing));
    expect(noDir.code).toBe(1);
    expect(noDir.stderr).toBe(`tokenbatch: cannot write output '${missing}': the directory '${dirname(missing)}' does not exist (create it first)\n`);
  });

  it('says "1 result line" for one line', async () => {
    const input = path('one.jsonl');
    writeFileSync(input, '"Where is my refund?"\n');
    const { code, stderr } = await cli(simulated(input, path('one-results.jsonl'), '--sim-latency-ms', '1'));
    expect(code).toBe(0);
    expect(stderr).toContain('wrote 1 result line to');
    expect(stderr).toContain('tokenbatch: 1/1 line (100%), 0 failed');
  });
});
