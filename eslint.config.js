// ESLint (flat config): typescript-eslint's recommended rules on every TypeScript file, the
// browser pages' scripts as browser code. `npm run lint`, and in CI.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['node_modules/', 'build/', 'dist/', 'data/', 'src/web/public/vendor/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { globals: { ...globals.node } },
    rules: {
      // `_`-prefixed names are deliberately unused (callbacks' positional parameters)
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // The queue moves jobs and keeps their records; the store and the engine's runtime are the
    // worker's (workers/) and the API's. Types only from either (test/queue/queue-imports.test.ts
    // checks the same over the whole import graph, re-exports and indirect imports included).
    files: ['src/queue/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        patterns: [{
          group: ['**/store', '**/store/**', '**/engine', '**/engine/**'],
          allowTypeImports: true,
          message: 'src/queue imports no store and no engine runtime (types only): inject what the worker or the API does instead (job-lifecycle.ts hooks).',
        }],
      }],
    },
  },
  {
    files: ['src/web/public/**/*.js'],
    languageOptions: { globals: { ...globals.browser }, sourceType: 'module' },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { globals: { ...globals.node }, sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
