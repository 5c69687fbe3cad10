import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { acceptCandidate, resolveDedupeSafety } from '../../src/internal/similarity/dedupe-safety.js';
import { createSimilarityIndex } from '../../src/internal/similarity/text-index.js';
import { createEmbeddingIndex } from '../../src/internal/similarity/embedding-index.js';
import { createPredicateIndex } from '../../src/internal/similarity/predicate-index.js';

const ISSUE_PAIRS: [string, string][] = [
  ['I can log in to my account after the update.', "I can't log in to my account after the update."],
  ['Please refund order 123456, it arrived broken.', 'Please refund order 123457, it arrived broken.'],
  ['The payment of $1,000 failed', 'The payment of $9,000 failed'],
  ['Translate to French: The meeting is on Monday.', 'Translate to French: The meeting is on Tuesday.'],
  ['ticket 0: app crashes on start 0', 'ticket 2: app crashes on start 62'],
];

describe('resolveDedupeSafety', () => {
  it('defaults to exact, with nothing to guard', () => {
    expect(resolveDedupeSafety({}, 'dedupeSimilar')).toEqual({ method: 'exact', guard: undefined, key: undefined, similar: undefined });
  });

  it('guards minhash, embedding and a custom similar by default; guards: false switches it off', () => {
    for (const options of [{ method: 'minhash' as const }, { method: 'embedding' as const }, { similar: () => true }]) {
      const { guard } = resolveDedupeSafety(options, 'dedupeSimilar');
      for (const [a, b] of ISSUE_PAIRS) expect(guard?.(a, b)).toBe(false);
      expect(resolveDedupeSafety({ ...options, guards: false }, 'dedupeSimilar').guard).toBeUndefined();
    }
    expect(resolveDedupeSafety({ similar: () => true }, 'dedupeSimilar').method).toBe('custom');
  });

  it('applies only a custom guard to exact, where the built-in ones have nothing to catch', () => {
    const custom = (a: string) => !a.includes('VIP');
    const { guard } = resolveDedupeSafety({ method: 'exact', guard: custom }, 'dedupeSimilar');
    expect(guard?.('VIP order', 'vip order')).toBe(false);
    expect(guard?.('order 1', 'order 1')).toBe(true);
  });

  it('throws at creation naming the operator and the option', () => {
    expect(() => resolveDedupeSafety({ method: 'fuzzy' as never }, 'dedupeSimilar')).toThrow(
      new RangeError("dedupeSimilar: method: expected one of 'exact', 'minhash', 'embedding', got 'fuzzy'"),
    );
    expect(() => resolveDedupeSafety({ method: 3 as never }, 'dedupeSimilar')).toThrow(new TypeError("dedupeSimilar: method: expected one of 'exact', 'minhash', 'embedding'"));
    expect(() => resolveDedupeSafety({ key: 'body' as never }, 'dedupeSimilar')).toThrow(new TypeError('dedupeSimilar: key: expected a function (item) => string, got string'));
    expect(() => resolveDedupeSafety({ similar: 0.9 as never }, 'dedupeSimilar')).toThrow(
      new TypeError('dedupeSimilar: similar: expected a function (a, b) => boolean | number, got number'),
    );
    expect(() => resolveDedupeSafety({ similar: () => true, method: 'minhash' }, 'dedupeSimilar')).toThrow(
      new RangeError("dedupeSimilar: similar: replaces method, leave method unset (got 'minhash')"),
    );
    expect(() => resolveDedupeSafety({ guards: { digits: false } as never }, 'dedupeSimilar')).toThrow(
      new TypeError("dedupeSimilar: unknown option 'guards.digits' (known: numbers, negations, calendar, names, opposites)"),
    );
    expect(() => resolveDedupeSafety({ guards: 'off' as never }, 'dedupeSimilar')).toThrow(TypeError);
    expect(() => resolveDedupeSafety({ method: 'minhash', guard: true as never }, 'dedupeSimilar')).toThrow(
      new TypeError('dedupeSimilar: guard: expected a function (a, b) => boolean, got boolean'),
    );
  });
});

describe('acceptCandidate with the indexes: the dedupe loop, guarded', () => {
  /** The operator's loop in miniature: match with the guard as accept; if nothing is accepted, add. */
  function dedupe(texts: readonly string[], method: 'minhash' | 'embedding' | 'custom'): (number | undefined)[] {
    const { guard } = resolveDedupeSafety(method === 'custom' ? { similar: () => 0.95 } : { method }, 'test');
    const kept = new Map<number, string>();
    const minhash = createSimilarityIndex({ threshold: 0.5 });
    const vectors = createEmbeddingIndex({ threshold: 0.5 });
    const custom = createPredicateIndex({ similar: () => 0.95 });
    const vector = (text: string) => [text.length % 7, 1 + (text.charCodeAt(0) % 3), 1];
    return texts.map((text, id) => {
      const accept = acceptCandidate(guard, text, (rep) => kept.get(rep));
      const found = method === 'minhash' ? minhash.match(text, id, accept) : method === 'embedding' ? vectors.match(vector(text), id, accept) : custom.match(text, id, accept);
      if (found) return found.id;
      kept.set(id, text);
      if (method === 'minhash') minhash.add(id, text, id);
      else if (method === 'embedding') vectors.add(id, vector(text), id);
      else custom.add(id, text, id);
      return undefined;
    });
  }

  it('never merges the issue 13 pairs, in either order, whatever the method', () => {
    for (const method of ['minhash', 'embedding', 'custom'] as const) {
      for (const [a, b] of ISSUE_PAIRS) {
        expect(dedupe([a, b], method), `${method}: ${b}`).toEqual([undefined, undefined]);
        expect(dedupe([b, a], method), `${method}: ${a}`).toEqual([undefined, undefined]);
      }
    }
  });

  it('finds an acceptable representative behind a vetoed one', () => {
    expect(dedupe(['refund order 111 please', 'refund order 222 please', 'Refund order 222 please!'], 'minhash')).toEqual([undefined, undefined, 1]);
  });

  it('never merges texts whose numbers differ (property)', () => {
    const words = fc.array(fc.constantFrom('refund', 'order', 'the', 'payment', 'failed', 'please', 'ticket', 'for', 'account'), { minLength: 3, maxLength: 8 });
    fc.assert(
      fc.property(words, fc.nat(999_999), fc.nat(999_999), fc.nat(8), (w, x, y, at) => {
        fc.pre(x !== y);
        const put = (n: number) => [...w.slice(0, at), String(n), ...w.slice(at)].join(' ');
        return dedupe([put(x), put(y)], 'minhash')[1] === undefined && dedupe([put(x), put(y)], 'custom')[1] === undefined;
      }),
    );
  });

  it('refuses candidates that are not usable, or whose text is unknown', () => {
    const accept = acceptCandidate(
      undefined,
      'q',
      () => 'q',
      (id) => id !== 3,
    );
    expect([accept(1), accept(3)]).toEqual([true, false]);
    const guarded = acceptCandidate(resolveDedupeSafety({ method: 'minhash' }, 't').guard, 'q', () => undefined);
    expect(guarded(1)).toBe(false);
  });
});
