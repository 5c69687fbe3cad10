import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { VERSION } from '../src/version.js';

// These tests load the built package the way consumers do, through its `exports` map (a package
// can import itself by name), in separate Node processes: ESM import and CommonJS require.
const root = fileURLToPath(new URL('..', import.meta.url));

const script = `
  const { from } = rxjs;
  const out = [];
  from(['one two', 'three', 'four five six']).pipe(tb.bufferByTokens({ maxTokens: 4 })).subscribe({
    next: (batch) => out.push(batch.items.length + ':' + batch.tokens),
    complete: () => console.log(out.join(' ') + ' ' + typeof it.bufferByTokens + ' ' + (new tb.RateLimitError('x', { retryAfterMs: 5 }).retryAfterMs)),
  });
`;

function node(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

describe('the built package', () => {
  beforeAll(() => {
    const built = existsSync(`${root}dist/cjs/index.js`) && existsSync(`${root}dist/types/index.d.ts`);
    const newestSource = Math.max(...readdirSync(`${root}src`, { recursive: true, encoding: 'utf8' }).map((file) => statSync(`${root}src/${file}`).mtimeMs));
    const stale = built && statSync(`${root}dist/esm/index.js`).mtimeMs < newestSource;
    if (!built || stale) execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'ignore' });
  }, 120_000);

  it('works for ESM consumers', () => {
    const esm = `import * as tb from 'tokenbatch'; import * as it from 'tokenbatch/iterable'; import * as rxjs from 'rxjs'; ${script}`;
    expect(node(['--input-type=module', '-e', esm])).toBe('2:3 1:3 function 5');
  });

  it('works for CommonJS consumers', () => {
    const cjs = `const tb = require('tokenbatch'); const it = require('tokenbatch/iterable'); const rxjs = require('rxjs'); ${script}`;
    expect(node(['-e', cjs])).toBe('2:3 1:3 function 5');
  });

  it('offers tokenbatch/redis to both module systems, sharing the error classes', () => {
    const check = "typeof redis.fromRedisStream + ' ' + typeof redis.toRedisStream + ' ' + (new redis.RedisStreamError('XACK', 'x') instanceof tb.TokenbatchError)";
    expect(node(['--input-type=module', '-e', `import * as tb from 'tokenbatch'; import * as redis from 'tokenbatch/redis'; console.log(${check});`])).toBe('function function true');
    expect(node(['-e', `const tb = require('tokenbatch'); const redis = require('tokenbatch/redis'); console.log(${check});`])).toBe('function function true');
  });

  it('offers tokenbatch/cache-sqlite to both module systems, a file cache that round-trips a value', () => {
    const db = `${root}temp/package-cache-${process.pid}.db`;
    const use = (cache: string) => `const c = ${cache}.createSqliteCache({ path: ${JSON.stringify(db)} }); c.set([{ key: 'k', value: { ok: 1 } }]).then(() => c.get(['k', 'x'])).then((r) => { console.log(JSON.stringify(r)); return c.close(); });`;
    mkdirSync(`${root}temp`, { recursive: true });
    expect(node(['--input-type=module', '-e', `import * as cache from 'tokenbatch/cache-sqlite'; ${use('cache')}`])).toBe('[{"value":{"ok":1}},null]');
    expect(node(['-e', `const cache = require('tokenbatch/cache-sqlite'); ${use('cache')}`])).toBe('[{"value":{"ok":1}},null]');
    rmSync(db, { force: true });
    rmSync(`${db}-wal`, { force: true });
    rmSync(`${db}-shm`, { force: true });
  });

  it('keeps internals out of reach', () => {
    expect(() => node(['-e', "require('tokenbatch/dist/internal/batcher.js')"])).toThrow(/ERR_PACKAGE_PATH_NOT_EXPORTED/);
    expect(() => node(['--input-type=module', '-e', "await import('tokenbatch/internal/batcher')"])).toThrow(/ERR_PACKAGE_PATH_NOT_EXPORTED/);
  });

  it('ships the tokenbatch command as an executable, outside the exports map', () => {
    const bin = (JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { bin: Record<string, string> }).bin.tokenbatch as string;
    const file = `${root}${bin}`;
    expect(readFileSync(file, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(statSync(file).mode & 0o111).not.toBe(0);
    expect(execFileSync(file, ['--version'], { encoding: 'utf8' }).trim()).toBe(VERSION);
    expect(() => node(['--input-type=module', '-e', "await import('tokenbatch/cli/main')"])).toThrow(/ERR_PACKAGE_PATH_NOT_EXPORTED/);
    expect(() => node(['--input-type=module', '-e', "await import('tokenbatch/dist/esm/cli/main.js')"])).toThrow(/ERR_PACKAGE_PATH_NOT_EXPORTED/);
  });

  it('keeps the command-line dependencies out of the library', () => {
    const library = readdirSync(`${root}src`, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.ts') && !file.startsWith('cli/'));
    for (const file of library) expect(readFileSync(`${root}src/${file}`, 'utf8'), file).not.toMatch(/from '(commander|cli-progress)'/);
    expect(existsSync(`${root}dist/cjs/cli`)).toBe(false);
  });
});
