import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Examples and README snippets import 'tokenbatch' as users do; here that means the sources.
  resolve: {
    alias: [
      { find: /^tokenbatch$/, replacement: fileURLToPath(new URL('./src/index.ts', import.meta.url)) },
      { find: /^tokenbatch\/(.*)$/, replacement: fileURLToPath(new URL('./src/$1.ts', import.meta.url)) },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    // Any unhandled rejection or error fails the run: errors never vanish.
    dangerouslyIgnoreUnhandledErrors: false,
  },
});
