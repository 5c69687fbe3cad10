/**
 * Runs three bench-like scenarios through runIsolated in a process of its own: one whose loopback
 * socket is reset with no 'error' listener (an uncaught ECONNRESET), one that throws, one that
 * works. Prints what each returned as JSON, and exits 0 only if the process survived them all.
 */
import { createServer, connect, type Socket } from 'node:net';
import { runIsolated } from '../../bench/isolate.js';

const reset = () =>
  new Promise<never>((_, reject) => {
    const server = createServer((socket: Socket) => socket.resetAndDestroy());
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      // No 'error' listener on purpose: the reset becomes an uncaught exception.
      const client = connect(port, '127.0.0.1');
      client.on('close', () => server.close());
      setTimeout(() => reject(new Error('no ECONNRESET within 5 s')), 5000).unref();
    });
  });

const results = [
  await runIsolated('reset', reset),
  await runIsolated('throws', async () => {
    throw new RangeError('scenario bug');
  }),
  await runIsolated('works', async () => 42),
];
console.log(JSON.stringify(results.map((result) => (result.ok ? { ok: true, result: result.result } : { ok: false, error: result.error.split('\n')[0] }))));
