/**
 * The worker process (`stepwise worker --app <module> --activities <module>`): polls the Stepwise
 * task queue, runs the app's workflows (from the prebuilt bundle in production, bundled at start in
 * development) and its activities.
 *
 * SIGINT/SIGTERM shut it down gracefully (a deploy): it stops polling for new tasks at once, lets
 * running activities finish for up to STEPWISE_WORKER_SHUTDOWN_GRACE_MS (so a deploy does not burn
 * a step attempt), then cancels what is left and exits. Optional: Prometheus metrics of the SDK
 * and of the jobs (STEPWISE_WORKER_METRICS_ADDRESS) and health probes (STEPWISE_WORKER_HEALTH_ADDRESS).
 */
import 'reflect-metadata';
import { existsSync } from 'node:fs';
import type { Connection } from '@temporalio/client';
import { NativeConnection, Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import { loadConfigOrExit, temporalSource } from './config';
import { JsonLogger } from './logger';
import { connectClient, workerConnectionOptions } from './temporal';
import { appModulePath, loadConfiguredActivities, loadConfiguredApp } from './app-modules';
import { defaultBundlePath } from './bundle';
import { createWorker } from './worker-factory';
import { missingSearchAttributes } from './search-attributes';
import { startWorkerHealthServer } from './worker-health';
import { settleWorkerVersion, type WorkerVersionOutcome } from './deployments';
import { workerVersioningFromEnv, type WorkerVersioning } from './worker-versioning';
import { JOB_HISTOGRAM_BUCKETS } from '../workflows/engine/metric-buckets';
import { startTracing, tracingTarget } from './tracing';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const level = config.env.LOG_LEVEL;
  const logger = new JsonLogger('worker', level, undefined, config.env.LOG_FORMAT);
  for (const warning of config.warnings) logger.warn(warning);
  const metricsAddress = config.env.STEPWISE_WORKER_METRICS_ADDRESS;
  Runtime.install({
    logger,
    telemetryOptions: {
      logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} },
      // The SDK's metrics (temporal_*) and the jobs' own (stepwise_*, workflows/engine/metrics.ts).
      ...(metricsAddress
        ? {
            metrics: {
              prometheus: {
                bindAddress: metricsAddress,
                countersTotalSuffix: true,
                useSecondsForDurations: true,
                // The jobs' duration histograms, in seconds (the SDK's own keep their buckets).
                histogramBucketOverrides: Object.fromEntries(
                  Object.entries(JOB_HISTOGRAM_BUCKETS).map(([name, buckets]) => [name, [...buckets]]),
                ),
              },
            },
          }
        : {}),
    },
  });
  const app = loadConfiguredApp(config);
  const activitiesModule = loadConfiguredActivities(config, app);
  let bundle = config.env.WORKFLOW_BUNDLE_PATH;
  if (!bundle && config.env.NODE_ENV === 'production') {
    bundle = defaultBundlePath(appModulePath(config));
    if (!existsSync(bundle)) {
      logger.error(
        `NODE_ENV=production needs the prebuilt workflow bundle at ${bundle}: run "stepwise bundle --app ${appModulePath(config)}"`,
      );
      process.exit(1);
    }
  }
  // Traces, when an OTLP endpoint is configured (OTEL_*; src/tracing.ts): off, nothing is installed.
  const tracing = startTracing(config.tracing, {
    defaultServiceName: 'stepwise-worker',
    warn: (m) => logger.warn(`tracing: ${m}`),
  });
  logger.info('connecting', {
    address: config.temporal.address,
    namespace: config.temporal.namespace,
    ...temporalSource(config),
  });
  const connection = await NativeConnection.connect(workerConnectionOptions(config.temporal));
  const client = await connectClient(config.temporal, tracing?.clientInterceptors());
  // A job upserting an attribute the namespace lacks fails its workflow task until it is added.
  const missing = await missingSearchAttributes(
    client.connection as Connection,
    config.temporal.namespace,
  ).catch(() => []);
  if (missing.length > 0) {
    logger.error(
      `the namespace ${config.temporal.namespace} lacks the search attributes ${missing.join(', ')}: jobs that set them wait (their workflow tasks fail) until they are added; run "node dist/scripts/prepare-namespace.js" with the same Temporal settings (TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE, or TEMPORAL_CONFIG_FILE and TEMPORAL_PROFILE; docs/configuration.md)`,
    );
  }
  // Worker Deployment Versioning (STEPWISE_WORKER_VERSIONING): this build of the deployment.
  const versioning = workerVersioningFromEnv(config.env, config.temporal.taskQueue, appModulePath(config));
  const worker = await createWorker({
    app,
    activities: await activitiesModule.create({ client }),
    connection,
    namespace: config.temporal.namespace,
    client,
    taskQueue: config.temporal.taskQueue,
    workflowsPath: appModulePath(config),
    workflowBundlePath: bundle,
    // Bulk jobs record each item in the API's audit trail: the same file (shared data folder).
    auditDbPath: config.api.auditDbPath === ':memory:' ? undefined : config.api.auditDbPath,
    versioning,
    tracing,
    warn: (m) => logger.warn(m),
    overrides: {
      shutdownGraceTime: config.env.STEPWISE_WORKER_SHUTDOWN_GRACE_MS,
      ...(config.env.STEPWISE_WORKER_IDENTITY
        ? { identity: `${config.env.STEPWISE_WORKER_IDENTITY}@${process.pid}` }
        : {}),
    },
  });
  const healthAddress = config.env.STEPWISE_WORKER_HEALTH_ADDRESS;
  const health = healthAddress ? await startWorkerHealthServer(healthAddress, worker, connection) : null;
  logger.info('worker started', {
    taskQueue: worker.options.taskQueue,
    identity: worker.options.identity,
    bundle: bundle ?? 'bundled at start',
    shutdownGraceMs: config.env.STEPWISE_WORKER_SHUTDOWN_GRACE_MS,
    metrics: metricsAddress ? `http://${metricsAddress}/metrics` : 'off',
    health: healthAddress ? `http://${healthAddress}/readyz` : 'off',
    deployment: versioning ? `${versioning.deploymentName} build ${versioning.buildId}` : 'unversioned',
    traces: tracingTarget(config.tracing),
  });
  const settling = new AbortController();
  try {
    const running = worker.run(); // resolves after a shutdown signal, once in-flight work is done
    if (versioning) {
      void settleWorkerVersion(client, versioning, {
        setCurrent: config.env.STEPWISE_WORKER_SET_CURRENT,
        identity: worker.options.identity,
        signal: settling.signal,
      }).then((outcome) => logVersionOutcome(logger, versioning, outcome));
    }
    await running;
  } finally {
    settling.abort();
    health?.close();
    await client.connection.close();
    await connection.close();
    // The last spans (the activities that just finished) go out before the process exits.
    await tracing?.shutdown();
    logger.info('worker stopped');
  }
}

/** What a versioned worker tells once it has polled: whether new jobs reach it, and if not, what to run. */
function logVersionOutcome(logger: JsonLogger, v: WorkerVersioning, outcome: WorkerVersionOutcome): void {
  const fields = { deployment: v.deploymentName, buildId: v.buildId };
  const setCurrent = `stepwise deployment set-current --deployment ${v.deploymentName} --build-id ${v.buildId}`;
  switch (outcome.kind) {
    case 'made-current':
      logger.info(
        'this build is now the current version of its deployment (STEPWISE_WORKER_SET_CURRENT): new jobs come here',
        {
          ...fields,
          previousBuildId: outcome.previousBuildId,
        },
      );
      return;
    case 'current':
      logger.info('this build is the current version of its deployment: new jobs come here', fields);
      return;
    case 'not-current':
      if (outcome.currentBuildId === null) {
        logger.warn(
          `the deployment has no current version: jobs wait for an unversioned worker until you run "${setCurrent}"`,
          fields,
        );
      } else {
        logger.info(
          `this build is not current (build ${outcome.currentBuildId} is): it runs only the jobs pinned to it until "${setCurrent}"`,
          { ...fields, currentBuildId: outcome.currentBuildId },
        );
      }
      return;
    case 'unknown':
      logger.warn('could not read the deployment of this build', { ...fields, error: outcome.error });
  }
}

main().catch((err: unknown) => {
  new JsonLogger('worker').error('worker failed', {
    error: err instanceof Error ? err : new Error(String(err)),
  });
  process.exit(1);
});
