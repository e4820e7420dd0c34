// @ts-check
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import { builtinModules } from 'node:module';
import { dirname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import tseslint from 'typescript-eslint';

const root = dirname(fileURLToPath(import.meta.url));
const workflowsDir = resolve(root, 'workflows');
const ALLOWED_PACKAGES = ['@temporalio/workflow', 'zod'];
const BUILTINS = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

/**
 * Workflow code is replayed deterministically inside the Temporal sandbox: it may import only
 * @temporalio/workflow, zod and files inside workflows/ (no Node built-ins, no Nest, no src/).
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
      } else if (!ALLOWED_PACKAGES.some((p) => spec === p || spec.startsWith(`${p}/`))) {
        why = `workflows/ may import only ${ALLOWED_PACKAGES.join(', ')} and its own files, not "${spec}"`;
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
  { ignores: ['node_modules/', 'dist/', '.tools/', '.data/', 'coverage/', 'test/.tmp/', 'scripts/*.mjs'] },
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
    },
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
