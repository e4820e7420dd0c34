/**
 * The import boundaries ESLint enforces (scripts/eslint-rules.cjs), tried by the mistakes they
 * exist for — the framework importing the example app, workflow code importing Node — through
 * ESLint's own Linter on text placed where the mistake would be.
 */
import { resolve } from 'node:path';
import { Linter, type Rule } from 'eslint';

const root = resolve(__dirname, '..', '..');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const rules = require('../../scripts/eslint-rules.cjs') as (root: string) => Record<string, Rule.RuleModule>;
const { workflowImports, noExampleApp } = rules(root);

function problems(text: string, file: string): string[] {
  const linter = new Linter({ configType: 'flat' });
  const messages = linter.verify(
    text,
    [
      {
        files: ['**/*.ts'],
        languageOptions: { sourceType: 'module' },
        plugins: { t: { rules: { 'no-example-app': noExampleApp, 'workflow-imports': workflowImports } } },
        rules: { 't/no-example-app': 'error', 't/workflow-imports': 'error' },
      },
    ],
    resolve(root, file),
  );
  return messages.map((m) => `${m.ruleId}: ${m.message}`);
}

describe('framework/no-example-app', () => {
  it.each([
    ['src/api/probe.ts', "import app from '../../workflows/app';\n"],
    ['src/probe.ts', "import { createActivities } from '../activities';\n"],
    ['src/probe.ts', "const m = require('../activities/index');\n"],
    ['workflows/engine/probe.ts', "export { exampleDefinition } from '../jobs/example';\n"],
  ])('refuses %s importing the example app (%s)', (file, text) => {
    expect(problems(text, file).join('\n')).toMatch(/t\/no-example-app: the framework must not import/);
  });

  it('lets the framework import itself', () => {
    expect(problems("import { defineJob } from './definition';\n", 'workflows/engine/probe.ts')).toEqual([]);
  });
});

describe('workflow-imports', () => {
  it('refuses a Node built-in in workflow code', () => {
    expect(
      problems("import { readFileSync } from 'node:fs';\n", 'workflows/engine/probe.ts').join('\n'),
    ).toMatch(/t\/workflow-imports: workflows\/ must not import the Node built-in/);
  });

  it("lets the tracing module load the OpenTelemetry interceptors' workflow entry and the API", () => {
    const text =
      "const m = require('@temporalio/interceptors-opentelemetry/lib/workflow');\n" +
      "const api = require('@opentelemetry/api');\n";
    expect(problems(text, 'workflows/tracing.ts')).toEqual([]);
  });

  it.each([
    "import { makeWorkflowExporter } from '@temporalio/interceptors-opentelemetry';\n",
    "const m = require('@opentelemetry/sdk-trace-base');\n",
  ])('refuses the rest of OpenTelemetry in workflow code (%s)', (text) => {
    expect(problems(text, 'workflows/tracing.ts').join('\n')).toMatch(
      /t\/workflow-imports: workflows\/ may import only/,
    );
  });
});
