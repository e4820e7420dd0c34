/**
 * The framework's bulk-action job type: its name, input and results, shared by the engine (which
 * registers it in every app), the worker's engine activities (which act on each item) and the API
 * (which starts it from `POST /api/bulk`). Workflow-safe: zod and types only.
 */
import { z } from 'zod';
import type { ActivityJobRef, StepResultExtras } from './step-io';

/** Workflow type of the bulk-action job every app has (camelCase, like every job type). */
export const BULK_JOB_TYPE = 'stepwiseBulk';

/**
 * The most items a bulk job's input may hold, whatever the API's `STEPWISE_BULK_MAX` says: the
 * bound compiled into the workflow bundle, checked again at the workflow entry.
 */
export const BULK_MAX_ITEMS_LIMIT = 1000;

/** Items one activity call acts on: the batch step's chunk (progress moves once per chunk). */
export const BULK_CHUNK_SIZE = 5;

export const BULK_ACTIONS = ['cancel', 'pause', 'resume', 'retry'] as const;
export type BulkAction = (typeof BULK_ACTIONS)[number];

/** How one item ended: done, refused by a rule or the job's state, no such job, or a failure. */
export const BULK_ITEM_OUTCOMES = ['ok', 'refused', 'not_found', 'error'] as const;
export type BulkItemOutcome = (typeof BULK_ITEM_OUTCOMES)[number];

const jobIdField = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9._:-]+$/, 'letters, digits and . _ : - only');

/**
 * A bulk job's input. `actor` is who asked, as the API authenticated them (never a field of the
 * request body): each item is checked against that role, and recorded under that name.
 */
export const bulkInputSchema = z
  .object({
    action: z.enum(BULK_ACTIONS),
    jobIds: z
      .array(jobIdField)
      .min(1)
      .max(BULK_MAX_ITEMS_LIMIT, `at most ${BULK_MAX_ITEMS_LIMIT} jobs per bulk job`)
      .refine((ids) => new Set(ids).size === ids.length, 'each job at most once'),
    reason: z.string().max(1000).optional(),
    /** For `retry`: the 1-based step each job runs again from (default: its first step that did not complete). */
    fromStep: z.number().int().min(1).optional(),
    actor: z
      .object({
        name: z.string().min(1).max(200),
        role: z.enum(['viewer', 'operator', 'admin']),
      })
      .strict(),
  })
  .strict();
export type BulkInput = z.infer<typeof bulkInputSchema>;

/** One item a chunk acts on: the job and its place in the input. */
export type BulkItem = {
  jobId: string;
  index: number;
};

/** What a chunk activity is given. */
export type BulkChunkArgs = {
  action: BulkAction;
  reason?: string;
  fromStep?: number;
  actor: BulkInput['actor'];
  items: BulkItem[];
};

/** One item's result, as the bulk job's `results` step lists it. */
export interface BulkItemResult {
  jobId: string;
  outcome: BulkItemOutcome;
  /** The job's status the action acknowledged (`cancelling`, `paused`, `running`…), when it was done. */
  status?: string;
  message: string;
}

/** Counts by outcome. */
export type BulkCounts = { total: number } & Record<BulkItemOutcome, number>;

/** The `results` step's result: counts and every item, in input order. */
export interface BulkResults {
  counts: BulkCounts;
  items: BulkItemResult[];
}

/** The engine activities behind the bulk job (implemented by the worker factory, not by apps). */
export interface BulkActivities {
  /** Acts on a chunk of items; each item's outcome is written to the audit trail exactly once. */
  stepwiseBulkItems(job: ActivityJobRef, args: BulkChunkArgs): Promise<StepResultExtras & { done: number }>;
  /** Reads every item's recorded outcome back, in input order. */
  stepwiseBulkResults(job: ActivityJobRef, args: { total: number }): Promise<BulkResults & StepResultExtras>;
  /** Fails (non-retryable) with `message`: how a bulk job with refused items ends `completed_with_errors`. */
  stepwiseBulkVerdict(job: ActivityJobRef, args: { message: string }): Promise<void>;
}

/** "2 of 50 jobs were not done: 1 refused, 1 not found" (null when every item was done). */
export function bulkVerdict(counts: BulkCounts): string | null {
  const notDone = counts.total - counts.ok;
  if (notDone === 0) return null;
  const parts = (
    [
      ['refused', counts.refused],
      ['not found', counts.not_found],
      ['failed', counts.error],
    ] as const
  )
    .filter(([, n]) => n > 0)
    .map(([label, n]) => `${n} ${label}`);
  return `${notDone} of ${counts.total} jobs were not done: ${parts.join(', ')}`;
}
