// The project's own ESLint rules, in CommonJS so the lint configuration and the unit tests
// (test/unit/lint-boundaries.test.ts, through ESLint's Linter) load the same code.
'use strict';
const { builtinModules } = require('node:module');
const { dirname, resolve, sep } = require('node:path');

/** @param {string} root the repository's root folder */
module.exports = function rules(root) {
  const workflowsDir = resolve(root, 'workflows');
  const ALLOWED_PACKAGES = ['@temporalio/workflow', 'zod'];
  /**
   * Allowed by exact name only: the root of @temporalio/common is already in every workflow bundle
   * (@temporalio/workflow is built on it) and holds pure helpers the workflow SDK does not re-export,
   * such as `defineSearchAttributeKey`. Its `lib/` internals stay out.
   */
  const ALLOWED_EXACT = [
    '@temporalio/common',
    // Traces (workflows/tracing.ts): the Temporal OpenTelemetry interceptors' workflow-side entry,
    // made for the sandbox (the bundler swaps in its workflow imports), and the OpenTelemetry API
    // those interceptors register their tracer with. Loaded only for executions whose start
    // carries a trace context.
    '@temporalio/interceptors-opentelemetry/lib/workflow',
    '@opentelemetry/api',
  ];
  const BUILTINS = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

  /**
   * Workflow code is replayed deterministically inside the Temporal sandbox: it may import only
   * @temporalio/workflow, zod, the root of @temporalio/common, the OpenTelemetry interceptors'
   * workflow entry and API (for traces) and files inside workflows/ (no Node built-ins, no Nest,
   * no src/).
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

  /**
   * The framework (src/, workflows/engine/ and the workflow-side contracts) is handed an app; it never
   * imports one. Imports of the example app — its job types (workflows/jobs/, workflows/app.ts), its
   * activities (activities/) — or of the bench, tests and scripts are refused.
   */
  const APP_DIRS = [
    'workflows/jobs',
    'workflows/app.ts',
    'workflows/app',
    'activities',
    'bench',
    'test',
    'scripts',
  ].map((d) => resolve(root, d));
  const noExampleApp = {
    meta: { type: 'problem', schema: [], messages: { bad: '{{why}}' } },
    create(context) {
      const check = (node, source) => {
        if (!source || typeof source.value !== 'string' || !source.value.startsWith('.')) return;
        const target = resolve(dirname(context.filename), source.value);
        const hit = APP_DIRS.find((d) => target === d || target.startsWith(d + sep));
        if (hit) {
          const why = `the framework must not import "${source.value}" (${hit.slice(root.length + 1)} is the example app's, or the repository's): take the app as a value (defineApp) instead`;
          context.report({ node, messageId: 'bad', data: { why } });
        }
      };
      return {
        ImportDeclaration: (n) => check(n, n.source),
        ExportNamedDeclaration: (n) => check(n, n.source),
        ExportAllDeclaration: (n) => check(n, n.source),
        ImportExpression: (n) => check(n, n.source),
        CallExpression: (n) => {
          if (n.callee.type === 'Identifier' && n.callee.name === 'require') check(n, n.arguments[0]);
        },
        TSImportType: (n) => check(n, n.argument?.literal ?? n.argument),
      };
    },
  };

  return { workflowImports, noExampleApp };
};
