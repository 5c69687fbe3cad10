/**
 * tokenbatch inside an existing RxJS app, next to the operators it already uses.
 *
 * A fake UI pushes events into a Subject: clicks, scrolls, and feedback forms that users submit.
 * The app shares that stream, counts events by type with `scan`, picks the feedback out with
 * `filter`/`map`, and sends it to the embedded simulated model through
 * `bufferByTokens → mergeBatches → orderedResults`. A second `scan` keeps a running tally of the
 * labels, `withLatestFrom` joins it to the event counts for a dashboard line, and `isOk`/`isFailure`
 * route results and errors to their own subscribers.
 *
 * Run it with `npx tsx examples/rx-app.ts`; it ends by itself when the UI closes its stream.
 */
import { filter, map, scan, share, startWith, Subject, withLatestFrom } from 'rxjs';
import { bufferByTokens, isFailure, isOk, mergeBatches, orderedResults, simulatedModel } from 'tokenbatch';

type UiEvent =
  | { readonly type: 'click'; readonly target: string }
  | { readonly type: 'scroll'; readonly y: number }
  | { readonly type: 'feedback'; readonly user: string; readonly text: string };

interface Feedback {
  readonly user: string;
  readonly text: string;
}

// ---- the fake UI: a Subject fed on a timer -----------------------------------------------------

const ui = new Subject<UiEvent>();

const forms = [
  'The checkout page throws an error when I apply a coupon',
  '   ',
  'Love the dark mode, thank you!',
  'Why was I charged for the premium plan? I never upgraded.',
  'Password reset link expired before I could use it',
  'Search is broken for names with accents',
  'Great app, excellent support team',
  'Please add an export to PDF',
  'My invoice shows the wrong company address',
  'The app crashes when I rotate my phone',
];

/** 120 UI events over about a second and a half; then the page "closes" and the stream completes. */
function driveUi(): void {
  let step = 0;
  const tick = (): void => {
    if (step === 120) {
      ui.complete();
      return;
    }
    if (step % 4 === 1) ui.next({ type: 'feedback', user: `user${(step * 7) % 23}`, text: forms[(step >> 2) % forms.length]! });
    else if (step % 3 === 0) ui.next({ type: 'scroll', y: step * 40 });
    else ui.next({ type: 'click', target: step % 2 === 0 ? '#save' : 'nav a' });
    step++;
    setTimeout(tick, step % 10 === 0 ? 60 : 8);
  };
  tick();
}

// ---- the app -----------------------------------------------------------------------------------

const model = simulatedModel<Feedback, 'classify'>({
  task: 'classify',
  text: (feedback) => feedback.text,
  latency: { baseMs: 150, perOutputTokenMs: 5, jitter: 0.4 },
  faults: { transient: 0.15 },
  seed: 3,
});

const events$ = ui.pipe(share());

// Ordinary RxJS: a running count of events by type.
const eventCounts$ = events$.pipe(
  scan((counts, event) => ({ ...counts, [event.type]: (counts[event.type] ?? 0) + 1 }), {} as Record<string, number>),
  startWith({} as Record<string, number>),
);

const feedback$ = events$.pipe(
  filter((event): event is Extract<UiEvent, { type: 'feedback' }> => event.type === 'feedback'),
  map((event): Feedback => ({ user: event.user, text: event.text.trim() })),
  filter((feedback) => feedback.text.length > 0),
  share(),
);

// tokenbatch: batched, concurrent, retried (at most twice, so a failure can show), back in order.
const labelled$ = feedback$.pipe(
  bufferByTokens({ maxTokens: 120, maxItems: 5, maxWaitMs: 100, text: (feedback: Feedback) => feedback.text, batchOverheadTokens: 40 }),
  mergeBatches(model.handler, { concurrency: 2, retry: { maxAttempts: 2, baseDelayMs: 30 } }),
  orderedResults(),
  share(),
);

// Ordinary RxJS again: one running tally of the results, redrawn with the latest event counts.
interface Tally {
  readonly done: number;
  readonly labels: ReadonlyMap<string, number>;
}
const tally$ = labelled$.pipe(
  scan(
    (tally: Tally, outcome): Tally => ({
      done: tally.done + 1,
      labels: outcome.ok ? new Map(tally.labels).set(outcome.value, (tally.labels.get(outcome.value) ?? 0) + 1) : tally.labels,
    }),
    { done: 0, labels: new Map() },
  ),
);
const submitted$ = feedback$.pipe(
  scan((n) => n + 1, 0),
  startWith(0),
);

labelled$.pipe(filter(isOk)).subscribe((outcome) => console.log(`  #${outcome.index} ${outcome.item.user}: ${outcome.value} ← "${outcome.item.text}"`));

const deadLetters: Feedback[] = [];
labelled$.pipe(filter(isFailure)).subscribe((outcome) => {
  deadLetters.push(outcome.item);
  console.log(`  #${outcome.index} ${outcome.item.user}: not labelled after ${outcome.attempts} attempts (${outcome.error.name}), set aside`);
});

// The "dashboard": redrawn after every fifth result, and when the stream ends.
tally$
  .pipe(
    withLatestFrom(eventCounts$, submitted$),
    filter(([tally, , submitted]) => tally.done % 5 === 0 || tally.done === submitted),
  )
  .subscribe({
    next: ([tally, counts, submitted]) => {
      const byType = Object.entries(counts)
        .map(([type, n]) => `${type} ${n}`)
        .join(', ');
      const byLabel = [...tally.labels].map(([label, n]) => `${label} ${n}`).join(', ');
      console.log(`[dashboard] events: ${byType} | feedback: ${tally.done}/${submitted} non-blank answered | labels: ${byLabel}`);
    },
    complete: () => {
      const stats = model.stats();
      console.log(`UI closed: ${stats.calls} model calls labelled ${stats.items} submissions; ${deadLetters.length} set aside after failed retries`);
    },
  });

console.log('a fake UI emits 120 events; feedback forms are labelled in batches while the app keeps counting');
driveUi();
