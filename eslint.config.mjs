// @ts-check
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import tseslint from 'typescript-eslint';

const root = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
/** The project's own rules (scripts/eslint-rules.cjs, unit-tested in test/unit/lint-boundaries.test.ts). */
const { workflowImports, noExampleApp } = require('./scripts/eslint-rules.cjs')(root);

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'dist/',
      '.tools/',
      '.data/',
      'coverage/',
      'test/.tmp/',
      'scripts/*.mjs',
      'src/dashboard/*.generated.ts',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: root } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-deprecated': 'error',
      // The SDK's lib/ paths are internals that move between releases; use the packages' roots.
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '^@temporalio/[^/]+/lib/', message: 'Import from the package root (its public API).' },
          ],
        },
      ],
    },
  },
  {
    // Import cycles make module initialisation order matter (and Nest providers undefined); none allowed.
    files: ['**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      // Follow .ts files (imported by extensionless relative paths); stop at node_modules.
      'import-x/extensions': ['.ts', '.js'],
      'import-x/external-module-folders': ['node_modules', 'node_modules/@types'],
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js', '.json', '.node'] })],
    },
    rules: { 'import-x/no-cycle': ['error', { ignoreExternal: true }] },
  },
  {
    // The benchmark's bundle entry is workflow code too.
    files: ['workflows/**/*.ts', 'bench/workflows.ts'],
    plugins: { stepwise: { rules: { 'workflow-imports': workflowImports } } },
    rules: { 'stepwise/workflow-imports': 'error' },
  },
  {
    files: [
      'src/**/*.ts',
      'workflows/engine/**/*.ts',
      'workflows/sdk/**/*.ts',
      'workflows/notifications/**/*.ts',
      'workflows/contracts.ts',
      'workflows/limits.ts',
      'workflows/interceptors.ts',
      'workflows/tracing.ts',
      'workflows/search-attributes.ts',
      'workflows/job-state.ts',
      'workflows/schema-registry.ts',
    ],
    plugins: { framework: { rules: { 'no-example-app': noExampleApp } } },
    rules: { 'framework/no-example-app': 'error' },
  },
  {
    files: ['**/*.mjs', '**/*.js', '**/*.cjs'],
    languageOptions: {
      globals: { console: 'readonly', process: 'readonly', module: 'writable', require: 'readonly' },
    },
  },
  { files: ['**/*.cjs'], rules: { '@typescript-eslint/no-require-imports': 'off' } },
  prettier,
);
