// Lint: typescript-eslint with type information, so that floating and misused
// promises (fatal in a daemon) are errors. See docs/decisions/0002-typescript-and-lint.md.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'examples/out/**', '**/*.js', '**/*.mjs', '**/*.cjs', '**/*.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        { ignoreVoid: false, allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] }] },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-console': 'off',
    },
  },
  {
    // Tests and test helpers poke at parsed JSON responses; `any` is allowed there, not in product code.
    files: ['**/*.test.ts', '**/testing.ts', '**/testing/**/*.ts', 'test/**/*.ts', '*/bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // Benches live outside each package's rootDir; tsconfig.bench.json type-checks them.
    files: ['*/bench/**/*.ts'],
    languageOptions: { parserOptions: { projectService: false, project: './tsconfig.bench.json', tsconfigRootDir: import.meta.dirname } },
  },
);
