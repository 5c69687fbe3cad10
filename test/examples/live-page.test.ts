import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EventSourceParserStream, type EventSourceMessage } from 'eventsource-parser/stream';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// `npm start` as a user runs it (the demo on the simulated model, in a process of its own), its live
// page opened in Debian's Chromium: the charts draw and move, the results arrive in order, and the
// screenshot for the README (docs/live-page.png) shows charts, checked by its pixels.
const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`live page test skipped: ${CHROMIUM} not found (apt-get install chromium)`);

const root = fileURLToPath(new URL('../..', import.meta.url));
const ITEMS = 600; // the demo's default: about ten seconds, so the page connects while it runs

interface PageState {
  snapshots: number;
  results: number[];
  done: boolean;
  points(chart: string): number;
}
declare global {
  interface Window {
    livePage: PageState;
  }
}

/** Starts the demo with its page kept up after the job, and resolves the page's URL. */
function startDemo(items = ITEMS): { child: ChildProcess; url: Promise<string> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/demo.ts'], {
    cwd: root,
    env: { ...process.env, CI: 'true', DEMO_ITEMS: String(items), TOKENBATCH_LIVE_KEEP: '1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = new Promise<string>((resolve, reject) => {
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const found = /live page: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(output);
      if (found) resolve(found[1]!);
    });
    child.on('exit', (code) => reject(new Error(`the demo ended (${code}) before printing the page's URL:\n${output}`)));
  });
  return { child, url };
}

// The stream the page reads, without a browser: what any client of the page gets.
describe('the live page’s event stream', () => {
  it('sends the meta, ChainStats snapshots and every result in input order, then done', async () => {
    const items = 60;
    const { child, url } = startDemo(items);
    try {
      const response = await fetch(`${await url}events`);
      expect(response.headers.get('content-type')).toBe('text/event-stream');
      const events: EventSourceMessage[] = [];
      for await (const event of response.body!.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream())) {
        events.push(event);
        if (event.event === 'done') break;
      }
      const data = (name: string) => events.filter((event) => event.event === name).map((event) => JSON.parse(event.data) as Record<string, unknown>);
      expect(data('meta')).toEqual([{ title: 'support tickets (simulated model)', total: items }]);
      expect(data('result').map((result) => result.index)).toEqual(Array.from({ length: items }, (_, i) => i));
      const snapshots = data('stats');
      expect(snapshots.length).toBeGreaterThan(1);
      const last = snapshots.at(-1)!;
      expect(Object.keys(last).sort()).toEqual(['at', 'batches', 'calls', 'cost', 'elapsedMs', 'eta', 'items', 'latency', 'throughput', 'tokens', 'wait']);
      expect(last.items).toMatchObject({ done: items, inFlight: 0 });
      expect((last.batches as { closed: number }).closed).toBeGreaterThan(0);
    } finally {
      child.kill('SIGTERM');
    }
  }, 60_000);
});

describe.skipIf(!hasChromium)(hasChromium ? 'the live page of npm start (headless Chromium)' : `the live page (skipped: ${CHROMIUM} not found)`, () => {
  let context: BrowserContext;
  let page: Page;
  let profile: string;
  let demo: ChildProcess | undefined;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    profile = await mkdtemp(join(tmpdir(), 'tokenbatch-live-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 860 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (error) => pageErrors.push(`pageerror: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(`console: ${message.text()}`);
    });
    const started = startDemo();
    demo = started.child;
    await page.goto(await started.url);
    await page.waitForFunction(() => window.livePage?.snapshots > 0, undefined, { timeout: 30_000 });
  }, 120_000);

  afterAll(async () => {
    if (demo && demo.exitCode === null) demo.kill('SIGTERM');
    await context?.close();
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  it('draws the charts and updates them while the job runs', async () => {
    const charts = ['fill', 'latency', 'flight', 'retries', 'tokens'];
    expect(await page.locator('.uplot canvas').count()).toBe(charts.length);
    const before = await page.evaluate((names) => names.map((name) => window.livePage.points(name)), charts);
    // The stats stream on: the time series gain points and batches keep closing.
    await page.waitForFunction(([name, count]) => window.livePage.points(name) >= count + 3, ['latency', before[1]!] as const, { timeout: 30_000 });
    const after = await page.evaluate((names) => names.map((name) => window.livePage.points(name)), charts);
    for (let i = 1; i < charts.length; i++) expect(after[i]).toBeGreaterThan(before[i]!);
    expect(after[0]).toBeGreaterThan(0);
    expect(pageErrors).toEqual([]);
  });

  it('lists every result, in input order, as they stream', async () => {
    await page.waitForFunction(() => window.livePage.done, undefined, { timeout: 90_000 });
    const streamed = await page.evaluate(() => window.livePage.results);
    expect(streamed).toEqual(Array.from({ length: ITEMS }, (_, i) => i));
    const listed = await page.locator('#results li').evaluateAll((items) => items.map((item) => Number((item as HTMLElement).dataset.index)));
    // The list keeps the newest 500 entries (the page's bound), in order.
    const shown = Math.min(ITEMS, 500);
    expect(listed).toEqual(Array.from({ length: shown }, (_, i) => ITEMS - shown + i));
    expect(await page.locator('#t-items').textContent()).toBe(`${ITEMS} / ${ITEMS}`);
    expect(pageErrors).toEqual([]);
  });

  it('takes a screenshot whose charts are drawn (pixels checked) and writes it to docs/live-page.png', async () => {
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(resolve)));
    const png = await page.screenshot({ fullPage: true });
    await writeFile(join(root, 'docs/live-page.png'), png);
    // The browser decodes the PNG: in each chart's area, count pixels of the series' colours.
    const boxes = await page.locator('.uplot canvas').evaluateAll((canvases) =>
      canvases.map((canvas) => {
        const box = canvas.getBoundingClientRect();
        return { x: box.x + window.scrollX, y: box.y + window.scrollY, width: box.width, height: box.height };
      }),
    );
    const coloured = await page.evaluate(
      async ({ data, boxes }) => {
        const image = new Image();
        image.src = `data:image/png;base64,${data}`;
        await image.decode();
        const canvas = document.createElement('canvas');
        canvas.width = image.width;
        canvas.height = image.height;
        const context = canvas.getContext('2d')!;
        context.drawImage(image, 0, 0);
        return boxes.map((box) => {
          const pixels = context.getImageData(box.x, box.y, box.width, box.height).data;
          let count = 0;
          // Saturated pixels: the series' strokes and fills, not the white, black or grey of the frame.
          for (let i = 0; i < pixels.length; i += 4) if (Math.max(pixels[i]!, pixels[i + 1]!, pixels[i + 2]!) - Math.min(pixels[i]!, pixels[i + 1]!, pixels[i + 2]!) > 60) count++;
          return count;
        });
      },
      { data: png.toString('base64'), boxes },
    );
    expect(coloured).toHaveLength(5);
    // Batch fill, latencies, calls in flight, tokens: drawn. (Retries may be flat at zero, still a line.)
    for (const count of coloured) expect(count).toBeGreaterThan(200);
  });
});
