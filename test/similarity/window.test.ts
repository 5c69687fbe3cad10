import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RepresentativeWindow, type WindowEntry } from '../../src/internal/similarity/window.js';

function setup(maxEntries: number, ttlMs?: number) {
  const evicted: number[] = [];
  const window = new RepresentativeWindow<WindowEntry>(maxEntries, ttlMs, (entry) => evicted.push(entry.id), 'test');
  const add = (id: number, now: number) => window.admit({ id, addedAt: window.advance(now) });
  const ids = () => [...window.values()].map((entry) => entry.id);
  return { window, evicted, add, ids };
}

describe('RepresentativeWindow', () => {
  it('evicts the oldest entry to admit one past maxEntries', () => {
    const { window, evicted, add, ids } = setup(3);
    for (let id = 0; id < 5; id++) add(id, id);
    expect(ids()).toEqual([2, 3, 4]);
    expect(evicted).toEqual([0, 1]);
    expect(window.size).toBe(3);
  });

  it('expires entries once now - addedAt >= ttlMs, on any call that passes a time', () => {
    const { window, evicted, add, ids } = setup(100, 1000);
    add(1, 0);
    add(2, 500);
    window.advance(999);
    expect(ids()).toEqual([1, 2]);
    window.advance(1000);
    expect(ids()).toEqual([2]);
    expect(evicted).toEqual([1]);
    window.advance(1500);
    expect(window.size).toBe(0);
  });

  it('treats a clock that steps back as standing still', () => {
    const { window, add, ids } = setup(100, 1000);
    add(1, 5000);
    expect(window.advance(4000)).toBe(5000);
    add(2, 100); // stamped 5000, not 100: it is not expired by the next tick
    window.advance(5999);
    expect(ids()).toEqual([1, 2]);
    window.advance(6000);
    expect(ids()).toEqual([]);
  });

  it('removes by id out of order, and eviction then skips the removed entry', () => {
    const { window, evicted, add, ids } = setup(3);
    add(1, 0);
    add(2, 0);
    add(3, 0);
    expect(window.remove(1)?.id).toBe(1);
    expect(window.remove(1)).toBeUndefined();
    add(4, 0);
    expect(ids()).toEqual([2, 3, 4]);
    add(5, 0);
    expect(ids()).toEqual([3, 4, 5]);
    expect(evicted).toEqual([1, 2]);
  });

  it('keeps its queue within twice the window, whether entries leave by eviction or by removal', () => {
    const { window, add } = setup(4);
    const queueLength = () => (window as unknown as { queue: unknown[] }).queue.length;
    for (let id = 0; id < 10_000; id++) {
      add(id, id);
      expect(queueLength()).toBeLessThanOrEqual(2 * 4 + 33);
    }
    for (let id = 10_000; id < 20_000; id++) {
      add(id, id);
      window.remove(id); // the newest: out of order
      expect(queueLength()).toBeLessThanOrEqual(2 * 4 + 33);
    }
    expect([...window.values()].map((entry) => entry.id)).toEqual([9997, 9998, 9999]); // 9996 made room for 10,000
  });

  it('rejects an id it holds, and bad times', () => {
    const { window, add } = setup(3);
    add(1, 0);
    expect(() => add(1, 0)).toThrow(RangeError);
    expect(() => window.advance(Number.NaN)).toThrow(TypeError);
    expect(() => window.advance(Number.POSITIVE_INFINITY)).toThrow(TypeError);
  });

  it('behaves as a simple list model under any sequence of adds, removes and ticks (property)', () => {
    type Op = { kind: 'add'; id: number; dt: number } | { kind: 'remove'; id: number } | { kind: 'tick'; dt: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), id: fc.integer({ min: 0, max: 40 }), dt: fc.integer({ min: -5, max: 30 }) }),
      fc.record({ kind: fc.constant('remove' as const), id: fc.integer({ min: 0, max: 40 }) }),
      fc.record({ kind: fc.constant('tick' as const), dt: fc.integer({ min: 0, max: 60 }) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.option(fc.integer({ min: 1, max: 100 }), { nil: undefined }), fc.array(op, { maxLength: 400 }), (maxEntries, ttlMs, ops) => {
        const { window, evicted, add, ids } = setup(maxEntries, ttlMs);
        let model: { id: number; at: number }[] = [];
        const modelEvicted: number[] = [];
        let clock = Number.NEGATIVE_INFINITY;
        let now = 0;
        const tick = (t: number) => {
          clock = Math.max(clock, t);
          if (ttlMs === undefined) return;
          while (model.length > 0 && clock - (model[0] as { at: number }).at >= ttlMs) modelEvicted.push((model.shift() as { id: number }).id);
        };
        for (const o of ops) {
          if (o.kind === 'tick') {
            now += o.dt;
            tick(now);
            window.advance(now);
          } else if (o.kind === 'remove') {
            const at = model.findIndex((e) => e.id === o.id);
            if (at >= 0) modelEvicted.push(...model.splice(at, 1).map((e) => e.id));
            expect(window.remove(o.id) !== undefined).toBe(at >= 0);
          } else {
            now += o.dt;
            tick(now);
            if (model.some((e) => e.id === o.id)) {
              expect(() => add(o.id, now)).toThrow(RangeError);
              continue;
            }
            while (model.length >= maxEntries) modelEvicted.push((model.shift() as { id: number }).id);
            model.push({ id: o.id, at: clock });
            add(o.id, now);
          }
          expect(ids()).toEqual(model.map((e) => e.id));
          expect(window.size).toBe(model.length);
          expect(evicted).toEqual(modelEvicted);
        }
        model = [];
      }),
      { seed: 10, numRuns: 500 },
    );
  });
});
