// A default import: Node sees only some of this CommonJS module's named exports.
import cliProgress, { type MultiBar, type Options, type SingleBar } from 'cli-progress';

/**
 * How progress is shown: `'bar'` redraws a bar with an ETA in place (for a terminal), `'lines'`
 * prints a plain line every `intervalMs` (for logs and pipes), `'none'` prints nothing but messages.
 *
 * @example
 * ```ts
 * const mode: ProgressMode = process.stderr.isTTY ? 'bar' : 'lines';
 * ```
 */
export type ProgressMode = 'bar' | 'lines' | 'none';

/**
 * Options of {@link Progress}.
 *
 * @example
 * ```ts
 * const options: ProgressOptions = { stream: process.stderr, mode: 'lines', intervalMs: 2000 };
 * ```
 */
export interface ProgressOptions {
  readonly stream: NodeJS.WritableStream;
  readonly mode: ProgressMode;
  /** How often `'lines'` prints. Default 2,000 ms. */
  readonly intervalMs?: number;
  /** The window of the moving rate behind the ETA. Default 30,000 ms. */
  readonly rateWindowMs?: number;
  /** The clock (ms), for tests. Default `Date.now`. */
  readonly now?: () => number;
}

/**
 * Lines per second over a moving window (default the last 30 s), so that the ETA follows the
 * current pace: a burst (ordered results released at once) or a slow start does not skew it, and
 * the rate falls while nothing completes.
 *
 * @example
 * ```ts
 * const rate = new MovingRate({ windowMs: 30_000 });
 * rate.record(0, 0);
 * rate.record(10_000, 50);
 * rate.perSecond(10_000); // 5
 * ```
 */
export class MovingRate {
  readonly #windowMs: number;
  readonly #samples: { at: number; value: number }[] = [];

  constructor({ windowMs = 30_000 }: { windowMs?: number } = {}) {
    this.#windowMs = windowMs;
  }

  /** Records that `value` lines were done at time `at` (ms). */
  record(at: number, value: number): void {
    const last = this.#samples.at(-1);
    if (last !== undefined && last.at === at) last.value = value;
    else this.#samples.push({ at, value });
    // Keep one sample older than the window, as the window's start.
    while (this.#samples.length > 2 && (this.#samples[1] as { at: number }).at <= at - this.#windowMs) this.#samples.shift();
  }

  /** Lines per second at time `now`, or `undefined` before anything is known. */
  perSecond(now: number): number | undefined {
    const first = this.#samples[0];
    const last = this.#samples.at(-1);
    if (first === undefined || last === undefined || last.value === first.value) return undefined;
    const since = Math.max(first.at, now - this.#windowMs);
    // Before `since` the count is interpolated on the first span, at most the first sample's value.
    const second = this.#samples[1] ?? last;
    const startValue = since <= first.at || second.at === first.at ? first.value : first.value + ((second.value - first.value) * (since - first.at)) / (second.at - first.at);
    const elapsed = (now - since) / 1000;
    return elapsed > 0 ? (last.value - Math.min(startValue, last.value)) / elapsed : undefined;
  }
}

/** `1 line`, `2 lines`. */
export const plural = (count: number, noun: string, nouns = `${noun}s`): string => `${count} ${count === 1 ? noun : nouns}`;

/** A duration for an ETA: `45s`, `3m05s`, `2h04m`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** What a status line shows. */
export interface StatusFields {
  readonly value: number;
  readonly total: number;
  readonly failed: number;
  /** Lines per second (moving), if known. */
  readonly rate: number | undefined;
}

/**
 * The status line, fitted to `width` columns: on a terminal the bar shrinks, then the rate, the
 * failure count (when 0) and the bar itself are left out, so the line never wraps; off a terminal
 * (`tty: false`) it is a plain sentence.
 *
 * @example
 * ```ts
 * formatStatus({ value: 1, total: 4, failed: 0, rate: 2 }, 80, true); // 'tokenbatch [=====---------------] 25% | 1/4 lines | 0 failed | 2.0/s | ETA 2s'
 * ```
 */
export function formatStatus(fields: StatusFields, width: number, tty: boolean): string {
  const { value, total, failed, rate } = fields;
  const percentage = total > 0 ? Math.floor((value / total) * 100) : 100;
  const eta = rate === undefined || rate <= 0 ? '?' : formatDuration((total - value) / rate);
  const rateText = rate === undefined ? '?/s' : `${rate.toFixed(1)}/s`;
  const failures = plural(failed, 'failed', 'failed');
  if (!tty) return `tokenbatch: ${value}/${plural(total, 'line')} (${percentage}%), ${failures}, ${rateText}, ETA ${eta}`;
  const bar = (size: number): string => {
    const full = total > 0 ? Math.round((value / total) * size) : size;
    return `[${'='.repeat(full)}${'-'.repeat(size - full)}]`;
  };
  const room = Math.max(10, width - 1); // the last column would wrap on some terminals
  const count = `${value}/${plural(total, 'line')}`;
  const variants: ((barSize: number) => string[])[] = [
    (size) => ['tokenbatch', bar(size), `${percentage}%`, '|', count, '|', failures, '|', rateText, '|', `ETA ${eta}`],
    (size) => [bar(size), `${percentage}%`, count, failed > 0 ? failures : '', rateText, `ETA ${eta}`],
    (size) => [bar(size), `${percentage}%`, count, failed > 0 ? failures : '', `ETA ${eta}`],
    () => [`${percentage}%`, count, failed > 0 ? failures : '', `ETA ${eta}`],
    () => [`${percentage}%`, `${value}/${total}`, `ETA ${eta}`],
  ];
  for (const variant of variants) {
    for (const size of [20, 15, 10]) {
      const line = variant(size)
        .filter((part) => part !== '')
        .join(' ');
      if (line.length <= room) return line;
    }
  }
  return `${percentage}% ${value}/${total}`.slice(0, room);
}

/**
 * Progress of a run on stderr, through cli-progress: a bar with rate and ETA on a terminal, or a
 * plain line every two seconds elsewhere. Messages (such as malformed lines) are printed above
 * the bar without garbling it.
 *
 * @example
 * ```ts
 * const progress = new Progress({ stream: process.stderr, mode: 'bar' });
 * progress.start(1000);
 * progress.advance(true);
 * progress.stop();
 * ```
 */
export class Progress {
  readonly #stream: NodeJS.WritableStream & { columns?: number };
  #mode: ProgressMode;
  readonly #multi: MultiBar | undefined;
  #bar: SingleBar | undefined;
  readonly #now: () => number;
  readonly #rate: MovingRate;
  #value = 0;
  #total = 0;
  #failed = 0;
  #active = false;

  constructor(options: ProgressOptions) {
    this.#stream = options.stream;
    this.#mode = options.mode;
    this.#now = options.now ?? Date.now;
    this.#rate = new MovingRate({ windowMs: options.rateWindowMs ?? 30_000 });
    if (options.mode === 'none') return;
    // A bar needs a terminal; elsewhere it falls back to lines.
    const tty = options.mode === 'bar' && (options.stream as { isTTY?: boolean }).isTTY === true;
    this.#mode = tty ? 'bar' : 'lines';
    // cli-progress decides by the stream's isTTY: lines go through a view of the stream that is not a terminal.
    const stream = tty ? options.stream : ({ isTTY: false, write: (text: string) => options.stream.write(text) } as unknown as NodeJS.WritableStream);
    const settings: Options = {
      stream,
      // Our own line: a moving-rate ETA, plural forms, and a width that never wraps.
      format: () => this.status(tty),
      fps: 5,
      // On a terminal the bar is redrawn even when unchanged, so a message printed above it never leaves it erased.
      forceRedraw: tty,
      hideCursor: tty,
      // Off a terminal, the final line is already drawn: no blank line after it.
      clearOnComplete: !tty,
      noTTYOutput: !tty,
      notTTYSchedule: options.intervalMs ?? 2000,
      // Redrawn while nothing completes, so the rate and ETA follow a slow batch or a rate-limit wait.
      etaAsynchronousUpdate: true,
    };
    // On a terminal, a MultiBar of one: unlike SingleBar it does not jump back to where it started
    // when it stops, which would overwrite the messages printed above it meanwhile.
    if (tty) this.#multi = new cliProgress.MultiBar(settings);
    else this.#bar = new cliProgress.SingleBar(settings);
  }

  /** The current status line (fitted to the terminal's width on a terminal). */
  status(tty = this.#mode === 'bar'): string {
    const width = this.#stream.columns ?? 80;
    return formatStatus({ value: this.#value, total: this.#total, failed: this.#failed, rate: this.#rate.perSecond(this.#now()) }, width, tty);
  }

  /** Starts showing progress towards `total` lines. */
  start(total: number): void {
    this.#active = true;
    this.#total = total;
    this.#rate.record(this.#now(), 0);
    if (this.#multi) this.#bar = this.#multi.create(total, 0);
    else this.#bar?.start(total, 0);
  }

  /** One more line written. */
  advance(ok: boolean): void {
    this.#value++;
    if (!ok) this.#failed++;
    this.#rate.record(this.#now(), this.#value);
    this.#bar?.update(this.#value);
  }

  /** Prints a message on its own line (above the bar on a terminal). */
  log(message: string): void {
    if (this.#active && this.#mode === 'bar') this.#stream.write('\r\x1b[2K');
    this.#stream.write(`${message}\n`);
  }

  /** Draws the final state and stops. */
  stop(): void {
    if (!this.#active) return;
    this.#active = false;
    if (this.#bar) {
      this.#bar.update(this.#value);
      if (this.#multi) this.#multi.stop();
      else this.#bar.stop();
    }
  }
}
