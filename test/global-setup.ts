/**
 * One real Temporal dev server (the CLI installed by scripts/install-temporal-cli.mjs), with its
 * Web UI, and one workflow bundle for the whole test run; tests reach them through environment variables.
 * With STEPWISE_TEST_TEMPORAL_ADDRESS already set (`npm run test:cluster`), the tests use that
 * server instead, unchanged, and no dev server is started.
 */
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { DefaultLogger } from '@temporalio/worker';
import { buildWorkflowBundle } from '../scripts/build-workflow-bundle';
import { DevServer } from '../src/dev-server';
import { freePort } from './helpers';

export const TMP = resolve(__dirname, '.tmp');

export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  // Pipeline test folders (imports, indexes, datasets) of earlier runs.
  rmSync(join(TMP, 'pipelines'), { recursive: true, force: true });
  const external = process.env.STEPWISE_TEST_TEMPORAL_ADDRESS;
  const [port, uiPort] = [await freePort(), await freePort()];
  const [server] = await Promise.all([
    // With its Web UI: the browser tests follow the dashboard's "Open in Temporal UI" links.
    external ? null : DevServer.start({ port, uiPort, startTimeoutMs: 90_000 }),
    buildWorkflowBundle(join(TMP, 'workflow-bundle.js'), new DefaultLogger('WARN')),
  ]);
  if (server) (globalThis as { __devServer?: DevServer }).__devServer = server;
  const address = server?.address ?? external;
  process.env.STEPWISE_TEST_TEMPORAL_ADDRESS = address;
  // An external server's UI, when there is one, comes from the environment (npm run test:cluster).
  if (server?.uiUrl) process.env.STEPWISE_TEST_TEMPORAL_UI_URL = server.uiUrl;
  process.env.STEPWISE_TEST_BUNDLE = join(TMP, 'workflow-bundle.js');
  // The e2e tests run the compiled processes exactly as `npm start` does.
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
    cwd: resolve(__dirname, '..'),
    stdio: 'inherit',
  });
  execFileSync(process.execPath, [resolve(__dirname, '../scripts/build-dashboard.mjs')], {
    stdio: 'inherit',
  });
  console.log(
    `\n[global-setup] ${server ? 'dev server' : 'external Temporal'} ${address}, bundle and build ready in ${Date.now() - started} ms`,
  );
}
