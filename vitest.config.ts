import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * Files kept out of `npm test` (which stays at about two minutes on a 2-core machine): benchmark
 * smoke tests, the examples run as processes, and long soaks. `npm run test:slow` runs them, and
 * CI runs both. A file named here still runs when named on the command line
 * (`npx vitest run test/examples.test.ts`).
 */
export const SLOW_TESTS = ['test/bench*.test.ts', 'test/examples.test.ts', 'test/examples/**/*.test.ts', 'test/**/*.slow.test.ts'];

export default defineConfig({
  // Examples and README snippets import 'tokenbatch' as users do; here that means the sources.
  resolve: {
    alias: [
      { find: /^tokenbatch$/, replacement: fileURLToPath(new URL('./src/index.ts', import.meta.url)) },
      { find: /^tokenbatch\/(.*)$/, replacement: fileURLToPath(new URL('./src/$1.ts', import.meta.url)) },
    ],
  },
  test: {
    testTimeout: 60_000,
    // Any unhandled rejection or error fails the run: errors never vanish.
    dangerouslyIgnoreUnhandledErrors: false,
    projects: [
      { extends: true, test: { name: 'main', include: ['test/**/*.test.ts'], exclude: SLOW_TESTS } },
      { extends: true, test: { name: 'slow', include: SLOW_TESTS } },
    ],
  },
});
