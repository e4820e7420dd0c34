/**
 * The contract shared by the workflows, the worker, the activities and the API: task queue,
 * job state shapes (declared as zod schemas in `job-state.ts`, re-exported here), the workflow's
 * arguments, and the query/signal/update handles. Workflow-safe: it imports only
 * `@temporalio/workflow`, `zod` and workflow files.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { z } from 'zod';
import type { BatchCounts, ControlAck, JobState, JobSummaryStats, Json, SubJobState } from './job-state';
import type { JobLimits } from './limits';

/** The default task queue Stepwise workers poll (TEMPORAL_TASK_QUEUE overrides it); sub-jobs inherit their job's queue. */
export const TASK_QUEUE = 'stepwise';

export * from './job-state';

/** The compact answer of the `progress` query. */
export type ProgressSnapshot = Pick<
  JobState,
  'status' | 'progress' | 'currentStep' | 'totalSteps' | 'stepName' | 'message'
>;

/** Operator control payload for the signals and updates. */
export const controlPayloadSchema = z
  .object({
    reason: z.string().max(1000).optional(),
    by: z.string().max(200).optional(),
  })
  .strict();
export type ControlPayload = z.infer<typeof controlPayloadSchema>;

/** An operator's decision on a held step: which step (default: the first held one), who and why. */
export const holdDecisionPayloadSchema = controlPayloadSchema.extend({
  step: z.string().min(1).max(200).optional(),
});
export type HoldDecisionPayload = z.infer<typeof holdDecisionPayloadSchema>;

/** Longest comment an approval decision carries (characters): checked by the API and the workflow. */
export const MAX_APPROVAL_COMMENT = 1000;

/**
 * A decision on an `approval` step: which step, approve or reject, a comment, and who decided (the
 * API sets `by` to the caller's key name; the workflow records what the update carried).
 */
export const approvalDecisionPayloadSchema = z
  .object({
    step: z.string().min(1).max(200),
    decision: z.enum(['approve', 'reject']),
    comment: z.string().max(MAX_APPROVAL_COMMENT).optional(),
    by: z.string().max(200).optional(),
    /**
     * The deciding caller's role, as the API checked it: the workflow refuses a role below the
     * step's too, so a step that started waiting after the API's check is still guarded.
     */
    role: z.enum(['viewer', 'operator', 'admin']).optional(),
  })
  .strict();
export type ApprovalDecisionPayload = z.infer<typeof approvalDecisionPayloadSchema>;

/** What every job workflow takes as its single argument. */
export interface JobParams {
  /** The job type's input, validated against its schema at the workflow entry. */
  input: unknown;
  /** Set by a parent job when this job runs as its sub-job. */
  parent?: {
    jobId: string;
    stepKey: string;
    attempt: number;
    /** Report progress (budgeted); status changes are reported either way. */
    reportProgress: boolean;
    /** Where reports go when it is not `jobId` (a batch chunk reports to its coordinator). */
    reportTo?: string;
  };
  /** Set by a retry: this run continues an earlier failed, cancelled or partly failed run. */
  recovery?: RecoveryParams;
  /** The API's configured budgets (a sub-job inherits its parent's); defaults otherwise. */
  limits?: Partial<JobLimits>;
  /**
   * Stall thresholds learned from the type's completed runs, by step key (ms), set by the client
   * at start; a step's own `stallAfterMs` wins.
   */
  stallAfterMs?: Record<string, number>;
  /**
   * Running time (pauses not counted) after which the job is later than its learned ETA by the
   * configured margin, set by the client at start when the type has history (ms).
   */
  overrunAfterMs?: number;
  /**
   * The deployment's concurrency limit for this type (`STEPWISE_CONCURRENCY_LIMITS`), set by the
   * client at start; it overrides the type's own `concurrency`. `perKey`: the limit counts per the
   * type's concurrency key.
   */
  concurrency?: { limit: number; perKey: boolean };
}

/** A recovery run: which attempt it is and the completed steps it carries over. */
export interface RecoveryParams {
  attempt: number;
  fromStep: number;
  previousRunId: string;
  /** Results (and stats) of the steps that are not run again, by step key. */
  carried: Record<string, { result: Json; stats: Partial<JobSummaryStats> | null }>;
}

/** Progress a running activity or sub-job reports to the job that runs it. */
export interface StepProgressReport {
  stepKey: string;
  /** Identifies the reporting attempt so stale reports from an earlier attempt are ignored. */
  attempt: number;
  progress: number;
  message?: string;
  subJob?: SubJobState;
  batch?: BatchCounts;
}

const PAYLOAD_HELP = 'Payload: {"reason"?: string, "by"?: string}.';
const HOLD_PAYLOAD_HELP =
  'Payload: {"step"?: string (the held step\'s key; default the first held), "reason"?: string, "by"?: string}.';

/**
 * What each query, signal and update does, as operators read it in the Temporal Web UI and CLI:
 * the job workflow registers every handler with its text from here, and each handle's TSDoc below
 * links to its entry, so editors and the Web UI say the same thing.
 */
export const HANDLER_DESCRIPTIONS = {
  jobState: 'The full job state: status, progress, steps, sub-jobs, logs, control and recovery.',
  progress: 'Compact progress: status, progress 0-100, current step and message.',
  pause: `Pause the job: nothing new starts; running sub-jobs pause at their own step boundaries. ${PAYLOAD_HELP}`,
  resume: `Resume a paused job where it stopped. ${PAYLOAD_HELP}`,
  cancel: `Cancel the job like a cancellation request: sub-jobs are cancelled and waited for, cleanup runs once. ${PAYLOAD_HELP}`,
  pauseJob: `Pause the job and return a short acknowledgement (its status after the pause); refused when it is closed, cancelling or already paused. ${PAYLOAD_HELP}`,
  resumeJob: `Resume a paused job and return a short acknowledgement; refused when it is not paused. ${PAYLOAD_HELP}`,
  cancelJob: `Cancel the job and return a short acknowledgement (cancelling); refused when it is closed or already cancelling. ${PAYLOAD_HELP}`,
  retryStep: `Retry the held step (one more attempt; if it fails, the job is held again). Refused unless a step is held. ${HOLD_PAYLOAD_HELP}`,
  skipStep: `Skip the held step: it ends skipped and the steps after it run by their own conditions. Refused unless a step is held. ${HOLD_PAYLOAD_HELP}`,
  failStep: `Fail the held step, and so the job. Refused unless a step is held. ${HOLD_PAYLOAD_HELP}`,
  decideApproval:
    'Approve or reject an approval step that awaits a decision, and return a short acknowledgement; refused when the step does not await one, the job is paused, cancelling or closed, or the comment is too long. The API checks the caller\'s role first. Payload: {"step": string, "decision": "approve"|"reject", "comment"?: string, "by"?: string}.',
  stepProgress: 'Internal: progress of a running step, sent by its activity or sub-job.',
} as const;

/** Query: {@link HANDLER_DESCRIPTIONS.jobState} */
export const jobStateQuery = defineQuery<JobState>('jobState');
/** Query: {@link HANDLER_DESCRIPTIONS.progress} */
export const progressQuery = defineQuery<ProgressSnapshot>('progress');
/** Signal (no answer; one that does not fit is logged in the job and ignored): {@link HANDLER_DESCRIPTIONS.pause} */
export const pauseSignal = defineSignal<[ControlPayload?]>('pause');
/** Signal: {@link HANDLER_DESCRIPTIONS.resume} */
export const resumeSignal = defineSignal<[ControlPayload?]>('resume');
/** Signal: {@link HANDLER_DESCRIPTIONS.cancel} */
export const cancelSignal = defineSignal<[ControlPayload?]>('cancel');
/** Update (validated: a refusal changes nothing): {@link HANDLER_DESCRIPTIONS.pauseJob} */
export const pauseJobUpdate = defineUpdate<ControlAck, [ControlPayload]>('pauseJob');
/** Update: {@link HANDLER_DESCRIPTIONS.resumeJob} */
export const resumeJobUpdate = defineUpdate<ControlAck, [ControlPayload]>('resumeJob');
/** Update: {@link HANDLER_DESCRIPTIONS.cancelJob} */
export const cancelJobUpdate = defineUpdate<ControlAck, [ControlPayload]>('cancelJob');
/** Update: {@link HANDLER_DESCRIPTIONS.retryStep} */
export const retryStepUpdate = defineUpdate<ControlAck, [HoldDecisionPayload]>('retryStep');
/** Update: {@link HANDLER_DESCRIPTIONS.skipStep} */
export const skipStepUpdate = defineUpdate<ControlAck, [HoldDecisionPayload]>('skipStep');
/** Update: {@link HANDLER_DESCRIPTIONS.failStep} */
export const failStepUpdate = defineUpdate<ControlAck, [HoldDecisionPayload]>('failStep');
/** Update: {@link HANDLER_DESCRIPTIONS.decideApproval} */
export const decideApprovalUpdate = defineUpdate<ControlAck, [ApprovalDecisionPayload]>('decideApproval');
/** Internal signal: {@link HANDLER_DESCRIPTIONS.stepProgress} */
export const stepProgressSignal = defineSignal<[StepProgressReport]>('stepProgress');
