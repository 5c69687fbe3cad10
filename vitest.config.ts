import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    // Any unhandled rejection or error fails the run: errors never vanish.
    dangerouslyIgnoreUnhandledErrors: false,
  },
});
