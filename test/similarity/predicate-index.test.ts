import { describe, expect, it } from 'vitest';
import { createPredicateIndex, DEFAULT_PREDICATE_THRESHOLD } from '../../src/internal/similarity/predicate-index.js';

const firstLine = (a: string, b: string) => a.split('\n')[0] === b.split('\n')[0];

describe('createPredicateIndex', () => {
  it('matches by the predicate, and identical normalized texts without calling it', () => {
    let calls = 0;
    const index = createPredicateIndex({
      similar: (a, b) => {
        calls++;
        return firstLine(a, b);
      },
    });
    index.add(0, 'Printer on fire\nsent from my phone', 0);
    expect(index.match('  PRINTER on fire\nsent from my PHONE ', 1)).toEqual({ id: 0, similarity: 1 });
    expect(calls).toBe(0);
    expect(index.match('Printer on fire\n-- Bob', 2)).toEqual({ id: 0, similarity: 1 });
    expect(calls).toBe(1);
    expect(index.match('Printer is fine', 3)).toBeUndefined();
  });

  it('compares numeric scores with the threshold and returns the best, ties to the older', () => {
    const scores: Record<string, number> = { a: 0.95, b: 0.97, c: 0.97, d: 0.5 };
    const index = createPredicateIndex({ similar: (_query, rep) => scores[rep] ?? 0 });
    expect(index.threshold).toBe(DEFAULT_PREDICATE_THRESHOLD);
    ['a', 'b', 'c', 'd'].forEach((text, id) => index.add(id, text, 0));
    expect(index.match('q', 0)).toEqual({ id: 1, similarity: 0.97 });
    expect(index.match('q', 0, (id) => id !== 1)).toEqual({ id: 2, similarity: 0.97 });
    expect(index.match('q', 0, (id) => id === 0)).toEqual({ id: 0, similarity: 0.95 });
    expect(index.match('q', 0, () => false)).toBeUndefined();
    expect(createPredicateIndex({ similar: () => 0.6, threshold: 0.5 }).threshold).toBe(0.5);
  });

  it('keeps to its window: maxEntries and ttlMs', () => {
    const index = createPredicateIndex({ similar: () => true, maxEntries: 2, ttlMs: 100 });
    index.add(0, 'a', 0);
    index.add(1, 'b', 10);
    index.add(2, 'c', 20);
    expect(index.has(0)).toBe(false);
    expect(index.size).toBe(2);
    expect(index.match('x', 20)?.id).toBe(1);
    expect(index.match('x', 115)?.id).toBe(2);
    expect(index.match('x', 125)).toBeUndefined();
    expect(index.remove(2)).toBe(false);
  });

  it('throws on a predicate answer that is neither a boolean nor a score in [0, 1]', () => {
    const index = createPredicateIndex({ similar: () => 2 });
    index.add(0, 'a', 0);
    expect(() => index.match('b', 0)).toThrow(new TypeError('similar: expected a boolean or a number in [0, 1], got 2'));
    const strings = createPredicateIndex({ similar: () => 'yes' as never });
    strings.add(0, 'a', 0);
    expect(() => strings.match('b', 0)).toThrow(/got string/);
  });

  it('throws naming the option', () => {
    expect(() => createPredicateIndex({} as never)).toThrow(new TypeError('similar: expected a function (a, b) => boolean | number, got undefined'));
    expect(() => createPredicateIndex({ similar: () => true, threshold: 2 })).toThrow(/threshold/);
    expect(() => createPredicateIndex({ similar: () => true, maxEntries: 0 })).toThrow(/maxEntries/);
    expect(() => createPredicateIndex({ similar: () => true }).match('a', 0, 'x' as never)).toThrow(/accept/);
  });
});
