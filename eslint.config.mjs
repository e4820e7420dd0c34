// @ts-check
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import { builtinModules } from 'node:module';
import { dirname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import tseslint from 'typescript-eslint';

const root = dirname(fileURLToPath(import.meta.url));
const workflowsDir = resolve(root, 'workflows');
const ALLOWED_PACKAGES = ['@temporalio/workflow', 'zod'];
/**
 * Allowed by exact name only: the root of @temporalio/common is already in every workflow bundle
 * (@temporalio/workflow is built on it) and holds pure helpers the workflow SDK does not re-export,
 * such as `defineSearchAttributeKey`. Its `lib/` internals stay out.
 */
const ALLOWED_EXACT = ['@temporalio/common'];
const BUILTINS = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

/**
 * Workflow code is replayed deterministically inside the Temporal sandbox: it may import only
 * @temporalio/workflow, zod, the root of @temporalio/common and files inside workflows/ (no Node
 * built-ins, no Nest, no src/).
 */
const workflowImports = {
  meta: { type: 'problem', schema: [], messages: { bad: '{{why}}' } },
  create(context) {
    const check = (node, source) => {
      if (!source || typeof source.value !== 'string') return;
      const spec = source.value;
      let why = null;
      if (spec.startsWith('.')) {
        const target = resolve(dirname(context.filename), spec);
        if (target !== workflowsDir && !target.startsWith(workflowsDir + sep)) {
          why = `workflows/ must not import "${spec}": it leaves the workflows folder`;
        }
      } else if (BUILTINS.has(spec)) {
        why = `workflows/ must not import the Node built-in "${spec}" (not deterministic, not in the sandbox)`;
      } else if (
        !ALLOWED_EXACT.includes(spec) &&
        !ALLOWED_PACKAGES.some((p) => spec === p || spec.startsWith(`${p}/`))
      ) {
        why = `workflows/ may import only ${[...ALLOWED_PACKAGES, ...ALLOWED_EXACT].join(', ')} and its own files, not "${spec}"`;
      }
      if (why) context.report({ node, messageId: 'bad', data: { why } });
    };
    return {
      ImportDeclaration: (n) => check(n, n.source),
      ExportNamedDeclaration: (n) => check(n, n.source),
      ExportAllDeclaration: (n) => check(n, n.source),
      ImportExpression: (n) => check(n, n.source),
      CallExpression: (n) => {
        if (n.callee.type === 'Identifier' && n.callee.name === 'require') check(n, n.arguments[0]);
      },
    };
  },
};

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
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: {
      globals: { console: 'readonly', process: 'readonly', module: 'writable', require: 'readonly' },
    },
  },
  prettier,
);
