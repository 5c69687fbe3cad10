import { mkdirSync, writeFileSync } from 'node:fs';
import { expect, it, vi } from 'vitest';

/** The ```ts blocks of a markdown text. */
export function tsBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1] as string);
}

/** What a page's blocks need: a reason to skip one (a missing server), or set-up before it runs. */
export interface BlockHooks {
  skip?: (code: string) => string | undefined;
  before?: (code: string) => Promise<void> | void;
}

/**
 * One test per ```ts block: the block is written to `folder` as a module and imported, and must log
 * something. Console output is kept out of the test report (exporters print with console.dir).
 */
export function itRunsEachBlock(markdown: string, folder: string, label: string, hooks: BlockHooks = {}): void {
  tsBlocks(markdown).forEach((code, i) => {
    const skip = hooks.skip?.(code);
    it.skipIf(skip !== undefined)(`${label} ${i + 1} runs: ${code.split('\n')[0]}${skip ? ` (skipped: ${skip})` : ''}`, async () => {
      mkdirSync(folder, { recursive: true });
      const file = `${folder}/${label.replace(/\W+/g, '-')}-${i + 1}.ts`;
      writeFileSync(file, code);
      await hooks.before?.(code);
      const log = vi.spyOn(console, 'log').mockImplementation(() => {});
      const dir = vi.spyOn(console, 'dir').mockImplementation(() => {});
      try {
        await import(/* @vite-ignore */ file);
        expect(log).toHaveBeenCalled();
      } finally {
        log.mockRestore();
        dir.mockRestore();
        vi.unstubAllEnvs();
      }
    });
  });
}
