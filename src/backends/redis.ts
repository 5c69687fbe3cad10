import { createHash } from 'node:crypto';
import { isObservable, Observable, type OperatorFunction, type Subscriber, type TeardownLogic } from 'rxjs';
import type { AsyncIterableX } from 'ix/asynciterable/asynciterablex';
import { TokenbatchError } from '../errors.js';
import type { Core, OperatorSpec, Sink } from '../internal/core.js';
import { iterableOperator } from '../internal/iterable-face.js';
import { optionalFunction, optionalPositive, requireObject } from '../internal/options.js';
import { rxOperator } from '../internal/rx-face.js';
import type { Outcome } from '../types.js';

/**
 * What tokenbatch needs of a Redis client: ioredis's `Redis` fits as it is (standalone or Sentinel;
 * any protocol and reply mapping). Every command goes through `call`.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * const client: RedisStreamClient = new Redis('redis://127.0.0.1:6379');
 * ```
 */
export interface RedisStreamClient {
  /** Send one command, as ioredis's `call(command, ...args)`. */
  call(command: string, ...args: (string | number)[]): Promise<unknown>;
  /** A new connection with the same options (used for blocking reads). */
  duplicate(): RedisStreamClient;
  /** Close the connection at once. */
  disconnect(): void;
}

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
   * silent (`XAUTOCLAIM`), or re-read from this consumer's own pending list after a restart.
   */
  readonly redelivered: boolean;
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
   * An entry pending this long at another consumer (read, not acknowledged) is taken over and
   * processed again. Make it longer than the longest time from read to acknowledgement: the wait
   * for a batch to close, queueing, the slowest batch with all its retries, and the write. Default
   * 60,000.
   */
  minIdleMs?: number;
  /** How often to look for such entries (`XAUTOCLAIM`), in ms. Default `minIdleMs / 2`. */
  claimIntervalMs?: number;
  /** Create the group (and the stream) when missing. Default true. */
  createGroup?: boolean;
  /** Where a group created here starts: `'0'` (the whole stream, default) or `'$'` (new entries only). */
  startId?: string;
  /**
   * The connection for blocking reads. Default: `client.duplicate()`, opened on subscription and
   * closed when it ends. (A blocking read holds its connection, so it cannot share `client`.)
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
}

/**
 * Counts of what a {@link RedisStreamSource} has done since it was created.
 *
 * @example
 * ```ts
 * const { read, claimed, acked } = source.stats;
 * ```
 */
export interface RedisStreamStats {
  /** New entries read (`XREADGROUP >`). */
  read: number;
  /** Entries re-read from this consumer's own pending list when a subscription started. */
  recovered: number;
  /** Entries taken over from other consumers (`XAUTOCLAIM`). */
  claimed: number;
  /** Entries acknowledged (by {@link RedisStreamSource.ack} or {@link toRedisStream}). */
  acked: number;
  /** Pending entries found deleted from the stream (see `onDeleted`). */
  deleted: number;
}

/**
 * A Redis command failed while reading, claiming, writing or acknowledging. The entries concerned
 * stay pending and are delivered again (at-least-once); `cause` is the client's error.
 *
 * @example
 * ```ts
 * source$.subscribe({ error: (error) => { if (error instanceof RedisStreamError) console.error(error.command); } });
 * ```
 */
export class RedisStreamError extends TokenbatchError {
  override name = 'RedisStreamError';
  /** The command that failed, such as `'XREADGROUP'`. */
  readonly command: string;
  constructor(command: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.command = command;
  }
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

interface Settings {
  client: RedisStreamClient;
  stream: string;
  group: string;
  consumer: string;
  batchSize: number;
  blockMs: number;
  maxInFlight: number;
  minIdleMs: number;
  claimIntervalMs: number;
  createGroup: boolean;
  startId: string;
  readClient: RedisStreamClient | undefined;
  onDeleted: ((ids: readonly string[]) => void) | undefined;
}

const ENTRY_ID = /^\d+-\d+$/;

function redisClient(value: unknown, name: string): RedisStreamClient {
  const candidate = value as Partial<RedisStreamClient> | null;
  if (typeof candidate !== 'object' || candidate === null || typeof candidate.call !== 'function' || typeof candidate.duplicate !== 'function' || typeof candidate.disconnect !== 'function') {
    throw new TypeError(`${name}: expected a Redis client with call(), duplicate() and disconnect() (an ioredis Redis)`);
  }
  return value as RedisStreamClient;
}

function key(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new TypeError(`${name}: expected a non-empty string`);
  return value;
}

function readClientOption(options: FromRedisStreamOptions): RedisStreamClient | undefined {
  if (options.readClient === undefined) return undefined;
  // A blocking read holds its connection: acknowledgements and the unblock need another one.
  if (options.readClient === options.client) throw new RangeError('readClient: expected a connection other than client (try client.duplicate())');
  return redisClient(options.readClient, 'readClient');
}

function parseSettings(raw: FromRedisStreamOptions): Settings & { signal: AbortSignal | undefined } {
  const options = requireObject(raw, 'fromRedisStream') as unknown as FromRedisStreamOptions;
  const minIdleMs = optionalPositive(options.minIdleMs, 'minIdleMs', { integer: true, min: 1 }) ?? 60_000;
  const startId = options.startId ?? '0';
  if (startId !== '0' && startId !== '$' && !ENTRY_ID.test(startId)) throw new RangeError(`startId: expected '0', '$' or an entry id, got "${String(startId)}"`);
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) throw new TypeError('signal: expected an AbortSignal');
  if (options.createGroup !== undefined && typeof options.createGroup !== 'boolean') throw new TypeError('createGroup: expected a boolean');
  return {
    client: redisClient(options.client, 'client'),
    stream: key(options.stream, 'stream'),
    group: key(options.group, 'group'),
    consumer: key(options.consumer, 'consumer'),
    batchSize: optionalPositive(options.batchSize, 'batchSize', { integer: true, min: 1 }) ?? 100,
    blockMs: optionalPositive(options.blockMs, 'blockMs', { integer: true, min: 1 }) ?? 2000,
    maxInFlight: optionalPositive(options.maxInFlight, 'maxInFlight', { integer: true, min: 1 }) ?? 1000,
    minIdleMs,
    claimIntervalMs: optionalPositive(options.claimIntervalMs, 'claimIntervalMs', { integer: true, min: 1 }) ?? Math.max(1, Math.floor(minIdleMs / 2)),
    createGroup: options.createGroup ?? true,
    startId,
    readClient: readClientOption(options),
    onDeleted: optionalFunction(options.onDeleted, 'onDeleted'),
    signal: options.signal,
  };
}

function failure(command: string, settings: { stream: string }, error: unknown): RedisStreamError {
  const message = error instanceof Error ? error.message : String(error);
  return new RedisStreamError(command, `${command} on stream "${settings.stream}" failed: ${message}`, { cause: error });
}

/** `[id, [field, value, ...] | null]` as a stream reply holds it. */
type RawEntry = [id: string, fields: unknown];

/**
 * The entries of a one-stream `XREADGROUP` reply, whatever the protocol: RESP2 `[[key, entries]]`,
 * ioredis's RESP3 "legacy" mapping `[key, entries]`, or a map (`{ key: entries }`).
 */
function readReply(reply: unknown): RawEntry[] {
  if (reply === null || reply === undefined) return [];
  if (Array.isArray(reply)) {
    if (reply.length === 0) return [];
    if (Array.isArray(reply[0])) return ((reply[0] as unknown[])[1] as RawEntry[] | undefined) ?? [];
    return (reply[1] as RawEntry[] | undefined) ?? [];
  }
  if (reply instanceof Map) return ([...reply.values()][0] as RawEntry[] | undefined) ?? [];
  if (typeof reply === 'object') return (Object.values(reply)[0] as RawEntry[] | undefined) ?? [];
  throw new TypeError(`unexpected XREADGROUP reply: ${typeof reply}`);
}

function fieldsOf(raw: unknown): Record<string, string> | undefined {
  if (raw === null || raw === undefined) return undefined;
  const fields: Record<string, string> = {};
  if (Array.isArray(raw)) {
    for (let i = 0; i + 1 < raw.length; i += 2) fields[String(raw[i])] = String(raw[i + 1]);
  } else if (typeof raw === 'object') {
    for (const [field, value] of raw instanceof Map ? raw : Object.entries(raw)) fields[String(field)] = String(value);
  }
  return fields;
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
    throw new TypeError('ack: expected an outcome whose item is a StreamEntry, a StreamEntry or an entry id (keep the entry as the chain\'s item; read its text with the `text` option)');
  }
  if (from !== undefined && from !== stream) throw new TypeError(`ack: entry ${id} is from stream ${JSON.stringify(from)}, not "${stream}"`);
  return id;
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
 * `maxInFlight` entries are in flight; reading waits for acknowledgements beyond that. Entries left
 * pending by a consumer that died are taken over after `minIdleMs` and delivered again, flagged
 * `redelivered`.
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
  readonly #settings: Settings;
  readonly #inFlight = new Map<string, StreamEntry>();
  readonly #roomWaiters = new Set<() => void>();
  readonly #stats: RedisStreamStats = { read: 0, recovered: 0, claimed: 0, acked: 0, deleted: 0 };
  #run: Run | undefined;
  #stopped = false;
  #groupReady = false;
  #acks: { ids: string[]; waiters: { resolve(): void; reject(error: unknown): void }[] } | undefined;
  #acking = false;

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
  _acked(ids: readonly string[]): void {
    for (const id of ids) this.#inFlight.delete(id);
    this.#stats.acked += ids.length;
    this.#wakeRoomWaiters();
  }

  /** @internal Entries whose acknowledgement failed: they stay pending, to be delivered again. */
  _abandoned(ids: readonly string[]): void {
    for (const id of ids) this.#inFlight.delete(id);
    this.#wakeRoomWaiters();
  }

  #start(): Run {
    if (this.#run && !this.#run.closed) throw new TokenbatchError(`fromRedisStream: consumer "${this.consumer}" is already being read; one subscription at a time`);
    const run: Run = { closed: false, ownCursor: '0', claimCursor: '0-0', nextClaimAt: 0, reading: undefined, readClient: undefined };
    this.#run = run;
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
    this.#wakeRoomWaiters();
    this.#interrupt(run);
  }

  #end(run: Run): void {
    run.closed = true;
    if (this.#run === run) this.#run = undefined;
    if (run.readClient && run.readClient !== this.#settings.readClient) run.readClient.disconnect();
    run.readClient = undefined;
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
        const entries = await this.#admit(raw, true, true);
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
        const entries = await this.#admit((reply[1] as RawEntry[] | undefined) ?? [], true, false);
        this.#stats.claimed += entries.length;
        if (entries.length > 0) return entries;
        continue;
      }

      const block = Math.max(1, Math.min(blockMs, run.nextClaimAt - now));
      const reader = (run.readClient ??= this.#settings.readClient ?? this.client.duplicate());
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
      const entries = await this.#admit(readReply(reply), false, false);
      this.#stats.read += entries.length;
      if (entries.length > 0) return entries;
    }
  }

  /**
   * Turn raw entries into deliveries and count them in flight. Entries already in flight here
   * (reclaimed from ourselves while still being processed) are not delivered twice. Deleted ones
   * (no fields) are reported, and dropped from the pending list when they were our own.
   */
  async #admit(raw: readonly RawEntry[], redelivered: boolean, own: boolean): Promise<StreamEntry[]> {
    const entries: StreamEntry[] = [];
    const deleted: string[] = [];
    for (const [rawId, rawFields] of raw) {
      const id = String(rawId);
      const fields = fieldsOf(rawFields);
      if (fields === undefined) {
        deleted.push(id);
        continue;
      }
      if (this.#inFlight.has(id)) continue;
      const entry: StreamEntry = { id, fields, stream: this.stream, redelivered };
      this.#inFlight.set(id, entry);
      entries.push(entry);
    }
    if (deleted.length > 0) {
      if (own) await this.#command('XACK', this.stream, this.group, ...deleted);
      this.#reportDeleted(deleted);
    }
    return entries;
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
}

// Appends every result, then acknowledges every input entry, atomically: an entry is acknowledged
// only if all the results before it were written (a failing XADD aborts the script before the XACK).
const WRITE_SCRIPT = `
local group, maxlen, n = ARGV[1], ARGV[2], tonumber(ARGV[3])
local at, ids = 4, {}
for e = 1, n do
  local id, k = ARGV[at], tonumber(ARGV[at + 1])
  local args = {}
  for j = 1, k do args[j] = ARGV[at + 1 + j] end
  at = at + 2 + k
  if maxlen == '' then
    redis.call('XADD', KEYS[2], '*', unpack(args))
  else
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', maxlen, '*', unpack(args))
  end
  ids[e] = id
end
return redis.call('XACK', KEYS[1], group, unpack(ids))
`;
const WRITE_SHA = createHash('sha1').update(WRITE_SCRIPT).digest('hex');

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
}

function isOutcome(value: unknown): value is Outcome<StreamEntry, unknown> {
  return typeof value === 'object' && value !== null && typeof (value as Outcome<unknown, unknown>).ok === 'boolean' && 'item' in value;
}

/**
 * Writes outcomes in batches, one script call each, serially; outcomes that arrive during a write
 * form the next batch (at most `maxBatch`). Outcomes go on downstream, in arrival order, once their
 * batch is written and acknowledged. The queue holds only outcomes of in-flight entries, so the
 * source's `maxInFlight` bounds it.
 */
class RedisSinkCore implements Core<unknown> {
  readonly #settings: SinkSettings;
  readonly #sink: Sink<unknown>;
  readonly #queue: Outcome<StreamEntry, unknown>[] = [];
  #writing = false;
  #ended = false;
  #sourceError: { error: unknown } | undefined;
  #done = false;

  constructor(settings: SinkSettings, sink: Sink<unknown>) {
    this.#settings = settings;
    this.#sink = sink;
  }

  accepts(demand: boolean): boolean {
    return !this.#done && this.#queue.length < this.#settings.maxBatch && demand;
  }

  push(input: unknown): void {
    if (this.#done) return;
    const { source } = this.#settings;
    if (!isOutcome(input)) return this.#terminate(new TypeError('toRedisStream: expected outcomes (place it after mergeBatches or orderedResults)'));
    const entry = input.item as Partial<StreamEntry> | null;
    if (typeof entry?.id !== 'string' || entry.stream !== source.stream) {
      return this.#terminate(new TypeError(`toRedisStream: expected outcomes whose item is a StreamEntry of stream "${source.stream}" (keep the entry as the chain's item; read its text with the \`text\` option)`));
    }
    this.#queue.push(input);
    this.#write();
  }

  end(): void {
    this.#ended = true;
    this.#write();
  }

  fail(error: unknown): void {
    // Outcomes received before the error are still written and acknowledged; then the error.
    this.#sourceError = { error };
    this.#ended = true;
    this.#write();
  }

  dispose(): void {
    this.#done = true;
    this.#queue.length = 0;
  }

  #write(): void {
    if (this.#done || this.#writing) return;
    if (this.#queue.length === 0) {
      if (this.#ended) {
        this.#done = true;
        if (this.#sourceError) this.#sink.error(this.#sourceError.error);
        else this.#sink.complete();
        this.#sink.flush();
      }
      return;
    }
    const batch = this.#queue.splice(0, this.#settings.maxBatch);
    this.#writing = true;
    this.#send(batch).then(
      () => {
        this.#writing = false;
        this.#settings.source._acked(batch.map((outcome) => outcome.item.id));
        if (this.#done) return;
        for (const outcome of batch) this.#sink.emit(outcome);
        this.#sink.flush();
        this.#sink.wake();
        this.#write();
      },
      (error: unknown) => {
        this.#writing = false;
        this.#settings.source._abandoned(batch.map((outcome) => outcome.item.id));
        this.#terminate(error);
        this.#sink.flush();
      },
    );
  }

  async #send(batch: readonly Outcome<StreamEntry, unknown>[]): Promise<void> {
    const { source, stream, client, maxLen, encode } = this.#settings;
    const args: (string | number)[] = [2, source.stream, stream, source.group, maxLen === undefined ? '' : maxLen, batch.length];
    for (const outcome of batch) {
      const fields = Object.entries(encode(outcome));
      args.push(outcome.item.id, fields.length * 2);
      for (const [field, value] of fields) args.push(field, String(value));
    }
    try {
      await client.call('EVALSHA', WRITE_SHA, ...args);
    } catch (error) {
      if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw failure('EVALSHA', { stream }, error);
      try {
        await client.call('EVAL', WRITE_SCRIPT, ...args);
      } catch (retryError) {
        throw failure('EVAL', { stream }, retryError);
      }
    }
  }

  #terminate(error: unknown): void {
    if (this.#done) return;
    this.dispose();
    this.#sink.error(error);
  }
}

function sinkSpec<R>(options: ToRedisStreamOptions<R>): OperatorSpec<unknown, Outcome<StreamEntry, R>> {
  requireObject(options, 'toRedisStream');
  if (!(options.source instanceof RedisStreamSource)) throw new TypeError('source: expected the RedisStreamSource the chain reads (from fromRedisStream)');
  const source = options.source;
  const custom = optionalFunction<(outcome: Outcome<StreamEntry, unknown>) => Record<string, string>>(options.encode, 'encode');
  const settings: SinkSettings = {
    source,
    stream: key(options.stream, 'stream'),
    client: options.client === undefined ? source.client : redisClient(options.client, 'client'),
    maxLen: optionalPositive(options.maxLen, 'maxLen', { integer: true, min: 1 }),
    maxBatch: optionalPositive(options.maxBatch, 'maxBatch', { integer: true, min: 1 }) ?? 256,
    encode: custom ?? defaultEncode(source.consumer),
  };
  if (settings.maxBatch > 4000) throw new RangeError(`maxBatch: expected a number <= 4000 (Lua's unpack limit), got ${settings.maxBatch}`);
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
