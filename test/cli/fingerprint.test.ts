import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fatalReason } from '../../src/cli/fatal.js';
import { fileFingerprint, headerDifferences, optionsFingerprint, parseHeader, type RunHeader } from '../../src/cli/fingerprint.js';
import { OpenAIRequestError } from '../../src/backends/openai/errors.js';
import { QuotaExhaustedError, TransientError } from '../../src/errors.js';
import { testFolder } from '../support/cli.js';

const { path } = testFolder();

describe('the output fingerprint', () => {
  const settings = { backend: 'openai', model: 'gpt-4o-mini', prompt: 'Classify.', textField: 'text', idField: 'id', responseFormat: 'json_schema' };

  it('records what changes results, long texts as hashes, and ignores what does not', () => {
    const options = optionsFingerprint(settings);
    expect(options).toEqual({
      backend: 'openai',
      model: 'gpt-4o-mini',
      prompt: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
      responseFormat: 'json_schema',
      resultSchema: 'default',
      textField: 'text',
      idField: 'id',
    });
    expect(optionsFingerprint({ ...settings, resultSchema: { type: 'string' } }).resultSchema).toMatch(/^sha256:/);
    expect(optionsFingerprint({ backend: 'simulated', model: 'gpt-4o-mini', task: 'embed', textField: 'text', idField: 'id' })).toEqual({
      backend: 'simulated',
      task: 'embed',
      textField: 'text',
      idField: 'id',
    });
    expect(optionsFingerprint({ ...settings, dedupe: 'minhash', dedupeThreshold: 0.8 }).dedupe).toBe('minhash@0.8');
  });

  it('names what differs', async () => {
    const file = path('input.jsonl');
    writeFileSync(file, '"a"\n');
    const input = await fileFingerprint(file);
    expect(input).toEqual({ sha256: expect.stringMatching(/^[0-9a-f]{64}$/), bytes: 4 });
    const header: RunHeader = { tokenbatch: 1, input, options: optionsFingerprint(settings) };
    expect(headerDifferences(header, header)).toEqual([]);
    const changed: RunHeader = { tokenbatch: 1, input: { ...input, bytes: 5 }, options: optionsFingerprint({ ...settings, model: 'gpt-4o', prompt: 'Summarize.' }) };
    expect(headerDifferences(header, changed)).toEqual([
      'the input file differs (its content is not the one this output was made from: 4 bytes then, 5 now)',
      'model differs (was gpt-4o-mini, now gpt-4o)',
      'prompt differs',
    ]);
    expect(parseHeader(JSON.stringify(header))).toEqual(header);
    expect(parseHeader('{"line":1,"ok":true}')).toBeUndefined();
  });
});

describe('errors that stop a run', () => {
  it('are a rejected key, refused access, an unknown model, an exhausted quota, and an unreachable host on the last attempt', () => {
    expect(fatalReason(new OpenAIRequestError('Incorrect API key provided', 401, 'invalid_api_key', 'invalid_request_error'))).toMatch(/^the API rejected the key \(HTTP 401/);
    expect(fatalReason(new OpenAIRequestError('no access', 403, undefined, undefined))).toMatch(/HTTP 403/);
    expect(fatalReason(new OpenAIRequestError('The model does not exist', 404, 'model_not_found', undefined))).toMatch(/check --model/);
    expect(fatalReason(new QuotaExhaustedError('You exceeded your current quota'))).toMatch(/quota is exhausted/);
    const refused = new TransientError('Connection error.', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }) });
    expect(fatalReason(refused)).toMatch(/^the host cannot be reached/);
    expect(fatalReason(refused, { lastAttempt: false })).toBeUndefined();
  });

  it('are not the errors of one batch or item', () => {
    expect(fatalReason(new OpenAIRequestError('Invalid schema', 400, undefined, undefined))).toBeUndefined();
    expect(fatalReason(new TransientError('The server had an error'))).toBeUndefined();
    expect(fatalReason(new Error('line 3: not valid JSON'))).toBeUndefined();
  });
});
