/**
 * `stepwise/client`: act on your app's jobs from any Node program — start them (typed by your job
 * definitions), read, list, pause, resume, cancel, retry, terminate and watch them — over a
 * Temporal client. The API's routes use the same client; its refusals are the errors below, each
 * with the message and issue paths the API answers with.
 *
 * @example
 * import { Client, Connection } from '@temporalio/client';
 * import { StepwiseClient, JobConflict } from 'stepwise/client';
 * import app, { dataImportDefinition } from './app';
 *
 * const client = new Client({ connection: await Connection.connect({ address: 'localhost:7233' }) });
 * const jobs = new StepwiseClient({ app, client, taskQueue: 'stepwise' });
 * const { jobId } = await jobs.start(dataImportDefinition, { sourceDir: 'incoming' }, { jobId: 'import-1' });
 * for await (const state of jobs.watch(jobId)) console.log(state.status, state.progress);
 *
 * @packageDocumentation
 */
export {
  StepwiseClient,
  idempotentJobId,
  type ApprovalOptions,
  IDEMPOTENCY_KEY_PATTERN,
  type ListJobsOptions,
  type RetryOptions,
  type ScheduleOptions,
  type ScheduleTiming,
  type ScheduleUpdate,
  type StartableJob,
  type StartedJob,
  type StartOptions,
  type StepwiseClientOptions,
  type TerminateOptions,
  type WatchOptions,
} from '../client/client';
export type { StatsOptions } from '../client/job-stats';
export type { Stats, StatsBucket, StatsSource, StepStats, TypeStats } from '../api/contracts';
export {
  ApprovalForbidden,
  InvalidArgument,
  InvalidJobInput,
  JobConflict,
  JobInputTooLarge,
  JobNotControllable,
  JobNotFound,
  JobOperationError,
  ScheduleConflict,
  ScheduleNotFound,
  StepwiseError,
  UnknownJobType,
  type Issue,
  type JobOperation,
  type StepwiseErrorCode,
} from '../client/errors';
export type {
  JobList,
  JobSummary,
  JobTreeNode,
  StartJobResponse,
  TerminateResponse,
} from '../api/jobs/schemas';
export type { Schedule, ScheduleList, ScheduleOverlap, ScheduleRun } from '../api/schedules/schemas';
export type {
  ControlAck,
  ControlPayload,
  JobDeployment,
  JobState,
  JobStatus,
} from '../../workflows/contracts';
export type { JobInputOf, JobNameOf } from '../../workflows/engine/app';
export {
  describeDeployment,
  describeDeploymentVersion,
  listDeployments,
  setCurrentVersion,
  settleWorkerVersion,
  type DeploymentDescription,
  type DeploymentVersionDescription,
  type DeploymentVersionSummary,
  type SetCurrentPolicy,
  type SetCurrentVersionOptions,
  type WorkerVersionOutcome,
} from '../deployments';
