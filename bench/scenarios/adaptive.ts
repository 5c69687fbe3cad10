/**
 * Adaptive control in virtual time (deterministic, instant):
 * - `adaptive`: a provider whose capacity halves mid-run and then recovers, while the arrival rate
 *   varies. The adaptive chain (latencyTargetMs, concurrency { min, max }) against every fixed
 *   setting; per phase, its throughput against the best fixed setting of that phase, its p99
 *   latency against the target, and the 429s each drew.
 * - `budget`: a money budget under concurrency: the overshoot measured, against the documented
 *   bound and against a guard that counts spend only when calls return.
 * - `priority`: p99 latency of urgent items with `priority` against first in, first out.
 */
import { lastValueFrom, map, Observable, toArray, VirtualTimeScheduler } from 'rxjs';
import { bufferByTokens, BudgetExceededError, createStats, mergeBatches, RateLimitError, type BatchHandler, type MergeBatchesOptions, type Outcome } from '../../src/index.js';
import type { BenchOptions, BenchResult, BenchRow, Scenario } from '../harness.js';
import { runVirtual } from '../virtual-time.js';

interface Phase {
  readonly ms: number;
  /** Items arriving per second. */
  readonly rate: number;
  /** Calls the provider serves at once; beyond that it answers 429. */
  readonly capacity: number;
}

interface Item {
  readonly id: number;
  readonly at: number;
  readonly urgent: boolean;
}

/** Items arriving at `rate(now)` per second, every 10 virtual ms, until `endMs`. */
function arrivals(clock: VirtualTimeScheduler, phases: readonly Phase[], urgentEvery = 0): Observable<Item> {
  return new Observable<Item>((subscriber) => {
    let id = 0;
    let owed = 0;
    const end = phases.reduce((sum, phase) => sum + phase.ms, 0);
    // Each tick is scheduled afresh: a VirtualAction rescheduling itself nests a subscription per tick.
    let action = clock.schedule(function tick() {
      const now = clock.now();
      if (now >= end) return subscriber.complete();
      owed += phaseAt(phases, now).rate / 100;
      for (; owed >= 1; owed--, id++) subscriber.next({ id, at: now, urgent: urgentEvery > 0 && id % urgentEvery === 0 });
      action = clock.schedule(tick, 10);
    }, 0);
    return () => action.unsubscribe();
  });
}

function phaseAt(phases: readonly Phase[], now: number): Phase {
  let start = 0;
  for (const phase of phases) {
    if (now < start + phase.ms) return phase;
    start += phase.ms;
  }
  return phases[phases.length - 1] as Phase;
}

/** A provider: 200 ms + 10 ms per item a call, `capacity` calls at once, 429 (retry after 100 ms) beyond. */
function provider(clock: VirtualTimeScheduler, phases: readonly Phase[]) {
  let running = 0;
  let rejected = 0;
  const handler: BatchHandler<Item, number> = (batch) => {
    if (running >= phaseAt(phases, clock.now()).capacity) {
      rejected++;
      return Promise.reject(new RateLimitError('429', { retryAfterMs: 100 }));
    }
    running++;
    return new Promise((resolve) =>
      clock.schedule(
        () => {
          running--;
          resolve(batch.items.map((item) => item.id));
        },
        200 + 10 * batch.items.length,
      ),
    );
  };
  return { handler, rejected: () => rejected };
}

const percentile = (values: number[], q: number) => {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
};

interface Run {
  /** Per phase: outcomes emitted during it per second, p99 latency of the items that arrived in it. */
  phases: { throughput: number; onTime: number; p99: number }[];
  rejected: number;
  failed: number;
}

async function runChain(
  phases: readonly Phase[],
  batching: { maxWaitMs: number; latencyTargetMs?: number },
  merge: MergeBatchesOptions<Item>,
  urgentEvery = 0,
): Promise<{ run: Run; seen: Done[] }> {
  const clock = new VirtualTimeScheduler();
  const { handler, rejected } = provider(clock, phases);
  const stats = createStats({ scheduler: clock });
  const seen = await runVirtual(clock, () =>
    lastValueFrom(
      arrivals(clock, phases, urgentEvery).pipe(
        bufferByTokens<Item>({ maxTokens: 10_000, maxItems: 16, tokenizer: () => 1, text: () => 'x', scheduler: clock, stats, ...batching }),
        mergeBatches(handler, { scheduler: clock, stats, retry: { maxAttempts: 50, baseDelayMs: 50, random: () => 0.5 }, ...merge }),
        map((outcome): Done => ({ outcome, at: clock.now() })),
        toArray(),
      ),
    ),
  );
  let start = 0;
  const perPhase = phases.map((phase) => {
    const end = start + phase.ms;
    const done = seen.filter(({ at }) => at >= start && at < end).length;
    const latencies = seen.filter(({ outcome }) => outcome.item.at >= start && outcome.item.at < end).map(({ outcome, at }) => at - outcome.item.at);
    start = end;
    const onTime = latencies.filter((latency) => latency <= TARGET_MS).length;
    return { throughput: (done * 1000) / phase.ms, onTime: (onTime * 1000) / phase.ms, p99: percentile(latencies, 0.99) };
  });
  return { run: { phases: perPhase, rejected: rejected(), failed: seen.filter(({ outcome }) => !outcome.ok).length }, seen };
}

interface Done {
  outcome: Outcome<Item, number>;
  at: number;
}

const TARGET_MS = 2000;

export async function runAdaptive(options: BenchOptions): Promise<BenchResult> {
  const ms = options.quick ? 4000 : 15_000;
  // Capacity 16 calls (about 700 items/s), then halved to 8 (about 350/s), then back; arrivals vary.
  const phases: Phase[] = [
    { ms, rate: 500, capacity: 16 },
    { ms, rate: 330, capacity: 8 },
    { ms, rate: 600, capacity: 16 },
  ];
  const fixed: { name: string; batching: { maxWaitMs: number }; merge: MergeBatchesOptions<Item> }[] = [];
  for (const concurrency of [4, 8, 16, 32])
    for (const maxWaitMs of [100, 500]) fixed.push({ name: `fixed c=${concurrency}, wait ${maxWaitMs} ms`, batching: { maxWaitMs }, merge: { concurrency } });
  const runs: { name: string; run: Run }[] = [];
  runs.push({
    name: `adaptive (target ${TARGET_MS} ms, c 1..32)`,
    run: (await runChain(phases, { maxWaitMs: 500, latencyTargetMs: TARGET_MS }, { concurrency: { min: 1, max: 32 } })).run,
  });
  for (const setting of fixed) runs.push({ name: setting.name, run: (await runChain(phases, setting.batching, setting.merge)).run });
  // Throughput that counts: items of the phase answered within the latency target, per second.
  const best = phases.map((_, i) => Math.max(...runs.slice(1).map(({ run }) => run.phases[i]?.onTime ?? 0)));
  const rows: BenchRow[] = [];
  for (const { name, run } of runs) {
    run.phases.forEach((phase, i) => {
      rows.push({
        name,
        phase: `${i + 1}: ${phases[i]?.rate}/s, capacity ${phases[i]?.capacity}`,
        'done/s': phase.throughput,
        'on-time/s': phase.onTime,
        'vs best fixed': phase.onTime / (best[i] as number),
        'p99 ms': phase.p99,
        'p99 / target': phase.p99 / TARGET_MS,
        '429s': i === 0 ? run.rejected : '',
        failed: i === 0 ? run.failed : '',
      });
    });
  }
  const adaptiveRatios = runs[0]?.run.phases.map((phase, i) => (phase.onTime / (best[i] as number)).toFixed(3)).join(', ');
  return {
    scenario: 'adaptive',
    title: 'adaptive wait and concurrency vs fixed settings, capacity halving then recovering',
    rows,
    notes: [
      `phases of ${ms / 1000} s (virtual); the provider serves 200 ms + 10 ms/item per call, 429 (retry after 100 ms) past its capacity; batches of up to 16 items`,
      `done/s: outcomes emitted during the phase; on-time/s: items that arrived in the phase and were answered within the ${TARGET_MS} ms target, per second (the throughput compared)`,
      `adaptive on-time throughput vs the best fixed setting of each phase: ${adaptiveRatios} (goal >= 0.95); 429s are counted over the whole run`,
    ],
  };
}

export async function runPriority(options: BenchOptions): Promise<BenchResult> {
  const ms = options.quick ? 4000 : 15_000;
  // Overload (900 items/s for about 700/s of capacity): a queue forms, and 1 item in 20 is urgent.
  const phases: Phase[] = [{ ms, rate: 900, capacity: 16 }];
  const rows: BenchRow[] = [];
  let fifoP99 = 0;
  for (const [name, merge] of [
    ['first in, first out', { concurrency: 16 }],
    ['priority (urgent 10, others 0; aging 1/s)', { concurrency: 16, priority: (item: Item) => (item.urgent ? 10 : 0), priorityAgingMs: 1000 }],
  ] as const) {
    const { seen } = await runChain(phases, { maxWaitMs: 100 }, merge, 20);
    const urgent = seen.filter(({ outcome }) => outcome.item.urgent).map(({ outcome, at }) => at - outcome.item.at);
    const others = seen.filter(({ outcome }) => !outcome.item.urgent).map(({ outcome, at }) => at - outcome.item.at);
    const p99 = percentile(urgent, 0.99);
    if (rows.length === 0) fifoP99 = p99;
    rows.push({
      name,
      'urgent p50 ms': percentile(urgent, 0.5),
      'urgent p99 ms': p99,
      'urgent p99 vs FIFO': p99 / fifoP99,
      'others p99 ms': percentile(others, 0.99),
      'max wait ms': Math.max(...urgent, ...others),
    });
  }
  return {
    scenario: 'priority',
    title: 'urgent items with priority vs first in, first out, under overload',
    rows,
    notes: ['a batch ranks as its most urgent item; aging keeps the others moving (never starved); latency is arrival to outcome'],
  };
}

interface BudgetRun {
  spent: number;
  bound: number;
  refused: number;
}

/** One job of `calls` calls under a money cap: `reserve` is mergeBatches' budget; `naive` refuses a call only once returned calls have spent the cap. */
async function budgetRun(calls: number, concurrency: number, cap: number, guard: 'reserve' | 'naive'): Promise<BudgetRun> {
  const clock = new VirtualTimeScheduler();
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const price = { inputPerMillion: 1, outputPerMillion: 1 };
  let billed = 0;
  let worstUnder = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const handler: BatchHandler<number, number> = (batch, context) => {
    if (guard === 'naive' && billed / 1_000_000 >= cap) return Promise.reject(new BudgetExceededError('spent'));
    // Billed: the estimate times [0.8, 1.6), the output tokens nobody knows before the call.
    const actual = Math.round(ESTIMATE * (0.8 + 0.8 * random()));
    worstUnder = Math.max(worstUnder, actual - ESTIMATE);
    maxInFlight = Math.max(maxInFlight, ++inFlight);
    return new Promise((resolve) =>
      clock.schedule(
        () => {
          inFlight--;
          billed += actual;
          context.report({ usage: { inputTokens: actual, outputTokens: 0 } });
          resolve(batch.items);
        },
        50 + Math.floor(random() * 200),
      ),
    );
  };
  const budget = guard === 'reserve' ? { budget: { usd: cap, price } } : {};
  const outcomes = await runVirtual(clock, () =>
    lastValueFrom(
      new Observable<number[]>((subscriber) => {
        for (let i = 0; i < calls; i++) subscriber.next([i]);
        subscriber.complete();
      }).pipe(mergeBatches(handler, { scheduler: clock, concurrency, estimateTokens: () => ESTIMATE, retry: false, ...budget }), toArray()),
    ),
  );
  return { spent: billed / 1_000_000, bound: (maxInFlight * worstUnder) / 1_000_000, refused: outcomes.filter((outcome) => !outcome.ok).length };
}

const ESTIMATE = 1000;

export async function runBudget(options: BenchOptions): Promise<BenchResult> {
  const calls = options.quick ? 200 : 2000;
  const cap = (calls * ESTIMATE * 0.5) / 1_000_000; // half of what the job would cost at its estimates
  const rows: BenchRow[] = [];
  for (const concurrency of [1, 4, 16]) {
    const ours = await budgetRun(calls, concurrency, cap, 'reserve');
    const naive = await budgetRun(calls, concurrency, cap, 'naive');
    rows.push({
      name: `concurrency ${concurrency}`,
      'cap $': cap,
      'spent $': ours.spent,
      overshoot: ours.spent / cap - 1,
      'bound $': ours.bound,
      'overshoot / bound': ours.bound > 0 ? Math.max(0, ours.spent - cap) / ours.bound : 0,
      'naive guard spent $': naive.spent,
      'naive overshoot': naive.spent / cap - 1,
      'items refused': ours.refused,
    });
  }
  return {
    scenario: 'budget',
    title: 'budget guard: money spent against the cap, reserved before sending vs counted on return',
    rows,
    notes: [
      'each call reserves its estimate before it is sent; the bill is the estimate x [0.8, 1.6); bound = calls in flight x worst under-estimate (overshoot / bound must stay <= 1)',
      'naive guard: refuses a call once the calls that returned have spent the cap (a hand-written guard on top)',
    ],
  };
}

export const adaptiveScenario: Scenario = { name: 'adaptive', run: runAdaptive };
export const priorityScenario: Scenario = { name: 'priority', run: runPriority };
export const budgetScenario: Scenario = { name: 'budget', run: runBudget };
