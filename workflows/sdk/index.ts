/**
 * `stepwise`: define job types and the app. Everything here is workflow-safe (it loads in the
 * Temporal workflow sandbox as well as in Node), so job definitions and the app module import
 * only this entry (and `stepwise/workflow`).
 *
 * @example
 * import { defineApp, jobBuilder } from 'stepwise';
 * const job = jobBuilder<MyActivities>();
 * export const thumbnails = job({ name: 'thumbnails', description: '…', input })
 *   .activity('resize', { name: 'Resize', activity: 'resizeImages', args: ({ input }) => input })
 *   .build();
 * export default defineApp({ jobs: [thumbnails] });
 *
 * @packageDocumentation
 */
export {
  AppDefinitionError,
  defineApp,
  isStepwiseApp,
  type ActivitiesOf,
  type AppSpec,
  type JobInputOf,
  type JobNameOf,
  type StepwiseApp,
} from '../engine/app';
export { JobBuilder, jobBuilder } from '../engine/builder';
export type {
  ActivityArgs,
  ActivityInterface,
  ActivityResult,
  ActivityStepOptions,
  BatchActivityOptions,
  BatchDefaultActivityOptions,
  BatchJobOptions,
  BatchResult,
  CleanupOptions,
  JobTypeOptions,
  StepOptions,
  SubJobResult,
  SubJobStepOptions,
} from '../engine/builder';
export { JobDefinitionError } from '../engine/dag';
export {
  defineJob,
  JOB_VERSIONINGS,
  type ActivityStepDef,
  type BatchStepDef,
  type CleanupDef,
  type JobDefinition,
  type JobStepDef,
  type JobTypeSpec,
  type JobVersioning,
  type RetrySpec,
  type StepContext,
  type StepDef,
} from '../engine/definition';
export type {
  ActivityJobRef,
  BatchChunkArgs,
  StepActivityFn,
  StepResultExtras,
  StepResultOf,
} from '../engine/step-io';
export {
  isTerminal,
  JOB_STATUSES,
  STEP_STATUSES,
  TASK_QUEUE,
  TERMINAL_STATUSES,
  type BatchCounts,
  type CancellationInfo,
  type ControlAck,
  type ControlAction,
  type JobDeployment,
  type JobLogLine,
  type JobParams,
  type JobState,
  type JobStatus,
  type JobSummaryStats,
  type Json,
  type LogLevel,
  type ProgressSnapshot,
  type RecoveryState,
  type StepError,
  type StepKind,
  type StepState,
  type StepStatus,
  type SubJobState,
} from '../contracts';
