#!/usr/bin/env node
/**
 * The `tokenbatch` executable (package.json `bin`). Not an entry point of the library: nothing
 * here is exported, and the `exports` map does not reach it.
 */
import { cli } from './program.js';

cli(process.argv.slice(2), { stderr: process.stderr, signals: process, env: process.env }, process.stdout).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`tokenbatch: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
