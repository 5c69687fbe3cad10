import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cacheKey } from '../../src/cache/key.js';
import { createHash } from 'node:crypto';

const identity = { model: 'm1', prompt: 'Classify the sentiment' };

describe('cacheKey', () => {
  it('is 64 hex digits of SHA-256, the same for texts equal after normalization', async () => {
    const key = await cacheKey('  Great PRODUCT ', identity);
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(await cacheKey('great product', identity)).toBe(key);
    expect(await cacheKey('Ｇｒｅａｔ\tproduct', identity)).toBe(key);
    const material = JSON.stringify(['tokenbatch-cache/1', 'text', 'great product', 'm1', 'Classify the sentiment', null, null, null]);
    expect(key).toBe(createHash('sha256').update(material).digest('hex'));
  });

  it('changes with the text and with every part of the identity', async () => {
    const base = await cacheKey('great product', { ...identity, handler: 'h@1', schema: { type: 'string' } });
    const others = await Promise.all([
      cacheKey('great products', { ...identity, handler: 'h@1', schema: { type: 'string' } }),
      cacheKey('great product', { ...identity, model: 'm2', handler: 'h@1', schema: { type: 'string' } }),
      cacheKey('great product', { ...identity, prompt: 'Classify', handler: 'h@1', schema: { type: 'string' } }),
      cacheKey('great product', { ...identity, handler: 'h@2', schema: { type: 'string' } }),
      cacheKey('great product', { ...identity, handler: 'h@1', schema: { type: 'number' } }),
      cacheKey('great product', { ...identity, handler: 'h@1', schema: { type: 'string' }, extra: { temperature: 0 } }),
      cacheKey('great product', { ...identity, handler: 'h@1', schema: { type: 'string' } }, 'none'),
    ]);
    expect(new Set([base, ...others]).size).toBe(8);
  });

  it('keys schemas by content, not key order', async () => {
    expect(await cacheKey('x', { schema: { type: 'object', required: ['a'] } })).toBe(await cacheKey('x', { schema: { required: ['a'], type: 'object' } }));
  });

  it("with 'none', keeps case and spacing apart", async () => {
    expect(await cacheKey('US', identity, 'none')).not.toBe(await cacheKey('us', identity, 'none'));
  });

  it('never maps two different (text, model) pairs to one key (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string(), fc.string(), fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), async (a, b, m1, m2) => {
        fc.pre(a !== b || m1 !== m2);
        return (await cacheKey(a, { model: m1 }, 'none')) !== (await cacheKey(b, { model: m2 }, 'none'));
      }),
      { numRuns: 200 },
    );
  });

  it('refuses an identity that names nothing, or is not one', async () => {
    await expect(cacheKey('x', {})).rejects.toThrow(new TypeError('cacheKey: identity: name at least one of model, prompt, handler, schema, extra (what changes the answer)'));
    await expect(cacheKey('x', { model: 3 } as never)).rejects.toThrow(new TypeError('cacheKey: identity.model: expected a string, got number'));
    await expect(cacheKey('x', { modle: 'm' } as never)).rejects.toThrow(
      new RangeError("cacheKey: identity: unknown key 'modle', expected 'model', 'prompt', 'handler', 'schema', 'extra'"),
    );
    await expect(cacheKey(3 as never, identity)).rejects.toThrow(TypeError);
    await expect(cacheKey('x', identity, 'lower' as never)).rejects.toThrow(RangeError);
  });
});
