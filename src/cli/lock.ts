import { closeSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { CliError } from './output.js';

/** What a lock file holds: who has the output. */
interface Holder {
  readonly pid: number;
  readonly host: string;
  readonly started: string;
}

/** True if a process with this id exists on this machine (EPERM: it exists, owned by someone else). */
function alive(pid: number): boolean {
  // 0 and negative ids address process groups, not a process: no holder has them.
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(path: string): Holder | undefined {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<Holder>;
    return typeof parsed.pid === 'number' && typeof parsed.host === 'string' ? { pid: parsed.pid, host: parsed.host, started: String(parsed.started ?? '?') } : undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    // A lock file cut short (its writer was killed between open and write) holds no live claim.
    if (error instanceof SyntaxError) return { pid: 0, host: hostname(), started: '?' };
    throw error;
  }
}

/** Creates `path` holding `holder`, failing with EEXIST if it is there (O_EXCL). */
function create(path: string, holder: Holder): void {
  const fd = openSync(path, 'wx');
  try {
    writeSync(fd, `${JSON.stringify(holder)}\n`);
  } finally {
    closeSync(fd);
  }
}

/**
 * An exclusive claim on an output file, held in `<output>.lock` (created with O_EXCL), which
 * records the holder's pid and host. A second run on the same output is refused with the holder's
 * pid; a lock left by a process that no longer exists (killed with SIGKILL, a crash) is taken over.
 * Taking over goes through a second lock file, so two runs that find the same stale lock cannot
 * both take it. A lock held on another host cannot be checked, so it is never taken over.
 *
 * @example
 * ```ts
 * const lock = OutputLock.acquire('results.jsonl');
 * try {
 *   // ... append results
 * } finally {
 *   lock.release();
 * }
 * ```
 */
export class OutputLock {
  readonly #path: string;
  #released = false;

  private constructor(path: string) {
    this.#path = path;
  }

  /** The lock file of an output. */
  static pathOf(output: string): string {
    return `${output}.lock`;
  }

  /** Takes the lock of `output`, or throws a {@link CliError} naming the process that holds it. */
  static acquire(output: string): OutputLock {
    const path = OutputLock.pathOf(output);
    const me: Holder = { pid: process.pid, host: hostname(), started: new Date().toISOString() };
    for (let tries = 0; tries < 5; tries++) {
      try {
        create(path, me);
        return new OutputLock(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = readHolder(path);
      if (holder === undefined) continue; // released meanwhile: try again
      if (holder.host !== me.host) {
        throw new CliError(`output '${output}' is locked by process ${holder.pid} on host ${holder.host} (since ${holder.started}); if no run is going on there, delete ${path}`);
      }
      if (holder.pid === process.pid || alive(holder.pid)) {
        throw new CliError(
          `output '${output}' is in use by another tokenbatch run (pid ${holder.pid}, since ${holder.started}); wait for it to end or stop it (kill ${holder.pid})`,
        );
      }
      OutputLock.#takeOver(path, holder, me);
      return new OutputLock(path);
    }
    throw new CliError(`could not lock output '${output}': ${path} keeps changing`);
  }

  /** Replaces a dead holder's lock with ours, under `<lock>.takeover` so that only one run does it. */
  static #takeOver(path: string, dead: Holder, me: Holder): void {
    const guard = `${path}.takeover`;
    try {
      create(guard, me);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const other = readHolder(guard);
      if (other !== undefined && other.host === me.host && other.pid !== process.pid && alive(other.pid)) {
        throw new CliError(`output is being taken over by another tokenbatch run (pid ${other.pid})`);
      }
      // The guard itself was left by a run that died while taking over: replace it.
      unlinkSync(guard);
      create(guard, me);
    }
    try {
      const now = readHolder(path);
      if (now !== undefined && (now.pid !== dead.pid || now.started !== dead.started)) {
        throw new CliError(`output is now in use by another tokenbatch run (pid ${now.pid})`);
      }
      const temporary = `${path}.${process.pid}`;
      writeFileSync(temporary, `${JSON.stringify(me)}\n`);
      renameSync(temporary, path);
    } finally {
      unlinkSync(guard);
    }
  }

  /** Gives the lock up (only if it is still ours). */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    const holder = readHolder(this.#path);
    if (holder?.pid === process.pid) unlinkSync(this.#path);
  }
}
