/**
 * The smallest real pipeline: a live stream of support tickets, batched by tokens and time.
 * Run it with `npx tsx examples/quickstart.ts`; it ends by itself after the last ticket.
 */
import { interval, map, take } from 'rxjs';
import { bufferByTokens } from 'tokenbatch';

const subjects = ['Refund not received', 'Cannot log in', 'App crashes on start', 'Invoice is wrong', 'Feature request: dark mode'];
const tickets$ = interval(20).pipe(
  take(40),
  map((i) => ({ id: i, body: `${subjects[i % subjects.length]}: ${'details '.repeat(1 + ((i * 7) % 30))}` })),
);

tickets$.pipe(bufferByTokens({ maxTokens: 400, maxItems: 8, maxWaitMs: 150, text: (ticket) => ticket.body, batchOverheadTokens: 50 })).subscribe((batch) => {
  const ids = batch.items.map((ticket) => ticket.id).join(',');
  console.log(`batch ${batch.index}: tickets ${ids} | ${batch.tokens} tokens, ${(batch.utilization * 100).toFixed(0)}% full, closed by ${batch.closeReason}`);
});
