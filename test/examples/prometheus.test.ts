import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECONDS_BUCKETS } from '../../src/internal/telemetry.js';

// A real Prometheus (Debian's package) scrapes examples/prometheus.ts, which exports tokenbatch's
// instruments through the OpenTelemetry Prometheus exporter; the PromQL of docs/prometheus.md, asked
// through the HTTP API, must return what the run produced.
const PROMETHEUS = spawnSync('sh', ['-c', 'command -v prometheus'], { encoding: 'utf8' }).stdout.trim();
if (!PROMETHEUS) console.warn('Prometheus test skipped: no prometheus binary (apt-get install prometheus)');

const root = fileURLToPath(new URL('../..', import.meta.url));

interface Run {
  items: number;
  batches: number;
  meanUtilization: number;
  waitP99Ms: number;
  tokens: number;
  closed: [at: number, tokens: number][];
  startedAt: number;
  endedAt: number;
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  return port;
}

/** Resolves the first stdout line of `child` that matches, or rejects when it exits first. */
function lineOf(child: ChildProcess, pattern: RegExp): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const found = pattern.exec(output);
      if (found) resolve(found);
    });
    child.on('exit', (code) => reject(new Error(`exited (${code}) before printing ${pattern}:\n${output}`)));
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(!PROMETHEUS)(PROMETHEUS ? 'tokenbatch metrics in a real Prometheus' : 'tokenbatch metrics in Prometheus (skipped: no prometheus binary)', () => {
  let prometheus: ChildProcess | undefined;
  let example: ChildProcess | undefined;
  let dir: string;
  let api: string;
  let run: Run;

  /** One instant PromQL query: its single value (or all values, by label set). */
  async function query(promql: string, time?: number): Promise<number[]> {
    const url = new URL(`${api}/api/v1/query`);
    url.searchParams.set('query', promql);
    if (time !== undefined) url.searchParams.set('time', String(time / 1000));
    const body = (await (await fetch(url)).json()) as { status: string; error?: string; data: { result: { value: [number, string] }[] } };
    if (body.status !== 'success') throw new Error(`${promql}: ${body.error}`);
    return body.data.result.map((sample) => Number(sample.value[1]));
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tokenbatch-prometheus-'));
    const [exporterPort, prometheusPort] = [await freePort(), await freePort()];
    api = `http://127.0.0.1:${prometheusPort}`;
    const config = [
      'global:',
      '  scrape_interval: 250ms',
      '  scrape_timeout: 200ms',
      'scrape_configs:',
      '  - job_name: tokenbatch',
      '    static_configs:',
      `      - targets: ['127.0.0.1:${exporterPort}']`,
    ].join('\n');
    await writeFile(join(dir, 'prometheus.yml'), `${config}\n`);
    prometheus = spawn(
      PROMETHEUS,
      [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${prometheusPort}`, '--log.level=warn'],
      { stdio: 'ignore' },
    );
    for (let ready = false; !ready; await sleep(100))
      ready = await fetch(`${api}/-/ready`).then(
        (response) => response.ok,
        () => false,
      );

    // Prometheus applies new scrape targets after a delay of up to seconds: the run starts once the
    // target has been scraped (down, as nothing listens yet), so every moment of it is sampled.
    while ((await query('count(up{job="tokenbatch"})')).length === 0) await sleep(100);

    example = spawn(process.execPath, ['--import', 'tsx', 'examples/prometheus.ts'], {
      cwd: root,
      env: { ...process.env, CI: 'true', PROMETHEUS_EXPORTER_PORT: String(exporterPort), METRICS_HOLD: '1' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    run = JSON.parse((await lineOf(example, /^run: (.*)$/m))[1]!) as Run;
    // Until Prometheus has scraped the final figures.
    while ((await query('sum(tokenbatch_outcomes_total)'))[0] !== run.items) await sleep(100);
  }, 120_000);

  afterAll(async () => {
    for (const child of [example, prometheus]) if (child && child.exitCode === null) child.kill('SIGTERM');
    if (prometheus && prometheus.exitCode === null) await once(prometheus, 'exit');
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('scrapes the example', async () => {
    expect(await query('up{job="tokenbatch"}')).toEqual([1]);
    expect(run.items).toBe(300);
  });

  it('batch utilization: the mean of the run', async () => {
    const [mean] = await query('sum(tokenbatch_batch_utilization_sum) / sum(tokenbatch_batch_utilization_count)');
    expect(mean).toBeCloseTo(run.meanUtilization, 9);
    expect(await query('sum(tokenbatch_batch_utilization_count)')).toEqual([run.batches]);
  });

  it('p99 item wait: in the bucket of the run’s own p99', async () => {
    const [p99] = await query('histogram_quantile(0.99, sum by (le) (tokenbatch_item_wait_bucket))');
    // histogram_quantile interpolates inside the bucket that holds the 99th percentile.
    const seconds = run.waitP99Ms / 1000;
    const upper = SECONDS_BUCKETS.find((bound) => bound >= seconds)!;
    const lower = SECONDS_BUCKETS[SECONDS_BUCKETS.indexOf(upper) - 1] ?? 0;
    // The run measures the wait here, the chain a moment earlier: allow the bucket below at a boundary.
    const nearBoundary = seconds - lower < 0.003;
    expect(p99).toBeLessThanOrEqual(upper);
    expect(p99).toBeGreaterThanOrEqual(nearBoundary ? (SECONDS_BUCKETS[SECONDS_BUCKETS.indexOf(lower) - 1] ?? 0) : lower);
    console.log(`p99 item wait: run ${run.waitP99Ms} ms, Prometheus ${(p99! * 1000).toFixed(1)} ms (bucket ${lower * 1000}-${upper * 1000} ms)`);
  });

  it('token rate: the run’s tokens per second', async () => {
    expect(await query('sum(tokenbatch_batch_tokens_sum)')).toEqual([run.tokens]);
    // Over the last two seconds of the run: the tokens of the batches that closed then, per second.
    // Prometheus extrapolates from its 250 ms scrapes, so within 25 %.
    const at = run.closed.at(-1)![0] + 300;
    const [rate] = await query('sum(rate(tokenbatch_batch_tokens_sum[2s]))', at);
    const expected = run.closed.filter(([closedAt]) => closedAt > at - 2000 && closedAt <= at).reduce((sum, [, tokens]) => sum + tokens, 0) / 2;
    console.log(`token rate: run ${expected.toFixed(1)} tokens/s, Prometheus ${rate!.toFixed(1)} tokens/s`);
    expect(rate! / expected).toBeGreaterThan(0.75);
    expect(rate! / expected).toBeLessThan(1.25);
  });

  it('every query of docs/prometheus.md and of the Grafana dashboard is valid PromQL and finds data', async () => {
    const markdown = await readFile(join(root, 'docs/prometheus.md'), 'utf8');
    const documented = [...markdown.matchAll(/```promql\n([\s\S]*?)```/g)].flatMap((block) => block[1]!.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#')));
    const dashboard = JSON.parse(await readFile(join(root, 'docs/grafana-dashboard.json'), 'utf8')) as { panels: { targets: { expr: string }[] }[] };
    const panels = dashboard.panels.flatMap((panel) => panel.targets.map((target) => target.expr.replaceAll('$__rate_interval', '1m')));
    expect(documented.length).toBeGreaterThan(8);
    expect(panels.length).toBeGreaterThan(10);
    const empty: string[] = [];
    for (const promql of [...documented, ...panels]) {
      // 429s and rate-limiter waits may not have happened in this run: those series may be absent.
      if ((await query(promql, run.endedAt)).length === 0 && !/RateLimitError|rate_limit_waits/.test(promql)) empty.push(promql);
    }
    expect(empty).toEqual([]);
  });
});
