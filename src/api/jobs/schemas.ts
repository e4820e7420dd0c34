/**
 * Request schemas of the jobs routes (the ones with an id are components of `/openapi.json`, as
 * what the API accepts), and the types of their answers, which are declared in `../contracts.ts`.
 */
import { z } from 'zod';
import {
  JOB_STATUSES,
  MAX_APPROVAL_COMMENT,
  controlPayloadSchema,
  holdDecisionPayloadSchema,
} from '../../../workflows/contracts';
import { named } from '../../../workflows/schema-registry';

export type { JobList, JobSummary, JobTreeNode, StartJobResponse, TerminateResponse } from '../contracts';

/**
 * A job id a caller chooses (`POST /api/jobs`): it becomes the workflow id and appears in URLs and
 * logs, so it is kept URL- and log-safe, and it has no `/`: every sub-job id the engine makes is
 * `<jobId>/<stepKey>…`, so a chosen id can never collide with a sub-job's.
 */
export const newJobIdSchema = named(
  'NewJobId',
  z
    .string()
    .min(1)
    .max(200)
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9._:-]*$/,
      'use letters, digits and . _ : - (starting with a letter or digit); "/" is kept for sub-job ids',
    ),
  'input',
);

/** Temporal's default limit on a workflow id's length (`limit.maxIDLength`). */
export const MAX_JOB_ID_LENGTH = 1000;

/**
 * The id of an existing job, as routes take it (path-encoded: a sub-job id's `/` is `%2F`). Any
 * id the engine or a caller created is accepted — top-level ids, sub-job ids
 * (`<jobId>/<step>[-r<n>][/<chunk>][-a<k>]`), ids started outside the API — so every job the list
 * shows can be opened; only empty and over-long ids, control characters and `.`/`..` segments are
 * refused.
 */
export const jobIdSchema = named(
  'JobId',
  z
    .string()
    .min(1)
    .max(MAX_JOB_ID_LENGTH)
    // eslint-disable-next-line no-control-regex -- control characters are what this refuses
    .regex(/^[^\u0000-\u001f\u007f]+$/, 'no control characters')
    // No job has a `.` or `..` segment (the engine's segments are ids and step keys): refused, so no
    // id ever reads as a relative path wherever it is joined into one.
    .regex(/^(?!(?:.*\/)?\.{1,2}(?:\/|$))/, 'no "." or ".." segment'),
  'input',
);

/**
 * Headers `POST /api/jobs` reads: `Idempotency-Key` (1–255 visible ASCII characters) makes a start
 * without a `jobId` idempotent for this caller; see `StartOptions.idempotencyKey`.
 */
/** An idempotency key: 1–255 visible ASCII characters (no space, no control character). */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

export const startJobHeadersSchema = z
  .object({
    'idempotency-key': z
      .string()
      .regex(IDEMPOTENCY_KEY_PATTERN, 'An idempotency key is 1–255 visible ASCII characters (no spaces)')
      .optional()
      .describe(
        'Makes the start idempotent for this caller: the same key, type and input return the job it started (200, `Idempotent-Replayed: true`) while Temporal keeps it; another type or input is a 409. Not together with `jobId`.',
      ),
  })
  .loose();

/**
 * Body of `POST /api/jobs`, as the route's pipe reads it first (the input is then checked against
 * its type's schema). `/openapi.json` shows this component as a `oneOf` of each job type's body.
 */
export const startJobBodySchema = named(
  'StartJobBody',
  z
    .object({
      type: z.string().min(1).max(100),
      input: z.unknown().default({}),
      jobId: newJobIdSchema.optional(),
      priority: z
        .number()
        .int()
        .min(1)
        .max(5)
        .optional()
        .describe(
          'The job’s priority, 1 (highest) … 5 (lowest), default 3: on a busy task queue its workflow, activities and sub-jobs go first, and it goes first in a concurrency queue',
        ),
    })
    .strict(),
  'input',
);
export type StartJobBody = z.infer<typeof startJobBodySchema>;

/** Body of pause, resume and cancel. */
export const controlBodySchema = named('ControlBody', controlPayloadSchema.default({}), 'input');

/** A step's key in a path (`/api/jobs/:jobId/steps/:key/approve`): what `defineJob` allows. */
export const stepKeySchema = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, 'A step key is a letter, then up to 63 letters, digits or _')
  .describe('The step’s key, as in `JobState.steps[].key`');

/** Body of an approval's decision: the comment, recorded with the decision. */
export const approvalBodySchema = named(
  'ApprovalDecisionBody',
  z
    .object({
      comment: z
        .string()
        .max(MAX_APPROVAL_COMMENT)
        .optional()
        .describe(
          `Why (at most ${MAX_APPROVAL_COMMENT} characters); the step’s result and the audit trail keep it`,
        ),
    })
    .strict()
    .default({}),
  'input',
);
export type ApprovalBody = z.infer<typeof approvalBodySchema>;

/** A decision on a held step: which one (default the first held), and why. */
export const holdBodySchema = named('HoldDecisionBody', holdDecisionPayloadSchema.default({}), 'input');

export const retryBodySchema = named(
  'RetryBody',
  z
    .object({
      fromStep: z
        .number()
        .int()
        .min(1)
        .optional()
        .describe('1-based step to run from; default: the first step that did not complete'),
    })
    .strict()
    .default({}),
  'input',
);
export type RetryBody = z.infer<typeof retryBodySchema>;

/** Body of `DELETE /api/jobs/:jobId` (terminate). */
export const terminateBodySchema = named(
  'TerminateBody',
  z
    .object({ reason: z.string().max(1000).optional() })
    .strict()
    .default({}),
  'input',
);
export type TerminateBody = z.infer<typeof terminateBodySchema>;

const booleanString = z.enum(['true', 'false']).transform((v) => v === 'true');

/** The orders `GET /api/jobs` sorts by; `-` first is descending. */
export const JOB_SORTS = [
  'startedAt',
  '-startedAt',
  'closedAt',
  '-closedAt',
  'duration',
  '-duration',
] as const;
export type JobSort = (typeof JOB_SORTS)[number];

const listTime = z.iso
  .datetime({ offset: true })
  .transform((v) => new Date(v).toISOString())
  .describe('ISO 8601 time with its zone (`Z` or an offset)');

export const listJobsQuerySchema = z
  .object({
    status: z.enum(JOB_STATUSES).optional(),
    type: z.string().min(1).max(100).optional(),
    recoverable: booleanString.optional(),
    parentJobId: jobIdSchema.optional(),
    topLevel: booleanString
      .optional()
      .describe('`true`: only top-level jobs (no sub-jobs); `false`: only sub-jobs'),
    jobIdPrefix: z
      .string()
      .min(1)
      .max(200)
      // eslint-disable-next-line no-control-regex -- control characters are what this refuses
      .regex(/^[^\u0000-\u001f\u007f]+$/, 'no control characters')
      .optional()
      .describe('Only jobs whose id starts with this'),
    startedBy: z
      .string()
      .min(1)
      .max(100)
      .optional()
      .describe('Only top-level jobs started by this API key name (`local` in open mode)'),
    scheduleId: z
      .string()
      .min(1)
      .max(200)
      // eslint-disable-next-line no-control-regex -- control characters are what this refuses
      .regex(/^[^\u0000-\u001f\u007f]+$/, 'no control characters')
      .optional()
      .describe('Only the runs of this schedule (`GET /api/schedules`)'),
    startedAfter: listTime.optional().describe('Only jobs started at or after this time'),
    startedBefore: listTime.optional().describe('Only jobs started before this time'),
    closedAfter: listTime.optional().describe('Only jobs closed at or after this time'),
    closedBefore: listTime.optional().describe('Only jobs closed before this time'),
    sort: z
      .enum(JOB_SORTS)
      .optional()
      .describe(
        'Sort by start, close or duration (`-` first: descending). Without it, Temporal’s own order: open jobs first, then the most recently closed. A sorted listing reads every matching job (at most 5,000; narrow the filters past that), so prefer a time range with it.',
      ),
    pageSize: z.coerce.number().int().min(1).max(100).default(20),
    pageToken: z.string().max(4096).optional(),
  })
  .strict();
export type ListJobsQuery = z.infer<typeof listJobsQuerySchema>;

/** `GET /api/jobs/:jobId`: which run (the latest when absent). */
export const getJobQuerySchema = z
  .object({
    runId: z
      .string()
      .regex(/^[0-9A-Za-z-]{1,64}$/, 'a run id (letters, digits and dashes, as Temporal makes them)')
      .optional()
      .describe('One run of the job (an earlier run of a retried job, from `GET /api/jobs/{jobId}/runs`)'),
  })
  .strict();
export type GetJobQuery = z.output<typeof getJobQuerySchema>;
