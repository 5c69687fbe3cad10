/**
 * A throwaway redis-server for tests, the bench and the examples: a free loopback port, no
 * persistence, a temporary directory, stopped (and removed) by `stop()`.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** How to get a redis-server where there is none. */
export const INSTALL_HINT = 'redis-server is not installed: run `apt-get install -y redis-server` (Debian/Ubuntu) to run the Redis Streams tests';

/** The redis-server binary on PATH, or undefined. */
export function redisServerPath(): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  stop(): Promise<void>;
  /**
   * An outage: the server saves its data and exits; `restart()` brings it back on the same port
   * with that data (streams, groups, pending lists).
   */
  crash(): Promise<void>;
  restart(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function launch(binary: string, port: number, dir: string, cluster: boolean): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const clustering = cluster ? ['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf'), '--cluster-announce-ip', '127.0.0.1'] : [];
    const child = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--protected-mode', 'yes', ...clustering], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`redis-server did not start within 10 s:\n${output}`));
    }, 10_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        child.stderr?.resume();
        resolve(child);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with code ${code}:\n${output}`));
    });
  });
}

/**
 * Start redis-server on a free loopback port (a few tries, in case another process takes the port
 * first). With `cluster`, a one-node Redis Cluster serving every slot: it refuses what a real
 * cluster refuses (a script whose keys hash to different slots: CROSSSLOT).
 */
export async function startRedisServer(options: { cluster?: boolean } = {}): Promise<RedisServer> {
  const cluster = options.cluster === true;
  const binary = redisServerPath();
  if (!binary) throw new Error(INSTALL_HINT);
  const dir = mkdtempSync(join(tmpdir(), 'tokenbatch-redis-'));
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    let child: ChildProcess;
    try {
      child = await launch(binary, port, dir, cluster);
      if (cluster) await serveAllSlots(port);
    } catch (error) {
      lastError = error;
      continue;
    }
    let exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const running = () => child.exitCode === null && child.signalCode === null;
    return {
      port,
      url: `redis://127.0.0.1:${port}`,
      stop: async () => {
        if (running()) {
          child.kill('SIGTERM');
          await exited;
        }
        rmSync(dir, { recursive: true, force: true });
      },
      crash: async () => {
        // SHUTDOWN SAVE from redis-cli: the data survives (--save '' only turns periodic saves off).
        try {
          execFileSync('redis-cli', ['-p', String(port), 'SHUTDOWN', 'SAVE'], { stdio: 'ignore' });
        } catch {
          // redis-cli reports the connection the shutdown closed
        }
        await exited;
      },
      restart: async () => {
        if (running()) throw new Error('redis-server is still running');
        child = await launch(binary, port, dir, cluster);
        exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      },
    };
  }
  rmSync(dir, { recursive: true, force: true });
  throw lastError;
}

/** Give a one-node cluster every slot, and wait until it says the cluster is up. */
async function serveAllSlots(port: number): Promise<void> {
  const cli = (...args: string[]) => execFileSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' });
  cli('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
  for (let tries = 0; tries < 200; tries++) {
    if (cli('CLUSTER', 'INFO').includes('cluster_state:ok')) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the one-node cluster did not come up');
}

/** The Redis commands these helpers use (an ioredis client has them). */
interface Commands {
  call(command: string, ...args: (string | number)[]): Promise<unknown>;
}

/** Append `count` entries `{ text: text(i) }` to a stream, a thousand per round trip; returns their ids in order. */
export async function seedStream(
  client: Commands & { pipeline(): { call(command: string, ...args: (string | number)[]): unknown; exec(): Promise<[Error | null, unknown][] | null> } },
  stream: string,
  count: number,
  text: (i: number) => string,
): Promise<string[]> {
  const ids: string[] = [];
  for (let start = 0; start < count; start += 1000) {
    const pipeline = client.pipeline();
    for (let i = start; i < Math.min(count, start + 1000); i++) pipeline.call('XADD', stream, '*', 'text', text(i));
    for (const [error, id] of (await pipeline.exec()) ?? []) {
      if (error) throw error;
      ids.push(String(id));
    }
  }
  return ids;
}

/** A result entry as toRedisStream writes it. */
export interface ResultRecord {
  id: string;
  fields: Record<string, string>;
}

/** Every entry of a results stream, read in pages. */
export async function readResults(client: Commands, stream: string): Promise<ResultRecord[]> {
  const records: ResultRecord[] = [];
  let start = '-';
  for (;;) {
    const page = (await client.call('XRANGE', stream, start, '+', 'COUNT', 2000)) as [string, string[]][];
    for (const [id, flat] of page) {
      const fields: Record<string, string> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i] as string] = flat[i + 1] as string;
      records.push({ id, fields });
    }
    if (page.length < 2000) return records;
    start = `(${(page[page.length - 1] as [string, string[]])[0]}`;
  }
}

/** How many entries of a group are pending (read, not acknowledged). */
export async function pendingCount(client: Commands, stream: string, group: string): Promise<number> {
  const summary = (await client.call('XPENDING', stream, group)) as [number, ...unknown[]];
  return Number(summary[0]);
}

/** Poll `check` every 20 ms until it returns true; fail after `timeoutMs` with `label`. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, label: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${label}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
