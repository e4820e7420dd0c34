/** Builds the Stepwise worker; shared by the worker process and the tests so both run the same wiring. */
import type { Client } from '@temporalio/client';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type PipelineConfig } from '../activities';

export interface StepwiseWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  /** Client the activities use to report progress. */
  client: Client;
  /** Prebuilt bundle (production, tests); without it the workflows are bundled now (development). */
  workflowBundlePath?: string;
  taskQueue: string;
  /** Folders and limits of the data pipeline activities (`Config.pipelines`; tests use temporary folders). */
  pipelines: PipelineConfig;
  /** Overrides for tests (e.g. other activities). */
  overrides?: Partial<WorkerOptions>;
}

/** Path of the workflow entry file, for bundling from source or from compiled output. */
export const WORKFLOWS_PATH = require.resolve('../workflows');

export async function createStepwiseWorker(opts: StepwiseWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    ...(opts.workflowBundlePath
      ? { workflowBundle: { codePath: opts.workflowBundlePath } }
      : { workflowsPath: WORKFLOWS_PATH }),
    activities: createActivities({ client: opts.client, pipelines: opts.pipelines }),
    ...opts.overrides,
  });
}

export { NativeConnection };
