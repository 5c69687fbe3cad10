/**
 * Scaling out: worker processes of one consumer group share a stream, against a real redis-server.
 * Each worker (test/support/redis-worker.ts) runs the whole chain with the embedded handler.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INSTALL_HINT, pendingCount, readResults, redisServerPath, seedStream, startRedisServer, waitFor, type RedisServer, type ResultRecord } from '../../support/redis.js';
import { forkWorker, type Worker } from '../../support/redis-workers.js';

const ITEMS = 10_000;
const hasRedis = redisServerPath() !== undefined;
if (!hasRedis) console.warn(`test/backends/redis/workers.slow.test.ts skipped: ${INSTALL_HINT}`);

/** Distinct input ids among the results, and how many results each got. */
function tally(results: readonly ResultRecord[]): Map<string, ResultRecord[]> {
  const byInput = new Map<string, ResultRecord[]>();
  for (const record of results) {
    const input = record.fields.input as string;
    byInput.set(input, [...(byInput.get(input) ?? []), record]);
  }
  return byInput;
}

describe.skipIf(!hasRedis)('Redis Streams: worker processes of one consumer group', () => {
  let server: RedisServer;
  let client: Redis;
  const workers: Worker[] = [];

  beforeAll(async () => {
    server = await startRedisServer();
    client = new Redis(server.url);
  });

  afterAll(async () => {
    for (const worker of workers) if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
    await Promise.all(workers.map((worker) => worker.exited));
    client?.disconnect();
    await server?.stop();
  });

  function start(env: Record<string, string | number>): Worker {
    const worker = forkWorker({ REDIS_URL: server.url, ...env });
    workers.push(worker);
    return worker;
  }

  it(`share ${ITEMS.toLocaleString('en-US')} items: exactly one result per entry, both workers doing a substantial part`, async () => {
    const ids = await seedStream(client, 'share:items', ITEMS, (i) => `item ${i} of the shared stream`);
    await client.call('XGROUP', 'CREATE', 'share:items', 'workers', '0');
    const common = { WORKER_STREAM: 'share:items', WORKER_GROUP: 'workers', WORKER_RESULTS: 'share:results', WORKER_MAX_IN_FLIGHT: 200 };
    // One worker on each face: the RxJS chain and the async-iterable chain cooperate in one group.
    const a = start({ ...common, WORKER_CONSUMER: 'a', WORKER_FACE: 'rx' });
    const b = start({ ...common, WORKER_CONSUMER: 'b', WORKER_FACE: 'iterable' });
    await Promise.all([a.next('ready'), b.next('ready')]);
    a.send('go');
    b.send('go');

    await waitFor(
      async () => Number(await client.call('XLEN', 'share:results')) >= ITEMS && (await pendingCount(client, 'share:items', 'workers')) === 0,
      25_000,
      'every entry to have a result and be acknowledged',
    );
    a.send('stop');
    b.send('stop');
    const [doneA, doneB] = await Promise.all([a.next('done'), b.next('done')]);
    expect(await Promise.all([a.exited, b.exited])).toEqual([0, 0]);

    const results = await readResults(client, 'share:results');
    const byInput = tally(results);
    expect(results.length).toBe(ITEMS); // no crash, so no duplicate
    expect(byInput.size).toBe(ITEMS);
    expect([...byInput.keys()].sort()).toEqual([...ids].sort());
    const text = new Map(ids.map((id, i) => [id, `item ${i} of the shared stream`]));
    for (const [input, [record]] of byInput) {
      expect(record?.fields).toMatchObject({ ok: 'true', stream: 'share:items', value: JSON.stringify(text.get(input)?.toUpperCase()) });
    }
    const share = { a: results.filter((r) => r.fields.consumer === 'a').length, b: results.filter((r) => r.fields.consumer === 'b').length };
    expect(share.a + share.b).toBe(ITEMS);
    expect(share.a).toBeGreaterThan(ITEMS * 0.2);
    expect(share.b).toBeGreaterThan(ITEMS * 0.2);
    expect(doneA.processed).toBe(share.a);
    expect(doneB.processed).toBe(share.b);
    expect(doneA.stats.claimed + doneB.stats.claimed).toBe(0);
  });

  it('a worker killed mid-batch loses nothing: the survivor reclaims its pending entries after minIdleMs', async () => {
    const ids = await seedStream(client, 'crash:items', ITEMS, (i) => `entry ${i}`);
    await client.call('XGROUP', 'CREATE', 'crash:items', 'workers', '0');
    const common = {
      WORKER_STREAM: 'crash:items',
      WORKER_GROUP: 'workers',
      WORKER_RESULTS: 'crash:results',
      WORKER_MAX_IN_FLIGHT: 200,
      WORKER_MIN_IDLE_MS: 500,
      WORKER_CLAIM_INTERVAL_MS: 100,
    };
    const doomed = start({ ...common, WORKER_CONSUMER: 'doomed', WORKER_HANG_AFTER: 1500 });
    const survivor = start({ ...common, WORKER_CONSUMER: 'survivor', WORKER_FACE: 'iterable' });
    await Promise.all([doomed.next('ready'), survivor.next('ready')]);
    doomed.send('go');
    survivor.send('go');

    const hung = await doomed.next('hung');
    doomed.child.kill('SIGKILL');
    expect(await doomed.exited).toBe('SIGKILL');
    expect(hung.ids.length).toBeGreaterThan(0);
    expect(hung.inFlight).toBeGreaterThanOrEqual(hung.ids.length);

    await waitFor(
      async () => (await pendingCount(client, 'crash:items', 'workers')) === 0 && tally(await readResults(client, 'crash:results')).size === ITEMS,
      25_000,
      'the survivor to finish every entry',
    );
    survivor.send('stop');
    const done = await survivor.next('done');
    expect(await survivor.exited).toBe(0);

    const results = await readResults(client, 'crash:results');
    const byInput = tally(results);
    expect([...byInput.keys()].sort()).toEqual([...ids].sort()); // zero lost
    // The batch the doomed worker died in was finished by the survivor, which reclaimed it.
    for (const id of hung.ids) expect(byInput.get(id)?.some((record) => record.fields.consumer === 'survivor')).toBe(true);
    expect(done.stats.claimed).toBeGreaterThanOrEqual(hung.ids.length);
    // At-least-once: a result may repeat only for an entry that was redelivered.
    const repeated = [...byInput.values()].filter((records) => records.length > 1).length;
    expect(repeated).toBeLessThanOrEqual(done.stats.claimed);
  });
});

if (!hasRedis) {
  describe('Redis Streams: worker processes', () => {
    it.skip(`skipped: ${INSTALL_HINT}`, () => {});
  });
}
