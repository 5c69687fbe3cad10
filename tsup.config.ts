import { defineConfig } from 'tsup';

// JavaScript for ESM and CommonJS consumers; declarations come from tsc (tsconfig.build.json).
export default defineConfig({
  entry: { index: 'src/index.ts', iterable: 'src/iterable.ts', openai: 'src/openai.ts' },
  format: ['esm', 'cjs'],
  target: 'node20',
  platform: 'neutral',
  splitting: true,
  sourcemap: true,
  clean: true,
  dts: false,
  external: ['rxjs', 'ix', '@opentelemetry/api', 'gpt-tokenizer', 'openai', 'ioredis', 'tiktoken'],
});
