/**
 * Builds the example app's workflow bundle (what the cluster's and production's workers load) and
 * its manifest: `stepwise bundle` for this repository's own app. Exits non-zero on any failure.
 */
import { resolve } from 'node:path';
import type { Logger } from '@temporalio/worker';
import { buildWorkflowBundle as buildBundle } from '../src/bundle';

/** The example app's module (its default export is the app). */
export const EXAMPLE_APP_MODULE = require.resolve('../workflows/app');

/** Bundles `appModule` (default: the example app) into `outFile`, with its manifest beside it. */
export async function buildWorkflowBundle(
  outFile: string,
  logger?: Logger,
  appModule = EXAMPLE_APP_MODULE,
): Promise<void> {
  await buildBundle(appModule, outFile, logger);
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
