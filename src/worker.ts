/**
 * The worker process: polls the Stepwise task queue, runs workflows (from the prebuilt bundle in
 * production, bundled at start in development) and activities. SIGINT/SIGTERM shut it down
 * gracefully: in-flight activities finish or are cancelled, then the process exits.
 */
import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { NativeConnection, Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import { loadConfigOrExit } from './config';
import { JsonLogger } from './logger';
import { connectClient, workerConnectionOptions } from './temporal';
import { createStepwiseWorker } from './worker-factory';

export const DEFAULT_BUNDLE_PATH = resolve(__dirname, '..', 'workflow-bundle.js');

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const level = config.env.LOG_LEVEL;
  const logger = new JsonLogger('worker', level);
  Runtime.install({
    logger,
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} } },
  });
  let bundle = config.env.WORKFLOW_BUNDLE_PATH;
  if (!bundle && config.env.NODE_ENV === 'production') {
    bundle = DEFAULT_BUNDLE_PATH;
    if (!existsSync(bundle)) {
      logger.error(
        `NODE_ENV=production needs the prebuilt workflow bundle at ${bundle}: run "npm run build:workflows"`,
      );
      process.exit(1);
    }
  }
  logger.info('connecting', { address: config.temporal.address, namespace: config.temporal.namespace });
  const connection = await NativeConnection.connect(workerConnectionOptions(config.temporal));
  const client = await connectClient(config.temporal);
  const worker = await createStepwiseWorker({
    connection,
    namespace: config.temporal.namespace,
    client,
    taskQueue: config.temporal.taskQueue,
    workflowBundlePath: bundle,
    pipelines: config.pipelines,
  });
  logger.info('worker started', {
    taskQueue: worker.options.taskQueue,
    bundle: bundle ?? 'bundled at start',
  });
  try {
    await worker.run(); // resolves after a shutdown signal, once in-flight work is done
  } finally {
    await client.connection.close();
    await connection.close();
    logger.info('worker stopped');
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
