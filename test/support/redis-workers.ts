/** Start and talk to worker processes (test/support/redis-worker.ts) of a Redis consumer group. */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { WorkerMessage } from './redis-worker.js';

const scripts = {
  /** The chain with an embedded handler (redis-worker.ts). */
  chain: fileURLToPath(new URL('./redis-worker.ts', import.meta.url)),
  /** The chain calling a loopback provider under a shared Redis rate limit (redis-fleet-worker.ts). */
  fleet: fileURLToPath(new URL('./redis-fleet-worker.ts', import.meta.url)),
};

export interface Worker {
  readonly child: ChildProcess;
  readonly messages: WorkerMessage[];
  /** The first message of this type (waiting for it if needed); rejects if the worker exits first. */
  next<K extends WorkerMessage['type']>(type: K, timeoutMs?: number): Promise<Extract<WorkerMessage, { type: K }>>;
  send(type: 'go' | 'stop'): void;
  /** Resolves with the exit code (or signal) once the process ended. */
  readonly exited: Promise<number | string>;
}

/** Fork a worker with tsx; `env` sets its WORKER_* variables and REDIS_URL. */
export function forkWorker(env: Record<string, string | number>, kind: keyof typeof scripts = 'chain'): Worker {
  const child = fork(scripts[kind], [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, ...Object.fromEntries(Object.entries(env).map(([name, value]) => [name, String(value)])) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const messages: WorkerMessage[] = [];
  const listeners = new Set<() => void>();
  child.on('message', (message: WorkerMessage) => {
    messages.push(message);
    for (const listener of [...listeners]) listener();
  });
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  let ended = false;
  void exited.then(() => {
    ended = true;
    for (const listener of [...listeners]) listener();
  });
  return {
    child,
    messages,
    exited,
    send: (type) => {
      if (child.connected) child.send({ type });
    },
    next: (type, timeoutMs = 20_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`worker ${child.pid}: no '${type}' message within ${timeoutMs} ms`));
        }, timeoutMs);
        const check = () => {
          const found = messages.find((message) => message.type === type || message.type === 'error');
          if (found?.type === 'error') {
            listeners.delete(check);
            clearTimeout(timer);
            reject(new Error(`worker ${child.pid} failed: ${found.message}`));
          } else if (found) {
            listeners.delete(check);
            clearTimeout(timer);
            resolve(found as Extract<WorkerMessage, { type: typeof type }>);
          } else if (ended) {
            listeners.delete(check);
            clearTimeout(timer);
            reject(new Error(`worker ${child.pid} exited before sending '${type}'`));
          }
        };
        listeners.add(check);
        check();
      }),
  };
}
