/**
 * Results as they complete, with `for await`: the async-iterable face of tokenbatch (ix `pipe`).
 *
 * An async generator stands in for a queue consumer that receives support tickets in bursts. The chain
 * batches them by tokens and time, classifies up to three batches at once on the embedded simulated
 * model (which fails one call in ten, like a flaky API; mergeBatches retries), and `orderedResults`
 * hands each result to the loop as soon as every earlier ticket's result is there.
 *
 * Run it with `npx tsx examples/streaming-results.ts`; it ends by itself after the last ticket.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { from } from 'ix/asynciterable';
import { simulatedModel } from 'tokenbatch';
import { bufferByTokens, mergeBatches, orderedResults } from 'tokenbatch/iterable';

interface Ticket {
  readonly id: string;
  readonly body: string;
}

const bodies = [
  'I was charged twice for my subscription this month, please refund one payment.',
  'The app crashes with an error every time I open the settings page.',
  'I cannot login: the password reset email never arrives.',
  'Thank you, the new dashboard is great!',
  "Where can I download last year's invoice?",
  'Export to CSV fails with exception 0x80004005 on large reports.',
  'How do I change the email on my account profile?',
  'Is there a student price for the Pro plan?',
];

/** 30 tickets, in bursts of 2 to 6 with pauses between: the shape of real traffic. */
async function* tickets(): AsyncGenerator<Ticket> {
  let n = 0;
  for (let burst = 0; n < 30; burst++) {
    const size = 2 + ((burst * 5) % 5);
    for (let i = 0; i < size && n < 30; i++, n++) yield { id: `T-${1000 + n}`, body: bodies[(n * 3) % bodies.length]! };
    await sleep(40 + ((burst * 37) % 90));
  }
}

const model = simulatedModel<Ticket, 'classify'>({
  task: 'classify',
  text: (ticket) => ticket.body,
  promptTokens: 60,
  latency: { baseMs: 120, perOutputTokenMs: 4, jitter: 0.5 },
  faults: { transient: 0.1 },
  seed: 7,
});

const started = Date.now();
const results = from(tickets()).pipe(
  bufferByTokens({ maxTokens: 160, maxItems: 6, maxWaitMs: 100, text: (ticket: Ticket) => ticket.body, itemOverheadTokens: 3 }),
  mergeBatches(model.handler, { concurrency: 3, retry: { maxAttempts: 4, baseDelayMs: 50 }, timeoutMs: 2_000 }),
  orderedResults(),
);

console.log('classifying 30 tickets as they arrive; each line prints the moment its ticket and all earlier ones are done');
const labels = new Map<string, number>();
for await (const outcome of results) {
  const at = `${String(Date.now() - started).padStart(5)} ms`;
  if (outcome.ok) {
    labels.set(outcome.value, (labels.get(outcome.value) ?? 0) + 1);
    const retried = outcome.attempts > 1 ? ` (after ${outcome.attempts} attempts)` : '';
    console.log(`${at}  #${String(outcome.index).padStart(2)} ${outcome.item.id} → ${outcome.value.padEnd(7)} ${outcome.item.body.slice(0, 48)}${retried}`);
  } else {
    console.log(`${at}  #${String(outcome.index).padStart(2)} ${outcome.item.id} failed: ${outcome.error.name}: ${outcome.error.message}`);
  }
}

const stats = model.stats();
console.log(`by label: ${[...labels].map(([label, count]) => `${label} ${count}`).join(', ')}`);
console.log(`${stats.calls} model calls (${stats.failures.transient} failed and were retried), ${stats.inputTokens + stats.outputTokens} tokens, $${stats.costUsd.toFixed(6)}`);
