/**
 * Poison rows (issue: per-item failures): 10,000 tickets, 2% of which make the model refuse the
 * whole call (a content rejection), through bufferByTokens → mergeBatches → orderedResults on the
 * simulated model in virtual time. tokenbatch bisects a refused batch to find the rows that fail
 * alone; "whole-batch retry" is what a chain without isolation does (and tokenbatch did before):
 * retry the batch as it is, then fail every item in it.
 */
import { from, lastValueFrom, reduce, VirtualTimeScheduler } from 'rxjs';
import { BatchRejectedError, bufferByTokens, mergeBatches, orderedResults, simulatedModel, type BatchHandler } from '../../src/index.js';
import { createRandom } from '../corpus.js';
import type { BenchRow, Scenario } from '../harness.js';
import { runVirtual } from '../virtual-time.js';

const POISON_RATE = 0.02;
const MAX_ITEMS = 32;

export const poisonScenario: Scenario = {
  name: 'poison',
  async run({ quick }) {
    const n = quick ? 1_000 : 10_000;
    const random = createRandom(2026);
    const subjects = ['refund', 'crash on start', 'invoice VAT', 'password reset', 'dark mode', 'slow sync'];
    const items = Array.from({ length: n }, (_, i) => ({
      id: i,
      poison: random.next() < POISON_RATE,
      text: `ticket ${i}: ${subjects[random.int(0, subjects.length - 1)]} since the last update`,
    }));
    type Ticket = (typeof items)[number];
    const poisoned = items.filter((item) => item.poison).length;
    const rows: BenchRow[] = [];

    const run = async (name: string, isolate: boolean) => {
      const clock = new VirtualTimeScheduler();
      const model = simulatedModel<Ticket, 'classify'>({ task: 'classify', text: (t) => t.text, latency: { baseMs: 200, jitter: 0 }, scheduler: clock, seed: 1 });
      let calls = 0;
      const handler: BatchHandler<Ticket, string> = async (batch, context) => {
        calls++;
        // The provider reads the whole request before it refuses it: a refused call costs a call.
        const answers = await model.handler(batch, context);
        if (batch.items.some((item) => item.poison)) throw new BatchRejectedError('the request was rejected by the content filter');
        return answers;
      };
      const tally = await runVirtual(clock, () =>
        lastValueFrom(
          from(items).pipe(
            bufferByTokens({ maxTokens: 4000, maxItems: MAX_ITEMS, text: (t: Ticket) => t.text }),
            mergeBatches(handler, {
              concurrency: 4,
              scheduler: clock,
              // Without isolation, a refused batch is retried whole, as any failed call was before.
              retry: { maxAttempts: 3, baseDelayMs: 100, random: () => 0.5, ...(isolate ? {} : { retryable: () => true }) },
              ...(isolate ? {} : { isolate: () => false }),
            }),
            orderedResults(),
            reduce(
              (acc, outcome) => {
                if (outcome.ok) acc.ok++;
                else if (outcome.item.poison) acc.poisonFailed++;
                else acc.lost++;
                return acc;
              },
              { ok: 0, poisonFailed: 0, lost: 0 },
            ),
          ),
        ),
      );
      const batches = Math.ceil(n / MAX_ITEMS);
      rows.push({
        name,
        ok: tally.ok,
        'poison failed': tally.poisonFailed,
        'items lost (healthy items failed)': tally.lost,
        calls,
        'calls / batches': round(calls / batches),
        'extra calls per poison row': round((calls - batches) / poisoned),
        'bound 2·log2(32) per poison row': 2 * Math.log2(MAX_ITEMS),
      });
    };
    await run('whole-batch retry (no isolation)', false);
    await run('tokenbatch: bisect, fail only the poison rows', true);
    return {
      scenario: 'poison',
      title: `${n.toLocaleString('en')} tickets, ${poisoned} poison rows (${(POISON_RATE * 100).toFixed(0)}%), batches of ${MAX_ITEMS}, simulated model in virtual time`,
      rows,
      notes: [
        'a poison row makes the model refuse any call that holds it (BatchRejectedError); a refused call still counts as a call',
        'whole-batch retry: the refused batch is retried as it is, then every item in it fails',
      ],
    };
  },
};

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
