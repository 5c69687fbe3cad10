import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect } from 'vitest';
import { simulatedClassify } from '../../src/backends/simulated.js';

// The CLI runs as a user runs it: a process of its own (through tsx, so no build is needed), on
// real files, against a real HTTP server on loopback for the openai backend.
export const root = fileURLToPath(new URL('../..', import.meta.url));
const { OPENAI_API_KEY: _key, OPENAI_BASE_URL: _url, ...cleanEnv } = process.env;

/** A temporary folder for the calling test file, removed after it; `path(name)` gives fresh paths in it. */
export function testFolder(): { path: (name: string) => string; dir: () => string } {
  let dir = '';
  let files = 0;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tokenbatch-cli-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return { path: (name) => join(dir, `${++files}-${name}`), dir: () => dir };
}

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function start(args: readonly string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; done: Promise<Finished>; stderr: () => string } {
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

export const cli = (args: readonly string[], env?: NodeJS.ProcessEnv): Promise<Finished> => start(args, env).done;

/** Polls `probe` until it returns a value, failing after `ms`: for waiting on another process, never for timing. */
export async function until<T>(probe: () => T | undefined, what: string, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export interface ResultRecord {
  line: number;
  id?: unknown;
  ok: boolean;
  value?: unknown;
  error?: { name: string; message: string };
}

/** The complete lines of an output file, parsed (an unfinished last line is left out). */
function parsedLines(file: string): Record<string, unknown>[] {
  if (!existsSync(file)) return [];
  const text = readFileSync(file, 'utf8');
  return text
    .slice(0, text.lastIndexOf('\n') + 1)
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** The result lines of an output file (the header and an unfinished last line are left out). */
export function completeLines(file: string): ResultRecord[] {
  return parsedLines(file).filter((line) => !('tokenbatch' in line)) as unknown as ResultRecord[];
}

/** The header line of an output file, if it has one. */
export function headerOf(file: string): Record<string, unknown> | undefined {
  const first = parsedLines(file)[0];
  return first !== undefined && 'tokenbatch' in first ? first : undefined;
}

const TEXTS = [
  'Please refund my order, the charge was wrong.',
  'The app crashes when I open settings.',
  'Thanks, it works now! Great support.',
  'I cannot login, my password reset email never came.',
  'What are your opening hours?',
];

/** `count` input lines: JSON strings on odd lines, objects with an id on even ones. */
export function writeInput(file: string, count: number): string[] {
  const texts = Array.from({ length: count }, (_, i) => `${TEXTS[i % TEXTS.length]} (#${i + 1})`);
  writeFileSync(file, texts.map((text, i) => (i % 2 === 0 ? JSON.stringify(text) : JSON.stringify({ id: `t${i + 1}`, text }))).join('\n') + '\n');
  return texts;
}

/** Every input line exactly once, in input order, each with the simulated classification of its text. */
export function expectComplete(file: string, texts: readonly string[]): void {
  const results = completeLines(file);
  expect(readFileSync(file, 'utf8').endsWith('\n')).toBe(true);
  expect(results.map((result) => result.line)).toEqual(texts.map((_, i) => i + 1));
  results.forEach((result, i) => {
    expect(result).toEqual({ line: i + 1, ...(i % 2 === 1 ? { id: `t${i + 1}` } : {}), ok: true, value: simulatedClassify(texts[i] as string) });
  });
}

/** `run` arguments for the simulated classifier. */
export const simulated = (input: string, output: string, ...extra: string[]): string[] => [
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
