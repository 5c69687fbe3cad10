import { describe, expect, it } from 'vitest';
import { scenarios } from '../bench/scenarios/index.js';
import { HAND_PAIRS, ISSUE_PAIRS, labelledPairs } from '../bench/data/dedupe-pairs.js';
import { contenders, dedupeSafety, hashedNgramEmbedding, score, stripGreetingAndSignature } from '../bench/scenarios/dedupe-safety.js';
import { createPairGuard } from '../src/internal/similarity/guards.js';
import { normalizeText } from '../src/internal/similarity/normalize.js';

const pairs = labelledPairs();
const mustNot = pairs.filter((pair) => !pair.merge);

describe('the labelled dedupe pairs', () => {
  it('has at least 200 pairs of both labels, the same on every run, with the issue 13 pairs', () => {
    expect(pairs.length).toBeGreaterThanOrEqual(200);
    expect(labelledPairs()).toEqual(pairs);
    expect(pairs.filter((pair) => pair.merge).length).toBeGreaterThanOrEqual(100);
    expect(mustNot.length).toBeGreaterThanOrEqual(100);
    for (const pair of [...ISSUE_PAIRS, ...HAND_PAIRS]) expect(pairs).toContainEqual(pair);
    const kinds = new Set(pairs.map((pair) => pair.kind));
    for (const kind of ['case', 'whitespace', 'typo', 'greeting', 'signature', 'id', 'amount', 'version', 'date', 'time', 'negation', 'name', 'day', 'month'])
      expect(kinds).toContain(kind);
  });

  it('labels each must-not pair with texts that really differ after normalization', () => {
    for (const pair of mustNot) expect(normalizeText(pair.a), pair.a).not.toBe(normalizeText(pair.b));
  });
});

describe('the guarded methods on the labelled pairs', () => {
  const guard = createPairGuard(undefined, undefined, 'test') as (a: string, b: string) => boolean;

  it('the default guards reject every must-not-merge pair', () => {
    const letThrough = mustNot.filter((pair) => guard(pair.a, pair.b) || guard(pair.b, pair.a));
    expect(letThrough).toEqual([]);
  });

  it('no guarded method merges a must-not-merge pair (precision 1), and the unguarded old default did', () => {
    for (const contender of contenders()) {
      const s = score(contender, pairs);
      if (contender.name.includes('unguarded')) expect(s.wrongMerges, contender.name).toBeGreaterThan(0);
      else if (!contender.name.includes('without names')) expect(s.wrongMerges, contender.name).toBe(0);
    }
  });

  it('guarded minhash keeps most resends (recall), all of them once the key strips greetings and signatures', () => {
    const [, , guarded, , keyed] = contenders();
    expect(score(guarded!, pairs).recall).toBeGreaterThanOrEqual(0.9);
    expect(score(keyed!, pairs).recall).toBe(1);
  });
});

describe('bench helpers', () => {
  it('registers the scenario under its name', () => expect(scenarios.map((s) => s.name)).toContain('dedupe-safety'));

  it('embeds deterministically, the same for texts equal after normalization', () => {
    expect(hashedNgramEmbedding('Refund  ORDER 12')).toEqual(hashedNgramEmbedding('refund order 12'));
    expect(hashedNgramEmbedding('')).toHaveLength(512);
  });

  it('strips greetings and signatures', () => {
    expect(stripGreetingAndSignature('Hi team, where is my refund?\nSent from my iPhone')).toBe('where is my refund?');
    expect(stripGreetingAndSignature('Good morning, the app crashes. Thanks!')).toBe('the app crashes.');
    expect(stripGreetingAndSignature('The app crashes.\n--\nBob\nSupport')).toBe('The app crashes.');
  });

  it('runs the scenario with a row per contender', async () => {
    const result = await dedupeSafety.run({ quick: true });
    expect(result.rows.map((row) => row.name)).toEqual(contenders().map((c) => c.name));
    expect(result.rows[0]).toMatchObject({ precision: 1 });
  });
});
