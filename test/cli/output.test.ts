import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { resultLine, rewriteInOrder, scanResults } from '../../src/cli/output.js';
import { InvalidItemError } from '../../src/errors.js';
import { testFolder, type ResultRecord } from '../support/cli.js';

const { path } = testFolder();

describe('CLI output', () => {
  it('writes one JSON line per outcome: typed arrays as arrays, problems as their own message', () => {
    const item = { line: 4, id: 'a', text: 'x' };
    expect(resultLine({ index: 0, item, ok: true, value: new Float32Array([0.5, -1]), splitDepth: 0, attempts: 1 })).toBe('{"line":4,"id":"a","ok":true,"value":[0.5,-1]}\n');
    expect(resultLine({ index: 0, item: { line: 2, text: 'x' }, ok: true, value: undefined, splitDepth: 0, attempts: 1 })).toBe('{"line":2,"ok":true,"value":null}\n');
    const problem = { line: 9, problem: 'line 9: not valid JSON (oops)' };
    expect(
      resultLine({
        index: 3,
        item: problem,
        ok: false,
        error: new InvalidItemError('item 3: the text option threw: line 9: not valid JSON (oops)', 3),
        splitDepth: 0,
        attempts: 0,
      }),
    ).toBe('{"line":9,"ok":false,"error":{"name":"InvalidItemError","message":"line 9: not valid JSON (oops)"}}\n');
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const line = JSON.parse(resultLine({ index: 0, item, ok: true, value: circular, splitDepth: 0, attempts: 1 })) as ResultRecord;
    expect(line).toMatchObject({ line: 4, ok: false, error: { name: 'TypeError' } });
  });

  it('scans an existing output: done lines, failures, a torn tail cut off, a missing file empty', async () => {
    const file = path('scan.jsonl');
    expect(await scanResults(file)).toMatchObject({ header: undefined, done: new Set(), failed: 0, tornBytes: 0, repeated: 0, inOrder: true });
    writeFileSync(file, '{"line":1,"ok":true,"value":1}\n\n{"line":3,"ok":false,"error":{"name":"E","message":"m"}}\n{"line":1,"ok":true,"value":1}\n');
    appendFileSync(file, '{"line":4,"o');
    const scanned = await scanResults(file);
    expect(scanned).toMatchObject({ done: new Set([1, 3]), failedLines: new Set([3]), failed: 1, tornBytes: 12, repeated: 1, inOrder: false });
    expect(readFileSync(file, 'utf8').endsWith('"value":1}\n')).toBe(true);
    writeFileSync(file, '{"line":1,"o');
    expect((await scanResults(file)).tornBytes).toBe(12);
    expect(readFileSync(file, 'utf8')).toBe('');
  });

  it('reads the header, lets the last result of a line win, and rewrites the file in input order', async () => {
    const file = path('rewrite.jsonl');
    const header = '{"tokenbatch":1,"input":{"sha256":"ab","bytes":3},"options":{"backend":"simulated"}}\n';
    const lines = [
      '{"line":1,"ok":true,"value":"a"}',
      '{"line":2,"ok":false,"error":{"name":"E","message":"m"}}',
      '{"line":3,"ok":true,"value":"ü"}',
      '{"line":2,"ok":true,"value":"b"}',
    ];
    writeFileSync(file, header + lines.join('\n') + '\n');
    const scanned = await scanResults(file);
    expect(scanned.header).toEqual({ tokenbatch: 1, input: { sha256: 'ab', bytes: 3 }, options: { backend: 'simulated' } });
    expect(scanned).toMatchObject({ done: new Set([1, 2, 3]), failedLines: new Set(), repeated: 1, inOrder: false });
    await rewriteInOrder(file, scanned);
    expect(readFileSync(file, 'utf8')).toBe(header + [lines[0], lines[3], lines[2]].join('\n') + '\n');
    expect((await scanResults(file)).inOrder).toBe(true);
  });

  it('refuses a header anywhere but on line 1', async () => {
    const file = path('late-header.jsonl');
    writeFileSync(file, '{"line":1,"ok":true,"value":"a"}\n{"tokenbatch":1,"input":{"sha256":"ab","bytes":3},"options":{}}\n');
    await expect(scanResults(file)).rejects.toThrow(/line 2 is not a tokenbatch result line/);
  });
});
