/**
 * The job state and what it contains, declared once: zod schemas registered under their ids
 * (`schema-registry.ts`), their TypeScript types inferred from them. The workflow answers the
 * `jobState` query with a {@link JobState}; the API serves it (`GET /api/jobs/:jobId`, the SSE
 * streams) and publishes these schemas as the components of `/openapi.json` — each field's
 * `.describe()` text is what the generated reference (`/docs`) shows, so field meanings are written
 * here and nowhere else. Workflow-safe: it imports only `zod` and workflow files.
 */
import { z } from 'zod';
import { named } from './schema-registry';

const isoTime = z.string().describe('ISO 8601 time (UTC)');

/** Every status a job can have (the last four are terminal). */
export const JOB_STATUSES = [
  'queued',
  'running',
  'pausing',
  'paused',
  'held',
  'stalled',
  'awaiting_approval',
  'cancelling',
  'completed',
  'completed_with_errors',
  'failed',
  'cancelled',
] as const;
export const jobStatusSchema = named(
  'JobStatus',
  z
    .enum(JOB_STATUSES)
    .describe(
      "A job’s status. `queued`: accepted, waiting for a slot of its type’s concurrency limit (`queue` says which, and its place); `pausing`: nothing new starts, running sub-jobs pause at their own step boundaries; `held`: a step with `onFailure: 'hold'` ran out of attempts and waits for an operator to retry it, skip it or fail the job (`hold` says which; nothing new starts, running steps go on); `stalled`: running, but a step has reported no progress for longer than its stall threshold (`stalled` says which; `running` again once it reports); `awaiting_approval`: an `approval` step waits for a person’s decision (its step’s `approval` says whose role and until when; nothing else differs from `running`, and a paused job reads `paused`); `cancelling`: sub-jobs are cancelled and waited for, cleanup runs once; `completed_with_errors`: every step ran, some items failed. Terminal: completed, completed_with_errors, failed, cancelled.",
    ),
);
export type JobStatus = z.output<typeof jobStatusSchema>;
/** The statuses a job ends in: it has `closedAt`, and nothing about it changes any more. */
export const TERMINAL_STATUSES: readonly JobStatus[] = [
  'completed',
  'completed_with_errors',
  'failed',
  'cancelled',
];
export const isTerminal = (s: JobStatus): boolean => TERMINAL_STATUSES.includes(s);

/** Every status a step can have. */
export const STEP_STATUSES = [
  'pending',
  'running',
  'retrying',
  'completed',
  'failed',
  'held',
  'skipped',
  'cancelled',
  'not_run',
] as const;

export const stepStatusSchema = named(
  'StepStatus',
  z
    .enum(STEP_STATUSES)
    .describe(
      [
        'A step’s status.',
        '`pending`: not started yet, and it still may (the job is open and on its way to it).',
        '`running`: an attempt runs.',
        '`retrying`: an attempt failed; the next starts at `nextAttemptAt`.',
        '`completed`: done; `result` holds its result (carried over from an earlier run when `carriedFrom` is set).',
        '`failed`: no attempt left, or the error was not retryable; `error` says why.',
        "`held`: failed like that under `onFailure: 'hold'`: waits for an operator to retry it (one more attempt), skip it or fail the job; `error` says why.",
        "`skipped`: its `when` was false, a step it depends on did not complete under `onFailure: 'continue'`, or the job ended early; `message` says which. Counts as satisfied (and as done for progress).",
        '`cancelled`: it was running (or waiting to start while the job was paused) when the job was cancelled, or when another step failed the job.',
        '`not_run`: it never started and never will in this run: the job failed or was cancelled before it could. A retry runs it.',
      ].join(' '),
    ),
);
export type StepStatus = z.output<typeof stepStatusSchema>;

export const stepKindSchema = named(
  'StepKind',
  z
    .enum(['activity', 'job', 'batch', 'sleep', 'approval'])
    .describe(
      '`activity`: one activity; `job`: a sub-job; `batch`: chunk sub-jobs under a coordinator; `sleep`: a durable timer; `approval`: waits for a person to approve or reject',
    ),
);
export type StepKind = z.output<typeof stepKindSchema>;

/** Any JSON value: everything in a job's state is plain JSON. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

const anyJson = z.json();
/**
 * Any JSON value. Its JSON Schema is open (`{}`) on purpose: zod's recursive `z.json()` is exact,
 * but generated clients cannot type it (openapi-typescript writes a type that refers to itself:
 * TS2502), so it is checked as a refinement, which JSON Schema does not show.
 */
export const jsonSchema = named(
  'Json',
  z
    .custom<Json>((value) => anyJson.safeParse(value).success, 'not a JSON value')
    .describe('Any JSON value (object, array, string, number, boolean or null)'),
);

export const batchCountsSchema = named(
  'BatchCounts',
  z
    .object({ total: z.number(), completed: z.number(), failed: z.number(), running: z.number() })
    .describe('A batch step’s chunk sub-jobs: how many in all, completed, failed and running'),
);
export type BatchCounts = z.output<typeof batchCountsSchema>;

export const stepErrorSchema = named(
  'StepError',
  z.object({
    message: z.string(),
    type: z.string().nullable().describe('The failure’s type name, when it has one'),
    nonRetryable: z.boolean(),
  }),
);
export type StepError = z.output<typeof stepErrorSchema>;

export const jobSummaryStatsSchema = named(
  'JobSummaryStats',
  z
    .object({
      itemsProcessed: z.number(),
      itemsCreated: z.number(),
      itemsFailed: z.number(),
      totalErrors: z.number(),
    })
    .describe('Item counts: the sum of the steps’ `stats`, plus one error per failed attempt'),
);
export type JobSummaryStats = z.output<typeof jobSummaryStatsSchema>;

/** Attempts a step's state keeps (the latest ones); `attempt` still counts them all. */
export const MAX_ATTEMPT_RECORDS = 20;

export const stepAttemptSchema = named(
  'StepAttempt',
  z
    .object({
      attempt: z.number().int().min(1),
      startedAt: isoTime,
      endedAt: isoTime.nullable().describe('Null while the attempt runs'),
      outcome: z
        .enum(['running', 'completed', 'failed', 'cancelled'])
        .describe('How the attempt ended (`running` while it runs)'),
      error: z.string().nullable().describe('The attempt’s error message when it failed'),
      retryAt: isoTime
        .nullable()
        .describe('When it failed and another attempt follows: when that one was due to start'),
    })
    .describe('One attempt of a step: the timeline of a job draws its steps from these'),
);
export type StepAttempt = z.output<typeof stepAttemptSchema>;

/** The roles that may decide an approval step, lowest first. */
export const APPROVAL_ROLES = ['operator', 'admin'] as const;
export const approvalRoleSchema = named(
  'ApprovalRole',
  z
    .enum(APPROVAL_ROLES)
    .describe('The lowest API role that may decide an approval step (`admin`: admins only)'),
);
export type ApprovalRole = z.output<typeof approvalRoleSchema>;

export const approvalStateSchema = named(
  'ApprovalState',
  z
    .object({
      status: z
        .enum(['awaiting', 'approved', 'rejected', 'timed_out', 'cancelled'])
        .describe(
          '`awaiting`: it waits for a decision (the job is `awaiting_approval` unless paused, held or cancelling); `approved` / `rejected`: decided (`by`, `comment`, `decidedAt`); `timed_out`: nobody decided by `timeoutAt`; `cancelled`: the job stopped while it waited',
        ),
      role: approvalRoleSchema,
      message: z.string().nullable().describe('What the approver is asked, as the job type declared it'),
      since: isoTime.describe('When the step started waiting'),
      timeoutAt: isoTime
        .nullable()
        .describe(
          'When the wait ends without a decision (a paused job’s wait ends at its resume); null: no limit',
        ),
      onTimeout: z.enum(['fail', 'continue']).describe('What a timeout does: fail the job, or continue'),
      onReject: z.enum(['fail', 'continue']).describe('What a rejection does: fail the job, or continue'),
      by: z.string().nullable().describe('Who decided: the API key’s name (as the update said); else null'),
      comment: z.string().nullable().describe('The decider’s comment; else null'),
      decidedAt: isoTime.nullable().describe('When it was decided or timed out; null while it waits'),
    })
    .describe(
      'An approval step’s wait and decision: `POST /api/jobs/{jobId}/steps/{key}/approve` or `…/reject` decides it',
    ),
);
export type ApprovalState = z.output<typeof approvalStateSchema>;

export const stepStateSchema = named(
  'StepState',
  z.object({
    index: z.number().int().describe('1-based position in the declaration'),
    key: z.string(),
    name: z.string(),
    kind: stepKindSchema,
    weight: z.number(),
    dependsOn: z.array(z.string()).describe('Keys of the steps this one waits for'),
    status: stepStatusSchema,
    attempt: z.number().int().describe('Current or last attempt, from 1; 0 while the step has not started'),
    maxAttempts: z.number().int(),
    progress: z.number().describe('Progress within the step, 0–100 (100 only once completed)'),
    startedAt: isoTime.nullable(),
    completedAt: isoTime.nullable(),
    durationMs: z.number().nullable(),
    nextAttemptAt: isoTime.nullable().describe('While `retrying`: when the next attempt starts; else null'),
    result: jsonSchema.nullable(),
    error: stepErrorSchema.nullable(),
    subJobIds: z.array(z.string()),
    batch: batchCountsSchema.nullable(),
    message: z
      .string()
      .nullable()
      .describe(
        'While the step runs, its latest progress report’s message; once completed, the message its result carried (a batch: `<n>/<n> chunks done`), else null; for a skipped step, why; null once it failed (see `error`), was cancelled or did not run',
      ),
    stats: jobSummaryStatsSchema
      .partial()
      .nullable()
      .describe('What this step added to `summary` (carried with its result into a recovery run)'),
    carriedFrom: z
      .string()
      .nullable()
      .describe('The run a recovery carried this step’s result over from; null when it ran in this run'),
    attempts: z
      .array(stepAttemptSchema)
      .describe(
        `The step's attempts in this run, oldest first (the last ${MAX_ATTEMPT_RECORDS}; \`attempt\` counts all)`,
      ),
    approval: approvalStateSchema
      .optional()
      .describe(
        '`approval` steps only, once they started waiting: whose decision, until when, and the decision',
      ),
    wakeAt: isoTime
      .optional()
      .describe(
        '`sleep` steps only, once they started: when the sleep ends (a paused job’s sleep ends at its resume)',
      ),
  }),
);
export type StepState = z.output<typeof stepStateSchema>;

export const subJobStateSchema = named(
  'SubJobState',
  z.object({
    id: z.string(),
    type: z.string(),
    status: jobStatusSchema,
    progress: z.number(),
    step: z.string().describe('The key of the step that runs it'),
  }),
);
export type SubJobState = z.output<typeof subJobStateSchema>;

export const logLevelSchema = z.enum(['debug', 'info', 'warn', 'error']);
export type LogLevel = z.output<typeof logLevelSchema>;

export const jobLogLineSchema = named(
  'JobLogLine',
  z.object({
    at: isoTime,
    level: logLevelSchema,
    step: z.number().int().nullable().describe('1-based step index, or null for job-level lines'),
    message: z.string(),
    entity: z
      .object({ tag: z.string(), route: z.string().optional() })
      .optional()
      .describe('What the line is about (a file, a record), with a dashboard route to it when there is one'),
  }),
);
export type JobLogLine = z.output<typeof jobLogLineSchema>;

export const controlSourceSchema = named(
  'ControlSource',
  z
    .enum(['update', 'signal', 'native'])
    .describe(
      'How an operator action reached the job. `update`: the `pauseJob` / `resumeJob` / `cancelJob` updates, which the API sends with `by` set to the caller’s key name (its audit log holds the verified actor); `signal`: the `pause` / `resume` / `cancel` signals (Web UI, CLI), whose `by` is whatever the sender typed, unverified; `native`: a Temporal cancellation request (Web UI, `temporal workflow cancel`, `handle.cancel()`, or the parent job cancelling this sub-job). Who may send any of them directly to Temporal is governed by Temporal’s own authorization, not the API’s.',
    ),
);
export type ControlSource = z.output<typeof controlSourceSchema>;

const controlActionKindSchema = z.enum([
  'pause',
  'resume',
  'cancel',
  'retry_step',
  'skip_step',
  'fail_step',
  'approve',
  'reject',
]);

export const controlActionSchema = named(
  'ControlAction',
  z.object({
    action: controlActionKindSchema,
    by: z
      .string()
      .nullable()
      .describe('Who asked, as the request said (see `source` for how far that can be trusted)'),
    reason: z.string().nullable(),
    at: isoTime,
    source: controlSourceSchema.optional().describe('Absent in runs recorded before sources were kept'),
  }),
);
export type ControlAction = z.output<typeof controlActionSchema>;

export const controlAckSchema = named(
  'ControlAck',
  z
    .object({
      jobId: z.string(),
      runId: z.string(),
      action: controlActionKindSchema,
      status: jobStatusSchema.describe(
        'The job’s status right after the action (e.g. `pausing`, `paused`, `running`, `cancelling`)',
      ),
      paused: z.boolean(),
      at: isoTime,
    })
    .describe(
      'An accepted control update’s answer: small on purpose (the whole state is `GET /api/jobs/{jobId}`)',
    ),
);
export type ControlAck = z.output<typeof controlAckSchema>;

export const cancellationInfoSchema = named(
  'CancellationInfo',
  z
    .object({
      requestedAt: isoTime,
      by: z.string().nullable(),
      reason: z.string().nullable(),
      source: controlSourceSchema,
      leftRunning: z
        .array(z.string())
        .describe(
          'Sub-jobs and activities still running when the bounded wait ended (empty when all stopped)',
        ),
      cleanup: z
        .enum(['completed', 'failed'])
        .nullable()
        .describe('Outcome of the type’s cleanup: null when the type has none'),
    })
    .describe(
      'What a cancellation recorded: who asked, and what was still running when the job stopped waiting',
    ),
);
export type CancellationInfo = z.output<typeof cancellationInfoSchema>;

export const holdInfoSchema = named(
  'HoldInfo',
  z
    .object({
      step: z.string().describe('The held step’s key'),
      stepName: z.string(),
      since: isoTime.describe('When its last attempt failed'),
      error: stepErrorSchema,
      attempts: z.number().int().describe('The attempts it made'),
      timeoutAt: isoTime
        .nullable()
        .describe('When the job fails if nobody decides (the step’s `holdTimeoutMs`); null: no limit'),
    })
    .describe(
      'A held step: the operator retries it (`POST /api/jobs/{jobId}/retry-step`, one more attempt), skips it (`skip-step`: it ends `skipped` and its dependents run by their own `when`) or fails the job (`fail`)',
    ),
);
export type HoldInfo = z.output<typeof holdInfoSchema>;

export const queueInfoSchema = named(
  'QueueInfo',
  z
    .object({
      limiterId: z
        .string()
        .describe(
          'The limiter workflow that keeps the slots (`stepwise-limit:<type>:<queue length>:<queue>[:<key>]`)',
        ),
      jobType: z.string(),
      key: z
        .string()
        .nullable()
        .describe('The concurrency key the limit counts by; null: one limit for the type'),
      limit: z.number().int().min(1).describe('How many jobs of this type (and key) run at once'),
      priority: z
        .number()
        .int()
        .min(1)
        .max(5)
        .describe('The job’s priority: slots go to 1 first, then by arrival'),
      since: isoTime.describe('When it started waiting'),
      position: z
        .number()
        .int()
        .min(1)
        .nullable()
        .describe(
          'Its place in the queue (1: next), read by the client and the API from the limiter; null in the `jobState` query’s own answer, and while its request (or its grant) is on the way',
        ),
      running: z
        .number()
        .int()
        .min(0)
        .nullable()
        .describe('How many jobs hold a slot now (read with `position`; null in the query’s own answer)'),
    })
    .describe('What a `queued` job waits for: a slot of its type’s concurrency limit'),
);
export type QueueInfo = z.output<typeof queueInfoSchema>;

export const stallInfoSchema = named(
  'StallInfo',
  z
    .object({
      step: z.string(),
      stepName: z.string(),
      since: isoTime.describe('The step’s last progress report (or its attempt’s start)'),
      thresholdMs: z.number().int(),
    })
    .describe('A running step that has reported no progress for longer than its threshold'),
);
export type StallInfo = z.output<typeof stallInfoSchema>;

export const recoveryStateSchema = named(
  'RecoveryState',
  z.object({
    attempt: z.number().int().describe('0 for the first run; n for the n-th recovery'),
    max: z.number().int().describe('The type’s `recoveryLimit`'),
    fromStep: z.number().int().nullable().describe('The step this run started from (null for the first run)'),
    previousRunId: z.string().nullable().describe('The run this one recovered'),
  }),
);
export type RecoveryState = z.output<typeof recoveryStateSchema>;

export const jobDeploymentSchema = named(
  'JobDeployment',
  z
    .object({
      name: z.string().describe('The worker deployment (`STEPWISE_WORKER_DEPLOYMENT`)'),
      buildId: z
        .string()
        .describe(
          'The build of the worker that ran the job’s latest workflow task (`STEPWISE_WORKER_BUILD_ID`)',
        ),
      behavior: z
        .enum(['pinned', 'auto_upgrade'])
        .describe(
          'The job type’s `versioning`: `pinned` jobs finish on the build they started on; `auto_upgrade` jobs move to the current build at their next workflow task',
        ),
    })
    .describe(
      'The worker deployment version that ran the job, with Worker Deployment Versioning on (`STEPWISE_WORKER_VERSIONING=true`)',
    ),
);
export type JobDeployment = z.output<typeof jobDeploymentSchema>;

export const jobEtaSchema = named(
  'JobEta',
  z
    .object({
      at: isoTime.nullable().describe('The expected end; null when there is no estimate yet'),
      remainingMs: z.number().int().min(0).nullable().describe('From `computedAt` to `at`'),
      computedAt: isoTime,
      basedOnRuns: z
        .number()
        .int()
        .min(0)
        .describe(
          'How many completed runs of the job’s type the step durations come from (0: no estimate yet)',
        ),
      note: z
        .string()
        .describe(
          'How it was made, or why there is none (e.g. "no estimate yet: no completed run of this type")',
        ),
    })
    .describe(
      'An estimate of when a running job ends: per step, the median duration of that step in the type’s latest completed runs, less what the step has done (its elapsed time and progress), along the longest path of the steps still to run',
    ),
);
export type JobEta = z.output<typeof jobEtaSchema>;

export const jobStateSchema = named(
  'JobState',
  z
    .object({
      jobId: z.string(),
      runId: z.string(),
      type: z.string(),
      status: jobStatusSchema,
      progress: z
        .number()
        .min(0)
        .max(100)
        .describe(
          '0–100, weighted by step weights, never decreasing, 100 only on completion (also `completed_with_errors`)',
        ),
      currentStep: z
        .number()
        .int()
        .describe(
          '1-based index of the step the job is on (the last one once it completed; the failed step of a failed job); 0 before the first',
        ),
      totalSteps: z.number().int(),
      stepName: z.string().nullable().describe('The name of step `currentStep`'),
      message: z
        .string()
        .nullable()
        .describe(
          'The headline. While the job runs: the current step’s own message (its latest progress report; null until it sends one, and between steps), never an earlier step’s. Once closed: how the job ended (e.g. "Completed", `Step 3 "Load" failed: …`, "Cancelled by alice: …")',
        ),
      activeSubJobs: z
        .array(subJobStateSchema)
        .describe('Running sub-jobs and batch coordinators; empty once closed'),
      runningSubJobs: z
        .number()
        .int()
        .min(0)
        .describe(
          'How many sub-jobs run now: the job’s own (batch coordinators not counted) plus the chunk sub-jobs of its running batch steps, as their coordinators last reported. While `cancelling`, how many are still stopping. 0 once closed',
        ),
      steps: z.array(stepStateSchema),
      summary: jobSummaryStatsSchema,
      logs: z.array(jobLogLineSchema).describe('The job’s log ring (its last 200 lines)'),
      control: z
        .object({
          paused: z.boolean(),
          actions: z
            .array(controlActionSchema)
            .describe('The last pauses, resumes and cancels (at most `STEPWISE_MAX_CONTROL_ACTIONS`)'),
          droppedActions: z.number().int().optional().describe('How many older actions are no longer kept'),
        })
        .describe('Operator control: whether the job is paused, and the last actions'),
      recovery: recoveryStateSchema,
      queue: queueInfoSchema
        .nullable()
        .describe('Set exactly while the job is `queued`: the slot it waits for and its place in line'),
      priority: z
        .number()
        .int()
        .min(1)
        .max(5)
        .describe(
          'Its priority, 1 (highest) … 5 (lowest), default 3: Temporal’s task-queue priority of its workflow, activities and sub-jobs, and its order in a concurrency queue',
        ),
      stalled: stallInfoSchema
        .nullable()
        .describe(
          'Set while a running step is stalled (the job is then `stalled`, unless held, paused or cancelling); else null',
        ),
      etaOverrun: z
        .object({
          overrunAfterMs: z
            .number()
            .int()
            .describe('The running time (pauses not counted) it was expected within, margin included'),
          at: isoTime,
        })
        .nullable()
        .describe(
          'Set once the job has run longer than its learned ETA allowed, margin included (`STEPWISE_ETA_OVERRUN_MARGIN`); it stays set. Null for a type without history',
        ),
      hold: holdInfoSchema
        .nullable()
        .describe(
          'The first held step while any is held (the job is then `held`, unless cancelling); else null',
        ),
      cancellation: cancellationInfoSchema
        .nullable()
        .describe('Set exactly when the status is `cancelling` or `cancelled`'),
      input: jsonSchema.describe('The input the job was started with, as given (a recovery runs it again)'),
      output: jsonSchema.nullable().describe('Result of the last step that completed, in declaration order'),
      error: stepErrorSchema
        .extend({
          step: z
            .string()
            .nullable()
            .describe('The failed step’s key; null for a job-level error (e.g. invalid input)'),
        })
        .nullable()
        .describe('Why a failed job failed; else null'),
      parentJobId: z.string().nullable().describe('The job this one runs under as a sub-job, else null'),
      startedBy: z
        .string()
        .nullable()
        .describe(
          'Who started the job: the API key’s name (`local` in open mode), or what a `StepwiseClient` caller passed as `startedBy` (the `JobStartedBy` search attribute); null for sub-jobs and jobs started without one',
        ),
      traceId: z
        .string()
        .regex(/^[0-9a-f]{32}$/)
        .nullable()
        .describe(
          'The OpenTelemetry trace the job belongs to (32 hex digits): the one of the API request that started it, which also holds its steps and sub-jobs (docs/production.md, "Traces"). Null when tracing is off, or the start carried no recorded trace',
        ),
      eta: jobEtaSchema
        .nullable()
        .describe(
          'When the job is expected to end, learned from its type’s completed runs; null once it closed, and in the `jobState` query’s own answer (the client and the API add it to what they read)',
        ),
      deployment: jobDeploymentSchema
        .nullable()
        .describe(
          'The build (worker deployment version) that ran the job’s latest workflow task, and its versioning behaviour; null when its worker is not versioned (and in states recorded before Stepwise recorded it)',
        ),
      startedAt: isoTime.describe('Start of this run (ISO 8601, UTC)'),
      closedAt: isoTime
        .nullable()
        .describe(
          'When the run closed (ISO 8601, UTC); null while it runs (set exactly when the status is terminal)',
        ),
    })
    .describe(
      'A job’s full state, as its `jobState` query answers it: also after it closed (a run terminated or timed out in Temporal reads as `failed`). All of it is plain JSON.',
    ),
);
export type JobState = z.output<typeof jobStateSchema>;
