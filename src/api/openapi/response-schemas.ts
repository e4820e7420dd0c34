/**
 * Zod schemas of what the API answers, for the OpenAPI document. The shapes themselves are the
 * TypeScript interfaces of `workflows/contracts.ts` and the API modules; each schema here is checked
 * at compile time to infer exactly that interface (both ways), so the two cannot drift apart.
 */
import { z } from 'zod';
import {
  JOB_STATUSES,
  STEP_STATUSES,
  type ControlAck,
  type JobState,
  type Json,
} from '../../../workflows/contracts';
import { ROLES } from '../../api-keys';
import { stackStatusSchema } from '../../stack-status';
import type { AuditPage } from '../audit/audit.schemas';
import { AUDIT_OUTCOMES, type AuditEntry } from '../audit/audit.store';
import type { ErrorBody } from '../common/errors';
import { AUDIT_ACTIONS } from '../common/route-policy';
import type { JobTypeInfo } from '../job-types/job-type-catalog';
import type { JobList, JobSummary, JobTreeNode, StartJobResponse, TerminateResponse } from '../jobs/schemas';

/** `true` only when A and B are assignable to each other. */
export type Equivalent<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** Compiles only when given `true`: `assertType<Equivalent<X, Y>>(true)`. */
export const assertType = <T extends true>(value: T): T => value;

const isoTime = z.string().describe('ISO 8601 time (UTC)');

export const jsonSchema: z.ZodType<Json> = z.json() as z.ZodType<Json>;
export const jobStatusSchema = z.enum(JOB_STATUSES);
const stepStatusSchema = z.enum(STEP_STATUSES);
const stepKindSchema = z.enum(['activity', 'job', 'batch']);

const stepErrorSchema = z.object({
  message: z.string(),
  type: z.string().nullable(),
  nonRetryable: z.boolean(),
});
const summaryStatsSchema = z.object({
  itemsProcessed: z.number(),
  itemsCreated: z.number(),
  itemsFailed: z.number(),
  totalErrors: z.number(),
});
const controlSourceSchema = z.enum(['update', 'signal', 'native']);
const controlActionKindSchema = z.enum(['pause', 'resume', 'cancel']);

export const jobStateSchema = z.object({
  jobId: z.string(),
  runId: z.string(),
  type: z.string(),
  status: jobStatusSchema,
  progress: z.number().min(0).max(100),
  currentStep: z.number().int(),
  totalSteps: z.number().int(),
  stepName: z.string().nullable(),
  message: z.string().nullable(),
  activeSubJobs: z.array(
    z.object({
      id: z.string(),
      type: z.string(),
      status: jobStatusSchema,
      progress: z.number(),
      step: z.string(),
    }),
  ),
  runningSubJobs: z
    .number()
    .int()
    .min(0)
    .describe(
      'Sub-jobs running now, batch chunk sub-jobs included (coordinators not counted); 0 once closed',
    ),
  steps: z.array(
    z.object({
      index: z.number().int(),
      key: z.string(),
      name: z.string(),
      kind: stepKindSchema,
      weight: z.number(),
      dependsOn: z.array(z.string()),
      status: stepStatusSchema,
      attempt: z.number().int(),
      maxAttempts: z.number().int(),
      progress: z.number(),
      startedAt: isoTime.nullable(),
      completedAt: isoTime.nullable(),
      durationMs: z.number().nullable(),
      nextAttemptAt: isoTime.nullable(),
      result: jsonSchema.nullable(),
      error: stepErrorSchema.nullable(),
      subJobIds: z.array(z.string()),
      batch: z
        .object({ total: z.number(), completed: z.number(), failed: z.number(), running: z.number() })
        .nullable(),
      message: z.string().nullable(),
      stats: summaryStatsSchema.partial().nullable(),
      carriedFrom: z.string().nullable(),
    }),
  ),
  summary: summaryStatsSchema,
  logs: z.array(
    z.object({
      at: isoTime,
      level: z.enum(['debug', 'info', 'warn', 'error']),
      step: z.number().int().nullable(),
      message: z.string(),
      entity: z.object({ tag: z.string(), route: z.string().optional() }).optional(),
    }),
  ),
  control: z.object({
    paused: z.boolean(),
    actions: z.array(
      z.object({
        action: controlActionKindSchema,
        by: z.string().nullable(),
        reason: z.string().nullable(),
        at: isoTime,
        source: controlSourceSchema.optional(),
      }),
    ),
    droppedActions: z.number().int().optional(),
  }),
  recovery: z.object({
    attempt: z.number().int(),
    max: z.number().int(),
    fromStep: z.number().int().nullable(),
    previousRunId: z.string().nullable(),
  }),
  cancellation: z
    .object({
      requestedAt: isoTime,
      by: z.string().nullable(),
      reason: z.string().nullable(),
      source: controlSourceSchema,
      leftRunning: z.array(z.string()),
      cleanup: z.enum(['completed', 'failed']).nullable(),
    })
    .nullable(),
  input: jsonSchema,
  output: jsonSchema.nullable(),
  error: stepErrorSchema.extend({ step: z.string().nullable() }).nullable(),
  parentJobId: z.string().nullable(),
  startedAt: isoTime,
  closedAt: isoTime.nullable(),
});

export const controlAckSchema = z.object({
  jobId: z.string(),
  runId: z.string(),
  action: controlActionKindSchema,
  status: jobStatusSchema,
  paused: z.boolean(),
  at: isoTime,
});

export const jobSummarySchema = jobStateSchema
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
  .extend({ recoverable: z.boolean() });

export const jobListSchema = z.object({
  jobs: z.array(jobSummarySchema),
  nextPageToken: z.string().nullable(),
});

export const jobTreeNodeSchema: z.ZodType<JobTreeNode> = z.object({
  jobId: z.string(),
  type: z.string(),
  status: jobStatusSchema,
  progress: z.number(),
  get children(): z.ZodArray<z.ZodType<JobTreeNode>> {
    return z.array(jobTreeNodeSchema);
  },
  truncated: z.boolean().optional(),
});
export const jobTreeSchema = z.array(jobTreeNodeSchema);

export const startJobResponseSchema = z.object({
  jobId: z.string(),
  runId: z.string(),
  type: z.string(),
  status: z.string(),
});

export const terminateResponseSchema = z.object({
  jobId: z.string(),
  runId: z.string(),
  status: z.literal('terminated'),
});

export const jobTypeInfoSchema = z.object({
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
  inputSchema: z.record(z.string(), z.unknown()).describe('JSON Schema (draft 2020-12) of the input'),
  internal: z.boolean(),
});
export const jobTypeListSchema = z.array(jobTypeInfoSchema);

export const auditEntrySchema = z.object({
  id: z.number().int(),
  at: isoTime,
  requestId: z.string(),
  actor: z.string().nullable(),
  role: z.enum(ROLES).nullable(),
  action: z.enum(AUDIT_ACTIONS),
  jobId: z.string().nullable(),
  reason: z.string().nullable(),
  outcome: z.enum(AUDIT_OUTCOMES),
  statusCode: z.number().int(),
  message: z.string().nullable(),
  ip: z.string().nullable(),
  count: z
    .number()
    .int()
    .min(1)
    .describe(
      'Requests this row stands for: 1, or refusals past STEPWISE_AUDIT_REFUSALS_PER_MINUTE recorded together',
    ),
});
export const auditPageSchema = z.object({
  entries: z.array(auditEntrySchema),
  nextPageToken: z.string().nullable(),
});

export const healthSchema = z.object({
  status: z.enum(['ok', 'error']),
  temporal: z.enum(['ok', 'unreachable']),
  // Only when a launcher (npm start, npm run cluster) started this API: its processes.
  stack: stackStatusSchema.optional(),
});
export type Health = z.infer<typeof healthSchema>;

export const livenessSchema = z.object({ status: z.literal('ok') });
export type Liveness = z.infer<typeof livenessSchema>;

export const errorBodySchema = z.object({
  statusCode: z.number().int(),
  error: z.string(),
  message: z.string(),
  issues: z
    .array(z.object({ path: z.array(z.union([z.string(), z.number()])), message: z.string() }))
    .optional(),
});

// Compile-time: each schema infers exactly the interface the code returns.
assertType<Equivalent<z.output<typeof jobStateSchema>, JobState>>(true);
assertType<Equivalent<z.output<typeof controlAckSchema>, ControlAck>>(true);
assertType<Equivalent<z.output<typeof jobSummarySchema>, JobSummary>>(true);
assertType<Equivalent<z.output<typeof jobListSchema>, JobList>>(true);
assertType<Equivalent<z.output<typeof jobTreeNodeSchema>, JobTreeNode>>(true);
assertType<Equivalent<z.output<typeof startJobResponseSchema>, StartJobResponse>>(true);
assertType<Equivalent<z.output<typeof terminateResponseSchema>, TerminateResponse>>(true);
assertType<Equivalent<z.output<typeof jobTypeInfoSchema>, JobTypeInfo>>(true);
assertType<Equivalent<z.output<typeof auditEntrySchema>, AuditEntry>>(true);
assertType<Equivalent<z.output<typeof auditPageSchema>, AuditPage>>(true);
assertType<Equivalent<z.output<typeof errorBodySchema>, ErrorBody>>(true);
