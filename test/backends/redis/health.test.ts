/**
 * Worker health against a real redis-server: the heartbeat keeps slow batches with their worker,
 * failures that may pass are delivered again instead of being acknowledged, maxDeliveries ends in
 * the dead-letter stream, an outage is survived without unhandled error events, and the metrics.
 */
import { AggregationTemporality, MeterProvider, MetricReader, type MetricData } from '@opentelemetry/sdk-metrics';
import { Redis } from 'ioredis';
import { lastValueFrom, map, toArray } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { BatchRejectedError, bufferByTokens, mergeBatches, orderedResults, TransientError, type BatchHandler, type Outcome } from '../../../src/index.js';
import { fromRedisStream, isFinalFailure, toRedisStream, type StreamEntry } from '../../../src/redis.js';
import { INSTALL_HINT, pendingCount, readResults, redisServerPath, seedStream, startRedisServer, waitFor, type RedisServer } from '../../support/redis.js';

const hasRedis = redisServerPath() !== undefined;
if (!hasRedis) console.warn(`test/backends/redis/health.test.ts: Redis tests skipped: ${INSTALL_HINT}`);

const text = (entry: StreamEntry): string => entry.fields.text ?? '';
const batching = { maxTokens: 1000, maxItems: 4, maxWaitMs: 10, text };

/** An outcome as mergeBatches gives it, for feeding the sink directly. */
function outcomeOf(entry: StreamEntry, index: number, result: { value: string } | { error: Error }): Outcome<StreamEntry, string> {
  const base = { index, item: entry, splitDepth: 0, attempts: 1 };
  return 'error' in result ? { ...base, ok: false, error: result.error } : { ...base, ok: true, value: result.value };
}

class CollectingReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  async metrics(): Promise<Map<string, MetricData>> {
    const { resourceMetrics } = await this.collect();
    const byName = new Map<string, MetricData>();
    for (const { metrics: list } of resourceMetrics.scopeMetrics) for (const metric of list) byName.set(metric.descriptor.name, metric);
    return byName;
  }
}

describe('isFinalFailure', () => {
  it('is final for what an item causes, not for what may pass on another delivery', () => {
    expect(isFinalFailure(new BatchRejectedError('refused'))).toBe(true);
    expect(isFinalFailure(new TypeError('bug'))).toBe(true);
    expect(isFinalFailure(new TransientError('502'))).toBe(false);
  });
});

describe.skipIf(!hasRedis)('worker health against redis-server', () => {
  let server: RedisServer;
  let client: Redis;
  const opened: Redis[] = [];
  let keys = 0;
  const fresh = (name: string) => `{${name}-${++keys}}:items`;

  beforeAll(async () => {
    server = await startRedisServer();
    client = new Redis(server.url);
    client.on('error', () => {});
  });
  afterEach(() => {
    for (const connection of opened.splice(0)) connection.disconnect();
  });
  afterAll(async () => {
    client?.disconnect();
    await server?.stop();
  });

  function connect(): Redis {
    const connection = new Redis(server.url);
    connection.on('error', () => {}); // the user's own connection: the user's listener
    opened.push(connection);
    return connection;
  }

  it('a batch slower than minIdleMs keeps its claim: the heartbeat resets its idle time, so nobody steals it', async () => {
    const stream = fresh('slow');
    const ids = await seedStream(client, stream, 4, (i) => `entry ${i}`);
    const slow = fromRedisStream({ client: connect(), stream, group: 'g', consumer: 'slow', blockMs: 50, minIdleMs: 300, heartbeatMs: 60, claimIntervalMs: 50 });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let calls = 0;
    const handler: BatchHandler<StreamEntry, string> = async (batch) => {
      calls++;
      await held;
      return batch.items.map(text);
    };
    const done = lastValueFrom(
      slow.pipe(bufferByTokens(batching), mergeBatches(handler), orderedResults(), toRedisStream({ source: slow, stream: `${stream}:results` }), toArray()),
    );
    await waitFor(() => calls === 1, 5_000, 'the slow batch to start');
    // A second consumer looks for idle entries every 50 ms while the batch takes > 3 × minIdleMs.
    const thief = fromRedisStream({ client: connect(), stream, group: 'g', consumer: 'thief', blockMs: 50, minIdleMs: 300, claimIntervalMs: 50 });
    const stolen: string[] = [];
    const watching = thief.subscribe((entry) => stolen.push(entry.id));
    await waitFor(() => slow.stats.heartbeats >= 15, 10_000, 'fifteen heartbeats (more than 3 × minIdleMs)');
    release();
    await waitFor(() => slow.stats.acked === 4, 5_000, 'the slow batch to be acknowledged');
    slow.stop();
    thief.stop();
    watching.unsubscribe();
    expect((await done).map((outcome) => outcome.item.id)).toEqual(ids);
    expect(stolen).toEqual([]);
    expect(thief.stats.claimed).toBe(0);
    expect(slow.stats.lostClaims).toBe(0);
    expect(await readResults(client, `${stream}:results`)).toHaveLength(4);
  });

  it('the heartbeat never takes back an entry another consumer took over: it counts a lost claim', async () => {
    const stream = fresh('lost');
    const ids = await seedStream(client, stream, 2, (i) => `entry ${i}`);
    const source = fromRedisStream({ client: connect(), stream, group: 'g', consumer: 'stalled', blockMs: 50, minIdleMs: 300, heartbeatMs: 30 });
    const iterator = source[Symbol.asyncIterator]();
    await iterator.next(); // both entries read and held
    // Another worker decided this one was dead and took the first entry.
    await client.call('XCLAIM', stream, 'g', 'rescuer', 0, ids[0] as string);
    await waitFor(() => source.stats.lostClaims >= 1, 5_000, 'a heartbeat to notice');
    const beats = source.stats.heartbeats;
    await waitFor(() => source.stats.heartbeats >= beats + 3, 5_000, 'more heartbeats');
    expect(source.stats.lostClaims).toBe(1); // counted once
    const owners = (await client.call('XPENDING', stream, 'g', '-', '+', 10)) as [string, string][];
    expect(owners.map(([id, owner]) => [id, owner])).toEqual([
      [ids[0], 'rescuer'],
      [ids[1], 'stalled'],
    ]);
    await iterator.return?.();
  });

  it('end to end with mergeBatches: a poison entry among 20 fails alone, its 19 batch-mates are written as answered (issue 12)', async () => {
    const stream = fresh('poison-e2e');
    const ids = await seedStream(client, stream, 20, (i) => (i === 13 ? 'poison' : `mate ${i}`));
    const source = fromRedisStream({ client: connect(), stream, group: 'g', consumer: 'c', blockMs: 50 });
    let calls = 0;
    // The model refuses any call that holds the poison: mergeBatches bisects to find it.
    const handler: BatchHandler<StreamEntry, string> = async (batch) => {
      calls++;
      if (batch.items.some((entry) => text(entry) === 'poison')) throw new BatchRejectedError('content rejected');
      return batch.items.map((entry) => text(entry).toUpperCase());
    };
    const done = lastValueFrom(
      source.pipe(
        bufferByTokens({ ...batching, maxItems: 20, maxWaitMs: 50 }),
        mergeBatches(handler),
        orderedResults(),
        toRedisStream({ source, stream: `${stream}:results` }),
        toArray(),
      ),
    );
    await waitFor(async () => source.stats.acked === 20 && (await pendingCount(client, stream, 'g')) === 0, 10_000, 'every entry settled');
    source.stop();
    await done;
    const results = await readResults(client, `${stream}:results`);
    expect(results.map((record) => record.fields.input)).toEqual(ids);
    results.forEach((record, i) => {
      if (i === 13) expect(record.fields).toMatchObject({ ok: 'false', error: JSON.stringify({ name: 'BatchRejectedError', message: 'content rejected' }) });
      else expect(record.fields).toMatchObject({ ok: 'true', value: JSON.stringify(`MATE ${i}`) });
    });
    expect(calls).toBeLessThanOrEqual(1 + 2 * Math.ceil(Math.log2(20)));
    expect(source.stats).toMatchObject({ released: 0, deadLettered: 0, claimed: 0 });
  });

  it('end to end: an item that keeps failing with a retryable error of its own is delivered again, and answered then', async () => {
    const stream = fresh('flaky-e2e');
    const ids = await seedStream(client, stream, 6, (i) => `item ${i}`);
    const source = fromRedisStream({ client: connect(), stream, group: 'g', consumer: 'c', blockMs: 50, minIdleMs: 150, claimIntervalMs: 30 });
    // Item 4's own result is a 503 on its first delivery, every attempt (the per-item Error contract).
    const handler: BatchHandler<StreamEntry, string> = async (batch) =>
      batch.items.map((entry) => (text(entry) === 'item 4' && entry.deliveries === 1 ? (new TransientError('503 for this item') as unknown as string) : text(entry)));
    const done = lastValueFrom(
      source.pipe(
        bufferByTokens({ ...batching, maxItems: 6 }),
        mergeBatches(handler, { retry: { maxAttempts: 2, baseDelayMs: 1 } }),
        orderedResults(),
        toRedisStream({ source, stream: `${stream}:results` }),
        toArray(),
      ),
    );
    await waitFor(async () => source.stats.acked === 6 && (await pendingCount(client, stream, 'g')) === 0, 10_000, 'every entry settled');
    source.stop();
    await done;
    const results = await readResults(client, `${stream}:results`);
    expect(results).toHaveLength(6); // the released failure was never written
    expect(results.find((record) => record.fields.input === ids[4])?.fields).toMatchObject({ ok: 'true', value: '"item 4"' });
    expect(source.stats).toMatchObject({ released: 1, claimed: 1 });
  });

  it('a poison entry fails alone; a batch-mate whose failure may pass is delivered again, not acknowledged as failed', async () => {
    const stream = fresh('poison');
    const ids = await seedStream(client, stream, 4, (i) => (i === 2 ? 'poison' : `mate ${i}`));
    const source = fromRedisStream({ client: connect(), stream, group: 'g', consumer: 'c', blockMs: 50, minIdleMs: 200, claimIntervalMs: 50 });
    // The outcomes mergeBatches gives once it has isolated the poison (issue 12): the poison's own
    // final failure; a mate that ran out of attempts on a 502; the others answered.
    const outcomes = source.pipe(
      map((entry, index) => {
        if (text(entry) === 'poison') return outcomeOf(entry, index, { error: new BatchRejectedError('the model refused this item') });
        if (text(entry) === 'mate 3' && entry.deliveries === 1) return outcomeOf(entry, index, { error: new TransientError('502 for the whole batch') });
        return outcomeOf(entry, index, { value: text(entry).toUpperCase() });
      }),
      toRedisStream({ source, stream: `${stream}:results` }),
      toArray(),
    );
    const done = lastValueFrom(outcomes);
    await waitFor(async () => source.stats.acked === 4 && (await pendingCount(client, stream, 'g')) === 0, 10_000, 'every entry settled');
    source.stop();
    const seen = await done;
    const results = await readResults(client, `${stream}:results`);
    const byInput = new Map(results.map((record) => [record.fields.input, record.fields]));
    expect(results).toHaveLength(4); // one result each: the released failure was never written
    expect(byInput.get(ids[2])).toMatchObject({ ok: 'false', error: JSON.stringify({ name: 'BatchRejectedError', message: 'the model refused this item' }) });
    expect(byInput.get(ids[3])).toMatchObject({ ok: 'true', value: '"MATE 3"' });
    expect(byInput.get(ids[0])).toMatchObject({ ok: 'true', value: '"MATE 0"' });
    const redelivered = seen.filter((outcome) => outcome.item.redelivered);
    expect(redelivered.map((outcome) => [outcome.item.id, outcome.item.deliveries])).toEqual([[ids[3], 2]]);
    expect(source.stats).toMatchObject({ released: 1, claimed: 1, acked: 4, deadLettered: 0 });
  });

  it('an entry that keeps failing goes to the dead-letter stream with its error after maxDeliveries', async () => {
    const stream = fresh('dlq');
    const ids = await seedStream(client, stream, 6, (i) => (i === 1 ? 'flaky forever' : `fine ${i}`));
    const source = fromRedisStream({ client: connect(), stream, group: 'g', consumer: 'c', blockMs: 50, minIdleMs: 150, claimIntervalMs: 30, maxDeliveries: 3 });
    const handler: BatchHandler<StreamEntry, string> = async (batch) => {
      if (batch.items.some((entry) => text(entry) === 'flaky forever')) throw new TransientError('503 whenever this entry is in the batch');
      return batch.items.map((entry) => text(entry).toUpperCase());
    };
    const done = lastValueFrom(
      source.pipe(
        bufferByTokens({ ...batching, maxItems: 1 }),
        mergeBatches(handler, { retry: false }),
        orderedResults(),
        toRedisStream({ source, stream: `${stream}:results` }),
        toArray(),
      ),
    );
    await waitFor(async () => source.stats.acked === 6 && (await pendingCount(client, stream, 'g')) === 0, 10_000, 'every entry settled');
    source.stop();
    await done;
    expect(source.deadLetterStream).toBe(`{${stream.slice(1, stream.indexOf('}'))}}:dead`);
    const dead = await readResults(client, source.deadLetterStream);
    expect(dead).toHaveLength(1);
    expect(dead[0]?.fields).toEqual({
      input: ids[1],
      stream,
      group: 'g',
      consumer: 'c',
      deliveries: '3',
      error: JSON.stringify({ name: 'TransientError', message: '503 whenever this entry is in the batch' }),
      fields: JSON.stringify({ text: 'flaky forever' }),
    });
    const results = await readResults(client, `${stream}:results`);
    expect(results).toHaveLength(6);
    expect(results.find((record) => record.fields.input === ids[1])?.fields.ok).toBe('false');
    expect(source.stats).toMatchObject({ released: 2, deadLettered: 1, acked: 6 });
  });

  it('an entry whose workers died on it maxDeliveries times is dead-lettered when claimed again, with DeliveryLimitError', async () => {
    const stream = fresh('crashy');
    const ids = await seedStream(client, stream, 3, (i) => `entry ${i}`);
    await client.call('XGROUP', 'CREATE', stream, 'g', '0');
    await client.call('XREADGROUP', 'GROUP', 'g', 'gone-1', 'COUNT', 1, 'STREAMS', stream, '>');
    // Two more workers took it over and died too (each XCLAIM is a delivery).
    await client.call('XCLAIM', stream, 'g', 'gone-2', 0, ids[0] as string);
    await client.call('XCLAIM', stream, 'g', 'gone-3', 0, ids[0] as string);
    const reader = new CollectingReader();
    const meter = new MeterProvider({ readers: [reader] }).getMeter('test');
    const source = fromRedisStream({
      client: connect(),
      stream,
      group: 'g',
      consumer: 'c',
      blockMs: 50,
      minIdleMs: 100,
      claimIntervalMs: 30,
      maxDeliveries: 3,
      telemetry: { meter },
    });
    const entries: StreamEntry[] = [];
    const watching = source.subscribe((entry) => {
      entries.push(entry);
      void source.ack(entry);
    });
    await waitFor(async () => source.stats.deadLettered === 1 && (await pendingCount(client, stream, 'g')) === 0, 10_000, 'the entry to be dead-lettered');
    source.stop();
    watching.unsubscribe();
    expect(entries.map((entry) => entry.id)).toEqual(ids.slice(1));
    const [letter] = await readResults(client, source.deadLetterStream);
    expect(letter?.fields).toMatchObject({ input: ids[0], deliveries: '4', error: expect.stringContaining('DeliveryLimitError') as string });
    expect((await reader.metrics()).get('tokenbatch.redis.dead_lettered')?.dataPoints[0]?.value).toBe(1);
  });

  it('reports consumer lag, pending, in-flight and reclaimed entries as OpenTelemetry metrics', async () => {
    const stream = fresh('metrics');
    await seedStream(client, stream, 20, (i) => `entry ${i}`);
    await client.call('XGROUP', 'CREATE', stream, 'g', '0');
    await client.call('XREADGROUP', 'GROUP', 'g', 'gone', 'COUNT', 2, 'STREAMS', stream, '>'); // left pending by a dead worker
    const reader = new CollectingReader();
    const meter = new MeterProvider({ readers: [reader] }).getMeter('test');
    const source = fromRedisStream({
      client: connect(),
      stream,
      group: 'g',
      consumer: 'c',
      blockMs: 50,
      batchSize: 5,
      maxInFlight: 5,
      minIdleMs: 100,
      heartbeatMs: 30,
      claimIntervalMs: 30,
      telemetry: { meter },
    });
    const iterator = source[Symbol.asyncIterator]();
    const first = await iterator.next(); // 5 read and held: the rest is lag
    await waitFor(() => source.stats.heartbeats >= 2, 5_000, 'heartbeats');
    let collected = await reader.metrics();
    const value = (name: string) => collected.get(name)?.dataPoints[0]?.value as number | undefined;
    expect(value('tokenbatch.redis.consumer.lag')).toBe(13);
    expect(value('tokenbatch.redis.pending')).toBe(7);
    expect(value('tokenbatch.redis.in_flight')).toBe(5);
    expect(collected.get('tokenbatch.redis.in_flight')?.dataPoints[0]?.attributes).toEqual({
      'messaging.system': 'redis',
      'messaging.destination.name': stream,
      'messaging.consumer.group.name': 'g',
      'tokenbatch.redis.consumer': 'c',
    });
    await source.ack([first.value as StreamEntry]);
    // Read on, acknowledging, until the dead worker's two entries, idle by now, are taken over.
    const redelivered: StreamEntry[] = [];
    for (let reads = 0; redelivered.length < 2 && reads < 25; reads++) {
      const entry = (await iterator.next()).value as StreamEntry;
      if (entry.redelivered) redelivered.push(entry);
      await source.ack(entry);
    }
    expect(redelivered).toHaveLength(2);
    await iterator.return?.();
    collected = await reader.metrics();
    expect(value('tokenbatch.redis.reclaimed')).toBe(2);
  });

  it('survives an outage: no unhandled error event, and the work resumes when Redis is back', { timeout: 30_000 }, async () => {
    const errors = vi.spyOn(console, 'error');
    try {
      const stream = fresh('outage');
      await seedStream(client, stream, 40, (i) => `before ${i}`);
      const source = fromRedisStream({ client: connect(), stream, group: 'g', consumer: 'c', blockMs: 100, minIdleMs: 2_000 });
      const done = lastValueFrom(
        source.pipe(
          bufferByTokens(batching),
          mergeBatches(async (batch: { items: readonly StreamEntry[] }) => batch.items.map(text)),
          orderedResults(),
          toRedisStream({ source, stream: `${stream}:results` }),
          toArray(),
        ),
      );
      await waitFor(() => source.stats.acked === 40, 10_000, 'the first entries');
      await server.crash(); // the blocking read's connection, and every other, now fails to reconnect
      await new Promise((resolve) => setTimeout(resolve, 400));
      await server.restart();
      await seedStream(client, stream, 40, (i) => `after ${i}`);
      await waitFor(async () => source.stats.acked === 80 && (await pendingCount(client, stream, 'g')) === 0, 20_000, 'the entries added after the outage');
      source.stop();
      expect((await done).length).toBe(80);
      expect(new Set((await readResults(client, `${stream}:results`)).map((record) => record.fields.input)).size).toBe(80);
      const unhandled = errors.mock.calls.filter((call) => String(call[0]).includes('Unhandled error event'));
      expect(unhandled).toEqual([]);
    } finally {
      errors.mockRestore();
    }
  });
});

if (!hasRedis) {
  describe('worker health against redis-server', () => {
    it.skip(`skipped: ${INSTALL_HINT}`, () => {});
  });
}
