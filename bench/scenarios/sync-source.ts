import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { from, lastValueFrom, bufferCount, mergeMap, of, reduce } from 'rxjs';
import { bufferByTokens, mergeBatches, orderedResults, type BatchHandler } from '../../src/index.js';
import type { BenchRow, Scenario } from '../harness.js';

/**
 * A synchronous source of 1,000,000 items (`from(array)`) through the chain with default options:
 * every item is processed (the array is in memory, so its items queue by reference), and this
 * measures what that costs: peak heap above the input array, per item, against a plain RxJS
 * pipeline (`bufferCount` + `mergeMap`) over the same array.
 */
export const syncSourceScenario: Scenario = {
  name: 'sync-source',
  async run({ quick }) {
    const n = quick ? 20_000 : 1_000_000;
    const items = Array.from({ length: n }, (_, i) => `ticket ${i}: the app crashes on start`);
    const instant: BatchHandler<string, number> = async (batch) => batch.items.map((item) => item.length);
    const rows: BenchRow[] = [];

    // A garbage collection on demand, to tell what the queue retains from what is garbage.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const measure = async (name: string, run: (sample: () => void) => Promise<number>) => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      gc();
      const base = process.memoryUsage().heapUsed;
      let peak = base;
      const sample = () => {
        const used = process.memoryUsage().heapUsed;
        if (used > peak) peak = used;
      };
      const timer = setInterval(sample, 5);
      const started = performance.now();
      const done = run(sample);
      // The source has delivered everything synchronously: what is queued now is what it costs.
      gc();
      const retained = process.memoryUsage().heapUsed - base;
      const count = await done;
      const ms = performance.now() - started;
      clearInterval(timer);
      sample();
      rows.push({
        name,
        items: count,
        complete: count === n,
        'queued MB': round(retained / 2 ** 20),
        'queued bytes/item': Math.round(retained / n),
        'peak heap MB': round((peak - base) / 2 ** 20),
        'items/s': Math.round(n / (ms / 1000)),
      });
    };

    await measure('rxjs bufferCount(16) + mergeMap(4) (baseline)', (sample) =>
      lastValueFrom(
        from(items).pipe(
          bufferCount(16),
          mergeMap((batch) => {
            sample();
            return of(batch.length);
          }, 4),
          reduce((sum, k) => sum + k, 0),
        ),
      ),
    );
    await measure('tokenbatch chain, default options', (sample) =>
      lastValueFrom(
        from(items).pipe(
          bufferByTokens({ maxTokens: 8000, maxItems: 16 }),
          mergeBatches((batch, context) => {
            sample();
            return instant(batch, context);
          }),
          orderedResults(),
          reduce((count, outcome) => count + (outcome.ok ? 1 : 0), 0),
        ),
      ),
    );
    return {
      scenario: 'sync-source',
      title: `A synchronous source of ${n.toLocaleString('en')} items through the chain (instant handler)`,
      rows,
      notes: [
        'queued: heap retained right after the synchronous source delivered every item (after a full GC): the queue of references',
        'peak heap: the most heapUsed rose above its level before the run, sampled every 5 ms and in each handler call (garbage included: an upper bound)',
        'the input array itself is allocated before the run and not counted',
      ],
    };
  },
};

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
