import { describe, expect, it } from 'vitest';
import { dedupe, generateStream, measureQuality, ScanCountIndex, AllPairsIndex } from '../bench/scenarios/dedupe.js';
import { DEFAULT_THRESHOLD } from '../src/internal/similarity/text-index.js';

describe('dedupe bench', () => {
  it('generates the same stream for the same seed, with planted near-duplicates of earlier items', () => {
    const stream = generateStream(500, 3);
    expect(generateStream(500, 3)).toEqual(stream);
    const planted = stream.filter((item) => item.planted);
    expect(planted.length / stream.length).toBeGreaterThan(0.2);
    expect(planted.length / stream.length).toBeLessThan(0.4);
    stream.forEach((item, i) => expect(item.family).toBeLessThanOrEqual(i));
  });

  it('has exact baselines that agree with each other', () => {
    const stream = generateStream(400, 5);
    const allPairs = new AllPairsIndex(0.5, 100);
    const scanCount = new ScanCountIndex(0.5, 100);
    stream.forEach((item, i) => {
      const x = allPairs.matches(item.text, i);
      const y = scanCount.matches(item.text, i);
      expect(y.map((m) => m.id)).toEqual(x.map((m) => m.id));
      y.forEach((m, k) => expect(m.similarity).toBeCloseTo((x[k] as { similarity: number }).similarity, 12));
      expect(allPairs.step(i, item.text, i)).toBe(scanCount.step(i, item.text, i));
    });
  });

  it('meets the quality aims at the default parameters on a seeded stream', () => {
    const quality = measureQuality(generateStream(2_500, 42), { threshold: DEFAULT_THRESHOLD, maxEntries: 500 });
    expect(quality.positivePairs).toBeGreaterThan(300);
    expect(quality.truePositivePairs / quality.positivePairs).toBeGreaterThanOrEqual(0.95);
    expect(quality.truePositivePairs).toBe(quality.reportedPairs); // precision 1
    expect(quality.similarityMismatches).toBe(0);
    expect(quality.matchedPositiveItems / quality.positiveItems).toBeGreaterThanOrEqual(0.95);
  });

  it('runs in quick mode and reports every contender', async () => {
    const result = await dedupe.run({ quick: true });
    expect(result.rows.map((row) => row.name)).toEqual([
      'all-pairs exact Jaccard (baseline)',
      'ScanCount inverted index (exact)',
      'minhash LSH + verification',
      'embedding linear scan, 1,536 dims',
    ]);
    const minhash = result.rows[2] as Record<string, unknown>;
    expect(minhash.precision).toBe(1);
    expect(minhash['pair recall']).toBeGreaterThanOrEqual(0.95);
  });
});
