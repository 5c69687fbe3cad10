import { describe, expect, it } from 'vitest';
import { createMemoryCache } from '../../src/cache/memory.js';

describe('createMemoryCache', () => {
  it('returns hits in key order and undefined for misses, null and 0 included', async () => {
    const cache = createMemoryCache();
    await cache.set([
      { key: 'a', value: { label: 'spam' } },
      { key: 'b', value: null },
      { key: 'c', value: 0 },
    ]);
    expect(await cache.get(['c', 'x', 'a', 'b'])).toEqual([{ value: 0 }, undefined, { value: { label: 'spam' } }, { value: null }]);
    expect(await cache.get([])).toEqual([]);
  });

  it('copies values through JSON, so a later change to a result does not reach the cache', async () => {
    const cache = createMemoryCache<{ tags: string[] }>();
    const value = { tags: ['a'] };
    await cache.set([{ key: 'k', value }]);
    value.tags.push('b');
    const [hit] = await cache.get(['k']);
    expect(hit?.value).toEqual({ tags: ['a'] });
    hit?.value.tags.push('c');
    expect((await cache.get(['k']))[0]?.value).toEqual({ tags: ['a'] });
  });

  it('keeps at most maxEntries, dropping the least recently used', async () => {
    const cache = createMemoryCache({ maxEntries: 2 });
    await cache.set([
      { key: 'a', value: 1 },
      { key: 'b', value: 2 },
    ]);
    await cache.get(['a']);
    await cache.set([{ key: 'c', value: 3 }]);
    expect(await cache.get(['a', 'b', 'c'])).toEqual([{ value: 1 }, undefined, { value: 3 }]);
  });

  it('expires entries after ttlMs, or the ttl given to set, on its clock', async () => {
    let now = 1_000;
    const cache = createMemoryCache({ ttlMs: 100, clock: { now: () => now } });
    await cache.set([{ key: 'a', value: 1 }]);
    await cache.set([{ key: 'b', value: 2 }], 500);
    now += 99;
    expect(await cache.get(['a', 'b'])).toEqual([{ value: 1 }, { value: 2 }]);
    now += 2;
    expect(await cache.get(['a', 'b'])).toEqual([undefined, { value: 2 }]);
    now += 500;
    expect(await cache.get(['b'])).toEqual([undefined]);
  });

  it('refuses values JSON cannot hold, and bad options, naming them', async () => {
    const cache = createMemoryCache();
    await expect(cache.set([{ key: 'k', value: undefined }])).rejects.toThrow(/key k is not JSON-serializable/);
    await expect(cache.set([{ key: 'k', value: 1n }])).rejects.toThrow(TypeError);
    await expect(cache.set([{ key: '', value: 1 }])).rejects.toThrow(/non-empty string keys/);
    await expect(cache.get([3 as never])).rejects.toThrow(TypeError);
    await expect(cache.set([{ key: 'k', value: 1 }], -1)).rejects.toThrow(RangeError);
    expect(() => createMemoryCache({ maxEntries: 0 })).toThrow(new RangeError('createMemoryCache: maxEntries: expected a whole number >= 1, got 0'));
    expect(() => createMemoryCache({ ttlMs: 0 })).toThrow(new RangeError('createMemoryCache: ttlMs: expected a number > 0, got 0'));
    expect(() => createMemoryCache({ max: 3 } as never)).toThrow(new TypeError("createMemoryCache: unknown option 'max' (did you mean 'maxEntries'?)"));
    expect(() => createMemoryCache({ clock: Date.now } as never)).toThrow(/clock/);
  });
});
