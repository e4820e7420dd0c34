/**
 * `stepwise/worker`: run an app's job types. `createWorker` takes the app, its activities (checked
 * against what the app's steps call, at compile time and at start) and a connection you own;
 * `defineActivities` declares an activities module for the `stepwise` command; the activity helpers
 * report progress and log with the job's context.
 *
 * @example
 * import { createWorker, NativeConnection } from 'stepwise/worker';
 * import app from './app';
 * const worker = await createWorker({ app, activities: createMyActivities(), connection, client });
 * await worker.run();
 *
 * @packageDocumentation
 */
export {
  activityNames,
  createWorker,
  defineActivities,
  MissingActivitiesError,
  NativeConnection,
  WORKFLOW_INTERCEPTOR_MODULES,
  type ActivitiesModule,
  type CreateWorkerOptions,
  type WorkerDeps,
} from '../worker-factory';
export { buildWorkflowBundle, defaultBundlePath } from '../bundle';
export { bundledJobTypes, loadApp, RegistrationError, type BundleManifest } from '../registration';
export { ProgressReporter, MIN_REPORT_INTERVAL_MS } from '../activity/progress';
export { jobLog, jobLogAttributes } from '../activity/log';
export {
  activeTracing,
  startTracing,
  Tracing,
  tracingTarget,
  untracedSinks,
  type StartTracingOptions,
} from '../tracing';
export type { TracingConfig } from '../config';
export type {
  ActivitiesOf,
  ActivityJobRef,
  BatchChunkArgs,
  StepResultExtras,
  StepwiseApp,
} from '../../workflows/sdk/index';
export {
  buildIdProblem,
  defaultBuildId,
  defaultDeploymentName,
  deploymentNameProblem,
  workerVersioningFromEnv,
  type WorkerVersioning,
} from '../worker-versioning';
