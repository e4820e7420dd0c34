/**
 * The fault tests run the compiled worker and API processes (as `npm run cluster` does) with a
 * workflow bundle built once; the tests find it in STEPWISE_TEST_BUNDLE.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { FAULTS_TMP } from './fault-helpers';
import { join, resolve } from 'node:path';
import { DefaultLogger } from '@temporalio/worker';
import { buildWorkflowBundle } from '../../scripts/build-workflow-bundle';

export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  // Clusters of earlier runs (each holds a PostgreSQL data directory).
  rmSync(FAULTS_TMP, { recursive: true, force: true });
  const bundle = resolve(__dirname, '..', '.tmp', 'faults-workflow-bundle.js');
  await buildWorkflowBundle(bundle, new DefaultLogger('WARN'));
  process.env.STEPWISE_TEST_BUNDLE = bundle;
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
    cwd: resolve(__dirname, '..', '..'),
    stdio: 'inherit',
  });
  console.log(`\n[faults] bundle ${join(bundle)} and build ready in ${Date.now() - started} ms`);
}
