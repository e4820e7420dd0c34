/** Builds the prebuilt workflow bundle a production worker loads, and its manifest. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { bundleWorkflowCode, type Logger } from '@temporalio/worker';
import { loadApp, manifestPath, type BundleManifest } from './registration';
import { WORKFLOW_INTERCEPTOR_MODULES } from './worker-factory';

/** Where `stepwise bundle` writes an app module's bundle by default: `app.js` → `app.bundle.js`. */
export const defaultBundlePath = (appModule: string): string =>
  resolve(appModule).replace(/(\.[cm]?[jt]s)?$/, '.bundle.js');

/**
 * Bundles the app module `appModule` (its default export is the app) into `outFile`, and writes
 * beside it the manifest of the app's job types, which a worker checks its app against when it
 * starts (see `src/registration.ts`).
 */
export async function buildWorkflowBundle(
  appModule: string,
  outFile: string,
  logger?: Logger,
): Promise<void> {
  const workflowsPath = resolve(appModule);
  const app = loadApp(workflowsPath);
  const { code } = await bundleWorkflowCode({
    workflowsPath,
    workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES,
    logger,
  });
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, code);
  const manifest: BundleManifest = { entry: workflowsPath, jobTypes: app.jobs.map((d) => d.name) };
  writeFileSync(manifestPath(outFile), `${JSON.stringify(manifest, null, 2)}\n`);
}
