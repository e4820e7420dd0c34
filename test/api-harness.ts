/**
 * The API as the API, stream and browser tests use it: `createStepwiseTestEnv` (stepwise/testing)
 * on the run's dev server — a worker on a task queue of its own and the Nest application over the
 * same real client, closed in order. The API logs through the project's logger into memory, and
 * closing it fails when any line holds a configured key, plain or as its sha256 (hex, base64) — a
 * check on every test that uses it.
 */
import { createHash } from 'node:crypto';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { WorkerVersioning } from '../src/worker-versioning';
import type { Worker, WorkerOptions } from '@temporalio/worker';
import { createActivities } from '../activities';
import type { PipelineConfig } from '../activities/pipeline-config';
import type { StepwiseClient } from '../src/client/client';
import { JsonLogger, nestLogger } from '../src/logger';
import { createStepwiseTestEnv } from '../src/testing';
import type { Tracing } from '../src/tracing';
import exampleApp from '../workflows/app';
import { EXAMPLE_APP_MODULE, testPipelineConfig, uniqueId, type TestEnv } from './helpers';

export interface TestApi {
  env: TestEnv;
  /** The example app's jobs on the worker's queue. */
  jobs: StepwiseClient<typeof exampleApp>;
  /** The worker's pipeline folders (import root, index, work, datasets). */
  pipelines: PipelineConfig;
  app: NestFastifyApplication;
  /** The worker, as `createWorker` made it. */
  worker: Worker;
  taskQueue: string;
  /** `http://127.0.0.1:<port>` when started with `listen`, else null (use `app.inject`). */
  base: string | null;
  close(): Promise<void>;
}

/** `config`: environment on top of an in-memory audit trail, the dev server and the worker's queue. */
export async function startTestApi(
  config: NodeJS.ProcessEnv = {},
  {
    listen = false,
    pipelines = testPipelineConfig(),
    workerOptions,
    versioning,
    tracing,
  }: {
    listen?: boolean;
    pipelines?: PipelineConfig;
    workerOptions?: Partial<WorkerOptions>;
    /** A versioned worker, its build made current (see `createStepwiseTestEnv`). */
    versioning?: WorkerVersioning;
    /** Traces for the client, the worker and the API; the caller shuts it down after `close()`. */
    tracing?: Tracing | null;
  } = {},
): Promise<TestApi> {
  const address = process.env.STEPWISE_TEST_TEMPORAL_ADDRESS;
  if (!address) throw new Error('STEPWISE_TEST_TEMPORAL_ADDRESS unset: run through jest');
  const lines: string[] = [];
  // What a user's tests use (stepwise/testing), on the run's dev server and the prebuilt bundle.
  const stepwise = await createStepwiseTestEnv({
    app: exampleApp,
    activities: ({ client }) => createActivities({ client, pipelines }),
    temporalAddress: address,
    taskQueue: uniqueId('test-queue'),
    workflowsPath: EXAMPLE_APP_MODULE,
    workflowBundlePath: process.env.STEPWISE_TEST_BUNDLE,
    workerOptions,
    versioning,
    tracing,
    api: { env: config, logger: nestLogger(new JsonLogger('api', 'debug', (l) => lines.push(l), 'json')) },
  });
  const { server: app, url } = stepwise.api!;
  const env: TestEnv = {
    client: stepwise.client,
    nativeConnection: stepwise.nativeConnection,
    address,
    close: () => stepwise.close(),
  };
  return {
    env,
    jobs: stepwise.jobs,
    pipelines,
    app,
    worker: stepwise.worker,
    taskQueue: stepwise.taskQueue,
    base: listen ? url : null,
    async close() {
      await stepwise.close();
      const leaked = leakedKeys(config.STEPWISE_API_KEYS ?? '', lines);
      if (leaked.length > 0) throw new Error(`The API logged the key of ${leaked.join(', ')}`);
    },
  };
}

/** Names of the plain keys in `name:role:key` entries that appear in `lines` in any form. */
function leakedKeys(entries: string, lines: string[]): string[] {
  const text = lines.join('\n');
  return entries
    .split(',')
    .map((e) => e.trim().split(':'))
    .filter(([, , key]) => key !== undefined && key !== 'sha256')
    .filter(([, , key]) => {
      const digest = createHash('sha256').update(key, 'utf8').digest();
      return [key, digest.toString('hex'), digest.toString('base64')].some((f) => text.includes(f));
    })
    .map(([name]) => `"${name}"`);
}
