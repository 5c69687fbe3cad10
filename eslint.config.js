import js from '@eslint/js';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

// The core (operators, batching, tokens, internal, public helpers) never imports a backend or the
// CLI: dependencies point from backends and the CLI to the core, never back.
const ENTRY_POINTS = ['src/index.ts', 'src/iterable.ts', 'src/openai.ts', 'src/redis.ts', 'src/tiktoken.ts'];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'etc/', 'coverage/', 'temp/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/require-await': 'off',
      // Operators forward what a source or handler threw, unchanged, Error or not.
      '@typescript-eslint/prefer-promise-reject-errors': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
    },
  },
  {
    files: ['src/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js'], extensionAlias: { '.js': ['.ts', '.js'] } })],
    },
    rules: { 'import-x/no-cycle': ['error', { ignoreExternal: true }] },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/backends/**', 'src/cli/**', ...ENTRY_POINTS],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/backends/**', '**/cli/**'], message: 'The core must not depend on backends or the CLI: move what both need into the core.' }] },
      ],
    },
  },
  {
    files: ['src/backends/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['**/cli/**'], message: 'Backends must not depend on the CLI.' }] }] },
  },
  {
    files: ['**/*.js', '**/*.cjs', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
