/**
 * The contract shared by the workflows, the worker, the activities and the API: task queue,
 * job state shapes, and the query/signal/update handles. Workflow-safe: it imports only
 * `@temporalio/workflow` and `zod`.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { z } from 'zod';
import type { JobLimits } from './limits';

/** The default task queue Stepwise workers poll (TEMPORAL_TASK_QUEUE overrides it); sub-jobs inherit their job's queue. */
export const TASK_QUEUE = 'stepwise';

export const JOB_STATUSES = [
  'running',
  'pausing',
  'paused',
  'cancelling',
  'completed',
  'completed_with_errors',
  'failed',
  'cancelled',
] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const TERMINAL_STATUSES: readonly JobStatus[] = [
  'completed',
  'completed_with_errors',
  'failed',
  'cancelled',
];
export const isTerminal = (s: JobStatus): boolean => TERMINAL_STATUSES.includes(s);

/**
 * A step's status. `pending`: it has not started yet and still may; `not_run`: it never ran and
 * never will in this run — the job failed or was cancelled before it could start (a recovery may
 * run it); `skipped`: its `when` was false, a step it depends on did not complete under
 * `onFailure: 'continue'`, or the job ended early — it counts as satisfied.
 */
export const STEP_STATUSES = [
  'pending',
  'running',
  'retrying',
  'completed',
  'failed',
  'skipped',
  'cancelled',
  'not_run',
] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];

export type StepKind = 'activity' | 'job' | 'batch';

/** Any JSON value: everything in a job's state is plain JSON. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

export interface BatchCounts {
  total: number;
  completed: number;
  failed: number;
  running: number;
}

export interface StepError {
  message: string;
  type: string | null;
  nonRetryable: boolean;
}

export interface StepState {
  /** 1-based position in the declaration. */
  index: number;
  key: string;
  name: string;
  kind: StepKind;
  weight: number;
  dependsOn: string[];
  status: StepStatus;
  /** Current or last attempt, from 1; 0 while the step has not started. */
  attempt: number;
  maxAttempts: number;
  /** Progress within the step, 0–100. */
  progress: number;
  startedAt: string | null;
  completedAt: string | null;
  durationMs: number | null;
  /** While `retrying`: when the next attempt starts. */
  nextAttemptAt: string | null;
  result: Json | null;
  error: StepError | null;
  subJobIds: string[];
  batch: BatchCounts | null;
  /**
   * While the step runs, its latest progress report's message; once completed, the message its
   * result carried (null if none); why it was skipped; null once it failed (see `error`), was
   * cancelled or did not run.
   */
  message: string | null;
  /** Stats this step contributed to the summary (carried with its result into a recovery run). */
  stats: Partial<JobSummaryStats> | null;
  /** Set when the result was carried over from an earlier run by a recovery. */
  carriedFrom: string | null;
}

export interface SubJobState {
  id: string;
  type: string;
  status: JobStatus;
  progress: number;
  step: string;
}

export interface JobSummaryStats {
  itemsProcessed: number;
  itemsCreated: number;
  itemsFailed: number;
  totalErrors: number;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface JobLogLine {
  at: string;
  level: LogLevel;
  /** 1-based step index, or null for job-level lines. */
  step: number | null;
  message: string;
  entity?: { tag: string; route?: string };
}

/**
 * How an operator action reached the job. `update`: the `pauseJob` / `resumeJob` / `cancelJob`
 * updates, which the API sends with `by` set to the caller's key name (its audit log holds the
 * verified actor); `signal`: the `pause` / `resume` / `cancel` signals (Web UI, CLI), whose `by` is
 * whatever the sender typed, unverified; `native`: a Temporal cancellation request. Who may send
 * any of them directly to Temporal is governed by Temporal's own authorization, not the API's.
 */
export type ControlSource = 'update' | 'signal' | 'native';

export interface ControlAction {
  action: 'pause' | 'resume' | 'cancel';
  /** Who asked, as the request said (see {@link ControlSource} for how far that can be trusted). */
  by: string | null;
  reason: string | null;
  at: string;
  /** Absent in runs recorded before sources were kept. */
  source?: ControlSource;
}

/** An accepted control update's answer: small on purpose (the whole state is the `jobState` query). */
export interface ControlAck {
  jobId: string;
  runId: string;
  action: ControlAction['action'];
  /** The job's status right after the action (e.g. `pausing`, `paused`, `running`, `cancelling`). */
  status: JobStatus;
  paused: boolean;
  at: string;
}

/** What a cancellation recorded: who asked, and what was still running when the job stopped waiting. */
export interface CancellationInfo {
  requestedAt: string;
  by: string | null;
  reason: string | null;
  /** `native`: the Web UI, `temporal workflow cancel` or `handle.cancel()`; `signal`/`update`: the handlers. */
  source: ControlSource;
  /** Sub-jobs and activities still running when the bounded wait ended (empty when all stopped). */
  leftRunning: string[];
  /** Outcome of the type's cleanup: null when the type has none. */
  cleanup: 'completed' | 'failed' | null;
}

export interface RecoveryState {
  /** 0 for the first run; n for the n-th recovery. */
  attempt: number;
  max: number;
  /** The step this run started from (null for the first run). */
  fromStep: number | null;
  /** The run this one recovered. */
  previousRunId: string | null;
}

export interface JobState {
  jobId: string;
  runId: string;
  type: string;
  status: JobStatus;
  progress: number;
  /** 1-based index of the step the job is on (the last one once it completed); 0 before the first. */
  currentStep: number;
  totalSteps: number;
  stepName: string | null;
  /**
   * The headline: while the job runs, the current step's own message (null when it has none yet);
   * once closed, how the job ended.
   */
  message: string | null;
  activeSubJobs: SubJobState[];
  /**
   * Sub-jobs running now: the job's own (not counting batch coordinators) and the chunk sub-jobs of
   * its running batch steps, as their coordinators last reported. 0 once the job closed.
   */
  runningSubJobs: number;
  steps: StepState[];
  summary: JobSummaryStats;
  logs: JobLogLine[];
  /**
   * Operator control: whether the job is paused, and the last actions (at most
   * `JobLimits.maxControlActions`; `droppedActions` counts the older ones no longer kept).
   */
  control: { paused: boolean; actions: ControlAction[]; droppedActions?: number };
  recovery: RecoveryState;
  cancellation: CancellationInfo | null;
  /** The input the job was started with, as given (a recovery runs it again). */
  input: Json;
  /** Result of the last step that completed, in declaration order. */
  output: Json | null;
  error: (StepError & { step: string | null }) | null;
  parentJobId: string | null;
  startedAt: string;
  closedAt: string | null;
}

/** The compact answer of the `progress` query. */
export interface ProgressSnapshot {
  status: JobStatus;
  progress: number;
  currentStep: number;
  totalSteps: number;
  stepName: string | null;
  message: string | null;
}

/** Operator control payload for the signals and updates. */
export const controlPayloadSchema = z
  .object({
    reason: z.string().max(1000).optional(),
    by: z.string().max(200).optional(),
  })
  .strict();
export type ControlPayload = z.infer<typeof controlPayloadSchema>;

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
/** Internal signal: {@link HANDLER_DESCRIPTIONS.stepProgress} */
export const stepProgressSignal = defineSignal<[StepProgressReport]>('stepProgress');
