import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { itRunsEachBlock, tsBlocks } from './support/markdown.js';

// Every ```ts block of docs/*.md is real code, as in the README (sections move between the two).
const root = fileURLToPath(new URL('..', import.meta.url));

describe('docs examples', () => {
  for (const page of readdirSync(`${root}docs`).filter((file) => file.endsWith('.md'))) {
    const markdown = readFileSync(`${root}docs/${page}`, 'utf8');
    it(`${page} has examples`, () => expect(tsBlocks(markdown).length).toBeGreaterThan(0));
    itRunsEachBlock(markdown, `${root}temp/docs`, `${page} example`);
  }
});
