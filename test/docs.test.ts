import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';

// Every ```ts block of docs/*.md is real code, as in the README (sections move between the two).
const root = fileURLToPath(new URL('..', import.meta.url));
const pages = readdirSync(`${root}docs`).filter((file) => file.endsWith('.md'));
const folder = `${root}temp/docs`;

describe('docs examples', () => {
  for (const page of pages) {
    const blocks = [...readFileSync(`${root}docs/${page}`, 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1] as string);
    it(`${page} has examples`, () => expect(blocks.length).toBeGreaterThan(0));
    blocks.forEach((code, i) => {
      it(`${page} example ${i + 1} runs: ${code.split('\n')[0]}`, async () => {
        mkdirSync(folder, { recursive: true });
        const file = `${folder}/${page.replace(/\W/g, '-')}-${i + 1}.ts`;
        writeFileSync(file, code);
        const log = vi.spyOn(console, 'log').mockImplementation(() => {});
        // The console exporters print with console.dir: keep the test output quiet.
        const dir = vi.spyOn(console, 'dir').mockImplementation(() => {});
        try {
          await import(/* @vite-ignore */ file);
          expect(log).toHaveBeenCalled();
        } finally {
          log.mockRestore();
          dir.mockRestore();
        }
      });
    });
  }
});
