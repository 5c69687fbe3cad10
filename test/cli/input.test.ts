import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { countInput, notText, parseLine, readItems } from '../../src/cli/input.js';
import { testFolder } from '../support/cli.js';

const { path } = testFolder();

describe('CLI input', () => {
  const fields = { textField: 'text', idField: 'id' };

  it('reads JSON strings, objects with a text field, and names what is wrong with other lines', () => {
    expect(parseLine(1, '"hello"', fields)).toEqual({ line: 1, text: 'hello' });
    expect(parseLine(2, '{"id": [1], "text": "hi", "x": 1}', fields)).toEqual({ line: 2, id: [1], text: 'hi' });
    expect(parseLine(3, '{"body": "hi"}', { textField: 'body', idField: 'key' })).toEqual({ line: 3, text: 'hi' });
    expect(parseLine(4, 'nope', fields).problem).toMatch(/^line 4: not valid JSON/);
    expect(parseLine(5, 'null', fields).problem).toBe('line 5: expected a JSON string or object, got null');
    expect(parseLine(6, '{"text": 5}', fields).problem).toBe('line 6: expected a string in field "text", but it is number (see --text-field)');
  });

  it('strips a UTF-8 byte order mark from line 1', async () => {
    const file = path('bom.jsonl');
    writeFileSync(file, '\uFEFF"first"\n{"text": "second"}\n');
    const items = [];
    for await (const item of readItems(file, { fields, skip: new Set(), stop: new AbortController().signal, onProblem: () => {} })) items.push(item);
    expect(items).toEqual([
      { line: 1, text: 'first' },
      { line: 2, text: 'second' },
    ]);
    expect(await countInput(file, new Set([2]))).toEqual({ items: 2, alreadyDone: 1 });
  });

  it('tells binary, UTF-16 and non-UTF-8 files from UTF-8 text', async () => {
    const write = (name: string, bytes: Buffer | string): string => {
      const file = path(name);
      writeFileSync(file, bytes);
      return file;
    };
    expect(await notText(write('text.jsonl', '"héllo wörld ✓"\n'))).toBeUndefined();
    expect(await notText(write('bom.jsonl', '\uFEFF"x"\n'))).toBeUndefined();
    expect(await notText(write('empty.jsonl', ''))).toBeUndefined();
    expect(await notText(write('png.bin', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00])))).toBe('it holds binary data (a NUL byte at offset 8)');
    expect(await notText(write('utf16.jsonl', Buffer.from('\uFEFF"x"\n', 'utf16le')))).toBe('it is UTF-16 text; save it as UTF-8');
    expect(await notText(write('latin1.jsonl', Buffer.from('"caf\xe9"\n', 'latin1')))).toBe('it is not UTF-8 text');
    // A character cut by the end of the 64 KiB sample is not mistaken for bad UTF-8.
    const long = Buffer.concat([Buffer.alloc(64 * 1024 - 1, 0x61), Buffer.from('é\n', 'utf8')]);
    expect(await notText(write('long.jsonl', long))).toBeUndefined();
  });
});
