import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { itRunsEachBlock, tsBlocks } from './support/markdown.js';
import { sqliteLoads } from './support/sqlite.js';

// Every ```ts block of docs/*.md is real code, as in the README (sections move between the two).
const root = fileURLToPath(new URL('..', import.meta.url));

describe('docs examples', () => {
  const pages = readdirSync(`${root}docs`).filter((file) => file.endsWith('.md'));
  it('has pages with examples', () => expect(pages.some((page) => tsBlocks(readFileSync(`${root}docs/${page}`, 'utf8')).length > 0)).toBe(true));
  for (const page of pages) {
    const markdown = readFileSync(`${root}docs/${page}`, 'utf8');
    // better-sqlite3's addon is built for the Node.js that installed it: other Node legs skip its blocks.
    itRunsEachBlock(markdown, `${root}temp/docs`, `${page} example`, {
      skip: (code) => (code.includes('tokenbatch/cache-sqlite') && !sqliteLoads ? `better-sqlite3 does not load in Node ${process.version}` : undefined),
    });
  }
});
