import { describe, expect, it } from 'vitest';
import { scenarios } from '../bench/scenarios/index.js';
import { openAIBatchScenario } from '../bench/scenarios/openai-batch.js';

describe('bench scenario openai-batch', () => {
  it('is registered under its name', () => {
    expect(scenarios.map((scenario) => scenario.name)).toContain('openai-batch');
  });

  it('runs at quick size: every item answered on both paths, fewer HTTP requests and half the cost on the Batch API', async () => {
    const result = await openAIBatchScenario.run({ quick: true });
    const [realtime, oneFile, fourFiles] = result.rows;
    for (const row of result.rows) {
      expect(row['ok items']).toBe(600);
      expect(row['model requests']).toBe(24);
      expect(row['input tokens']).toBe(realtime!['input tokens']);
    }
    expect(realtime!['HTTP requests']).toBe(24);
    expect(oneFile).toMatchObject({ files: 1, 'cost ratio': 0.5 });
    expect(oneFile!['HTTP requests']).toBeLessThan(24);
    expect(fourFiles!.files).toBeGreaterThanOrEqual(4);
  });
});
