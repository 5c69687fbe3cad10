import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { from } from 'ix/asynciterable';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simulatedClassify } from '../../src/backends/simulated.js';
import { cachingHandler, openCacheStore, parseCacheTarget, runCacheIdentity } from '../../src/cli/cache-option.js';
import { Command, InvalidArgumentError } from 'commander';
import { bufferByTokens, mergeBatches, orderedResults } from '../../src/iterable.js';
import { sqliteLoads } from '../support/sqlite.js';
import type { BatchHandler, Outcome } from '../../src/types.js';
import { redisServerPath, startRedisServer, type RedisServer } from '../support/redis.js';

const dir = mkdtempSync(join(tmpdir(), 'tokenbatch-cli-cache-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('parseCacheTarget', () => {
  it('tells files from Redis URLs', () => {
    expect(parseCacheTarget('.tokenbatch-cache.db')).toEqual({ kind: 'file', path: '.tokenbatch-cache.db' });
    expect(parseCacheTarget('/var/cache/tb.db')).toEqual({ kind: 'file', path: '/var/cache/tb.db' });
    expect(parseCacheTarget('redis://127.0.0.1:6379/2')).toEqual({ kind: 'redis', url: 'redis://127.0.0.1:6379/2' });
    expect(parseCacheTarget('rediss://user:pw@cache.internal:6380')).toEqual({ kind: 'redis', url: 'rediss://user:pw@cache.internal:6380' });
  });

  it('refuses what is neither, naming the flag', () => {
    expect(() => parseCacheTarget(' ')).toThrow(new InvalidArgumentError('expected a file path or a redis:// URL'));
    expect(() => parseCacheTarget('memcached://host')).toThrow(new InvalidArgumentError("unsupported URL scheme in 'memcached://host': use a file path or redis://"));
    expect(() => parseCacheTarget('redis://[bad')).toThrow(InvalidArgumentError);
    // As commander reports it:
    const program = new Command()
      .exitOverride()
      .configureOutput({ writeErr: () => {} })
      .option('--cache <target>', 'cache', parseCacheTarget);
    expect(() => program.parse(['node', 'tokenbatch', '--cache', 'ftp://x'])).toThrow(
      "error: option '--cache <target>' argument 'ftp://x' is invalid. unsupported URL scheme in 'ftp://x': use a file path or redis://",
    );
  });
});

describe('runCacheIdentity', () => {
  it('changes with model, prompt, schema, task and seed', () => {
    const base = { backend: 'openai', model: 'm1', prompt: 'Classify', responseFormat: 'json_schema' };
    const ids = [
      runCacheIdentity(base),
      runCacheIdentity({ ...base, model: 'm2' }),
      runCacheIdentity({ ...base, prompt: 'Summarize' }),
      runCacheIdentity({ ...base, resultSchema: { type: 'number' } }),
      runCacheIdentity({ backend: 'simulated', model: 'm1', task: 'classify', seed: 1 }),
      runCacheIdentity({ backend: 'simulated', model: 'm1', task: 'summarize', seed: 1 }),
      runCacheIdentity({ backend: 'simulated', model: 'm1', task: 'classify', seed: 2 }),
    ];
    expect(new Set(ids.map((id) => JSON.stringify(id))).size).toBe(ids.length);
  });
});

/** A classify handler that counts its calls and items, as requests to a model would be. */
function countingClassifier(): { handler: BatchHandler<string, string>; calls: number; items: number } {
  const counter = {
    calls: 0,
    items: 0,
    handler: (async (batch) => {
      counter.calls++;
      counter.items += batch.items.length;
      return batch.items.map((text) => `${simulatedClassify(text)}:${text.length}`);
    }) as BatchHandler<string, string>,
  };
  return counter;
}

async function runJob(texts: string[], handler: BatchHandler<string, string>): Promise<Outcome<string, string>[]> {
  const out: Outcome<string, string>[] = [];
  const outcomes = from(texts).pipe(
    bufferByTokens<string>({ maxTokens: 200, maxItems: 4 }),
    mergeBatches<string, string>(handler, { concurrency: 3 }),
    orderedResults<string, string>(),
  );
  for await (const outcome of outcomes) out.push(outcome);
  return out;
}

const texts = Array.from({ length: 30 }, (_, i) =>
  i % 3 === 0 ? `Refund order ${i} please` : i % 3 === 1 ? `The app crashed on screen ${i}` : `What are your opening hours on day ${i}?`,
);

describe.skipIf(!sqliteLoads)('cachingHandler with the file store: a job run twice', () => {
  it('sends no request the second time and gives the same results in the same order', async () => {
    const target = parseCacheTarget(join(dir, 'job.db'));
    const identity = runCacheIdentity({ backend: 'simulated', model: 'x', task: 'classify', seed: 1 });

    const first = countingClassifier();
    const cache1 = await openCacheStore(target);
    const run1 = cachingHandler(first.handler, { store: cache1.store, identity });
    const results1 = await runJob(texts, run1.handler);
    await cache1.close();
    expect(first.items).toBe(30);
    expect(run1.layer.stats()).toMatchObject({ hits: 0, misses: 30, writes: 30 });

    const second = countingClassifier();
    const cache2 = await openCacheStore(target);
    const run2 = cachingHandler(second.handler, { store: cache2.store, identity });
    const results2 = await runJob(texts, run2.handler);
    await cache2.close();
    expect(second.calls).toBe(0);
    expect(run2.layer.stats()).toMatchObject({ hits: 30, misses: 0 });
    expect(results2.map((o) => [o.index, o.ok && o.value])).toEqual(results1.map((o) => [o.index, o.ok && o.value]));
  });

  it('sends only the misses, in smaller batches, and keeps every item in order', async () => {
    const target = parseCacheTarget(join(dir, 'partial.db'));
    const identity = { model: 'm', handler: 'partial-test' };
    const cache = await openCacheStore(target);
    const warm = countingClassifier();
    await runJob(
      texts.filter((_, i) => i % 2 === 0),
      cachingHandler(warm.handler, { store: cache.store, identity }).handler,
    );
    const counter = countingClassifier();
    const results = await runJob(texts, cachingHandler(counter.handler, { store: cache.store, identity }).handler);
    await cache.close();
    expect(counter.items).toBe(15);
    expect(results.map((o) => o.index)).toEqual(texts.map((_, i) => i));
    expect(results.every((o) => o.ok && o.value === `${simulatedClassify(texts[o.index] as string)}:${(texts[o.index] as string).length}`)).toBe(true);
  });

  it('caches nothing from a failed call', async () => {
    const cache = await openCacheStore(parseCacheTarget(join(dir, 'failed.db')));
    const failing: BatchHandler<string, string> = async () => {
      throw new Error('HTTP 500');
    };
    const wrapped = cachingHandler(failing, { store: cache.store, identity: { model: 'm' } });
    const results = await runJob(texts.slice(0, 4), wrapped.handler);
    expect(results.every((o) => !o.ok)).toBe(true);
    expect(wrapped.layer.stats().writes).toBe(0);
    expect((await cache.store.get(['anything'])).length).toBe(1);
    await cache.close();
  });
});

describe.skipIf(redisServerPath() === undefined)('cachingHandler with a real redis-server', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
  }, 20_000);
  afterAll(async () => server?.stop());

  it('a second worker sends no request for what the first one did', async () => {
    const identity = { model: 'm', handler: 'redis-cli-test' };
    const first = countingClassifier();
    const a = await openCacheStore(parseCacheTarget(server.url));
    const results1 = await runJob(texts, cachingHandler(first.handler, { store: a.store, identity }).handler);
    await a.close();
    const second = countingClassifier();
    const b = await openCacheStore(parseCacheTarget(server.url));
    const results2 = await runJob(texts, cachingHandler(second.handler, { store: b.store, identity }).handler);
    await b.close();
    expect(first.items).toBe(30);
    expect(second.calls).toBe(0);
    expect(results2.map((o) => o.ok && o.value)).toEqual(results1.map((o) => o.ok && o.value));
  });

  it('refuses to start when the server cannot be reached', async () => {
    await expect(openCacheStore({ kind: 'redis', url: 'redis://127.0.0.1:1' })).rejects.toThrow(/--cache: cannot connect to 127.0.0.1:1/);
  });
});

describe('a chain with the cache on (property)', () => {
  it('keeps completeness and order, serves only right answers, and never caches a failure', async () => {
    const { createMemoryCache } = await import('../../src/cache/memory.js');
    const word = fc.constantFrom('refund', 'crash', 'login', 'hours', 'REFUND', 'Crash ', 'order 1', 'order 2');
    await fc.assert(
      fc.asyncProperty(fc.array(word, { minLength: 1, maxLength: 40 }), fc.array(word, { maxLength: 10 }), fc.func(fc.boolean()), async (texts, warm, fails) => {
        const store = createMemoryCache();
        const identity = { model: 'm', handler: 'property' };
        const answer = (text: string) => `${simulatedClassify(text)}/${text.trim().toLowerCase()}`;
        const prewarm = cachingHandler<string, string>(async (batch) => batch.items.map(answer), { store, identity });
        await runJob(warm, prewarm.handler);
        let calls = 0;
        const flaky: BatchHandler<string, string> = async (batch) => {
          calls++;
          if (fails(batch.items.join('|'), calls)) throw new Error('HTTP 500');
          return batch.items.map(answer);
        };
        const { handler } = cachingHandler(flaky, { store, identity });
        const outcomes = await runJob(texts, handler);
        // Completeness and order: one outcome per input, in input order.
        expect(outcomes.map((o) => o.index)).toEqual(texts.map((_, i) => i));
        for (const outcome of outcomes) {
          const text = texts[outcome.index] as string;
          if (outcome.ok) expect(outcome.value).toBe(answer(text));
        }
        // Whatever is in the cache now is the right answer for its text: no failure was cached.
        const check = cachingHandler<string, string>(async (batch) => batch.items.map(() => 'MISS'), { store, identity });
        const cached = await runJob(texts, check.handler);
        for (const outcome of cached) if (outcome.ok && outcome.value !== 'MISS') expect(outcome.value).toBe(answer(texts[outcome.index] as string));
      }),
      { numRuns: 60 },
    );
  });
});
