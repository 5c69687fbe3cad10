import { describe, expect, it } from 'vitest';
import { createMemoryCache } from '../../src/cache/memory.js';
import { resultCacheLayer } from '../../src/cache/layer.js';
import type { ResultCache } from '../../src/cache/types.js';

const identity = { model: 'm1', handler: 'classify@1' };

describe('resultCacheLayer', () => {
  it('serves hits, counts misses, and writes successes only', async () => {
    const store = createMemoryCache();
    const layer = resultCacheLayer<string, string>({ store, identity }, 'mergeBatches: cache');
    const first = await layer.lookup(['great', 'awful', 'meh']);
    expect(first.hits).toEqual([undefined, undefined, undefined]);
    await layer.remember(first.keys, [{ ok: true, value: 'positive' }, { ok: false }, { ok: true, value: 'neutral' }]);
    const second = await layer.lookup(['GREAT ', 'awful', 'meh']);
    expect(second.hits).toEqual([{ value: 'positive' }, undefined, { value: 'neutral' }]);
    expect(layer.stats()).toEqual({ hits: 2, misses: 4, writes: 2, errors: 0, uncacheable: 0 });
  });

  it('does not write back what was served from the cache', async () => {
    const writes: unknown[] = [];
    const store: ResultCache = { get: async (keys) => keys.map(() => ({ value: 'x' })), set: async (entries) => void writes.push(...entries) };
    const layer = resultCacheLayer<string, string>({ store, identity }, 'c');
    const { keys } = await layer.lookup(['a']);
    await layer.remember(keys, [{ ok: true, value: 'x', cached: true }]);
    expect(writes).toEqual([]);
  });

  it('keys items by the key function; an item it fails for is not cached', async () => {
    const store = createMemoryCache();
    const layer = resultCacheLayer<{ body?: string }, string>({ store, identity, key: (item: { body?: string }) => item.body!.replace(/\n--\n[\s\S]*$/, '') }, 'c');
    const first = await layer.lookup([{ body: 'printer on fire\n--\nBob' }, {}]);
    expect(first.keys[1]).toBeUndefined();
    await layer.remember(first.keys, [
      { ok: true, value: 'urgent' },
      { ok: true, value: 'never stored' },
    ]);
    expect((await layer.lookup([{ body: 'Printer on fire\n--\nAlice' }])).hits).toEqual([{ value: 'urgent' }]);
    expect(layer.stats().writes).toBe(1);
  });

  it('turns a failing store into misses and dropped writes, never failed items', async () => {
    const errors: string[] = [];
    const store: ResultCache = {
      get: async () => {
        throw new Error('down');
      },
      set: async () => {
        throw new Error('down');
      },
    };
    const layer = resultCacheLayer<string, string>({ store, identity }, 'c');
    layer.onError = (_error, operation) => errors.push(operation);
    const { keys, hits } = await layer.lookup(['a', 'b']);
    expect(hits).toEqual([undefined, undefined]);
    await layer.remember(keys, [
      { ok: true, value: 'x' },
      { ok: true, value: 'y' },
    ]);
    expect(errors).toEqual(['get', 'set']);
    expect(layer.stats()).toEqual({ hits: 0, misses: 2, writes: 0, errors: 2, uncacheable: 0 });
  });

  it('passes ttlMs to the store', async () => {
    const ttls: (number | undefined)[] = [];
    const store: ResultCache = { get: async (keys) => keys.map(() => undefined), set: async (_entries, ttl) => void ttls.push(ttl) };
    const layer = resultCacheLayer<string, string>({ store, identity, ttlMs: 5000 }, 'c');
    await layer.remember((await layer.lookup(['a'])).keys, [{ ok: true, value: 'x' }]);
    expect(ttls).toEqual([5000]);
  });

  it('throws at creation naming the owner and the option', () => {
    const store = createMemoryCache();
    expect(() => resultCacheLayer(undefined, 'mergeBatches: cache')).toThrow(
      new TypeError('mergeBatches: cache: expected an object { store, identity, key?, normalization?, ttlMs? }'),
    );
    expect(() => resultCacheLayer({ store: {}, identity }, 'mergeBatches: cache')).toThrow(
      new TypeError('mergeBatches: cache: store: expected a ResultCache ({ get(keys), set(entries, ttlMs?) }), such as createMemoryCache()'),
    );
    expect(() => resultCacheLayer({ store }, 'mergeBatches: cache')).toThrow(
      new TypeError('mergeBatches: cache: identity: required, an object naming what changes the answer ({ model, prompt, handler, schema, extra })'),
    );
    expect(() => resultCacheLayer({ store, identity: {} }, 'mergeBatches: cache')).toThrow(/name at least one/);
    expect(() => resultCacheLayer({ store, identity, key: 'body' }, 'mergeBatches: cache')).toThrow(
      new TypeError('mergeBatches: cache: key: expected a function (item) => string, got string'),
    );
    expect(() => resultCacheLayer({ store, identity, ttlMs: -1 }, 'mergeBatches: cache')).toThrow(new RangeError('mergeBatches: cache: ttlMs: expected a number > 0, got -1'));
    expect(() => resultCacheLayer({ store, identity, normalization: 'lower' }, 'mergeBatches: cache')).toThrow(RangeError);
    expect(() => resultCacheLayer({ store, identity, ttl: 5 }, 'mergeBatches: cache')).toThrow(new TypeError("mergeBatches: cache: unknown option 'ttl' (did you mean 'ttlMs'?)"));
  });
});

describe('values JSON cannot hold unchanged', () => {
  it('are not cached (a Float32Array embedding, a Date, NaN), and the rest of the batch is', async () => {
    const store = createMemoryCache();
    const layer = resultCacheLayer<string, unknown>({ store, identity }, 'c');
    const { keys } = await layer.lookup(['a', 'b', 'c', 'd', 'e']);
    await layer.remember(keys, [
      { ok: true, value: new Float32Array([0.5]) },
      { ok: true, value: { at: new Date(0) } },
      { ok: true, value: Number.NaN },
      { ok: true, value: [1, { x: 'y' }] },
      { ok: true, value: Object.assign(Object.create(null) as object, { plain: true }) },
    ]);
    expect((await layer.lookup(['a', 'b', 'c', 'd', 'e'])).hits).toEqual([undefined, undefined, undefined, { value: [1, { x: 'y' }] }, { value: { plain: true } }]);
    expect(layer.stats()).toMatchObject({ writes: 2, uncacheable: 3 });
    await expect(store.set([{ key: 'k', value: new Map() }])).rejects.toThrow('result cache: the value for key k is not JSON-serializable: a Map does not round-trip through JSON');
  });
});
