/**
 * The main job (`npm start`): a live feed of support tickets, with bursts, near-duplicates and
 * long-tailed lengths, through the whole tokenbatch chain into the embedded simulated model, in real
 * time. Ordered results stream as they complete, a status line shows the rates, and a summary table
 * ends the run; the live page (examples/live) charts it at the URL printed first. No key, no server to install. `DEMO_ITEMS` sets the feed's length (default 600, about 30 s).
 */
import { Observable } from 'rxjs';
import { createStats, dedupeSimilar, groupByLength, mergeBatches, orderedResults, simulatedModel, splitOnOverflow, type Outcome } from 'tokenbatch';
import { livePage } from './live/server.js';

const TOTAL = Number(process.env.DEMO_ITEMS ?? 600);
const PROMPT_TOKENS = 120; // the system prompt a real classifier would send with every call
const interactive = process.stdout.isTTY === true && process.env.CI === undefined;

// A seeded generator, so every run shows the same feed.
let seed = 20261123;
const random = () => {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)] as T;

const openings = [
  'My refund has not arrived',
  'The app crashes when I open settings',
  'I cannot log in to my account',
  'Thank you, the new release is great',
  'The invoice shows the wrong price',
  'Password reset email never comes',
  'Export fails with an error',
  'Love the dark mode',
  'Charged twice for my subscription',
  'The page freezes after login',
];
const details = ['since Monday', 'on Android 14', 'after the last update', 'every single time', 'on my work laptop', 'for order 48213', 'in Firefox', 'since I changed my email'];
const logLine = (i: number) => `2026-11-23T09:${String(i % 60).padStart(2, '0')}:00Z ERROR worker-${i % 7} request ${1000 + i} failed: timeout after ${100 + i * 7} ms`;

interface Ticket {
  id: number;
  body: string;
}

const names = ['Ana', 'Bo', 'Chen', 'Dmitri', 'Esi', 'Farah', 'Gus', 'Hana', 'Ivo', 'Jun', 'Kofi', 'Lena'];

function ticketText(i: number): string {
  let body = `${pick(names)} here (order ${10000 + Math.floor(random() * 89999)}): ${pick(openings)} ${pick(details)}.`;
  // Long tail: a few tickets carry a pasted log, some of it very long.
  if (random() < 0.12) {
    const lines = Math.ceil(Math.exp(random() * 5.5));
    body += ` Log: ${Array.from({ length: lines }, (_, k) => logLine(i + k)).join(' | ')}`;
  }
  return body;
}

/** The live feed: bursts of tickets, and users who send the same complaint again with small edits. */
function feed(): Observable<Ticket> {
  return new Observable<Ticket>((subscriber) => {
    const recent: string[] = [];
    let sent = 0;
    let timer: ReturnType<typeof setTimeout>;
    const tick = () => {
      const burst = random() < 0.15 ? 15 + Math.floor(random() * 25) : 1 + Math.floor(random() * 3);
      for (let k = 0; k < burst && sent < TOTAL; k++, sent++) {
        let body: string;
        if (recent.length > 0 && random() < 0.2)
          body = pick(recent).replace(/\.$/, '!!').replace('my', 'My'); // a resend
        else body = ticketText(sent);
        recent.push(body);
        if (recent.length > 30) recent.shift();
        arrival.set(sent, Date.now());
        subscriber.next({ id: sent, body });
      }
      if (sent >= TOTAL) subscriber.complete();
      else timer = setTimeout(tick, 40 + random() * 60);
    };
    timer = setTimeout(tick, 0);
    return () => clearTimeout(timer);
  });
}

const model = simulatedModel<Ticket, 'classify'>({
  task: 'classify',
  text: (ticket) => ticket.body,
  promptTokens: PROMPT_TOKENS,
  contextWindow: 4096,
  latency: { baseMs: 350, perInputTokenMs: 0.05, perOutputTokenMs: 8, jitter: 0.3 },
  rpm: 600,
  tpm: 400_000,
  faults: { transient: 0.03 },
  seed: 7,
});

const started = Date.now();
// Only for the latency shown on each line; everything counted comes from the library's stats.
const arrival = new Map<number, number>();
const stats = createStats({ total: TOTAL, windowMs: 3_600_000 });

const status = () => {
  const s = stats.snapshot();
  const eta = s.eta ? `, ETA ${(s.eta.etaMs / 1000).toFixed(0)} s` : '';
  return `${s.items.done}/${TOTAL} items | ${s.throughput.itemsPerSecond.toFixed(1)} items/s${eta} | ${s.batches.closed} batches, ${(s.batches.meanUtilization * 100).toFixed(0)}% full | p50 ${s.latency.p50Ms} ms, p99 ${s.latency.p99Ms} ms | ${s.calls.made} calls, concurrency ${s.calls.concurrency} | ${s.items.duplicates} duplicates, ~${s.tokens.saved} tokens saved`;
};
const statusTimer = setInterval(
  () => {
    if (interactive) process.stdout.write(`\r\x1b[2K${status()}`);
    else console.log(`[status] ${status()}`);
  },
  interactive ? 250 : 5000,
);

const print = (outcome: Outcome<Ticket, string>) => {
  const latency = Date.now() - (arrival.get(outcome.index) ?? started);
  if (!outcome.ok && process.env.DEMO_DEBUG) console.error(outcome.error);
  const what = outcome.ok ? outcome.value : `failed: ${outcome.error.name}`;
  const dup = outcome.duplicateOf !== undefined ? ` (duplicate of #${outcome.duplicateOf})` : '';
  const line = `#${String(outcome.index).padStart(4)} ${what.padEnd(8)} ${String(latency).padStart(5)} ms  ${outcome.item.body.slice(0, 60)}${dup}`;
  if (interactive) process.stdout.write(`\r\x1b[2K${line}\n${status()}`);
  else console.log(line);
};

feed()
  .pipe(
    dedupeSimilar({ method: 'minhash', text: (ticket) => ticket.body, threshold: 0.9, maxEntries: 2000, stats }),
    groupByLength({
      maxTokens: 3000,
      maxItems: 32,
      maxWaitMs: 500,
      // The wait adapts: shorter when the chain runs late, up to maxWaitMs when traffic is sparse.
      latencyTargetMs: 1500,
      text: (ticket) => ticket.body,
      batchOverheadTokens: PROMPT_TOKENS,
      itemOverheadTokens: 4,
      stats,
    }),
    // Long pasted logs beyond the budget are cut into overlapping chunks; their labels are merged.
    splitOnOverflow<Ticket, string>({
      chunk: {
        overlapTokens: 50,
        toItem: (text, ticket) => ({ ...ticket, body: text }),
        merge: (labels) => labels.find((label) => label !== 'other') ?? 'other',
      },
    }),
    mergeBatches(model.handler, {
      concurrency: { min: 1, max: 8 },
      retry: { maxAttempts: 4, baseDelayMs: 200 },
      timeoutMs: 10_000,
      rateLimit: { requestsPerMinute: 600, tokensPerMinute: 400_000 },
      stats,
    }),
    orderedResults(),
    // The live page (examples/live): charts of the chain's stats and the ordered results, at the printed URL.
    livePage<Ticket, string>({ stats, total: TOTAL, title: 'support tickets (simulated model)', label: (ticket) => ticket.body }),
  )
  .subscribe({
    next: print,
    error: (error: unknown) => {
      clearInterval(statusTimer);
      console.error('\nthe chain failed:', error);
      process.exitCode = 1;
    },
    complete: () => {
      clearInterval(statusTimer);
      if (interactive) process.stdout.write('\r\x1b[2K');
      const s = stats.snapshot();
      const seconds = s.elapsedMs / 1000;
      const rows: [string, string][] = [
        ['items', String(s.items.done)],
        ['near-duplicates not sent', String(s.items.duplicates)],
        ['failed items', String(s.items.failed)],
        ['batches', String(s.batches.closed)],
        ['mean batch utilization', `${(s.batches.meanUtilization * 100).toFixed(1)} %`],
        [
          'model calls (one per item: ' + TOTAL + ')',
          `${s.calls.made} (${(TOTAL / Math.max(1, s.calls.made)).toFixed(1)}x fewer), ${s.calls.retries} retries, ${s.calls.rateLimited} 429s`,
        ],
        ['tokens billed (saved, est.)', `${s.tokens.spent} (${s.tokens.saved})`],
        ['cost (saved, est.)', `$${s.cost.spentUsd.toFixed(5)} ($${s.cost.savedUsd.toFixed(5)})`],
        ['latency p50 / p99', `${s.latency.p50Ms} ms / ${s.latency.p99Ms} ms`],
        ['throughput', `${(s.items.done / Math.max(0.001, seconds)).toFixed(1)} items/s over ${seconds.toFixed(1)} s`],
      ];
      const width = Math.max(...rows.map(([name]) => name.length));
      console.log('\nsummary');
      for (const [name, value] of rows) console.log(`  ${name.padEnd(width)}  ${value}`);
      if (s.items.done !== TOTAL) {
        console.error(`expected ${TOTAL} outcomes, got ${s.items.done}`);
        process.exitCode = 1;
      }
    },
  });
