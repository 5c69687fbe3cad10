import { Observable, type Subscriber, type TeardownLogic } from 'rxjs';
import type { Meter } from '@opentelemetry/api';
import { TokenbatchError } from '../../errors.js';
import { OptionReader } from '../../internal/options.js';
import type { Outcome } from '../../types.js';
import { failure, key, ownConnection, redisClient, sameSlot, type RedisStreamClient } from './client.js';
import { RedisMetrics } from './metrics.js';
import { deliveryCounts, ENTRY_ID, fieldsOf, infoField, readReply, type RawEntry } from './replies.js';
import { DEAD_LETTER, HEARTBEAT } from './scripts.js';

/**
 * One entry of a Redis stream, as {@link fromRedisStream} yields it: the item of a tokenbatch chain.
 * Its `id` travels with it to its outcome (`outcome.item.id`), so results can be acknowledged and
 * written idempotently.
 *
 * @example
 * ```ts
 * const text = (entry: StreamEntry) => entry.fields.text ?? '';
 * ```
 */
export interface StreamEntry {
  /** The entry's stream id, such as `'1700000000000-0'`. */
  readonly id: string;
  /** The entry's fields. */
  readonly fields: Readonly<Record<string, string>>;
  /** The stream it was read from. */
  readonly stream: string;
  /**
   * True when this delivery is not the entry's first: it was reclaimed from a consumer that went
   * silent or released it after a retryable failure (`XAUTOCLAIM`), or re-read from this consumer's
   * own pending list after a restart.
   */
  readonly redelivered: boolean;
  /** How many times the group has delivered the entry, this delivery included (1 the first time). */
  readonly deliveries: number;
}

/**
 * Options of {@link fromRedisStream}.
 *
 * @example
 * ```ts
 * const options: FromRedisStreamOptions = {
 *   client,
 *   stream: 'tickets',
 *   group: 'classifier',
 *   consumer: `worker-${process.pid}`,
 *   maxInFlight: 500,
 *   minIdleMs: 120_000,
 * };
 * ```
 */
export interface FromRedisStreamOptions {
  /** The connection for acknowledgements, claims and group creation (ioredis `Redis`). */
  client: RedisStreamClient;
  /** The stream key to read. */
  stream: string;
  /** The consumer group: every process of one job uses the same group. */
  group: string;
  /**
   * This consumer's name, unique among the live consumers of the group. A name that stays the same
   * across restarts (a pod name) lets a restarted process take back its own pending entries at
   * once, without waiting `minIdleMs`.
   */
  consumer: string;
  /** Entries read per `XREADGROUP` / `XAUTOCLAIM` (their `COUNT`). Default 100. */
  batchSize?: number;
  /** How long one `XREADGROUP` waits for new entries, in ms. Default 2,000. */
  blockMs?: number;
  /**
   * Entries read but not yet acknowledged, at most: the bound on work held by this process. No more
   * is read until acknowledgements free room. Default 1,000. It must exceed what the chain holds
   * before a batch can close (use `maxWaitMs` in `bufferByTokens` so a partial batch always does).
   */
  maxInFlight?: number;
  /**
   * An entry pending this long without a heartbeat (read, not acknowledged, its consumer silent) is
   * taken over and processed again; so is an entry released after a retryable failure. The
   * heartbeat keeps the entries a live consumer is still working on, so this only needs to exceed
   * the gaps between heartbeats (a blocked event loop). Default 60,000.
   */
  minIdleMs?: number;
  /** How often to look for such entries (`XAUTOCLAIM`), in ms. Default `minIdleMs / 2`. */
  claimIntervalMs?: number;
  /**
   * How often to reset the idle time of the entries this consumer still holds (`XCLAIM ... JUSTID`
   * on its own pending entries), so that a slow batch is not taken over while it is being worked on;
   * the same tick reads the group's lag and pending count for the metrics. Below `minIdleMs`.
   * Default `minIdleMs / 3`.
   */
  heartbeatMs?: number;
  /**
   * Deliveries an entry gets at most. An entry that failed with a retryable error on its last
   * delivery, or that reached this many deliveries without any outcome (its workers crashed or hung
   * on it), is moved to `deadLetterStream` with its error and acknowledged, so nothing is delivered
   * forever. Default 5.
   */
  maxDeliveries?: number;
  /**
   * Where entries go after `maxDeliveries`. Default `{stream}:dead`, with the input stream's hash tag
   * (`{tickets}:dead` for `tickets`), so that both keys share a Redis Cluster slot.
   */
  deadLetterStream?: string;
  /** Create the group (and the stream) when missing. Default true. */
  createGroup?: boolean;
  /** Where a group created here starts: `'0'` (the whole stream, default) or `'$'` (new entries only). */
  startId?: string;
  /**
   * The connection for blocking reads. Default: `client.duplicate()`, opened on subscription and
   * closed when it ends, with an `'error'` listener of its own. (A blocking read holds its
   * connection, so it cannot share `client`.)
   */
  readClient?: RedisStreamClient;
  /** Aborting it is {@link RedisStreamSource.stop}: stop reading, let in-flight work finish. */
  signal?: AbortSignal;
  /**
   * Told about pending entries that were deleted from the stream (trimmed) before they were
   * processed: they cannot be delivered and are removed from the pending list. Default: they are
   * only counted, in `stats.deleted`.
   */
  onDeleted?: (ids: readonly string[]) => void;
  /**
   * The meter for the source's instruments (`tokenbatch.redis.consumer.lag`, `.pending`,
   * `.in_flight`, `.reclaimed`, `.dead_lettered`, `.released`), or false for none. Default: the
   * global OpenTelemetry meter `tokenbatch`.
   */
  telemetry?: { meter?: Meter } | false;
}

/**
 * Counts of what a {@link RedisStreamSource} has done since it was created.
 *
 * @example
 * ```ts
 * const { read, claimed, acked, deadLettered } = source.stats;
 * ```
 */
export interface RedisStreamStats {
  /** New entries read (`XREADGROUP >`). */
  read: number;
  /** Entries re-read from this consumer's own pending list when a subscription started. */
  recovered: number;
  /** Entries taken over from other consumers, or released ones taken back (`XAUTOCLAIM`). */
  claimed: number;
  /** Entries acknowledged (by {@link RedisStreamSource.ack} or {@link toRedisStream}). */
  acked: number;
  /** Pending entries found deleted from the stream (see `onDeleted`). */
  deleted: number;
  /** Entries left pending after a retryable failure, to be delivered again. */
  released: number;
  /** Entries moved to the dead-letter stream after `maxDeliveries`. */
  deadLettered: number;
  /** Heartbeats sent. */
  heartbeats: number;
  /** Entries this consumer held that another consumer had taken over (the heartbeat came too late). */
  lostClaims: number;
}

/**
 * What {@link RedisStreamSource.ack} accepts: an outcome of a stream entry, the entry, its id, or
 * several of them.
 *
 * @example
 * ```ts
 * const done: AckTarget = [outcome, outcome.item, outcome.item.id];
 * ```
 */
export type AckTarget = Outcome<StreamEntry, unknown> | StreamEntry | string | readonly (Outcome<StreamEntry, unknown> | StreamEntry | string)[];

/**
 * An entry reached `maxDeliveries` without a final outcome: the workers that held it stopped or hung
 * on it, or it kept failing with retryable errors. It is written to the dead-letter stream with this
 * error (or with the last error it failed with).
 *
 * @example
 * ```ts
 * if (!outcome.ok && outcome.error.name === 'DeliveryLimitError') alert(outcome.item.id);
 * ```
 */
export class DeliveryLimitError extends TokenbatchError {
  override name = 'DeliveryLimitError';
}

export interface Settings {
  client: RedisStreamClient;
  stream: string;
  group: string;
  consumer: string;
  batchSize: number;
  blockMs: number;
  maxInFlight: number;
  minIdleMs: number;
  claimIntervalMs: number;
  heartbeatMs: number;
  maxDeliveries: number;
  deadLetterStream: string;
  createGroup: boolean;
  startId: string;
  readClient: RedisStreamClient | undefined;
  onDeleted: ((ids: readonly string[]) => void) | undefined;
  meter: Meter | undefined | false;
}

const OPTION_KEYS = [
  'client',
  'stream',
  'group',
  'consumer',
  'batchSize',
  'blockMs',
  'maxInFlight',
  'minIdleMs',
  'claimIntervalMs',
  'heartbeatMs',
  'maxDeliveries',
  'deadLetterStream',
  'createGroup',
  'startId',
  'readClient',
  'signal',
  'onDeleted',
  'telemetry',
] as const;

function readClientOption(reader: OptionReader): RedisStreamClient | undefined {
  const value = reader.raw.readClient;
  if (value === undefined) return undefined;
  // A blocking read holds its connection: acknowledgements and the unblock need another one.
  if (value === reader.raw.client) throw new RangeError(`${reader.name('readClient')}: expected a connection other than client (try client.duplicate())`);
  return redisClient(value, reader.name('readClient'));
}

function meterOption(reader: OptionReader): Meter | undefined | false {
  const value = reader.raw.telemetry;
  if (value === undefined || value === false) return value;
  if (typeof value !== 'object' || value === null) throw new TypeError(`${reader.name('telemetry')}: expected { meter? } or false`);
  return (value as { meter?: Meter }).meter;
}

function parseSettings(options: FromRedisStreamOptions): Settings & { signal: AbortSignal | undefined } {
  const reader = new OptionReader('fromRedisStream', options, OPTION_KEYS);
  if (options === undefined) throw new TypeError('fromRedisStream: expected an options object');
  const minIdleMs = reader.optionalPositive('minIdleMs', { integer: true, min: 1 }) ?? 60_000;
  const heartbeatMs = reader.optionalPositive('heartbeatMs', { integer: true, min: 1 }) ?? Math.max(1, Math.floor(minIdleMs / 3));
  if (heartbeatMs >= minIdleMs) throw new RangeError(`${reader.name('heartbeatMs')}: expected a number < minIdleMs (${minIdleMs}), got ${heartbeatMs}`);
  const startId = reader.raw.startId ?? '0';
  if (typeof startId !== 'string') throw new TypeError(`${reader.name('startId')}: expected '0', '$' or an entry id`);
  if (startId !== '0' && startId !== '$' && !ENTRY_ID.test(startId)) throw new RangeError(`${reader.name('startId')}: expected '0', '$' or an entry id, got "${startId}"`);
  const signal = reader.raw.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError(`${reader.name('signal')}: expected an AbortSignal`);
  const stream = key(reader.raw.stream, reader.name('stream'));
  return {
    client: redisClient(reader.raw.client, reader.name('client')),
    stream,
    group: key(reader.raw.group, reader.name('group')),
    consumer: key(reader.raw.consumer, reader.name('consumer')),
    batchSize: reader.optionalPositive('batchSize', { integer: true, min: 1 }) ?? 100,
    blockMs: reader.optionalPositive('blockMs', { integer: true, min: 1 }) ?? 2000,
    maxInFlight: reader.optionalPositive('maxInFlight', { integer: true, min: 1 }) ?? 1000,
    minIdleMs,
    claimIntervalMs: reader.optionalPositive('claimIntervalMs', { integer: true, min: 1 }) ?? Math.max(1, Math.floor(minIdleMs / 2)),
    heartbeatMs,
    maxDeliveries: reader.optionalPositive('maxDeliveries', { integer: true, min: 1 }) ?? 5,
    deadLetterStream: reader.raw.deadLetterStream === undefined ? sameSlot(stream, ':dead') : key(reader.raw.deadLetterStream, reader.name('deadLetterStream')),
    createGroup: reader.bool('createGroup', true),
    startId,
    readClient: readClientOption(reader),
    onDeleted: reader.fn('onDeleted'),
    meter: meterOption(reader),
    signal,
  };
}

/** The entry id an ack target names. */
function idOf(target: unknown, stream: string): string {
  let id: unknown = target;
  let from: unknown;
  if (typeof target === 'object' && target !== null) {
    const entry = 'ok' in target && 'item' in target ? (target as Outcome<StreamEntry, unknown>).item : target;
    id = (entry as Partial<StreamEntry> | null)?.id;
    from = (entry as Partial<StreamEntry> | null)?.stream;
  }
  if (typeof id !== 'string' || !ENTRY_ID.test(id)) {
    throw new TypeError(
      "ack: expected an outcome whose item is a StreamEntry, a StreamEntry or an entry id (keep the entry as the chain's item; read its text with the `text` option)",
    );
  }
  if (from !== undefined && from !== stream) throw new TypeError(`ack: entry ${id} is from stream ${JSON.stringify(from)}, not "${stream}"`);
  return id;
}

/** The fields of a dead-letter entry: enough to see why, and to replay the entry. */
export function deadLetterFields(entry: StreamEntry, group: string, consumer: string, error: unknown): Record<string, string> {
  const { name, message } = error instanceof Error ? error : { name: 'Error', message: String(error) };
  return {
    input: entry.id,
    stream: entry.stream,
    group,
    consumer,
    deliveries: String(entry.deliveries),
    error: JSON.stringify({ name, message }),
    fields: JSON.stringify(entry.fields),
  };
}

/** Where one subscription (or one async iteration) stands. */
interface Run {
  closed: boolean;
  /** Re-reading this consumer's own pending list (from this id) before reading new entries. */
  ownCursor: string | undefined;
  claimCursor: string;
  nextClaimAt: number;
  /** The blocking read in progress and its connection's id, so `stop` can interrupt it. */
  reading: { done: boolean; clientId: Promise<unknown> } | undefined;
  readClient: RedisStreamClient | undefined;
}

/**
 * A Redis stream read by one consumer of a consumer group, ready to feed a tokenbatch chain: an RxJS
 * Observable (`source.pipe(bufferByTokens(...), ...)`) and an async iterable (`from(source).pipe(...)`
 * with `tokenbatch/iterable`). Create it with {@link fromRedisStream}.
 *
 * Delivery is at-least-once. An entry counts as in flight from its read until it is acknowledged:
 * by {@link toRedisStream} after its result is written, or by {@link RedisStreamSource.ack}. At most
 * `maxInFlight` entries are in flight; reading waits for acknowledgements beyond that. While entries
 * are in flight a heartbeat resets their idle time, so other consumers leave them alone. Entries
 * left pending by a consumer that died (no heartbeat) are taken over after `minIdleMs` and
 * delivered again, flagged `redelivered`; after `maxDeliveries` they go to the dead-letter stream.
 *
 * One subscription (or iteration) runs at a time. Each new one first re-reads this consumer's own
 * pending entries (what an earlier run read and never acknowledged), then reads new ones.
 * Unsubscribing leaves unacknowledged entries pending; {@link RedisStreamSource.stop} ends reading
 * for good and lets the chain finish what it holds.
 *
 * @example
 * ```ts
 * const source = fromRedisStream({ client, stream: 'tickets', group: 'triage', consumer: 'worker-1' });
 * source
 *   .pipe(bufferByTokens({ maxTokens: 4000, maxWaitMs: 200, text: (entry) => entry.fields.body }), mergeBatches(classify), orderedResults(), toRedisStream({ source, stream: 'tickets:results' }))
 *   .subscribe();
 * ```
 */
export class RedisStreamSource extends Observable<StreamEntry> implements AsyncIterable<StreamEntry> {
  /** The stream key. */
  readonly stream: string;
  /** The consumer group. */
  readonly group: string;
  /** This consumer's name in the group. */
  readonly consumer: string;
  /** The connection used for acknowledgements and claims (and, by default, by {@link toRedisStream}). */
  readonly client: RedisStreamClient;
  /** Deliveries an entry gets at most (see {@link FromRedisStreamOptions.maxDeliveries}). */
  readonly maxDeliveries: number;
  /** Where entries go after `maxDeliveries`. */
  readonly deadLetterStream: string;
  readonly #settings: Settings;
  readonly #inFlight = new Map<string, StreamEntry>();
  /** In-flight entries another consumer took over: counted once, left out of later heartbeats. */
  readonly #lost = new Set<string>();
  readonly #roomWaiters = new Set<() => void>();
  readonly #stats: RedisStreamStats = { read: 0, recovered: 0, claimed: 0, acked: 0, deleted: 0, released: 0, deadLettered: 0, heartbeats: 0, lostClaims: 0 };
  readonly #metrics: RedisMetrics | undefined;
  readonly #gauges: { pending: number | undefined; lag: number | undefined } = { pending: undefined, lag: undefined };
  #run: Run | undefined;
  #stopped = false;
  #groupReady = false;
  #acks: { ids: string[]; waiters: { resolve(): void; reject(error: unknown): void }[] } | undefined;
  #acking = false;
  #heartbeat: ReturnType<typeof setTimeout> | undefined;
  #beating = false;

  /** @internal */
  constructor(settings: Settings, signal: AbortSignal | undefined) {
    // The subscribe function runs only after construction, when the holder is filled.
    const holder: { source?: RedisStreamSource } = {};
    super((subscriber) => (holder.source as RedisStreamSource).#subscribe(subscriber));
    holder.source = this;
    this.#settings = settings;
    this.stream = settings.stream;
    this.group = settings.group;
    this.consumer = settings.consumer;
    this.client = settings.client;
    this.maxDeliveries = settings.maxDeliveries;
    this.deadLetterStream = settings.deadLetterStream;
    if (settings.meter !== false) {
      const attributes = {
        'messaging.system': 'redis',
        'messaging.destination.name': this.stream,
        'messaging.consumer.group.name': this.group,
        'tokenbatch.redis.consumer': this.consumer,
      };
      this.#metrics = new RedisMetrics(settings.meter, attributes, () => ({ ...this.#gauges, inFlight: this.#inFlight.size }));
    }
    if (signal?.aborted) this.#stopped = true;
    else signal?.addEventListener('abort', () => this.stop(), { once: true });
  }

  #subscribe(subscriber: Subscriber<StreamEntry>): TeardownLogic {
    let run: Run;
    try {
      run = this.#start();
    } catch (error) {
      subscriber.error(error);
      return undefined;
    }
    const pump = async (): Promise<void> => {
      for (;;) {
        const entries = await this.#fetch(run);
        if (entries === undefined) return;
        for (const entry of entries) {
          if (run.closed) return;
          subscriber.next(entry);
        }
      }
    };
    // The run ends before the subscriber hears of it, so that `repeat` or `retry` can start the next.
    pump().then(
      () => {
        this.#end(run);
        subscriber.complete();
      },
      (error: unknown) => {
        const closed = run.closed;
        this.#end(run);
        if (!closed) subscriber.error(error);
      },
    );
    return () => this.#close(run);
  }

  /** Entries read and not yet acknowledged. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** What this source has read, reclaimed and acknowledged so far (a copy). */
  get stats(): RedisStreamStats {
    return { ...this.#stats };
  }

  /** True once {@link RedisStreamSource.stop} was called (or `signal` aborted). */
  get stopped(): boolean {
    return this.#stopped;
  }

  /**
   * Stop reading: a blocking read in progress is interrupted, the source completes, and the chain
   * finishes (and acknowledges) what it holds. Final: a later subscription completes at once.
   */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#wakeRoomWaiters();
    if (this.#run) this.#interrupt(this.#run);
  }

  /**
   * Acknowledge entries (`XACK`) whose results are safely stored: for a sink of your own, call it
   * after the write succeeded. Acks made in the same tick go out as one command. Resolves when
   * Redis confirmed; rejects with a {@link RedisStreamError} (the entries then stay pending and will
   * be delivered again).
   *
   * @example
   * ```ts
   * for await (const outcome of outcomes) {
   *   await db.upsert(outcome.item.id, outcome.ok ? outcome.value : null); // idempotent by entry id
   *   await source.ack(outcome);
   * }
   * ```
   */
  ack(target: AckTarget): Promise<void> {
    const targets: readonly unknown[] = Array.isArray(target) ? target : [target];
    let ids: string[];
    try {
      ids = targets.map((one) => idOf(one, this.stream));
    } catch (error) {
      return Promise.reject(error);
    }
    if (ids.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      if (this.#acks) {
        this.#acks.ids.push(...ids);
        this.#acks.waiters.push({ resolve, reject });
      } else {
        this.#acks = { ids, waiters: [{ resolve, reject }] };
        if (!this.#acking) queueMicrotask(() => this.#flushAcks());
      }
    });
  }

  /** The async-iterable face: each `next()` reads from Redis only when the entries already read are taken. */
  [Symbol.asyncIterator](): AsyncIterator<StreamEntry> {
    let run: Run | undefined;
    let buffered: StreamEntry[] = [];
    let finished = false;
    let chain: Promise<unknown> = Promise.resolve();
    // `closing`: the consumer went away (return(), a failure), so what it held is abandoned.
    const finish = (closing: boolean): IteratorResult<StreamEntry> => {
      if (!finished) {
        finished = true;
        if (run) {
          if (closing) this.#close(run);
          this.#end(run);
        }
      }
      return { done: true, value: undefined };
    };
    const pull = async (): Promise<IteratorResult<StreamEntry>> => {
      if (finished) return { done: true, value: undefined };
      run ??= this.#start();
      while (buffered.length === 0) {
        let entries: StreamEntry[] | undefined;
        try {
          entries = await this.#fetch(run);
        } catch (error) {
          finish(true);
          throw error;
        }
        if (entries === undefined || finished) return finish(false);
        buffered = entries;
      }
      return { done: false, value: buffered.shift() as StreamEntry };
    };
    return {
      // Calls are served one after another, as the pulls of a tokenbatch chain are.
      next: () => {
        const result = chain.then(pull);
        chain = result.catch(() => {});
        return result;
      },
      return: async () => finish(true),
    };
  }

  /** @internal Entries acknowledged elsewhere (by {@link toRedisStream}): free their room. */
  _acked(ids: readonly string[], deadLettered = 0): void {
    for (const id of ids) {
      this.#inFlight.delete(id);
      this.#lost.delete(id);
    }
    this.#stats.acked += ids.length;
    this.#stats.deadLettered += deadLettered;
    this.#metrics?.deadLettered(deadLettered);
    this.#wakeRoomWaiters();
  }

  /** @internal Entries whose acknowledgement failed: they stay pending, to be delivered again. */
  _abandoned(ids: readonly string[]): void {
    for (const id of ids) {
      this.#inFlight.delete(id);
      this.#lost.delete(id);
    }
    this.#wakeRoomWaiters();
  }

  /**
   * @internal Entries that failed with a retryable error before their last delivery: left pending
   * without heartbeat, so that after `minIdleMs` a consumer (maybe this one) takes them again.
   */
  _released(ids: readonly string[]): void {
    this.#stats.released += ids.length;
    this.#metrics?.released(ids.length);
    this._abandoned(ids);
  }

  #start(): Run {
    if (this.#run && !this.#run.closed) throw new TokenbatchError(`fromRedisStream: consumer "${this.consumer}" is already being read; one subscription at a time`);
    const run: Run = { closed: false, ownCursor: '0', claimCursor: '0-0', nextClaimAt: 0, reading: undefined, readClient: undefined };
    this.#run = run;
    this.#metrics?.active(true);
    this.#scheduleHeartbeat();
    return run;
  }

  /**
   * The consumer went away (unsubscribe, `return()`): its chain is gone with what it held, which
   * stays pending in Redis, for the next run of this consumer or a claim by another.
   */
  #close(run: Run): void {
    if (run.closed) return;
    run.closed = true;
    this.#inFlight.clear();
    this.#lost.clear();
    this.#wakeRoomWaiters();
    this.#interrupt(run);
  }

  #end(run: Run): void {
    run.closed = true;
    if (this.#run === run) this.#run = undefined;
    if (run.readClient && run.readClient !== this.#settings.readClient) run.readClient.disconnect();
    run.readClient = undefined;
  }

  /** Beat while a run is on or entries are still in flight (a stopped source's chain drains). */
  #scheduleHeartbeat(): void {
    if (this.#heartbeat !== undefined) return;
    this.#heartbeat = setTimeout(() => {
      this.#heartbeat = undefined;
      if (!this.#run && this.#inFlight.size === 0) {
        this.#metrics?.active(false);
        return;
      }
      void this.#beat().finally(() => this.#scheduleHeartbeat());
    }, this.#settings.heartbeatMs);
    this.#heartbeat.unref?.();
  }

  /**
   * Reset the idle time of what this consumer holds, and read the group's lag and pending count.
   * A failed heartbeat is not fatal: the next one tries again, and a failing Redis shows in reads.
   */
  async #beat(): Promise<void> {
    if (this.#beating) return;
    this.#beating = true;
    try {
      const ids = [...this.#inFlight.keys()].filter((id) => !this.#lost.has(id));
      for (let at = 0; at < ids.length; at += 1000) {
        const lost = (await HEARTBEAT.run(this.client, [this.stream], [this.group, this.consumer, ...ids.slice(at, at + 1000)])) as unknown[];
        for (const id of lost) {
          if (!this.#inFlight.has(String(id))) continue;
          this.#lost.add(String(id));
          this.#stats.lostClaims++;
        }
      }
      this.#stats.heartbeats++;
      const groups = (await this.client.call('XINFO', 'GROUPS', this.stream)) as unknown[];
      const row = groups.find((one) => String(infoField(one, 'name')) === this.group);
      if (row !== undefined) {
        const lag = infoField(row, 'lag');
        this.#gauges.pending = Number(infoField(row, 'pending'));
        this.#gauges.lag = lag === null || lag === undefined ? undefined : Number(lag);
      }
    } catch {
      // Reads and writes report an outage; the heartbeat only tries again.
    } finally {
      this.#beating = false;
    }
  }

  /** Wake a blocking read: `CLIENT UNBLOCK` makes it return as if it timed out. */
  #interrupt(run: Run): void {
    const reading = run.reading;
    if (!reading || reading.done) return;
    const attempt = async (): Promise<void> => {
      // The unblock may overtake the read it targets (sent on another connection): retry until it lands.
      for (let tries = 0; !reading.done && tries < 50; tries++) {
        const id = await reading.clientId;
        await this.client.call('CLIENT', 'UNBLOCK', id as number);
        if (!reading.done) await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    attempt().catch(() => {
      // No way to unblock: drop the connection instead (what it was about to deliver stays pending).
      if (!reading.done) run.readClient?.disconnect();
    });
  }

  #room(): number {
    return this.#settings.maxInFlight - this.#inFlight.size;
  }

  #waitForRoom(run: Run): Promise<void> {
    return new Promise((resolve) => {
      if (this.#room() > 0 || run.closed || this.#stopped) return resolve();
      const wake = () => {
        this.#roomWaiters.delete(wake);
        resolve();
      };
      this.#roomWaiters.add(wake);
    });
  }

  #wakeRoomWaiters(): void {
    for (const wake of [...this.#roomWaiters]) wake();
  }

  async #ensureGroup(): Promise<void> {
    if (this.#groupReady || !this.#settings.createGroup) return;
    try {
      await this.client.call('XGROUP', 'CREATE', this.stream, this.group, this.#settings.startId, 'MKSTREAM');
    } catch (error) {
      if (!(error instanceof Error && error.message.startsWith('BUSYGROUP'))) throw failure('XGROUP', this, error);
    }
    this.#groupReady = true;
  }

  /**
   * The next entries to deliver, or undefined once reading is over. In order of preference: this
   * consumer's own pending entries (once per run), entries idle too long elsewhere (when a claim is
   * due), new entries (a blocking read, cut short when the next claim falls due).
   */
  async #fetch(run: Run): Promise<StreamEntry[] | undefined> {
    if (run.closed || this.#stopped) return undefined;
    await this.#ensureGroup();
    const { batchSize, blockMs, minIdleMs, claimIntervalMs } = this.#settings;
    for (;;) {
      if (run.closed || this.#stopped) return undefined;
      if (this.#room() <= 0) {
        await this.#waitForRoom(run);
        continue;
      }
      const count = Math.min(batchSize, this.#room());

      if (run.ownCursor !== undefined) {
        const raw = readReply(await this.#command('XREADGROUP', 'GROUP', this.group, this.consumer, 'COUNT', count, 'STREAMS', this.stream, run.ownCursor));
        // Entries a closed run received stay pending: the next run, or a claim, delivers them.
        if (run.closed) return undefined;
        if (raw.length === 0) {
          run.ownCursor = undefined;
          continue;
        }
        run.ownCursor = (raw[raw.length - 1] as RawEntry)[0];
        const entries = await this.#admit(raw, 'own');
        this.#stats.recovered += entries.length;
        if (entries.length > 0) return entries;
        continue;
      }

      const now = Date.now();
      if (now >= run.nextClaimAt) {
        const reply = (await this.#command('XAUTOCLAIM', this.stream, this.group, this.consumer, minIdleMs, run.claimCursor, 'COUNT', count)) as unknown[];
        if (run.closed) return undefined;
        const next = String(reply[0]);
        run.claimCursor = next;
        // A full scan done: wait for the next interval. Mid-scan: go on at once (room permitting).
        run.nextClaimAt = next === '0-0' ? now + claimIntervalMs : now;
        this.#reportDeleted((reply[2] as string[] | undefined) ?? []);
        const entries = await this.#admit((reply[1] as RawEntry[] | undefined) ?? [], 'claimed');
        this.#stats.claimed += entries.length;
        this.#metrics?.reclaimed(entries.length);
        if (entries.length > 0) return entries;
        continue;
      }

      const block = Math.max(1, Math.min(blockMs, run.nextClaimAt - now));
      const reader = (run.readClient ??= this.#settings.readClient ?? ownConnection(this.client));
      const reading = { done: false, clientId: reader.call('CLIENT', 'ID') };
      reading.clientId.catch(() => {});
      run.reading = reading;
      let reply: unknown;
      try {
        reply = await reader.call('XREADGROUP', 'GROUP', this.group, this.consumer, 'COUNT', count, 'BLOCK', block, 'STREAMS', this.stream, '>');
      } catch (error) {
        if (run.closed) return undefined;
        throw failure('XREADGROUP', this, error);
      } finally {
        reading.done = true;
        run.reading = undefined;
      }
      if (run.closed) return undefined;
      const entries = await this.#admit(readReply(reply), 'new');
      this.#stats.read += entries.length;
      if (entries.length > 0) return entries;
    }
  }

  /**
   * Turn raw entries into deliveries and count them in flight. Entries already in flight here
   * (reclaimed from ourselves while still being processed) are not delivered twice. Deleted ones
   * (no fields) are reported, and dropped from the pending list when they were our own. Redelivered
   * entries past `maxDeliveries` go to the dead-letter stream instead.
   */
  async #admit(raw: readonly RawEntry[], how: 'new' | 'own' | 'claimed'): Promise<StreamEntry[]> {
    const redelivered = how !== 'new';
    const counts = redelivered && raw.length > 0 ? await this.#deliveries(raw) : undefined;
    const entries: StreamEntry[] = [];
    const deleted: string[] = [];
    const exhausted: StreamEntry[] = [];
    for (const [rawId, rawFields] of raw) {
      const id = String(rawId);
      const fields = fieldsOf(rawFields);
      if (fields === undefined) {
        deleted.push(id);
        continue;
      }
      if (this.#inFlight.has(id)) continue;
      const entry: StreamEntry = { id, fields, stream: this.stream, redelivered, deliveries: counts?.get(id) ?? 1 };
      if (entry.deliveries > this.#settings.maxDeliveries) {
        exhausted.push(entry);
        continue;
      }
      this.#inFlight.set(id, entry);
      entries.push(entry);
    }
    if (deleted.length > 0) {
      if (how === 'own') await this.#command('XACK', this.stream, this.group, ...deleted);
      this.#reportDeleted(deleted);
    }
    if (exhausted.length > 0) await this.#deadLetter(exhausted);
    return entries;
  }

  /** How often each of these entries (now pending here) was delivered. */
  async #deliveries(raw: readonly RawEntry[]): Promise<Map<string, number>> {
    const first = String((raw[0] as RawEntry)[0]);
    const last = String((raw[raw.length - 1] as RawEntry)[0]);
    return deliveryCounts(await this.#command('XPENDING', this.stream, this.group, first, last, raw.length + this.#inFlight.size, this.consumer));
  }

  async #deadLetter(entries: readonly StreamEntry[]): Promise<void> {
    const args: (string | number)[] = [this.group, this.consumer, entries.length];
    for (const entry of entries) {
      const error = new DeliveryLimitError(`entry ${entry.id} was delivered ${entry.deliveries} times (maxDeliveries ${this.#settings.maxDeliveries}) without a final outcome`);
      const fields = Object.entries(deadLetterFields(entry, this.group, this.consumer, error)).flat();
      args.push(entry.id, fields.length, ...fields);
    }
    let moved: unknown[];
    try {
      moved = (await DEAD_LETTER.run(this.client, [this.stream, this.deadLetterStream], args)) as unknown[];
    } catch (error) {
      throw failure('EVALSHA', { stream: this.deadLetterStream }, error);
    }
    this.#stats.deadLettered += moved.length;
    this.#metrics?.deadLettered(moved.length);
  }

  #reportDeleted(ids: readonly string[]): void {
    if (ids.length === 0) return;
    this.#stats.deleted += ids.length;
    this.#settings.onDeleted?.(ids);
  }

  async #command(command: string, ...args: (string | number)[]): Promise<unknown> {
    try {
      return await this.client.call(command, ...args);
    } catch (error) {
      throw failure(command, this, error);
    }
  }

  #flushAcks(): void {
    const batch = this.#acks;
    this.#acks = undefined;
    if (!batch) return;
    this.#acking = true;
    this.#command('XACK', this.stream, this.group, ...batch.ids).then(
      () => {
        this.#acking = false;
        this._acked(batch.ids);
        for (const waiter of batch.waiters) waiter.resolve();
        this.#flushAcks();
      },
      (error: unknown) => {
        this.#acking = false;
        this._abandoned(batch.ids);
        for (const waiter of batch.waiters) waiter.reject(error);
        this.#flushAcks();
      },
    );
  }
}

/**
 * Reads a Redis stream as a member of a consumer group (`XREADGROUP`), to feed a tokenbatch chain:
 * the returned source is both an RxJS Observable and an async iterable of {@link StreamEntry}.
 * Several processes with the same `group` and different `consumer` names share the entries; each
 * entry goes to one of them, and to another one if its consumer dies before acknowledging it
 * (at-least-once). Pair it with {@link toRedisStream}, which writes each result and acknowledges its
 * entry in one atomic step, or acknowledge with `source.ack(outcome)` after your own sink.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { bufferByTokens, mergeBatches, orderedResults } from 'tokenbatch';
 * import { fromRedisStream, toRedisStream } from 'tokenbatch/redis';
 *
 * const client = new Redis(process.env.REDIS_URL);
 * const source = fromRedisStream({ client, stream: 'tickets', group: 'triage', consumer: `worker-${process.pid}`, minIdleMs: 120_000 });
 * source
 *   .pipe(
 *     bufferByTokens({ maxTokens: 4000, maxWaitMs: 200, text: (entry) => entry.fields.body ?? '' }),
 *     mergeBatches(classify, { concurrency: 4 }),
 *     orderedResults(),
 *     toRedisStream({ source, stream: 'tickets:results' }),
 *   )
 *   .subscribe();
 * process.on('SIGTERM', () => source.stop()); // finish what is in flight, then exit
 * ```
 */
export function fromRedisStream(options: FromRedisStreamOptions): RedisStreamSource {
  const { signal, ...settings } = parseSettings(options);
  return new RedisStreamSource(settings, signal);
}
