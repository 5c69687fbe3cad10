import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { simulatedClassify } from '../../src/backends/simulated.js';
import { parseLine } from '../../src/cli/input.js';
import { resultLine } from '../../src/cli/output.js';
import { completeLines, cli, expectComplete, simulated, start, testFolder, until, writeInput, type Finished } from '../support/cli.js';
import { OpenAIServer, reply } from '../support/openai-server.js';

const { path } = testFolder();

describe('tokenbatch run: interruptions and resuming (a child process)', () => {
  /**
   * Starts a job on `count` lines that runs for about ten seconds (batches of 3, 2 at a time, 400 ms
   * each), sends `signal` once `after` results are written, and checks that what was written is a
   * prefix of the input, in order. The job is long next to the wait for its first results, so that
   * even on a loaded machine it cannot end before the signal.
   */
  async function interrupt(input: string, output: string, count: number, signal: NodeJS.Signals, after: number): Promise<{ finished: Finished; written: number }> {
    const job = start(simulated(input, output, '--sim-latency-ms', '400', '--max-items', '3', '--concurrency', '2'));
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
    const done = texts.slice(0, 5).map((text, i) =>
      resultLine({
        index: i,
        item: parseLine(i + 1, i % 2 === 0 ? JSON.stringify(text) : JSON.stringify({ id: `t${i + 1}`, text }), { textField: 'text', idField: 'id' }),
        ok: true,
        value: simulatedClassify(text),
        splitDepth: 0,
        attempts: 1,
      }),
    );
    writeFileSync(output, done.join('') + '{"line":6,"id":"t6","ok":tr');
    const { stderr } = await resume(input, output, texts);
    expect(stderr).toContain('cut off an unfinished last line (27 bytes)');
    expect(stderr).toContain('resuming: 5 of 12 lines');
  });
});
