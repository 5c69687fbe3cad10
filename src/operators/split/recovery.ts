import type { TokenBatch } from '../../batching/batch.js';
import { AbortError, type ContextOverflowError } from '../../errors.js';
import { Envelope } from '../../internal/chain.js';
import { asError } from '../../internal/error-utils.js';
import { chunkTextLazily, halve } from '../../internal/splitting.js';
import type { Deliver, Solver } from '../merge/attempts.js';
import type { ItemResult } from '../merge/settlement.js';

/**
 * Overflow recovery, the half of splitOnOverflow that runs inside mergeBatches: when the model
 * refuses a batch as too long (a `ContextOverflowError`) and splitOnOverflow marked the batch with
 * a split policy, the batch is halved by tokens and each half solved as a request of its own
 * (recursively, down to single items); a single item is cut into overlapping chunks whose results
 * are merged. Each half and chunk goes through the solver, with its retries, timeout and rate
 * limit, so a split never bypasses a limit.
 */
export async function recoverOverflow<T, R>(solver: Solver<T, R>, unit: TokenBatch<T>, refusal: ContextOverflowError, deliver: Deliver<T>, calls: number): Promise<void> {
  const policy = unit.split;
  const fail = () =>
    deliver(
      unit.entries,
      unit.entries.map(() => ({ ok: false, error: refusal, attempts: calls, depth: unit.splitDepth })),
    );
  if (!policy) return fail();
  if (unit.entries.length > 1) {
    solver.telemetry.split();
    const [left, right] = halve(unit.entries, unit.meter);
    await solver.solve(unit.part(left), deliver, calls, 0);
    await solver.solve(unit.part(right), deliver, calls, 0);
    return;
  }
  if (!policy.chunk) return fail();
  solver.telemetry.split();
  deliver(unit.entries, [await chunked(solver, unit, refusal, calls)]);
}

/** One item too long even alone: process its text in overlapping chunks and merge the results. */
async function chunked<T, R>(solver: Solver<T, R>, unit: TokenBatch<T>, refusal: ContextOverflowError, calls: number): Promise<ItemResult> {
  const entry = unit.entries[0] as Envelope<T>;
  const policy = unit.split as NonNullable<TokenBatch<T>['split']>;
  const chunk = policy.chunk as NonNullable<typeof policy.chunk>;
  const failed: ItemResult = { ok: false, error: refusal, attempts: calls, depth: unit.splitDepth };
  let text: string;
  let tokens: number;
  try {
    text = unit.meter.text(entry);
    tokens = unit.meter.exact(entry);
  } catch (error) {
    return { ...failed, error: asError(error) };
  }
  // Chunks fit our budget; when the model refused an item we thought fit, also half of that item.
  const room = policy.maxTokens - unit.batchOverheadTokens - unit.itemOverheadTokens;
  const budget = calls === 0 ? room : Math.min(room, Math.ceil(tokens / 2));
  // Chunks are cut as they are sent, not all up front: only the first two are needed to know the
  // item can be cut at all (one chunk would be the item again).
  const pieces = budget >= 1 ? chunkTextLazily(text, budget, chunk.overlapTokens, unit.meter.tokenizer) : undefined;
  const first = pieces?.next();
  const second = pieces?.next();
  if (!pieces || !first || first.done || !second || second.done) return failed;
  const values: unknown[] = [];
  let attempts = calls;
  let depth = unit.splitDepth + 1;
  const all = function* (): Generator<string> {
    yield first.value;
    yield second.value;
    yield* pieces;
  };
  let i = -1;
  for (const piece of all()) {
    i++;
    let item: T;
    try {
      item = chunk.toItem(piece, entry.item, i) as T;
    } catch (error) {
      return { ...failed, error: asError(error) };
    }
    const chunkEntry = new Envelope(entry.index, item, entry.arrivedAt);
    // A chunk arrived with its item: its spans link where the item arrived, not where it was cut.
    chunkEntry.spanContext = entry.spanContext;
    let result: ItemResult | undefined;
    await solver.solve(unit.part([chunkEntry]), (_, results) => (result = results[0]), 0, 0);
    if (!result) return { ...failed, error: new AbortError('cancelled') };
    attempts += result.attempts;
    depth = Math.max(depth, result.depth);
    if (!result.ok) return { ...result, attempts, depth };
    values.push(result.value);
  }
  try {
    return { ok: true, value: chunk.merge(values, entry.item), attempts, depth };
  } catch (error) {
    return { ok: false, error: asError(error), attempts, depth };
  }
}
