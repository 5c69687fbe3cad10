import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { itRunsEachBlock, tsBlocks } from './support/markdown.js';

// Every ```ts block of the README is real code: it is written out and run here, as a module.
const root = fileURLToPath(new URL('..', import.meta.url));
const readme = readFileSync(`${root}README.md`, 'utf8');

describe('README examples', () => {
  it('has examples', () => expect(tsBlocks(readme).length).toBeGreaterThan(0));
  itRunsEachBlock(readme, `${root}temp/readme`, 'example');
});
