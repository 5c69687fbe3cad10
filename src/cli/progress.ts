// A default import: Node sees only some of this CommonJS module's named exports.
import cliProgress, { type MultiBar, type Options, type Params, type SingleBar } from 'cli-progress';

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
}

/** cli-progress's formatter, except that the ETA shows as `?` until a rate is known (rather than 0 s). */
function etaOnceKnown(template: string): (options: Options, params: Params, payload: Record<string, unknown>) => string {
  const unknown = template.replace('{eta_formatted}', '?');
  return (options, params, payload) => {
    const known = params.value > 0 && typeof params.eta === 'number' && Number.isFinite(params.eta);
    return cliProgress.Format.Formatter({ ...options, format: known ? template : unknown }, params, payload);
  };
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
  readonly #stream: NodeJS.WritableStream;
  #mode: ProgressMode;
  readonly #multi: MultiBar | undefined;
  #bar: SingleBar | undefined;
  #value = 0;
  #failed = 0;
  #active = false;
  #startedAt = 0;

  constructor(options: ProgressOptions) {
    this.#stream = options.stream;
    this.#mode = options.mode;
    if (options.mode === 'none') return;
    // A bar needs a terminal; elsewhere it falls back to lines.
    const tty = options.mode === 'bar' && (options.stream as { isTTY?: boolean }).isTTY === true;
    this.#mode = tty ? 'bar' : 'lines';
    // cli-progress decides by the stream's isTTY: lines go through a view of the stream that is not a terminal.
    const stream = tty ? options.stream : ({ isTTY: false, write: (text: string) => options.stream.write(text) } as unknown as NodeJS.WritableStream);
    const settings: Options = {
      stream,
      format: etaOnceKnown(
        tty
          ? 'tokenbatch {bar} {percentage}% | {value}/{total} lines | {failed} failed | {rate}/s | ETA {eta_formatted}'
          : 'tokenbatch: {value}/{total} lines ({percentage}%), {failed} failed, {rate}/s, ETA {eta_formatted}',
      ),
      fps: 5,
      // On a terminal the bar is redrawn even when unchanged, so a message printed above it never leaves it erased.
      forceRedraw: tty,
      hideCursor: tty,
      // Off a terminal, the final line is already drawn: no blank line after it.
      clearOnComplete: !tty,
      noTTYOutput: !tty,
      notTTYSchedule: options.intervalMs ?? 2000,
      etaBuffer: 200,
      // The ETA keeps moving while nothing completes (a slow batch, a rate-limit wait).
      etaAsynchronousUpdate: true,
      barsize: 20,
    };
    // On a terminal, a MultiBar of one: unlike SingleBar it does not jump back to where it started
    // when it stops, which would overwrite the messages printed above it meanwhile.
    if (tty) this.#multi = new cliProgress.MultiBar(settings);
    else this.#bar = new cliProgress.SingleBar(settings);
  }

  /** Starts showing progress towards `total` lines. */
  start(total: number): void {
    this.#active = true;
    this.#startedAt = Date.now();
    if (this.#multi) this.#bar = this.#multi.create(total, 0, this.#payload(0));
    else this.#bar?.start(total, 0, this.#payload(0));
  }

  /** One more line written. */
  advance(ok: boolean): void {
    this.#value++;
    if (!ok) this.#failed++;
    this.#bar?.update(this.#value, this.#payload(this.#value));
  }

  #payload(value: number): Record<string, string | number> {
    const seconds = (Date.now() - this.#startedAt) / 1000;
    return { failed: this.#failed, rate: seconds > 0 ? (value / seconds).toFixed(1) : '0.0' };
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
      this.#bar.update(this.#value, this.#payload(this.#value));
      if (this.#multi) this.#multi.stop();
      else this.#bar.stop();
    }
  }
}
