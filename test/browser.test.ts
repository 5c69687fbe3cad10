import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import fc from 'fast-check';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simulatedClassify } from '../src/backends/simulated.js';
import { getTokenizer } from '../src/tokens/tokenizers.js';
import type { PageRun } from './support/browser-page.js';

// RxJS apps are often front ends: the library is bundled for the browser as an app would bundle it
// (esbuild, platform 'browser', so any Node built-in fails the build) and run in headless Chromium.
const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`browser tests skipped: ${CHROMIUM} not found (apt-get install chromium)`);

const entry = fileURLToPath(new URL('./support/browser-page.ts', import.meta.url));

/** Support chat messages of varied length and script, the same on every run. */
function messages(count: number): string[] {
  const phrases = [
    'I was charged twice for my subscription',
    'the app crashes with an error on start',
    'cannot login after the password reset email',
    'thank you, great support!',
    'où est ma facture ? Le paiement a échoué',
    '注文したのに届きません。返金してください',
    'the export is broken 😞 please fix 🙏',
    'is there a student price',
  ];
  return Array.from({ length: count }, (_, i) => `${i}: ${phrases[(i * 5) % phrases.length]!}${' and more details'.repeat(i % 4)}`);
}

/** Checks that every input item got exactly one outcome, in input order, from the right item. */
function expectCompleteAndOrdered(run: PageRun, input: readonly string[]): void {
  expect(run.outcomes.map((outcome) => outcome.index)).toEqual(input.map((_, i) => i));
  expect(run.outcomes.map((outcome) => outcome.item)).toEqual(input);
  expect(run.outcomes.filter((outcome) => !outcome.ok)).toEqual([]);
  expect([...run.completionOrder].sort((a, b) => a - b)).toEqual(input.map((_, i) => i));
}

describe.skipIf(!hasChromium)(hasChromium ? 'in the browser (headless Chromium)' : `in the browser (skipped: ${CHROMIUM} not found; apt-get install chromium)`, () => {
  let server: Server;
  let context: BrowserContext;
  let page: Page;
  let profile: string;
  let bundleBytes = 0;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    const bundle = await build({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', write: false, logLevel: 'silent' });
    const code = bundle.outputFiles[0]!.contents;
    bundleBytes = code.length;
    const html = '<!doctype html><meta charset="utf-8"><title>tokenbatch</title><link rel="icon" href="data:,"><script type="module" src="/app.js"></script>';
    server = createServer((request, response) => {
      if (request.url === '/') response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
      else if (request.url === '/app.js') response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(code);
      else response.writeHead(404).end();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');

    profile = await mkdtemp(join(tmpdir(), 'tokenbatch-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (error) => pageErrors.push(`pageerror: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(`console: ${message.text()}`);
    });
    const { port } = server.address() as AddressInfo;
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForFunction(() => 'tokenbatchPage' in window, undefined, { timeout: 30_000 });
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    if (server) {
      server.closeAllConnections();
      server.close();
    }
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  it('bundles for the browser, default tokenizer tables included, and loads without errors', () => {
    // Both encodings' rank tables are in the bundle (several MB); the page loaded and ran it.
    expect(bundleBytes).toBeGreaterThan(4_000_000);
    expect(pageErrors).toEqual([]);
  });

  it('counts tokens exactly as in Node, and bytes without Buffer', async () => {
    const texts = [
      'Hello, world!',
      'héllo',
      '注文したのに届きません',
      'emoji 😞🙏 and a flag 🇫🇷',
      'lone \ud800 high and \udc00 low surrogates\ud83d',
      '<|endoftext|> stays text',
      '',
      ...messages(6),
    ];
    const counts = await page.evaluate((input) => window.tokenbatchPage.counts(input), texts);
    expect(counts.hasBuffer).toBe(false);
    expect(counts.o200k).toEqual(texts.map((text) => getTokenizer('o200k_base').count(text)));
    expect(counts.cl100k).toEqual(texts.map((text) => getTokenizer('cl100k_base').count(text)));
    // utf8Length's own path (no Buffer in a browser) agrees with the browser's encoder and Node's Buffer.
    expect(counts.utf8Length).toEqual(counts.textEncoder);
    expect(counts.utf8Length).toEqual(texts.map((text) => Buffer.byteLength(text, 'utf8')));
    expect(pageErrors).toEqual([]);
  });

  it('utf8Length without Buffer equals the UTF-8 length for any UTF-16 string, lone surrogates included', async () => {
    const anyUtf16 = fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 40 }).map((codes) => String.fromCharCode(...codes));
    const texts = [...fc.sample(anyUtf16, { numRuns: 400, seed: 20261123 }), ...fc.sample(fc.string({ unit: 'binary', maxLength: 40 }), { numRuns: 400, seed: 7 })];
    const counts = await page.evaluate((input) => window.tokenbatchPage.counts(input), texts);
    expect(counts.utf8Length).toEqual(texts.map((text) => Buffer.byteLength(text, 'utf8')));
    expect(counts.o200k).toEqual(texts.map((text) => getTokenizer('o200k_base').count(text)));
  });

  it('runs bufferByTokens → splitOnOverflow → mergeBatches(simulated model) → orderedResults: complete and ordered', async () => {
    const input = messages(60);
    const maxTokens = 60;
    const run = await page.evaluate(([items, budget]) => window.tokenbatchPage.rx(items, budget), [input, maxTokens] as const);
    expectCompleteAndOrdered(run, input);
    expect(run.outcomes.map((outcome) => outcome.value)).toEqual(input.map((text) => simulatedClassify(text)));
    expect(run.batches.flatMap((batch) => batch.itemIndices)).toEqual(input.map((_, i) => i));
    for (const batch of run.batches) expect(batch.tokens).toBeLessThanOrEqual(maxTokens);
    expect(run.batches.length).toBeGreaterThan(4);
    expect(pageErrors).toEqual([]);
  });

  it('re-sequences batches that finish out of order (an in-page handler holds the first batch back)', async () => {
    const input = messages(12);
    const run = await page.evaluate((items) => window.tokenbatchPage.gated(items), input);
    expectCompleteAndOrdered(run, input);
    expect(run.batches.map((batch) => batch.itemIndices)).toEqual([
      [0, 1, 2],
      [3, 4, 5],
      [6, 7, 8],
      [9, 10, 11],
    ]);
    // mergeBatches emitted the first batch's items last; orderedResults emitted them first.
    expect(run.completionOrder.slice(-3)).toEqual([0, 1, 2]);
    expect(run.outcomes.map((outcome) => outcome.value)).toEqual(input.map((text) => text.toUpperCase()));
    expect(pageErrors).toEqual([]);
  });

  it('runs the async-iterable face (ix) in the page: complete and ordered', async () => {
    const input = messages(40);
    const run = await page.evaluate(([items, budget]) => window.tokenbatchPage.iterable(items, budget), [input, 80] as const);
    expectCompleteAndOrdered(run, input);
    expect(run.outcomes.map((outcome) => outcome.value)).toEqual(input.map((text) => simulatedClassify(text)));
    expect(run.batches.flatMap((batch) => batch.itemIndices)).toEqual(input.map((_, i) => i));
    expect(pageErrors).toEqual([]);
  });
});
