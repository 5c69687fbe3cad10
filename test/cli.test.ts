import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simulatedClassify, simulatedUntranslate } from '../src/backends/simulated.js';
import { parseLine } from '../src/cli/input.js';
import { resultLine, scanResults } from '../src/cli/output.js';
import { Progress } from '../src/cli/progress.js';
import { InvalidItemError } from '../src/errors.js';
import { chatItems, OpenAIServer, reply } from './support/openai-server.js';

// The CLI runs as a user runs it: a process of its own (through tsx, so no build is needed), on
// real files, against a real HTTP server on loopback for the openai backend.
const root = fileURLToPath(new URL('..', import.meta.url));
const { OPENAI_API_KEY: _key, OPENAI_BASE_URL: _url, ...cleanEnv } = process.env;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tokenbatch-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
/** A fresh path in the test folder. */
const path = (name: string): string => join(dir, `${++files}-${name}`);

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function start(args: readonly string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; done: Promise<Finished>; stderr: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: root, env: { ...cleanEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const done = new Promise<Finished>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done, stderr: () => stderr };
}

const cli = (args: readonly string[], env?: NodeJS.ProcessEnv): Promise<Finished> => start(args, env).done;

/** Polls `probe` until it returns a value, failing after `ms`: for waiting on another process, never for timing. */
async function until<T>(probe: () => T | undefined, what: string, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

interface ResultRecord {
  line: number;
  id?: unknown;
  ok: boolean;
  value?: unknown;
  error?: { name: string; message: string };
}

/** The complete lines of an output file (an unfinished last line is left out). */
function completeLines(file: string): ResultRecord[] {
  if (!existsSync(file)) return [];
  const text = readFileSync(file, 'utf8');
  return text
    .slice(0, text.lastIndexOf('\n') + 1)
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as ResultRecord);
}

const TEXTS = [
  'Please refund my order, the charge was wrong.',
  'The app crashes when I open settings.',
  'Thanks, it works now! Great support.',
  'I cannot login, my password reset email never came.',
  'What are your opening hours?',
];

/** `count` input lines: JSON strings on odd lines, objects with an id on even ones. */
function writeInput(file: string, count: number): string[] {
  const texts = Array.from({ length: count }, (_, i) => `${TEXTS[i % TEXTS.length]} (#${i + 1})`);
  writeFileSync(file, texts.map((text, i) => (i % 2 === 0 ? JSON.stringify(text) : JSON.stringify({ id: `t${i + 1}`, text }))).join('\n') + '\n');
  return texts;
}

/** Every input line exactly once, in input order, each with the simulated classification of its text. */
function expectComplete(file: string, texts: readonly string[]): void {
  const results = completeLines(file);
  expect(readFileSync(file, 'utf8').endsWith('\n')).toBe(true);
  expect(results.map((result) => result.line)).toEqual(texts.map((_, i) => i + 1));
  results.forEach((result, i) => {
    expect(result).toEqual({ line: i + 1, ...(i % 2 === 1 ? { id: `t${i + 1}` } : {}), ok: true, value: simulatedClassify(texts[i] as string) });
  });
}

const simulated = (input: string, output: string, ...extra: string[]): string[] => [
  'run',
  '--input',
  input,
  '--output',
  output,
  '--backend',
  'simulated',
  '--task',
  'classify',
  ...extra,
];

describe('tokenbatch run (a child process)', () => {
  it('--help lists every option', async () => {
    const { code, stdout } = await cli(['run', '--help']);
    expect(code).toBe(0);
    const options = ['--input', '--output', '--prompt', '--model', '--base-url', '--api-key', '--max-tokens', '--max-items', '--concurrency', '--rpm', '--tpm', '--timeout-ms', '--max-attempts', '--text-field', '--id-field', '--backend', '--task', '--response-format', '--result-schema', '--tokenizer', '--sim-latency-ms', '--sim-failure-rate', '--seed', '--progress'];
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
    const { code, stderr } = await cli(simulated(join(dir, 'no-such-file.jsonl'), output));
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

  /**
   * Starts a job on `count` lines that runs for a few seconds (batches of 3, 2 at a time, 100 ms
   * each), sends `signal` once `after` results are written, and checks that what was written is a
   * prefix of the input, in order.
   */
  async function interrupt(input: string, output: string, count: number, signal: NodeJS.Signals, after: number): Promise<{ finished: Finished; written: number }> {
    const job = start(simulated(input, output, '--sim-latency-ms', '100', '--max-items', '3', '--concurrency', '2'));
    await until(() => (completeLines(output).length >= after ? true : undefined), 'the first results');
    expect(job.child.exitCode).toBe(null);
    job.child.kill(signal);
    const finished = await job.done;
    const written = completeLines(output).map((result) => result.line);
    expect(written.length).toBeLessThan(count);
    expect(written).toEqual(written.map((_, i) => i + 1));
    return { finished, written: written.length };
  }

  /** Reruns the job to completion, and checks the output holds every line once, in order. */
  async function resume(input: string, output: string, texts: readonly string[]): Promise<Finished> {
    const rerun = await cli(simulated(input, output, '--sim-latency-ms', '5', '--max-items', '3', '--concurrency', '2'));
    expect(rerun.code).toBe(0);
    expectComplete(output, texts);
    return rerun;
  }

  it('resumes after SIGKILL: every input line exactly once, in input order', async () => {
    const input = path('items.jsonl');
    const output = path('results.jsonl');
    const texts = writeInput(input, 150);
    const { finished, written } = await interrupt(input, output, 150, 'SIGKILL', 10);
    expect(finished.signal).toBe('SIGKILL');

    const rerun = await resume(input, output, texts);
    expect(rerun.stderr).toContain(`resuming: ${written} of 150 lines`);
  });

  it('on SIGINT finishes the batches in flight, exits 130, and resumes', async () => {
    const input = path('items.jsonl');
    const output = path('results.jsonl');
    const texts = writeInput(input, 150);
    const { finished } = await interrupt(input, output, 150, 'SIGINT', 6);
    expect(finished.stderr).toContain('interrupted: finishing the batches in flight');
    expect(finished.stderr).toContain('stopped by SIGINT');
    expect(finished.code).toBe(130);
    expect(readFileSync(output, 'utf8').endsWith('\n')).toBe(true); // nothing half-written

    await resume(input, output, texts);
  });

  it('on SIGTERM aborts the batches in flight and exits 143', async () => {
    const input = path('items.jsonl');
    const output = path('results.jsonl');
    writeInput(input, 150);
    const { finished } = await interrupt(input, output, 150, 'SIGTERM', 3);
    expect(finished.stderr).toContain('stopped by SIGTERM');
    expect(finished.code).toBe(143);
  });

  it('on a second SIGINT aborts the batches in flight instead of waiting for them', async () => {
    // The server holds every request open, so batches stay in flight until they are aborted. The
    // first SIGINT is sent only once requests have arrived: sent earlier, it could stop the run
    // before any line was read, leaving nothing in flight for the second one (the old race).
    const server = await OpenAIServer.start();
    try {
      server.fallback = reply.hang();
      const input = path('items.jsonl');
      const output = path('results.jsonl');
      writeInput(input, 30);
      const job = start(['run', '-i', input, '-o', output, '-p', 'Classify.', '--base-url', server.url, '--max-items', '3', '-c', '2'], { OPENAI_API_KEY: 'sk-test' });
      const said = (text: string): Promise<boolean> => until(() => (job.stderr().includes(text) ? true : undefined), `"${text}" on stderr`);
      await until(() => (server.held >= 2 ? true : undefined), 'two requests in flight');
      job.child.kill('SIGINT');
      await said('interrupted');
      const aborted = server.nextAbort();
      job.child.kill('SIGINT');
      const finished = await job.done;
      await aborted;
      expect(finished.stderr).toContain('aborting the batches in flight');
      expect(finished.code).toBe(130);
      expect(completeLines(output)).toEqual([]);
      expect(server.requests).toHaveLength(2);
    } finally {
      await server.close();
    }
  });

  it('cuts off a torn last line left by a killed run, and redoes that line once', async () => {
    const input = path('items.jsonl');
    const output = path('results.jsonl');
    const texts = writeInput(input, 12);
    const done = texts.slice(0, 5).map((text, i) => resultLine({ index: i, item: parseLine(i + 1, i % 2 === 0 ? JSON.stringify(text) : JSON.stringify({ id: `t${i + 1}`, text }), { textField: 'text', idField: 'id' }), ok: true, value: simulatedClassify(text), splitDepth: 0, attempts: 1 }));
    writeFileSync(output, done.join('') + '{"line":6,"id":"t6","ok":tr');
    const { stderr } = await resume(input, output, texts);
    expect(stderr).toContain('cut off an unfinished last line (27 bytes)');
    expect(stderr).toContain('resuming: 5 of 12 lines');
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

describe('CLI parts (in process)', () => {
  const fields = { textField: 'text', idField: 'id' };

  it('reads JSON strings, objects with a text field, and names what is wrong with other lines', () => {
    expect(parseLine(1, '"hello"', fields)).toEqual({ line: 1, text: 'hello' });
    expect(parseLine(2, '{"id": [1], "text": "hi", "x": 1}', fields)).toEqual({ line: 2, id: [1], text: 'hi' });
    expect(parseLine(3, '{"body": "hi"}', { textField: 'body', idField: 'key' })).toEqual({ line: 3, text: 'hi' });
    expect(parseLine(4, 'nope', fields).problem).toMatch(/^line 4: not valid JSON/);
    expect(parseLine(5, 'null', fields).problem).toBe('line 5: expected a JSON string or object, got null');
    expect(parseLine(6, '{"text": 5}', fields).problem).toBe('line 6: expected a string in field "text", but it is number (see --text-field)');
  });

  it('writes one JSON line per outcome: typed arrays as arrays, problems as their own message', () => {
    const item = { line: 4, id: 'a', text: 'x' };
    expect(resultLine({ index: 0, item, ok: true, value: new Float32Array([0.5, -1]), splitDepth: 0, attempts: 1 })).toBe('{"line":4,"id":"a","ok":true,"value":[0.5,-1]}\n');
    expect(resultLine({ index: 0, item: { line: 2, text: 'x' }, ok: true, value: undefined, splitDepth: 0, attempts: 1 })).toBe('{"line":2,"ok":true,"value":null}\n');
    const problem = { line: 9, problem: 'line 9: not valid JSON (oops)' };
    expect(resultLine({ index: 3, item: problem, ok: false, error: new InvalidItemError('item 3: the text option threw: line 9: not valid JSON (oops)', 3), splitDepth: 0, attempts: 0 })).toBe(
      '{"line":9,"ok":false,"error":{"name":"InvalidItemError","message":"line 9: not valid JSON (oops)"}}\n',
    );
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const line = JSON.parse(resultLine({ index: 0, item, ok: true, value: circular, splitDepth: 0, attempts: 1 })) as ResultRecord;
    expect(line).toMatchObject({ line: 4, ok: false, error: { name: 'TypeError' } });
  });

  it('scans an existing output: done lines, failures, a torn tail cut off, a missing file empty', async () => {
    const file = path('scan.jsonl');
    expect(await scanResults(file)).toEqual({ done: new Set(), failed: 0, tornBytes: 0, repeated: 0 });
    writeFileSync(file, '{"line":1,"ok":true,"value":1}\n\n{"line":3,"ok":false,"error":{"name":"E","message":"m"}}\n{"line":1,"ok":true,"value":1}\n');
    appendFileSync(file, '{"line":4,"o');
    const scanned = await scanResults(file);
    expect(scanned).toEqual({ done: new Set([1, 3]), failed: 1, tornBytes: 12, repeated: 1 });
    expect(readFileSync(file, 'utf8').endsWith('"value":1}\n')).toBe(true);
    writeFileSync(file, '{"line":1,"o');
    expect((await scanResults(file)).tornBytes).toBe(12);
    expect(readFileSync(file, 'utf8')).toBe('');
  });

  function capture(isTTY: boolean): { stream: PassThrough & { isTTY?: boolean; columns?: number }; text: () => string } {
    const stream: PassThrough & { isTTY?: boolean; columns?: number } = new PassThrough();
    stream.isTTY = isTTY;
    stream.columns = 120;
    let text = '';
    stream.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
    return { stream, text: () => text };
  }

  it('shows progress as plain lines off a terminal', async () => {
    const { stream, text } = capture(false);
    const progress = new Progress({ stream, mode: 'lines', intervalMs: 60_000 });
    progress.start(3);
    progress.advance(true);
    progress.log('tokenbatch: a message');
    progress.advance(false);
    progress.advance(true);
    progress.stop();
    await new Promise((resolve) => setImmediate(resolve));
    const lines = text().split('\n');
    expect(lines[0]).toMatch(/^tokenbatch: 0\/3 lines \(0%\), 0 failed, .*ETA \?$/);
    expect(lines[1]).toBe('tokenbatch: a message');
    expect(lines[2]).toMatch(/^tokenbatch: 3\/3 lines \(100%\), 1 failed, /);
    expect(lines.slice(3)).toEqual(['']);
    expect(text()).not.toContain('\u001b[');
  });

  it('draws a bar with an ETA on a terminal, and prints messages above it', async () => {
    const { stream, text } = capture(true);
    const progress = new Progress({ stream, mode: 'bar' });
    progress.start(4);
    progress.advance(true);
    progress.log('tokenbatch: a message');
    progress.advance(true);
    progress.stop();
    await new Promise((resolve) => setImmediate(resolve));
    expect(text()).toContain('\u001b[');
    expect(text()).toContain('\r\u001b[2Ktokenbatch: a message\n');
    expect(text()).toMatch(/tokenbatch [=-]+ 50% \| 2\/4 lines \| 0 failed \| [\d.]+\/s \| ETA \d+s/);
    expect(text().endsWith('\n')).toBe(true);
    // A bar asked for where there is no terminal falls back to lines.
    const plain = capture(false);
    const fallback = new Progress({ stream: plain.stream, mode: 'bar' });
    fallback.start(1);
    fallback.stop();
    await new Promise((resolve) => setImmediate(resolve));
    expect(plain.text()).toMatch(/^tokenbatch: 0\/1 lines/);
  });
});
