import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { OutputLock } from '../../src/cli/lock.js';
import { testFolder } from '../support/cli.js';

const { path } = testFolder();

/** The pid of a process that has exited (reaped), so no process has it for now. */
function deadPid(): number {
  const { pid } = spawnSync(process.execPath, ['-e', '0']);
  return pid;
}

describe('OutputLock', () => {
  it('is exclusive: a second claim is refused and names the holder', () => {
    const output = path('results.jsonl');
    const lock = OutputLock.acquire(output);
    expect(JSON.parse(readFileSync(`${output}.lock`, 'utf8'))).toMatchObject({ pid: process.pid, host: hostname() });
    expect(() => OutputLock.acquire(output)).toThrow(`is in use by another tokenbatch run (pid ${process.pid}`);
    lock.release();
    expect(existsSync(`${output}.lock`)).toBe(false);
    OutputLock.acquire(output).release();
  });

  it('takes over the lock of a process that no longer exists, and a lock file cut short', () => {
    const output = path('results.jsonl');
    writeFileSync(`${output}.lock`, JSON.stringify({ pid: deadPid(), host: hostname(), started: '2026-01-01T00:00:00.000Z' }));
    const lock = OutputLock.acquire(output);
    expect(JSON.parse(readFileSync(`${output}.lock`, 'utf8'))).toMatchObject({ pid: process.pid });
    expect(existsSync(`${output}.lock.takeover`)).toBe(false);
    lock.release();
    writeFileSync(`${output}.lock`, '{"pid": 12');
    OutputLock.acquire(output).release();
  });

  it('never takes over a lock held on another host', () => {
    const output = path('results.jsonl');
    writeFileSync(`${output}.lock`, JSON.stringify({ pid: deadPid(), host: 'elsewhere.example', started: '2026-01-01T00:00:00.000Z' }));
    expect(() => OutputLock.acquire(output)).toThrow(/locked by process \d+ on host elsewhere\.example .*delete .*\.lock/);
  });

  it('releases only a lock that is still its own', () => {
    const output = path('results.jsonl');
    const lock = OutputLock.acquire(output);
    const other = JSON.stringify({ pid: 1, host: hostname(), started: 'x' });
    writeFileSync(`${output}.lock`, other);
    lock.release();
    expect(readFileSync(`${output}.lock`, 'utf8')).toBe(other);
  });
});
