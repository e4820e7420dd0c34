/** Builds the Stepwise worker; shared by the worker process and the tests so both run the same wiring. */
import type { Client } from '@temporalio/client';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type PipelineConfig } from '../activities';
import { jobLogInterceptor } from '../activities/log';
import { jobDefinitions } from '../workflows/catalog';
import { bundledWorkflows, checkRegistration, exportedWorkflows, WORKFLOWS_PATH } from './registration';

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
export { WORKFLOWS_PATH };
/** Workflow interceptor module (job context on every workflow log line); goes into every bundle. */
export const WORKFLOW_INTERCEPTOR_MODULES = [require.resolve('../workflows/interceptors')];

/**
 * Creates the worker, after checking that every job type of the catalog is a workflow of the
 * bundle it will run (a {@link RegistrationError} names the ones that are not).
 */
export async function createStepwiseWorker(opts: StepwiseWorkerOptions): Promise<Worker> {
  const workflows = opts.workflowBundlePath
    ? bundledWorkflows(opts.workflowBundlePath)
    : exportedWorkflows(WORKFLOWS_PATH);
  checkRegistration(jobDefinitions, workflows, opts.workflowBundlePath ?? WORKFLOWS_PATH);
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    // A prebuilt bundle already holds the workflow interceptors (scripts/build-workflow-bundle.ts).
    ...(opts.workflowBundlePath
      ? { workflowBundle: { codePath: opts.workflowBundlePath } }
      : { workflowsPath: WORKFLOWS_PATH }),
    activities: createActivities({ client: opts.client, pipelines: opts.pipelines }),
    // Cancellation reaches an activity with the answer to a heartbeat: send them at least every
    // second, so a cancelled job's activities stop within about a second.
    defaultHeartbeatThrottleInterval: '1s',
    maxHeartbeatThrottleInterval: '1s',
    interceptors: {
      activity: [jobLogInterceptor],
      ...(opts.workflowBundlePath ? {} : { workflowModules: WORKFLOW_INTERCEPTOR_MODULES }),
    },
    ...opts.overrides,
  });
}

export { NativeConnection };
