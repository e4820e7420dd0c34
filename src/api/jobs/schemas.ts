/** Request schemas of the REST API (see shared/API.md). */
import { z } from 'zod';
import {
  JOB_STATUSES,
  controlPayloadSchema,
  type JobState,
  type JobStatus,
} from '../../../workflows/contracts';

/** Job ids become workflow ids and appear in URLs: keep them URL- and log-safe. */
export const jobIdSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._:-]*$/,
    'use letters, digits and . _ : - (starting with a letter or digit)',
  );

export const startJobBodySchema = z
  .object({
    type: z.string().min(1).max(100),
    input: z.unknown().default({}),
    jobId: jobIdSchema.optional(),
  })
  .strict();
export type StartJobBody = z.infer<typeof startJobBodySchema>;

export interface StartJobResponse {
  jobId: string;
  runId: string;
  type: string;
  status: string;
}

/** Body of pause, resume and cancel. */
export const controlBodySchema = controlPayloadSchema.default({});

export const retryBodySchema = z
  .object({
    /** 1-based step to run from; default: the first step that did not complete. */
    fromStep: z.number().int().min(1).optional(),
  })
  .strict()
  .default({});
export type RetryBody = z.infer<typeof retryBodySchema>;

/** Body of `DELETE /api/jobs/:jobId` (terminate). */
export const terminateBodySchema = z
  .object({ reason: z.string().max(1000).optional() })
  .strict()
  .default({});
export type TerminateBody = z.infer<typeof terminateBodySchema>;

export interface TerminateResponse {
  jobId: string;
  runId: string;
  status: 'terminated';
}

const booleanString = z.enum(['true', 'false']).transform((v) => v === 'true');

export const listJobsQuerySchema = z
  .object({
    status: z.enum(JOB_STATUSES).optional(),
    type: z.string().min(1).max(100).optional(),
    recoverable: booleanString.optional(),
    parentJobId: jobIdSchema.optional(),
    pageSize: z.coerce.number().int().min(1).max(100).default(20),
    pageToken: z.string().max(4096).optional(),
  })
  .strict();
export type ListJobsQuery = z.infer<typeof listJobsQuerySchema>;

/** `JobSummary` of API.md, plus whether the job can be recovered and its parent job. */
export type JobSummary = Pick<
  JobState,
  | 'jobId'
  | 'runId'
  | 'type'
  | 'status'
  | 'progress'
  | 'currentStep'
  | 'totalSteps'
  | 'stepName'
  | 'startedAt'
  | 'closedAt'
  | 'parentJobId'
> & { recoverable: boolean };

export interface JobList {
  jobs: JobSummary[];
  nextPageToken: string | null;
}

export interface JobTreeNode {
  jobId: string;
  type: string;
  status: JobStatus;
  progress: number;
  children: JobTreeNode[];
  /** Set when more children exist than the tree shows. */
  truncated?: boolean;
}
