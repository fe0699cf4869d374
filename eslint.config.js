// ESLint flat config: @eslint/js and typescript-eslint recommended over the TypeScript sources, plus the
// type-aware rules that catch real bugs in async server code (floating and misused promises).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'coverage/', 'data/', 'test-artifacts/', '.scratch/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test runs what test() and describe() register; the promise they return needs no awaiting
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] }] },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      // as tsc's noUnusedParameters: a leading underscore marks a parameter that a signature requires
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-unnecessary-type-assertion': 'error',
    },
  },
  {
    // the inspector page runs in the browser
    files: ['src/inspector/page/**/*.js'],
    languageOptions: { globals: globals.browser },
  },
  {
    files: ['eslint.config.js', '.dependency-cruiser.cjs', '**/*.mjs'],
    languageOptions: { globals: globals.node },
  },
);
