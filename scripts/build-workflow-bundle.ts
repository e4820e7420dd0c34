/** Builds the workflow bundle the production worker loads. Exits non-zero on any failure. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { bundleWorkflowCode, type Logger } from '@temporalio/worker';
import { WORKFLOW_INTERCEPTOR_MODULES, WORKFLOWS_PATH } from '../src/worker-factory';

export async function buildWorkflowBundle(outFile: string, logger?: Logger): Promise<void> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES,
    logger,
  });
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, code);
}

if (require.main === module) {
  const out = resolve(process.argv[2] ?? resolve(__dirname, '..', 'workflow-bundle.js'));
  buildWorkflowBundle(out).then(
    () => console.log(`workflow bundle written to ${out}`),
    (err: unknown) => {
      console.error('workflow bundle failed:', err);
      process.exit(1);
    },
  );
}
