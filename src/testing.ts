/**
 * A test environment for an app: a real Temporal dev server (the installed Temporal CLI, in
 * memory) or one you already run, a worker of the app on a task queue of its own, and optionally
 * the HTTP API in the same process. The project's own tests, the bench and a user's tests use it.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { LoggerService } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Client } from '@temporalio/client';
import { NativeConnection, type Worker, type WorkerOptions } from '@temporalio/worker';
import type { ActivitiesOf, StepwiseApp } from '../workflows/engine/app';
import { createApp } from './app';
import { StepwiseClient } from './client/client';
import { loadConfig } from './config';
import { DevServer, freePort } from './dev-server';
import { connectTemporal } from './temporal';
import { settleWorkerVersion } from './deployments';
import type { Tracing } from './tracing';
import { createWorker, type WorkerDeps } from './worker-factory';
import type { WorkerVersioning } from './worker-versioning';

/** Options of {@link createStepwiseTestEnv}. */
export interface StepwiseTestEnvOptions<App extends StepwiseApp> {
  /** The app under test. */
  app: App;
  /**
   * Its activities, or a factory given the environment's client. Tests pass fakes here; the
   * compiler checks them against the app like a worker's.
   */
  activities: ActivitiesOf<App> | ((deps: WorkerDeps) => ActivitiesOf<App> | Promise<ActivitiesOf<App>>);
  /** The module whose default export is `app` (default: found among the loaded CommonJS modules). */
  workflowsPath?: string;
  /** A prebuilt bundle of the same app (`stepwise bundle`), to skip bundling. */
  workflowBundlePath?: string;
  /** A Temporal server to use (`host:port`); default: a dev server started for this environment. */
  temporalAddress?: string;
  /** @default a fresh `test-<uuid>` queue */
  taskQueue?: string;
  /**
   * Also start the HTTP API (on 127.0.0.1, a free port): `true`, or the environment it is
   * configured from (on top of this environment's server and queue, and an audit trail in a
   * temporary file the worker shares — bulk jobs record their items there — removed on close).
   */
  api?: boolean | { env?: NodeJS.ProcessEnv; logger?: LoggerService };
  /** Any other Temporal worker option. */
  workerOptions?: Partial<WorkerOptions>;
  /**
   * A versioned worker (Worker Deployment Versioning): the deployment and build it is. The
   * environment makes that build the deployment's current version before it returns, so jobs
   * started then run on it, and their states name it (`JobState.deployment`).
   */
  versioning?: WorkerVersioning;
  /**
   * Traces (`startTracing`, stepwise/worker): the environment's client, worker and API use it. The
   * caller owns it and shuts it down after `close()`. Default: none.
   */
  tracing?: Tracing | null;
}

/** What {@link createStepwiseTestEnv} started; `close()` stops all of it, in order. */
export interface StepwiseTestEnv<App extends StepwiseApp = StepwiseApp> {
  /** The Temporal server's `host:port`. */
  address: string;
  /** A Temporal client on the `default` namespace (for raw calls). */
  client: Client;
  /** The app's jobs on this environment's queue: start them typed by their definitions, read and watch them. */
  jobs: StepwiseClient<App>;
  nativeConnection: NativeConnection;
  /** The running worker. */
  worker: Worker;
  taskQueue: string;
  /** The API, when asked for: the Nest application and its base URL (`http://127.0.0.1:<port>`). */
  api: { server: NestFastifyApplication; url: string } | null;
  /** Stops the API, the worker (after its running tasks), the connections and the dev server. */
  close(): Promise<void>;
}

/** Starts a test environment for `app`; see {@link StepwiseTestEnvOptions}. */
export async function createStepwiseTestEnv<App extends StepwiseApp>(
  opts: StepwiseTestEnvOptions<App>,
): Promise<StepwiseTestEnv<App>> {
  const closers: (() => Promise<void>)[] = [];
  const closeAll = async (): Promise<void> => {
    for (const close of closers.splice(0).reverse()) await close();
  };
  try {
    let address = opts.temporalAddress;
    if (!address) {
      const port = await freePort();
      const server = await DevServer.start({ port, uiPort: port, headless: true, startTimeoutMs: 90_000 });
      closers.push(() => server.stop());
      address = server.address;
    }
    const connection = await connectTemporal({ address });
    closers.push(() => connection.close());
    const nativeConnection = await NativeConnection.connect({ address });
    closers.push(() => nativeConnection.close());
    const tracing = opts.tracing ?? null;
    const client = new Client({
      connection,
      namespace: 'default',
      ...(tracing ? { interceptors: tracing.clientInterceptors() } : {}),
    });
    const taskQueue = opts.taskQueue ?? `test-${randomUUID()}`;
    const activities =
      typeof opts.activities === 'function'
        ? await (opts.activities as (deps: WorkerDeps) => ActivitiesOf<App> | Promise<ActivitiesOf<App>>)({
            client,
          })
        : opts.activities;
    // The audit trail the API reads and the worker's bulk jobs write: one file, as in `npm start`.
    let auditDbPath = opts.api && opts.api !== true ? opts.api.env?.STEPWISE_AUDIT_DB_PATH : undefined;
    if (auditDbPath === undefined) {
      const dir = mkdtempSync(join(tmpdir(), 'stepwise-test-audit-'));
      closers.push(async () => rmSync(dir, { recursive: true, force: true }));
      auditDbPath = join(dir, 'audit.sqlite');
    }
    const worker = await createWorker({
      app: opts.app,
      auditDbPath: auditDbPath === ':memory:' ? undefined : auditDbPath,
      activities,
      connection: nativeConnection,
      client,
      namespace: 'default',
      taskQueue,
      workflowsPath: opts.workflowsPath,
      workflowBundlePath: opts.workflowBundlePath,
      tracing,
      overrides: opts.workerOptions,
      versioning: opts.versioning,
    });
    const running = worker.run();
    closers.push(async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    });
    if (opts.versioning) {
      const outcome = await settleWorkerVersion(client, opts.versioning, {
        setCurrent: 'always',
        identity: 'stepwise-test-env',
      });
      if (outcome.kind === 'unknown') {
        throw new Error(`createStepwiseTestEnv: could not make the build current: ${outcome.error}`);
      }
    }
    let api: StepwiseTestEnv<App>['api'] = null;
    if (opts.api) {
      const { env = {}, logger } = opts.api === true ? {} : opts.api;
      const server = await createApp(
        loadConfig({
          STEPWISE_NOTIFICATIONS_DB_PATH: ':memory:',
          TEMPORAL_ADDRESS: address,
          TEMPORAL_TASK_QUEUE: taskQueue,
          ...env,
          STEPWISE_AUDIT_DB_PATH: auditDbPath,
        }),
        { app: opts.app, client, logger, tracing },
      );
      closers.push(() => server.close());
      await server.listen(0, '127.0.0.1');
      api = { server, url: `http://127.0.0.1:${(server.getHttpServer().address() as AddressInfo).port}` };
    }
    const jobs = new StepwiseClient({ app: opts.app, client, taskQueue });
    closers.push(() => jobs.close());
    return { address, client, jobs, nativeConnection, worker, taskQueue, api, close: closeAll };
  } catch (err) {
    await closeAll().catch(() => undefined);
    throw err;
  }
}
