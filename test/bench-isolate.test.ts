import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

describe('bench runner isolation', () => {
  it('a scenario failing with an uncaught ECONNRESET or a throw fails alone; the run goes on', () => {
    const fixture = fileURLToPath(new URL('./support/isolate-fixture.ts', import.meta.url));
    const out = execFileSync(process.execPath, ['--import', 'tsx', fixture], { encoding: 'utf8', timeout: 60_000 });
    const results = JSON.parse(out.trim().split('\n').at(-1) as string) as { ok: boolean; error?: string; result?: unknown }[];
    expect(results[0]).toMatchObject({ ok: false });
    expect(results[0]?.error).toMatch(/ECONNRESET/);
    expect(results[1]).toEqual({ ok: false, error: 'RangeError: scenario bug' });
    expect(results[2]).toEqual({ ok: true, result: 42 });
  }, 60_000);
});
