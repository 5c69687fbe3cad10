/**
 * The live page of a tokenbatch job: a local web page (node:http on 127.0.0.1) that charts the chain's
 * stats (`ChainStats` snapshots) and lists the ordered results as they stream, over server-sent events.
 * It reads only ChainStats and outcomes, so it works the same with the simulated model and a real backend.
 *
 * Put `livePage()` after `orderedResults()`: outcomes pass through unchanged. Environment:
 * `TOKENBATCH_LIVE=0` turns the page off, `TOKENBATCH_LIVE_PORT` picks the port (default: a free one),
 * `TOKENBATCH_LIVE_KEEP=1` keeps serving after the job ends (the default in an interactive terminal,
 * until Ctrl-C).
 */
import { readFile } from 'node:fs/promises';
import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { Observable, type MonoTypeOperatorFunction } from 'rxjs';
import type { ChainStats, Outcome, Stats } from 'tokenbatch';

export interface LivePageOptions<T> {
  /** The chain's stats (`createStats()`, passed as `stats` to the chain's operators): what the page draws. */
  stats: Stats;
  /** The number of items of the job, when known (for the ETA). */
  total?: number;
  /** The page's heading. */
  title?: string;
  /** How an item shows in the results list (default: its JSON, cut). */
  label?: (item: T) => string;
  /** Snapshot interval (default 500 ms). */
  intervalMs?: number;
}

/** A result as the page shows it. */
export interface LiveResult {
  index: number;
  ok: boolean;
  value: string;
  duplicateOf?: number;
  attempts: number;
  text: string;
}

const MAX_RESULTS = 1000; // the page lists the newest; a late visitor gets these
const MAX_SNAPSHOTS = 2000;
const require = createRequire(import.meta.url);
const here = new URL('./public/', import.meta.url);
const files: Record<string, [path: string | URL, type: string]> = {
  '/': [new URL('index.html', here), 'text/html; charset=utf-8'],
  '/page.js': [new URL('page.js', here), 'text/javascript; charset=utf-8'],
  '/page.css': [new URL('page.css', here), 'text/css; charset=utf-8'],
  '/uplot.js': [require.resolve('uplot/dist/uPlot.iife.min.js'), 'text/javascript; charset=utf-8'],
  '/uplot.css': [require.resolve('uplot/dist/uPlot.min.css'), 'text/css; charset=utf-8'],
};

const show = (value: unknown): string => (typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value)));

/** The page's server: history for late visitors and a set of open event streams. */
class LiveServer {
  readonly #clients = new Set<ServerResponse>();
  readonly #snapshots: ChainStats[] = [];
  readonly #results: LiveResult[] = [];
  #done = false;
  readonly #server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0]!;
    if (path === '/events') return this.#subscribe(response);
    const file = files[path];
    if (!file) return void response.writeHead(404).end('not found');
    readFile(file[0]).then(
      (body) => response.writeHead(200, { 'content-type': file[1], 'cache-control': 'no-store' }).end(body),
      () => response.writeHead(500).end(),
    );
  });

  constructor(readonly meta: { title: string; total?: number }) {}

  async listen(port: number): Promise<string> {
    this.#server.listen(port, '127.0.0.1');
    await once(this.#server, 'listening');
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/`;
  }

  stats(snapshot: ChainStats): void {
    this.#snapshots.push(snapshot);
    if (this.#snapshots.length > MAX_SNAPSHOTS) this.#snapshots.shift();
    this.#send('stats', snapshot);
  }

  result(result: LiveResult): void {
    this.#results.push(result);
    if (this.#results.length > MAX_RESULTS) this.#results.shift();
    this.#send('result', result);
  }

  done(): void {
    this.#done = true;
    this.#send('done', {});
  }

  close(): void {
    for (const client of this.#clients) client.end();
    this.#server.closeAllConnections();
    this.#server.close();
  }

  #subscribe(response: ServerResponse): void {
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    const event = (name: string, data: unknown) => response.write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
    event('meta', this.meta);
    for (const snapshot of this.#snapshots) event('stats', snapshot);
    for (const result of this.#results) event('result', result);
    if (this.#done) event('done', {});
    this.#clients.add(response);
    response.on('close', () => this.#clients.delete(response));
  }

  #send(name: string, data: unknown): void {
    const message = `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const client of this.#clients) client.write(message);
  }
}

/**
 * Serves the live page while the chain runs and prints its URL; outcomes pass through unchanged.
 *
 * @example
 * ```ts
 * source.pipe(bufferByTokens({ maxTokens: 3000, stats }), mergeBatches(handler, { stats }), orderedResults(), livePage({ stats, total }));
 * ```
 */
export function livePage<T, R>(options: LivePageOptions<T>): MonoTypeOperatorFunction<Outcome<T, R>> {
  const enabled = process.env.TOKENBATCH_LIVE !== '0';
  const stats = options.stats;
  const label = options.label ?? ((item: T) => show(item));
  return (source) => {
    if (!enabled) return source;
    return new Observable<Outcome<T, R>>((subscriber) => {
      const keep = process.env.TOKENBATCH_LIVE_KEEP !== undefined ? process.env.TOKENBATCH_LIVE_KEEP === '1' : process.stdout.isTTY === true && process.env.CI === undefined;
      const server = new LiveServer({ title: options.title ?? 'tokenbatch', ...(options.total !== undefined && { total: options.total }) });
      let closed = false;
      const close = () => {
        if (closed) return;
        closed = true;
        server.close();
      };
      server.listen(Number(process.env.TOKENBATCH_LIVE_PORT ?? 0)).then(
        (url) => console.log(`live page: ${url}`),
        (error: unknown) => console.error(`the live page could not start: ${error instanceof Error ? error.message : String(error)}`),
      );
      const stop = stats.onProgress((snapshot) => server.stats(snapshot), { intervalMs: options.intervalMs ?? 500 });
      const finish = () => {
        stop();
        server.stats(stats.snapshot());
        server.done();
        // After the job's own last lines (its complete handler runs next).
        if (keep) setTimeout(() => console.log('the live page stays up: Ctrl-C to stop'), 0);
        else close();
      };
      const subscription = source.subscribe({
        next: (outcome) => {
          server.result({
            index: outcome.index,
            ok: outcome.ok,
            value: outcome.ok ? show(outcome.value) : `${outcome.error.name}`,
            ...(outcome.duplicateOf !== undefined && { duplicateOf: outcome.duplicateOf }),
            attempts: outcome.attempts,
            text: label(outcome.item).slice(0, 120),
          });
          subscriber.next(outcome);
        },
        error: (error: unknown) => {
          finish();
          subscriber.error(error);
        },
        complete: () => {
          finish();
          subscriber.complete();
        },
      });
      return () => {
        subscription.unsubscribe();
        stop();
        if (!keep) close();
      };
    });
  };
}
