/**
 * `stepwise/workflow`: the handles a job answers, for code that talks to jobs from inside a
 * workflow (or from a client that is not `StepwiseClient`): the state and progress queries, the
 * pause/resume/cancel signals and updates. Workflow-safe, like `stepwise`.
 *
 * @packageDocumentation
 */
export {
  cancelJobUpdate,
  cancelSignal,
  controlPayloadSchema,
  jobStateQuery,
  pauseJobUpdate,
  pauseSignal,
  progressQuery,
  resumeJobUpdate,
  resumeSignal,
  stepProgressSignal,
  type ControlPayload,
  type StepProgressReport,
} from '../contracts';
export { defineApp, type StepwiseApp } from '../engine/app';
export { BATCH_COORDINATOR_TYPE } from '../engine/batch-contracts';
