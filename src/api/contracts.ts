/**
 * What the API answers, declared once: zod schemas registered under their ids
 * (`workflows/schema-registry.ts`), with their TypeScript types inferred from them. The job state
 * and what it contains come from the workflow side (`workflows/job-state.ts`); the shapes only the
 * API has are here. `/openapi.json` publishes every registered schema as the component of its id
 * (`openapi/components.ts`), and the dashboard's types are generated from those components, so a
 * field is added or described in one place. The request schemas are next to their routes
 * (`jobs/schemas.ts`).
 */
import { z } from 'zod';
import {
  JOB_STATUSES,
  jobStateSchema,
  jobStatusSchema,
  stepErrorSchema,
  stepKindSchema,
  stepStatusSchema,
} from '../../workflows/job-state';
import { named } from '../../workflows/schema-registry';
import { ROLES } from '../api-keys';
import { stackStatusSchema } from '../stack-status';

const isoTime = z.string().describe('ISO 8601 time (UTC)');

export const jobSummarySchema = named(
  'JobSummary',
  jobStateSchema
    .pick({
      jobId: true,
      runId: true,
      type: true,
      status: true,
      progress: true,
      currentStep: true,
      totalSteps: true,
      stepName: true,
      startedAt: true,
      closedAt: true,
      parentJobId: true,
    })
    .extend({
      recoverable: z
        .boolean()
        .describe('A closed failed, cancelled or partly failed job with recoveries left'),
      startedBy: z
        .string()
        .nullable()
        .describe(
          'Who started the job: the API key’s name (`local` in open mode), or a client’s `startedBy`; null for sub-jobs and jobs started otherwise',
        ),
    })
    .describe(
      'A job as `GET /api/jobs` lists it. `status`, `progress`, `currentStep` and `recoverable` come from search attributes, so `progress` and `currentStep` are as of the last step boundary (the job’s own `GET` is exact).',
    ),
);
export type JobSummary = z.output<typeof jobSummarySchema>;

export const jobListSchema = named(
  'JobList',
  z.object({
    jobs: z.array(jobSummarySchema),
    nextPageToken: z.string().nullable().describe('Pass as `pageToken` for the next page; null on the last'),
  }),
);
export type JobList = z.output<typeof jobListSchema>;

export const subtreeCountsSchema = named(
  'SubtreeCounts',
  z
    .object({
      total: z.number().int().describe('Sub-jobs below this node that the tree shows'),
      byStatus: z
        .object(
          Object.fromEntries(JOB_STATUSES.map((s) => [s, z.number().int()])) as Record<
            (typeof JOB_STATUSES)[number],
            z.ZodNumber
          >,
        )
        .describe('Those sub-jobs by status (every status, 0 included)'),
    })
    .describe(
      'The sub-jobs below a node, at every depth, by status: as many as the tree shows (see `truncated`)',
    ),
);
export type SubtreeCounts = z.output<typeof subtreeCountsSchema>;

export const jobTreeNodeSchema = z.object({
  jobId: z.string(),
  type: z.string(),
  status: jobStatusSchema,
  progress: z.number(),
  get children() {
    return z.array(jobTreeNodeSchema);
  },
  subtree: subtreeCountsSchema,
  startedAt: isoTime,
  closedAt: isoTime.nullable(),
  truncated: z.boolean().optional().describe('Set when more children exist than the tree shows'),
});
named('JobTreeNode', jobTreeNodeSchema);
export type JobTreeNode = z.output<typeof jobTreeNodeSchema>;

export const jobTreeSchema = named(
  'JobTree',
  z
    .array(jobTreeNodeSchema)
    .describe(
      'A job’s sub-jobs and batch chunk sub-jobs as a tree (at most 6 levels, 200 children a job, 1000 nodes)',
    ),
);

const causeStepSchema = z.object({
  jobId: z.string(),
  type: z.string(),
  step: z.string().nullable().describe('The step’s key; null for a job-level failure (e.g. invalid input)'),
  stepName: z.string().nullable(),
});

export const rootCauseGroupSchema = named(
  'RootCauseGroup',
  z
    .object({
      message: z.string(),
      type: z.string().nullable().describe('The error’s type name, when it has one'),
      count: z.number().int().describe('How many failed chunks had this error'),
      jobIds: z
        .array(z.string())
        .describe('Those chunk sub-jobs (the first 50); empty for a batch of activities'),
      chunks: z.array(z.number().int()).describe('Their chunk numbers, from 0 (the first 50)'),
    })
    .describe('Failed batch chunks with the same error'),
);
export type RootCauseGroup = z.output<typeof rootCauseGroupSchema>;

export const rootCauseSchema = named(
  'RootCause',
  z
    .object({
      jobId: z.string(),
      status: jobStatusSchema,
      cause: causeStepSchema
        .extend({ error: stepErrorSchema.nullable() })
        .nullable()
        .describe(
          'The deepest failure: the failing step of the deepest failed sub-job (or batch chunk) under the job. Null unless the job is `failed` or `completed_with_errors`',
        ),
      path: z
        .array(causeStepSchema)
        .describe('From the job down to the cause: each job on the way and its failing step'),
      consequences: z
        .array(z.object({ step: z.string(), stepName: z.string(), status: stepStatusSchema }))
        .describe(
          'The job’s steps that did not run, were cancelled, or were skipped because the cause failed',
        ),
      groups: z
        .array(rootCauseGroupSchema)
        .describe('The failed chunks of the failing batch step on the path, grouped by error, largest first'),
      failedChunks: z
        .number()
        .int()
        .nullable()
        .describe('How many chunks of that batch step failed; null without one'),
      groupsTruncated: z
        .boolean()
        .describe(
          'More chunks failed than were read (200 sub-jobs; the first 20 failures of a batch of activities)',
        ),
    })
    .describe('Why a job failed or ended `completed_with_errors` (`GET /api/jobs/{jobId}/cause`)'),
);
export type RootCause = z.output<typeof rootCauseSchema>;

export const jobRunSchema = named(
  'JobRun',
  z.object({
    runId: z.string(),
    status: jobStatusSchema,
    startedAt: isoTime,
    closedAt: isoTime.nullable(),
    recoveryAttempt: z.number().int().describe('0 for the first run; n for the n-th retry from a step'),
    fromStep: z.number().int().nullable().describe('The step a retry started from'),
    previousRunId: z.string().nullable(),
    startedBy: z.string().nullable(),
  }),
);
export type JobRun = z.output<typeof jobRunSchema>;

export const jobRunsSchema = named(
  'JobRuns',
  z
    .object({ runs: z.array(jobRunSchema).describe('Newest first') })
    .describe('A job’s runs: the first and each retry from a step (the recovery chain)'),
);
export type JobRuns = z.output<typeof jobRunsSchema>;

export const startJobResponseSchema = named(
  'StartJobResponse',
  z.object({ jobId: z.string(), runId: z.string(), type: z.string(), status: z.string() }),
);
export type StartJobResponse = z.output<typeof startJobResponseSchema>;

export const terminateResponseSchema = named(
  'TerminateResponse',
  z.object({ jobId: z.string(), runId: z.string(), status: z.literal('terminated') }),
);
export type TerminateResponse = z.output<typeof terminateResponseSchema>;

export const jobTypeInfoSchema = named(
  'JobTypeInfo',
  z.object({
    type: z.string(),
    description: z.string(),
    steps: z.array(
      z.object({
        key: z.string(),
        name: z.string(),
        kind: stepKindSchema,
        weight: z.number(),
        dependsOn: z.array(z.string()),
      }),
    ),
    inputSchema: z
      .record(z.string(), z.unknown())
      .describe(
        'JSON Schema (draft 2020-12) of the input, generated from the type’s zod schema (what it accepts)',
      ),
    internal: z.boolean().describe('A sub-job type only its parent job starts: `POST /api/jobs` refuses it'),
  }),
);
export type JobTypeInfo = z.output<typeof jobTypeInfoSchema>;

export const jobTypeListSchema = named('JobTypeList', z.array(jobTypeInfoSchema));

/**
 * The mutating requests the audit trail records; `bulk` is the start of a bulk job (`POST /api/bulk`),
 * whose items are recorded one by one under their own action (request id `bulk/<bulkJobId>/<index>`).
 */
export const AUDIT_ACTIONS = [
  'start',
  'pause',
  'resume',
  'cancel',
  'retry',
  'terminate',
  'retry-step',
  'skip-step',
  'fail-step',
  'approve',
  'reject',
  'bulk',
  // Webhook notifications (docs/notifications.md).
  'subscribe',
  'update-subscription',
  'unsubscribe',
  'test-subscription',
  'rotate-secret',
  'replay-delivery',
  // Schedules (docs/schedules.md): the row's jobId is the schedule's id.
  'schedule-create',
  'schedule-update',
  'schedule-delete',
  'schedule-pause',
  'schedule-unpause',
  'schedule-trigger',
  'schedule-backfill',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** `accepted` (2xx), `refused` (4xx: nothing changed) or `failed` (5xx: e.g. no worker answered). */
export const AUDIT_OUTCOMES = ['accepted', 'refused', 'failed'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

export const auditEntrySchema = named(
  'AuditEntry',
  z
    .object({
      id: z.number().int().describe('Increasing with time of writing; the page token’s position'),
      at: isoTime.describe('When the answer was sent (ISO 8601, UTC)'),
      requestId: z
        .string()
        .describe('The request id; `bulk/<bulkJobId>/<index>` for an item a bulk job acted on (`ip` null)'),
      actor: z.string().nullable().describe('The key’s name; null when the request had no valid key'),
      role: z.enum(ROLES).nullable(),
      action: z.enum(AUDIT_ACTIONS),
      jobId: z.string().nullable(),
      reason: z.string().nullable(),
      outcome: z
        .enum(AUDIT_OUTCOMES)
        .describe(
          '`accepted` (2xx), `refused` (4xx: nothing changed) or `failed` (5xx: e.g. no worker answered)',
        ),
      statusCode: z.number().int(),
      message: z
        .string()
        .nullable()
        .describe('The error message of a refusal or failure; null when accepted'),
      ip: z.string().nullable().describe('The client address as the API saw it'),
      count: z
        .number()
        .int()
        .min(1)
        .describe(
          'Requests this row stands for: 1, or refusals past STEPWISE_AUDIT_REFUSALS_PER_MINUTE recorded together',
        ),
    })
    .describe('One mutating request, accepted or not'),
);
export type AuditEntry = z.output<typeof auditEntrySchema>;

export const auditPageSchema = named(
  'AuditPage',
  z.object({
    entries: z.array(auditEntrySchema),
    nextPageToken: z
      .string()
      .nullable()
      .describe('Pass as `pageToken` for older entries; null on the last page'),
  }),
);
export type AuditPage = z.output<typeof auditPageSchema>;

export const meSchema = named(
  'Me',
  z.object({
    name: z.string().describe('The key’s name (what the audit trail records as the actor)'),
    role: z.enum(ROLES),
    openMode: z.boolean().describe('No keys are configured: every request acts as "local" (loopback only)'),
  }),
);
export type Me = z.output<typeof meSchema>;

export const healthSchema = named(
  'Health',
  z.object({
    status: z.enum(['ok', 'error']),
    temporal: z.enum(['ok', 'unreachable']),
    stack: stackStatusSchema
      .optional()
      .describe('Only when a launcher (npm start, npm run cluster) started this API: its processes'),
  }),
);
export type Health = z.output<typeof healthSchema>;

export const livenessSchema = named('Liveness', z.object({ status: z.literal('ok') }));
export type Liveness = z.output<typeof livenessSchema>;

export const issueSchema = named(
  'Issue',
  z.object({
    path: z.array(z.union([z.string(), z.number()])).describe('Where in the request (body, query, input)'),
    message: z.string(),
  }),
);
export type Issue = z.output<typeof issueSchema>;

export const errorBodySchema = named(
  'ErrorBody',
  z
    .object({
      statusCode: z.number().int(),
      error: z.string(),
      message: z.string(),
      issues: z.array(issueSchema).optional(),
    })
    .describe('Every error answer'),
);
export type ErrorBody = z.output<typeof errorBodySchema>;

export const openApiDocumentSchema = named(
  'OpenApiDocument',
  z.looseObject({ openapi: z.string() }).describe('An OpenAPI 3.1 document'),
);

/** The statuses a job closes with: what `GET /api/stats` counts closes by. */
export const CLOSED_STATUSES = ['completed', 'completed_with_errors', 'failed', 'cancelled'] as const;

const rate = z
  .number()
  .min(0)
  .max(1)
  .nullable()
  .describe('A share between 0 and 1; null when there is nothing to divide by');
const ms = z.number().nullable().describe('Milliseconds; null when no value was seen');

export const statsBucketSchema = named(
  'StatsBucket',
  z.object({
    start: isoTime.describe('The bucket covers [start, start + interval)'),
    started: z.number().int().describe('Runs started in the bucket (visibility `StartTime`)'),
    closed: z
      .object(
        Object.fromEntries(CLOSED_STATUSES.map((s) => [s, z.number().int()])) as Record<
          (typeof CLOSED_STATUSES)[number],
          z.ZodNumber
        >,
      )
      .describe('Runs closed in the bucket (visibility `CloseTime`), by their Stepwise status'),
  }),
);
export type StatsBucket = z.output<typeof statsBucketSchema>;

export const typeStatsSchema = named(
  'TypeStats',
  z.object({
    type: z.string(),
    started: z.number().int().describe('Runs started in the range'),
    closed: z.number().int().describe('Runs closed in the range'),
    completed: z.number().int().describe('Closed `completed` or `completed_with_errors`'),
    failed: z.number().int().describe('Closed `failed` (a run terminated or timed out in Temporal included)'),
    cancelled: z.number().int(),
    failureRate: rate.describe('failed / closed'),
    durationP50Ms: ms.describe('Median run duration (close − start, visibility times) of the runs closed'),
    durationP95Ms: ms.describe('95th percentile (nearest rank) of the same durations'),
    statesRead: z
      .number()
      .int()
      .describe('Closed runs whose final state was read: the step, retry and recovery figures cover these'),
    stepAttempts: z
      .number()
      .int()
      .describe('Step attempts made in those runs (steps carried over not counted)'),
    retries: z.number().int().describe('Of those attempts, the ones after a step’s first'),
    retryRate: rate.describe('retries / stepAttempts'),
    recoveryRuns: z
      .number()
      .int()
      .describe('Runs read that were a recovery (`recovery.attempt > 0`: retried from a step)'),
    recoverySucceeded: z
      .number()
      .int()
      .describe('Of those, the ones that ended `completed` or `completed_with_errors`'),
    recoverySuccessRate: rate.describe('recoverySucceeded / recoveryRuns'),
  }),
);
export type TypeStats = z.output<typeof typeStatsSchema>;

export const stepStatsSchema = named(
  'StepStats',
  z.object({
    type: z.string(),
    step: z.string().describe('The step’s key'),
    index: z.number().int().describe('1-based position in the type’s declaration'),
    name: z.string(),
    runs: z
      .number()
      .int()
      .describe('Closed runs read in which the step ran (carried-over results not counted)'),
    failures: z.number().int().describe('Of those, the runs in which it ended `failed`'),
    failureRate: rate.describe('failures / runs'),
    attempts: z.number().int(),
    retries: z.number().int().describe('Attempts after the first'),
    retryRate: rate.describe('retries / attempts'),
    durationP50Ms: ms.describe('Median `durationMs` of the step where it completed'),
    durationP95Ms: ms.describe('95th percentile (nearest rank) of the same'),
  }),
);
export type StepStats = z.output<typeof stepStatsSchema>;

export const statsSourceSchema = named(
  'StatsSource',
  z
    .object({
      executionsScanned: z.number().int().describe('Runs read from the visibility store'),
      visibilityPages: z.number().int().describe('Visibility list calls made'),
      truncated: z
        .boolean()
        .describe('More runs matched than `STEPWISE_STATS_MAX`: every figure covers only those scanned'),
      statesWanted: z.number().int().describe('Runs closed in the range (each has a final state)'),
      statesRead: z
        .number()
        .int()
        .describe('Final states read (at most `STEPWISE_STATS_STATES_MAX`, the most recently closed first)'),
      statesSkipped: z
        .number()
        .int()
        .describe('Closed runs left out by that bound, or because reading states took past its 10 s budget'),
      statesUnreadable: z
        .number()
        .int()
        .describe(
          'States that could not be read (no worker answered in time, or the budget ended while waiting)',
        ),
      statesRemembered: z
        .number()
        .int()
        .describe(
          'Of `statesUnreadable`, runs not asked again: no worker answered for them in the last 2 minutes',
        ),
      fromCache: z
        .number()
        .int()
        .describe('States answered from the API’s closed-state cache (no Temporal call)'),
      closeEvents: z
        .number()
        .int()
        .describe('States read from a completed run’s close event (its result is its state; no worker)'),
      queries: z
        .number()
        .int()
        .describe(
          'States read by the `jobState` query of a failed or cancelled run (a worker replays its history)',
        ),
      elapsedMs: z.number().int(),
    })
    .describe('What was read to compute the figures, and what it cost'),
);
export type StatsSource = z.output<typeof statsSourceSchema>;

export const statsSchema = named(
  'Stats',
  z
    .object({
      from: isoTime,
      to: isoTime,
      intervalMs: z.number().int(),
      series: z.array(statsBucketSchema).describe('One bucket per interval from `from`, oldest first'),
      types: z.array(typeStatsSchema).describe('Every job type with a run in the range, by name'),
      steps: z.array(stepStatsSchema).describe('Every step that ran in a run read, by type and step index'),
      slowestSteps: z.array(stepStatsSchema).describe('The 10 steps with the highest p95 duration'),
      mostFailingSteps: z
        .array(stepStatsSchema)
        .describe('The 10 steps with the most failures (then the highest failure rate)'),
      source: statsSourceSchema,
    })
    .describe(
      'Figures over the runs that started or closed in [from, to): see docs/api.md for where each comes from',
    ),
);
export type Stats = z.output<typeof statsSchema>;
