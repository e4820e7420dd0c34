/** Builds the workflow bundle the production worker loads, and its manifest. Exits non-zero on any failure. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { bundleWorkflowCode, type Logger } from '@temporalio/worker';
import { exportedWorkflows, manifestPath, type BundleManifest } from '../src/registration';
import { WORKFLOW_INTERCEPTOR_MODULES, WORKFLOWS_PATH } from '../src/worker-factory';

/**
 * Bundles the workflow entry `workflowsPath` (default: the repository's) into `outFile`, and writes
 * beside it the manifest of the workflows it exports, which the worker checks the catalog against
 * when it starts (see src/registration.ts).
 */
export async function buildWorkflowBundle(
  outFile: string,
  logger?: Logger,
  workflowsPath = WORKFLOWS_PATH,
): Promise<void> {
  const { code } = await bundleWorkflowCode({
    workflowsPath,
    workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES,
    logger,
  });
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, code);
  const manifest: BundleManifest = { entry: workflowsPath, workflows: exportedWorkflows(workflowsPath) };
  writeFileSync(manifestPath(outFile), `${JSON.stringify(manifest, null, 2)}\n`);
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
