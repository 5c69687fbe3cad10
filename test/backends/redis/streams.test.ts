/**
 * fromRedisStream / toRedisStream against a real redis-server on loopback (ioredis as the client).
 * Timing comes from Redis itself (idle times); tests wait by polling Redis state with a deadline.
 */
import { from as ixFrom } from 'ix/asynciterable';
import { Redis, type RedisOptions } from 'ioredis';
import { firstValueFrom, lastValueFrom, take, toArray } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bufferByTokens, mergeBatches, orderedResults, type BatchHandler, type Outcome } from '../../../src/index.js';
import * as iterable from '../../../src/iterable.js';
import { fromRedisStream, RedisStreamError, RedisStreamSource, toRedisStream, type StreamEntry } from '../../../src/redis.js';
import { INSTALL_HINT, pendingCount, readResults, redisServerPath, seedStream, startRedisServer, waitFor, type RedisServer } from '../../support/redis.js';

const hasRedis = redisServerPath() !== undefined;
if (!hasRedis) console.warn(`test/backends/redis/streams.test.ts: Redis tests skipped: ${INSTALL_HINT}`);

const text = (entry: StreamEntry): string => entry.fields.text ?? '';
const upper: BatchHandler<StreamEntry, string> = async (batch) => batch.items.map((entry) => text(entry).toUpperCase());
const batching = { maxTokens: 1000, maxItems: 10, maxWaitMs: 10, text };

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

/** A client stand-in for option checks only: these tests never reach Redis. */
const fakeClient = { call: async () => null, duplicate: () => fakeClient, disconnect: () => {} };

describe('fromRedisStream / toRedisStream options', () => {
  const base = { client: fakeClient, stream: 's', group: 'g', consumer: 'c' };
  it('throws at creation, naming the option', () => {
    expect(() => fromRedisStream(undefined as never)).toThrow(TypeError);
    expect(() => fromRedisStream({ ...base, client: {} as never })).toThrow(/^fromRedisStream: client:/);
    expect(() => fromRedisStream({ ...base, stream: '' })).toThrow(/^fromRedisStream: stream:/);
    expect(() => fromRedisStream({ ...base, group: 3 as never })).toThrow(/^fromRedisStream: group:/);
    expect(() => fromRedisStream({ ...base, consumer: undefined as never })).toThrow(/^fromRedisStream: consumer:/);
    expect(() => fromRedisStream({ ...base, batchSize: 0 })).toThrow(RangeError);
    expect(() => fromRedisStream({ ...base, batchSize: 1.5 })).toThrow(/^fromRedisStream: batchSize:/);
    expect(() => fromRedisStream({ ...base, maxInFlight: -1 })).toThrow(/^fromRedisStream: maxInFlight:/);
    expect(() => fromRedisStream({ ...base, minIdleMs: Number.NaN })).toThrow(/^fromRedisStream: minIdleMs:/);
    expect(() => fromRedisStream({ ...base, blockMs: 0 })).toThrow(/^fromRedisStream: blockMs:/);
    expect(() => fromRedisStream({ ...base, claimIntervalMs: Infinity })).toThrow(/^fromRedisStream: claimIntervalMs:/);
    expect(() => fromRedisStream({ ...base, startId: 'latest' })).toThrow(/^fromRedisStream: startId:/);
    expect(() => fromRedisStream({ ...base, createGroup: 'yes' as never })).toThrow(/^fromRedisStream: createGroup:/);
    expect(() => fromRedisStream({ ...base, signal: {} as never })).toThrow(/^fromRedisStream: signal:/);
    expect(() => fromRedisStream({ ...base, readClient: fakeClient })).toThrow(/^fromRedisStream: readClient:/);
    expect(() => fromRedisStream({ ...base, onDeleted: 'log' as never })).toThrow(/^fromRedisStream: onDeleted:/);
    expect(() => fromRedisStream({ ...base, heartbeatMs: 0 })).toThrow(/^fromRedisStream: heartbeatMs:/);
    expect(() => fromRedisStream({ ...base, minIdleMs: 1000, heartbeatMs: 1000 })).toThrow('fromRedisStream: heartbeatMs: expected a number < minIdleMs (1000), got 1000');
    expect(() => fromRedisStream({ ...base, maxDeliveries: 0 })).toThrow(/^fromRedisStream: maxDeliveries:/);
    expect(() => fromRedisStream({ ...base, deadLetterStream: '' })).toThrow(/^fromRedisStream: deadLetterStream:/);
    expect(() => fromRedisStream({ ...base, telemetry: 'on' as never })).toThrow(/^fromRedisStream: telemetry:/);
    expect(() => fromRedisStream({ ...base, minIdle: 5 } as never)).toThrow("fromRedisStream: unknown option 'minIdle' (did you mean 'minIdleMs'?)");
    expect(() => fromRedisStream({ ...base, colour: 'red' } as never)).toThrow("fromRedisStream: unknown option 'colour'");
    expect(fromRedisStream({ ...base, stream: 'tickets' }).deadLetterStream).toBe('{tickets}:dead');
    expect(fromRedisStream({ ...base, stream: '{t}:in' }).deadLetterStream).toBe('{t}:dead');
    expect(fromRedisStream(base)).toBeInstanceOf(RedisStreamSource);
  });

  it('toRedisStream checks its options too', () => {
    const source = fromRedisStream(base);
    expect(() => toRedisStream({ source: {} as never, stream: 'r' })).toThrow(/^toRedisStream: source:/);
    expect(() => toRedisStream({ source, stream: '' })).toThrow(/^toRedisStream: stream:/);
    expect(() => toRedisStream({ source, stream: 'r', maxBatch: 0 })).toThrow(/^toRedisStream: maxBatch:/);
    expect(() => toRedisStream({ source, stream: 'r', maxBatch: 4001 })).toThrow(/^toRedisStream: maxBatch:/);
    expect(() => toRedisStream({ source, stream: 'r', maxLen: 0.5 })).toThrow(/^toRedisStream: maxLen:/);
    expect(() => toRedisStream({ source, stream: 'r', encode: {} as never })).toThrow(/^toRedisStream: encode:/);
    expect(() => toRedisStream({ source, stream: 'r', isFinal: true as never })).toThrow(/^toRedisStream: isFinal:/);
    expect(() => toRedisStream({ source, stream: 'r', maxlen: 5 } as never)).toThrow("toRedisStream: unknown option 'maxlen' (did you mean 'maxLen'?)");
  });

  it('ack rejects what names no entry', async () => {
    const source = fromRedisStream(base);
    await expect(source.ack('not-an-id')).rejects.toThrow(TypeError);
    await expect(source.ack({ index: 0, item: 'text', ok: true, value: 1, splitDepth: 0, attempts: 1 } as never)).rejects.toThrow(/StreamEntry/);
    await expect(source.ack({ id: '1-0', fields: {}, stream: 'other', redelivered: false, deliveries: 1 })).rejects.toThrow(/stream "other"/);
  });
});

describe.skipIf(!hasRedis)('Redis Streams against redis-server', () => {
  let server: RedisServer;
  let client: Redis;
  const opened: Redis[] = [];
  let keys = 0;
  /** A fresh stream key per test. */
  const fresh = (name: string) => `${name}:${++keys}`;

  beforeAll(async () => {
    server = await startRedisServer();
    client = new Redis(server.url);
  });
  afterEach(() => {
    for (const connection of opened.splice(0)) connection.disconnect();
  });
  afterAll(async () => {
    client?.disconnect();
    await server?.stop();
  });

  function connect(options: RedisOptions = {}): Redis {
    const connection = new Redis(server.url, options);
    opened.push(connection);
    return connection;
  }

  it('writes one result per entry (values and errors) and acknowledges each entry after its result', async () => {
    const stream = fresh('items');
    const ids = await seedStream(client, stream, 300, (i) => (i % 50 === 7 ? `fail ${i}` : `item ${i}`));
    const source = fromRedisStream({ client: connect(), stream, group: 'g', consumer: 'c', blockMs: 50 });
    const failing: BatchHandler<StreamEntry, string> = async (batch) => {
      if (batch.items.some((entry) => text(entry).startsWith('fail'))) throw new TypeError('cannot handle a failure item');
      return batch.items.map((entry) => text(entry).toUpperCase());
    };
    const outcomes: Outcome<StreamEntry, string>[] = [];
    const done = lastValueFrom(
      source.pipe(
        bufferByTokens({ ...batching, maxItems: 1 }),
        mergeBatches(failing, { retry: false }),
        orderedResults(),
        toRedisStream({ source, stream: `${stream}:results` }),
        toArray(),
      ),
    );
    // Stop once everything is acknowledged: until then, entries are still being worked on.
    await waitFor(() => source.stats.acked === 300, 10_000, 'every entry acknowledged');
    source.stop();
    outcomes.push(...(await done));

    expect(outcomes.map((outcome) => outcome.item.id)).toEqual(ids);
    expect(await pendingCount(client, stream, 'g')).toBe(0);
    const results = await readResults(client, `${stream}:results`);
    expect(results.map((record) => record.fields.input)).toEqual(ids);
    results.forEach((record, i) => {
      const base = { input: ids[i], stream, consumer: 'c' };
      if (i % 50 === 7) expect(record.fields).toEqual({ ...base, ok: 'false', error: JSON.stringify({ name: 'TypeError', message: 'cannot handle a failure item' }) });
      else expect(record.fields).toEqual({ ...base, ok: 'true', value: JSON.stringify(`ITEM ${i}`) });
    });
    expect(source.stats).toMatchObject({ read: 300, recovered: 0, claimed: 0, acked: 300, deleted: 0, released: 0, deadLettered: 0 });
    expect(source.inFlight).toBe(0);
  });

  it('runs on the async-iterable face with a sink of its own, acknowledging with ack(outcome)', async () => {
    const stream = fresh('items');
    const ids = await seedStream(client, stream, 120, (i) => `line ${i}`);
    const source = fromRedisStream({ client: connect(), stream, group: 'g', consumer: 'c', blockMs: 50, maxInFlight: 30 });
    const store = new Map<string, string>();
    const outcomes = ixFrom(source).pipe(iterable.bufferByTokens(batching), iterable.mergeBatches(upper, { concurrency: 2 }), iterable.orderedResults());
    for await (const outcome of outcomes) {
      store.set(outcome.item.id, outcome.ok ? outcome.value : 'error'); // idempotent: keyed by entry id
      await source.ack(outcome);
      expect(await pendingCount(client, stream, 'g')).toBeLessThanOrEqual(30);
      if (store.size === 120) source.stop();
    }
    expect([...store.keys()]).toEqual(ids);
    expect(store.get(ids[5] as string)).toBe('LINE 5');
    expect(await pendingCount(client, stream, 'g')).toBe(0);
    expect(source.stats.acked).toBe(120);
  });

  it('never holds more than maxInFlight unacknowledged entries, and reads more as acks free room (RxJS)', async () => {
    const stream = fresh('items');
    await seedStream(client, stream, 100, (i) => `entry ${i}`);
    const source = fromRedisStream({ client: connect(), stream, group: 'g', consumer: 'c', blockMs: 50, batchSize: 8, maxInFlight: 20 });
    const held = gate();
    let calls = 0;
    const slow: BatchHandler<StreamEntry, string> = async (batch) => {
      calls++;
      await held.opened;
      return batch.items.map(text);
    };
    const done = lastValueFrom(
      source.pipe(
        bufferByTokens({ ...batching, maxItems: 5 }),
        mergeBatches(slow, { concurrency: 2 }),
        orderedResults(),
        toRedisStream({ source, stream: `${stream}:results` }),
        toArray(),
      ),
    );
    await waitFor(() => source.inFlight === 20 && calls === 2, 10_000, 'the source to fill maxInFlight');
    // The reader now waits for room: Redis has delivered exactly maxInFlight entries, no more.
    expect(await pendingCount(client, stream, 'g')).toBe(20);
    expect(source.stats.read).toBe(20);
    held.open();
    await waitFor(() => source.stats.acked === 100, 10_000, 'every entry acknowledged');
    source.stop();
    expect((await done).length).toBe(100);
    expect(await pendingCount(client, stream, 'g')).toBe(0);
  });

  it('pulls only on demand on the async-iterable face: one read of batchSize per exhausted buffer', async () => {
    const stream = fresh('items');
    const ids = await seedStream(client, stream, 50, (i) => `entry ${i}`);
    const source = fromRedisStream({ client: connect(), stream, group: 'g', consumer: 'c', blockMs: 50, batchSize: 10 });
    const iterator = source[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.value?.id).toBe(ids[0]);
    expect(await pendingCount(client, stream, 'g')).toBe(10);
    for (let i = 1; i < 10; i++) await iterator.next();
    expect(await pendingCount(client, stream, 'g')).toBe(10);
    expect((await iterator.next()).value?.id).toBe(ids[10]);
    expect(await pendingCount(client, stream, 'g')).toBe(20);
    await iterator.return?.();
    expect(source.inFlight).toBe(0); // abandoned with the iteration...
    expect(await pendingCount(client, stream, 'g')).toBe(20); // ...and still pending in Redis
  });

  it('re-reads its own pending entries when a subscription starts again (restart with the same name)', async () => {
    const stream = fresh('items');
    const ids = await seedStream(client, stream, 30, (i) => `entry ${i}`);
    const options = { client: connect(), stream, group: 'g', consumer: 'same', blockMs: 50, batchSize: 10 };
    const first = fromRedisStream(options);
    const seen = await firstValueFrom(first.pipe(take(3), toArray()));
    expect(seen.map((entry) => entry.id)).toEqual(ids.slice(0, 3));
    expect(first.inFlight).toBe(0); // unsubscribed: abandoned, to be recovered
    expect(await pendingCount(client, stream, 'g')).toBe(10);

    // A new process with the same consumer name: minIdleMs is a minute, so no claim explains this.
    const second = fromRedisStream({ ...options, client: connect() });
    const again = await firstValueFrom(second.pipe(take(12), toArray()));
    expect(again.map((entry) => entry.id)).toEqual(ids.slice(0, 12));
    expect(again.map((entry) => entry.redelivered)).toEqual([...Array(10).fill(true), false, false]);
    expect(second.stats).toMatchObject({ recovered: 10, claimed: 0 });
  });

  it('takes over entries another consumer left pending once they are idle for minIdleMs (XAUTOCLAIM)', async () => {
    const stream = fresh('items');
    const ids = await seedStream(client, stream, 40, (i) => `entry ${i}`);
    const dead = fromRedisStream({ client: connect(), stream, group: 'g', consumer: 'dead', blockMs: 50, batchSize: 15 });
    const iterator = dead[Symbol.asyncIterator]();
    await iterator.next();
    await iterator.return?.(); // 15 entries now pending at 'dead', never to be acknowledged

    const deleted: string[] = [];
    await client.call('XDEL', stream, ids[3] as string, ids[4] as string); // trimmed while pending
    const alive = fromRedisStream({
      client: connect(),
      stream,
      group: 'g',
      consumer: 'alive',
      blockMs: 50,
      minIdleMs: 300,
      claimIntervalMs: 50,
      onDeleted: (gone) => deleted.push(...gone),
    });
    const done = lastValueFrom(
      alive.pipe(bufferByTokens(batching), mergeBatches(upper), orderedResults(), toRedisStream({ source: alive, stream: `${stream}:results` }), toArray()),
    );
    await waitFor(async () => (await pendingCount(client, stream, 'g')) === 0 && alive.stats.acked === 38, 10_000, 'the abandoned entries to be reclaimed and finished');
    alive.stop();
    const outcomes = await done;
    const claimed = outcomes.filter((outcome) => outcome.item.redelivered).map((outcome) => outcome.item.id);
    expect(claimed.sort()).toEqual(
      ids
        .slice(0, 15)
        .filter((_, i) => i !== 3 && i !== 4)
        .sort(),
    );
    expect(deleted.sort()).toEqual([ids[3], ids[4]].sort());
    expect(alive.stats).toMatchObject({ read: 25, claimed: 13, deleted: 2, acked: 38 });
    const results = await readResults(client, `${stream}:results`);
    expect(new Set(results.map((record) => record.fields.input)).size).toBe(38);
  });

  it('drops its own pending entries that were deleted from the stream, and says so', async () => {
    const stream = fresh('items');
    const ids = await seedStream(client, stream, 10, (i) => `entry ${i}`);
    const options = { client: connect(), stream, group: 'g', consumer: 'c', blockMs: 50 };
    const first = fromRedisStream(options);
    await firstValueFrom(first.pipe(take(1)));
    await client.call('XDEL', stream, ids[0] as string);
    const deleted: string[] = [];
    const second = fromRedisStream({ ...options, onDeleted: (gone) => deleted.push(...gone) });
    const entries = await firstValueFrom(second.pipe(take(9), toArray()));
    expect(entries.map((entry) => entry.id)).toEqual(ids.slice(1));
    expect(deleted).toEqual([ids[0]]);
    expect(second.stats.deleted).toBe(1);
  });

  it('stop() interrupts a blocking read at once and lets in-flight batches finish and be acknowledged', { timeout: 10_000 }, async () => {
    const stream = fresh('items');
    await seedStream(client, stream, 25, (i) => `entry ${i}`);
    // A read would block for a minute: only CLIENT UNBLOCK can end this test within its timeout.
    const source = fromRedisStream({ client: connect(), stream, group: 'g', consumer: 'c', blockMs: 60_000, minIdleMs: 120_000 });
    const held = gate();
    let calls = 0;
    const slow: BatchHandler<StreamEntry, string> = async (batch) => {
      calls++;
      await held.opened;
      return batch.items.map(text);
    };
    const done = lastValueFrom(
      source.pipe(bufferByTokens(batching), mergeBatches(slow, { concurrency: 3 }), orderedResults(), toRedisStream({ source, stream: `${stream}:results` }), toArray()),
    );
    await waitFor(() => calls === 3 && source.stats.read === 25, 5_000, 'three batches in flight');
    source.stop();
    held.open();
    expect((await done).length).toBe(25);
    expect(await pendingCount(client, stream, 'g')).toBe(0);
    expect(source.stopped).toBe(true);
    // Final: subscribing again completes at once.
    expect(await lastValueFrom(source.pipe(toArray()))).toEqual([]);
  });

  it('an aborted signal stops it too, and an idle blocking read ends at once', { timeout: 10_000 }, async () => {
    const stream = fresh('items');
    const controller = new AbortController();
    const source = fromRedisStream({ client: connect(), stream, group: 'g', consumer: 'c', blockMs: 60_000, signal: controller.signal });
    const done = lastValueFrom(source.pipe(toArray()));
    await waitFor(async () => String(await client.call('CLIENT', 'LIST')).includes('cmd=xreadgroup'), 5_000, 'the read to block');
    controller.abort();
    expect(await done).toEqual([]);
  });

  it('reads every reply shape: RESP2, RESP3 with ioredis legacy mapping, RESP3 maps', async () => {
    for (const options of [{ protocol: 2 }, {}, { replyMapping: 'resp3' }] as RedisOptions[]) {
      const stream = fresh('shapes');
      const ids = await seedStream(client, stream, 12, (i) => `entry ${i}`);
      const source = fromRedisStream({ client: connect(options), stream, group: 'g', consumer: 'c', blockMs: 50, batchSize: 5 });
      const outcomes = await firstValueFrom(
        source.pipe(bufferByTokens(batching), mergeBatches(upper), orderedResults(), toRedisStream({ source, stream: `${stream}:results` }), take(12), toArray()),
      );
      expect(outcomes.map((outcome) => [outcome.item.id, outcome.item.fields])).toEqual(ids.map((id, i) => [id, { text: `entry ${i}` }]));
      await waitFor(async () => (await pendingCount(client, stream, 'g')) === 0, 5_000, `acks (${JSON.stringify(options)})`);
    }
  });

  it('a failed write fails the stream with RedisStreamError and acknowledges nothing', async () => {
    const stream = fresh('items');
    await seedStream(client, stream, 10, (i) => `entry ${i}`);
    await client.call('SET', `${stream}:results`, 'not a stream');
    const source = fromRedisStream({ client: connect(), stream, group: 'g', consumer: 'c', blockMs: 50 });
    const run = lastValueFrom(source.pipe(bufferByTokens(batching), mergeBatches(upper), orderedResults(), toRedisStream({ source, stream: `${stream}:results` })));
    const error = await run.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RedisStreamError);
    expect((error as RedisStreamError).message).toMatch(/WRONGTYPE/);
    expect(await pendingCount(client, stream, 'g')).toBe(10); // still pending: they will be delivered again
    expect(source.stats.acked).toBe(0);
  });

  it('refuses a second concurrent subscription, and outcomes that are not of its entries', async () => {
    const stream = fresh('items');
    await seedStream(client, stream, 3, (i) => `entry ${i}`);
    const source = fromRedisStream({ client: connect(), stream, group: 'g', consumer: 'c', blockMs: 50 });
    const first = source.subscribe();
    await expect(lastValueFrom(source)).rejects.toThrow(/one subscription at a time/);
    first.unsubscribe();
    const notEntries = ixFrom([{ index: 0, item: 'text', ok: true, value: 'x', splitDepth: 0, attempts: 1 }] as unknown as Outcome<StreamEntry, string>[]);
    const drain = async () => {
      for await (const _outcome of notEntries.pipe(toRedisStream({ source, stream: 'r' }))) {
        // nothing is written
      }
    };
    await expect(drain()).rejects.toThrow(/StreamEntry/);
  });
});

if (!hasRedis) {
  describe('Redis Streams against redis-server', () => {
    it.skip(`skipped: ${INSTALL_HINT}`, () => {});
  });
}
