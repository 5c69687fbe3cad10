import { isObservable, type Observable, type OperatorFunction } from 'rxjs';
import type { AsyncIterableX } from 'ix/asynciterable/asynciterablex';
import { AbortError, BatchResultMismatchError, QueueOverflowError, QuotaExhaustedError, RateLimitError, TimeoutError, TransientError } from '../../errors.js';
import { CoreBase, type OperatorSpec, type Sink } from '../../internal/core.js';
import { iterableOperator } from '../../internal/iterable-face.js';
import { OptionReader } from '../../internal/options.js';
import { rxOperator } from '../../internal/rx-face.js';
import type { Outcome } from '../../types.js';
import { failure, key, redisClient, RedisStreamError, requireSameSlot, type RedisStreamClient } from './client.js';
import { WRITE } from './scripts.js';
import { deadLetterFields, RedisStreamSource, type StreamEntry } from './source.js';

/**
 * Options of {@link toRedisStream}.
 *
 * @example
 * ```ts
 * const options: ToRedisStreamOptions<string> = { source, stream: 'tickets:results', maxLen: 1_000_000 };
 * ```
 */
export interface ToRedisStreamOptions<R> {
  /** The source the chain reads: its entries are the ones acknowledged. */
  source: RedisStreamSource;
  /** The results stream key. Under Redis Cluster, give it the same hash tag as the input stream. */
  stream: string;
  /** The connection to write with. Default: the source's `client`. */
  client?: RedisStreamClient;
  /** Trim the results stream to about this many entries (`XADD MAXLEN ~`). Default: no trimming. */
  maxLen?: number;
  /** Outcomes written in one round trip, at most. Default 256. */
  maxBatch?: number;
  /**
   * The fields of an outcome's result entry. Default: `input` (the entry id), `stream`, `consumer`,
   * `ok` (`'true'`/`'false'`), then `value` (JSON) or `error` (JSON `{ name, message }`). A value
   * that JSON cannot encode is written as a failure (`TypeError`).
   */
  encode?: (outcome: Outcome<StreamEntry, R>) => Record<string, string>;
  /**
   * Whether a failure is final: written and acknowledged at once. A failure that is not final
   * (the entry itself may be fine) is not written: the entry stays pending and is delivered again
   * after the source's `minIdleMs`, until its `maxDeliveries`-th delivery, which is written and sent
   * to the dead-letter stream. Default {@link isFinalFailure}.
   */
  isFinal?: (error: Error) => boolean;
}

/**
 * The default {@link ToRedisStreamOptions.isFinal}: a failure is final unless the item may well
 * succeed on another delivery: rate limits, timeouts, transient failures, missing results, quota
 * exhaustion, queue overflow, cancellation and Redis errors are not final. What an item causes
 * (invalid or oversize items, a rejection isolated to it, unknown errors of the handler) is final.
 *
 * @example
 * ```ts
 * toRedisStream({ source, stream: 'results', isFinal: (error) => isFinalFailure(error) && error.name !== 'MyFlakyError' });
 * ```
 */
export function isFinalFailure(error: Error): boolean {
  const again = [RateLimitError, TimeoutError, TransientError, BatchResultMismatchError, QuotaExhaustedError, QueueOverflowError, AbortError, RedisStreamError];
  return !again.some((kind) => error instanceof kind);
}

function errorJson(error: unknown): string {
  const { name, message } = error instanceof Error ? error : { name: 'Error', message: String(error) };
  return JSON.stringify({ name, message });
}

function defaultEncode(consumer: string): (outcome: Outcome<StreamEntry, unknown>) => Record<string, string> {
  return (outcome) => {
    const base = { input: outcome.item.id, stream: outcome.item.stream, consumer };
    if (!outcome.ok) return { ...base, ok: 'false', error: errorJson(outcome.error) };
    let value: string | undefined;
    try {
      value = JSON.stringify(outcome.value === undefined ? null : outcome.value);
    } catch (error) {
      return { ...base, ok: 'false', error: errorJson(new TypeError(`the value cannot be written as JSON: ${error instanceof Error ? error.message : String(error)}`)) };
    }
    return { ...base, ok: 'true', value: value ?? 'null' };
  };
}

interface SinkSettings {
  source: RedisStreamSource;
  stream: string;
  client: RedisStreamClient;
  maxLen: number | undefined;
  maxBatch: number;
  encode: (outcome: Outcome<StreamEntry, unknown>) => Record<string, string>;
  isFinal: (error: Error) => boolean;
}

function isOutcome(value: unknown): value is Outcome<StreamEntry, unknown> {
  return typeof value === 'object' && value !== null && typeof (value as Outcome<unknown, unknown>).ok === 'boolean' && 'item' in value;
}

/** What becomes of one outcome. */
type Fate = 'write' | 'dead' | 'release';

/**
 * Writes outcomes in batches, one script call each, serially; outcomes that arrive during a write
 * form the next batch (at most `maxBatch`). Outcomes go on downstream, in arrival order, once their
 * batch is written and acknowledged (or released). The queue holds only outcomes of in-flight
 * entries, so the source's `maxInFlight` bounds it.
 */
class RedisSinkCore extends CoreBase<unknown> {
  readonly #settings: SinkSettings;
  readonly #queue: Outcome<StreamEntry, unknown>[] = [];
  #writing = false;
  #ended = false;
  #sourceError: { error: unknown } | undefined;

  constructor(settings: SinkSettings, sink: Sink<unknown>) {
    super(sink);
    this.#settings = settings;
  }

  accepts(demand: boolean): boolean {
    return !this.done && this.#queue.length < this.#settings.maxBatch && demand;
  }

  push(input: unknown): void {
    if (this.done) return;
    const { source } = this.#settings;
    if (!isOutcome(input)) return this.terminate(new TypeError('toRedisStream: expected outcomes (place it after mergeBatches or orderedResults)'));
    const entry = input.item as Partial<StreamEntry> | null;
    if (typeof entry?.id !== 'string' || entry.stream !== source.stream) {
      return this.terminate(
        new TypeError(
          `toRedisStream: expected outcomes whose item is a StreamEntry of stream "${source.stream}" (keep the entry as the chain's item; read its text with the \`text\` option)`,
        ),
      );
    }
    this.#queue.push(input);
    this.#write();
  }

  end(): void {
    this.#ended = true;
    this.#write();
  }

  override fail(error: unknown): void {
    // Outcomes received before the error are still written and acknowledged; then the error.
    this.#sourceError = { error };
    this.#ended = true;
    this.#write();
  }

  override dispose(): void {
    super.dispose();
    this.#queue.length = 0;
  }

  #fate(outcome: Outcome<StreamEntry, unknown>): Fate {
    if (outcome.ok || this.#settings.isFinal(outcome.error)) return 'write';
    const deliveries = typeof outcome.item.deliveries === 'number' ? outcome.item.deliveries : 1;
    return deliveries >= this.#settings.source.maxDeliveries ? 'dead' : 'release';
  }

  #write(): void {
    if (this.done || this.#writing) return;
    if (this.#queue.length === 0) {
      if (this.#ended) {
        if (this.#sourceError) return this.terminate(this.#sourceError.error);
        this.finish();
        this.sink.flush();
      }
      return;
    }
    const batch = this.#queue.splice(0, this.#settings.maxBatch);
    const fates = batch.map((outcome) => this.#fate(outcome));
    const { source } = this.#settings;
    const released = batch.filter((_, i) => fates[i] === 'release').map((outcome) => outcome.item.id);
    const written = batch.filter((_, i) => fates[i] !== 'release');
    const dead = fates.filter((fate) => fate === 'dead').length;
    this.#writing = true;
    this.#send(
      written,
      fates.filter((fate) => fate !== 'release'),
    ).then(
      () => {
        this.#writing = false;
        source._acked(
          written.map((outcome) => outcome.item.id),
          dead,
        );
        if (released.length > 0) source._released(released);
        if (this.done) return;
        for (const outcome of batch) this.sink.emit(outcome);
        this.sink.flush();
        this.sink.wake();
        this.#write();
      },
      (error: unknown) => {
        this.#writing = false;
        source._abandoned(batch.map((outcome) => outcome.item.id));
        this.terminate(error);
      },
    );
  }

  async #send(batch: readonly Outcome<StreamEntry, unknown>[], fates: readonly Fate[]): Promise<void> {
    if (batch.length === 0) return;
    const { source, stream, client, maxLen, encode } = this.#settings;
    const args: (string | number)[] = [source.group, maxLen === undefined ? '' : maxLen, batch.length];
    batch.forEach((outcome, i) => {
      const dead = fates[i] === 'dead';
      const fields = Object.entries(encode(outcome)).flatMap(([field, value]) => [field, String(value)]);
      args.push(outcome.item.id, dead ? '1' : '0', fields.length, ...fields);
      if (dead && !outcome.ok) {
        const letter = Object.entries(deadLetterFields(outcome.item, source.group, source.consumer, outcome.error)).flat();
        args.push(letter.length, ...letter);
      }
    });
    try {
      await WRITE.run(client, [source.stream, stream, source.deadLetterStream], args);
    } catch (error) {
      throw failure('EVALSHA', { stream }, error);
    }
  }
}

const OPTION_KEYS = ['source', 'stream', 'client', 'maxLen', 'maxBatch', 'encode', 'isFinal'] as const;

function sinkSpec<R>(options: ToRedisStreamOptions<R>): OperatorSpec<unknown, Outcome<StreamEntry, R>> {
  if (options === undefined) throw new TypeError('toRedisStream: expected an options object');
  const reader = new OptionReader('toRedisStream', options, OPTION_KEYS);
  const source = reader.raw.source;
  if (!(source instanceof RedisStreamSource)) throw new TypeError(`${reader.name('source')}: expected the RedisStreamSource the chain reads (from fromRedisStream)`);
  const settings: SinkSettings = {
    source,
    stream: key(reader.raw.stream, reader.name('stream')),
    client: reader.raw.client === undefined ? source.client : redisClient(reader.raw.client, reader.name('client')),
    maxLen: reader.optionalPositive('maxLen', { integer: true, min: 1 }),
    maxBatch: reader.optionalPositive('maxBatch', { integer: true, min: 1 }) ?? 256,
    encode: reader.fn<(outcome: Outcome<StreamEntry, unknown>) => Record<string, string>>('encode') ?? defaultEncode(source.consumer),
    isFinal: reader.fn<(error: Error) => boolean>('isFinal') ?? isFinalFailure,
  };
  if (settings.maxBatch > 4000) throw new RangeError(`toRedisStream: maxBatch: expected a number <= 4000 (Lua's unpack limit), got ${settings.maxBatch}`);
  // One script touches the three streams: under Redis Cluster they must share a slot.
  if ((settings.client as { isCluster?: unknown }).isCluster === true) {
    requireSameSlot('toRedisStream', { 'source stream': source.stream, stream: settings.stream, deadLetterStream: source.deadLetterStream });
  }
  return {
    create: (sink) => new RedisSinkCore(settings, sink),
  };
}

/**
 * The operator {@link toRedisStream} returns: on an RxJS Observable of outcomes it is an RxJS
 * operator, on an async iterable (ix `pipe`) it is an async-iterable operator.
 *
 * @example
 * ```ts
 * const write: RedisSinkOperator<string> = toRedisStream({ source, stream: 'results' });
 * ```
 */
export interface RedisSinkOperator<R> extends OperatorFunction<Outcome<StreamEntry, R>, Outcome<StreamEntry, R>> {
  /** In RxJS `.pipe()`: the written outcomes, as an Observable. */
  (source: Observable<Outcome<StreamEntry, R>>): Observable<Outcome<StreamEntry, R>>;
  /** In ix `pipe()`: the written outcomes, as an async iterable. */
  (source: AsyncIterable<Outcome<StreamEntry, R>>): AsyncIterableX<Outcome<StreamEntry, R>>;
}

/**
 * The sink of a Redis-fed chain: for each outcome, appends a result entry to the results stream
 * (`XADD`: the input entry's id, ok, the value as JSON or the error's name and message) and
 * acknowledges the input entry (`XACK`), both in one atomic Lua script per batch of outcomes, one
 * round trip. An entry is thus acknowledged only once its result is stored; a crash before that
 * leaves it pending, to be processed again (at-least-once: a result may then appear twice, with the
 * same `input` id). Outcomes pass on downstream after they are written, in the order they came.
 *
 * A failed outcome is acknowledged only when it is final (see {@link ToRedisStreamOptions.isFinal}):
 * an entry that failed with a retryable error (a batch-mate of a failing call, an outage) is left
 * pending, not written, and delivered again after `minIdleMs`; on its `maxDeliveries`-th delivery it
 * is written as failed, copied to the dead-letter stream with its error, and acknowledged. Released
 * outcomes pass on downstream too (their entry comes again, with `deliveries` one higher).
 *
 * Works on both faces: as an RxJS operator in `.pipe()`, and on async iterables with ix's `pipe`.
 * A failed write ends the stream with a {@link RedisStreamError}; its entries stay pending.
 *
 * @example
 * ```ts
 * import { bufferByTokens, mergeBatches, orderedResults } from 'tokenbatch';
 * import { fromRedisStream, toRedisStream } from 'tokenbatch/redis';
 *
 * const source = fromRedisStream({ client, stream: 'docs', group: 'embedder', consumer: 'worker-1' });
 * source
 *   .pipe(bufferByTokens({ maxTokens: 8000, maxWaitMs: 100, text: (entry) => entry.fields.text ?? '' }), mergeBatches(embed), orderedResults(), toRedisStream({ source, stream: 'docs:embeddings' }))
 *   .subscribe({ error: (error) => console.error(error) });
 * ```
 */
export function toRedisStream<R>(options: ToRedisStreamOptions<R>): RedisSinkOperator<R> {
  const spec = sinkSpec(options);
  const rx = rxOperator(spec);
  const iterable = iterableOperator(spec);
  return ((input: Observable<unknown> | AsyncIterable<unknown>) => (isObservable(input) ? rx(input) : iterable(input))) as RedisSinkOperator<R>;
}
