import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';

// Every ```ts block of the README is real code: it is written out and run here, as a module.
const root = fileURLToPath(new URL('..', import.meta.url));
const readme = readFileSync(`${root}README.md`, 'utf8');
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1] as string);
const folder = `${root}temp/readme`;

describe('README examples', () => {
  it('has examples', () => expect(blocks.length).toBeGreaterThan(0));

  blocks.forEach((code, i) => {
    it(`example ${i + 1} runs: ${code.split('\n')[0]}`, async () => {
      mkdirSync(folder, { recursive: true });
      const file = `${folder}/example-${i + 1}.ts`;
      writeFileSync(file, code);
      const log = vi.spyOn(console, 'log').mockImplementation(() => {});
      try {
        await import(/* @vite-ignore */ file);
        expect(log).toHaveBeenCalled();
      } finally {
        log.mockRestore();
      }
    });
  });
});
