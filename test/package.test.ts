import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { VERSION } from '../src/version.js';
import { sqliteLoads } from './support/sqlite.js';

// These tests load the built package the way consumers do, through its `exports` map (a package
// can import itself by name), in separate Node processes: ESM import and CommonJS require. The
// package is ESM only; require() loads it through Node's require(esm) (Node 20.19+, 22.12+), so
// both module systems share one copy of every module and every class.
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
    const built = existsSync(`${root}dist/esm/index.js`) && existsSync(`${root}dist/types/index.d.ts`);
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

  it('keeps one class identity: an error made through require() is recognised by a chain loaded with import', () => {
    // The first attempt throws a RateLimitError built from the CommonJS side; the chain (ESM side)
    // must see it as a RateLimitError and retry, so the item gets its result on attempt 2.
    const script = `
      const { RateLimitError } = require('tokenbatch');
      import('tokenbatch/iterable').then(async ({ bufferByTokens, mergeBatches }) => {
        const { from } = await import('ix/asynciterable');
        const handler = async (batch, { attempt }) => {
          if (attempt === 1) throw new RateLimitError('slow down', { retryAfterMs: 1 });
          return batch.items.map((text) => text.toUpperCase() + '@' + attempt);
        };
        const outcomes = from(['a', 'b']).pipe(bufferByTokens({ maxTokens: 100 }), mergeBatches(handler, { retry: { maxAttempts: 2, baseDelayMs: 1 } }));
        const seen = [];
        for await (const outcome of outcomes) seen.push(outcome.ok ? outcome.value : outcome.error.name);
        console.log(seen.join(' '));
      });
    `;
    expect(node(['-e', script])).toBe('A@2 B@2');
  });

  it('offers every entry of the exports map to both module systems', () => {
    const { exports } = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { exports: Record<string, unknown> };
    const entries = Object.keys(exports)
      .filter((key) => key !== './package.json')
      .map((key) => `tokenbatch${key.slice(1)}`);
    expect(entries).toEqual(expect.arrayContaining(['tokenbatch', 'tokenbatch/iterable', 'tokenbatch/openai', 'tokenbatch/redis', 'tokenbatch/tiktoken']));
    const list = JSON.stringify(entries);
    const count = "(m) => Object.keys(m).filter((key) => key !== 'default' && key !== '__esModule').length";
    const esm = node(['--input-type=module', '-e', `const c = ${count}; for (const e of ${list}) console.log(e, c(await import(e)));`]);
    const cjs = node(['-e', `const c = ${count}; for (const e of ${list}) console.log(e, c(require(e)));`]);
    expect(cjs).toBe(esm);
    for (const line of esm.split('\n')) expect(Number(line.split(' ')[1]), line).toBeGreaterThan(0);
  });

  it('compiles and runs in a TypeScript CommonJS project ("module": "nodenext", TypeScript 5.8+)', () => {
    const project = mkdtempSync(join(tmpdir(), 'tokenbatch-cjs-consumer-'));
    try {
      mkdirSync(join(project, 'node_modules'));
      symlinkSync(root, join(project, 'node_modules', 'tokenbatch'));
      for (const dependency of ['rxjs', 'ix', '@opentelemetry']) symlinkSync(join(root, 'node_modules', dependency), join(project, 'node_modules', dependency));
      writeFileSync(join(project, 'package.json'), '{ "type": "commonjs" }\n');
      const compilerOptions = { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, types: [], skipLibCheck: true, outDir: 'out' };
      writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['index.ts'] }));
      writeFileSync(
        join(project, 'index.ts'),
        [
          "import tb = require('tokenbatch');",
          "import iterable = require('tokenbatch/iterable');",
          "const error: InstanceType<typeof tb.RateLimitError> = new tb.RateLimitError('x', { retryAfterMs: 7 });",
          'console.log(typeof iterable.bufferByTokens, error.retryAfterMs);',
        ].join('\n'),
      );
      execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', project], { encoding: 'utf8' });
      expect(node([join(project, 'out/index.js')])).toBe('function 7');
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  });

  it('offers tokenbatch/redis to both module systems, sharing the error classes', () => {
    const check = "typeof redis.fromRedisStream + ' ' + typeof redis.toRedisStream + ' ' + (new redis.RedisStreamError('XACK', 'x') instanceof tb.TokenbatchError)";
    expect(node(['--input-type=module', '-e', `import * as tb from 'tokenbatch'; import * as redis from 'tokenbatch/redis'; console.log(${check});`])).toBe(
      'function function true',
    );
    expect(node(['-e', `const tb = require('tokenbatch'); const redis = require('tokenbatch/redis'); console.log(${check});`])).toBe('function function true');
  });

  it.skipIf(!sqliteLoads)('offers tokenbatch/cache-sqlite to both module systems, a file cache that round-trips a value', () => {
    const db = `${root}temp/package-cache-${process.pid}.db`;
    const use = (cache: string) =>
      `const c = ${cache}.createSqliteCache({ path: ${JSON.stringify(db)} }); c.set([{ key: 'k', value: { ok: 1 } }]).then(() => c.get(['k', 'x'])).then((r) => { console.log(JSON.stringify(r)); return c.close(); });`;
    mkdirSync(`${root}temp`, { recursive: true });
    expect(node(['--input-type=module', '-e', `import * as cache from 'tokenbatch/cache-sqlite'; ${use('cache')}`])).toBe('[{"value":{"ok":1}},null]');
    expect(node(['-e', `const cache = require('tokenbatch/cache-sqlite'); ${use('cache')}`])).toBe('[{"value":{"ok":1}},null]');
    rmSync(db, { force: true });
    rmSync(`${db}-wal`, { force: true });
    rmSync(`${db}-shm`, { force: true });
  });

  it('keeps internals out of reach', () => {
    expect(() => node(['-e', "require('tokenbatch/dist/esm/internal/batcher.js')"])).toThrow(/ERR_PACKAGE_PATH_NOT_EXPORTED/);
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

  it('ships a LICENSE, a CHANGELOG and the fields a registry page links to', () => {
    const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as Record<string, unknown>;
    expect(pkg.license).toBe('MIT');
    expect(readFileSync(`${root}LICENSE`, 'utf8')).toMatch(/^MIT License/);
    expect(readFileSync(`${root}CHANGELOG.md`, 'utf8')).toContain(`## ${String(pkg.version)}`);
    expect(pkg).toMatchObject({ repository: { url: expect.stringContaining('github.com') }, homepage: expect.any(String), bugs: { url: expect.any(String) } });
  });

  it('keeps the command-line dependencies out of the library', () => {
    const library = readdirSync(`${root}src`, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.ts') && !file.startsWith('cli/'));
    for (const file of library) expect(readFileSync(`${root}src/${file}`, 'utf8'), file).not.toMatch(/from '(commander|cli-progress)'/);
  });
});
