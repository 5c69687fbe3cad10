import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// Every example runs as a user would run it (tsx, a process of its own), so none can rot.
const root = fileURLToPath(new URL('..', import.meta.url));
const examples = readdirSync(`${root}examples`).filter((file) => file.endsWith('.ts'));
const run = promisify(execFile);

describe('examples', () => {
  for (const example of examples) {
    it(`${example} runs to completion`, async () => {
      const { stdout } = await run(process.execPath, ['--import', 'tsx', `examples/${example}`], {
        cwd: root,
        timeout: 90_000,
        env: { ...process.env, CI: 'true', DEMO_ITEMS: '150' },
      });
      expect(stdout.trim().length).toBeGreaterThan(0);
    });
  }
});
