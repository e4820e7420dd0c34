/** `POST /api/bulk`: the body and the answer. */
import { z } from 'zod';
import { JOB_STATUSES } from '../../../workflows/contracts';
import { BULK_ACTIONS } from '../../../workflows/engine/bulk-contracts';
import { named } from '../../../workflows/schema-registry';
import { startJobResponseSchema } from '../contracts';
import { listJobsQuerySchema } from '../jobs/schemas';

const listFields = listJobsQuerySchema.shape;

/** The filters of `GET /api/jobs`, as JSON (booleans are booleans here). */
export const bulkFilterSchema = named(
  'BulkFilter',
  z
    .object({
      type: listFields.type,
      status: z.enum(JOB_STATUSES).optional(),
      topLevel: z.boolean().optional().describe('`true`: only top-level jobs; `false`: only sub-jobs'),
      recoverable: z.boolean().optional(),
      jobIdPrefix: listFields.jobIdPrefix,
      startedBy: listFields.startedBy,
      scheduleId: listFields.scheduleId,
      startedAfter: listFields.startedAfter,
      startedBefore: listFields.startedBefore,
      closedAfter: listFields.closedAfter,
      closedBefore: listFields.closedBefore,
    })
    .strict()
    .describe('Every job `GET /api/jobs` lists with these filters (bulk jobs left out)'),
  'input',
);
export type BulkFilter = z.output<typeof bulkFilterSchema>;

const bulkJobId = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9._:-]+$/, 'letters, digits and . _ : - only');

export const bulkBodySchema = named(
  'BulkBody',
  z
    .object({
      action: z.enum(BULK_ACTIONS),
      jobIds: z
        .array(bulkJobId)
        .min(1)
        .optional()
        .describe('The jobs to act on, each once (at most STEPWISE_BULK_MAX); or give `filter`'),
      filter: bulkFilterSchema.optional(),
      reason: z
        .string()
        .max(1000)
        .optional()
        .describe('Why, as each job’s control log and the audit trail record it'),
      fromStep: z
        .number()
        .int()
        .min(1)
        .optional()
        .describe(
          '`retry` only: the 1-based step each job runs again from (default: its first step that did not complete)',
        ),
    })
    .strict()
    .superRefine((b, ctx) => {
      if ((b.jobIds === undefined) === (b.filter === undefined)) {
        ctx.addIssue({ code: 'custom', path: ['jobIds'], message: 'give exactly one of jobIds and filter' });
      }
      if (b.fromStep !== undefined && b.action !== 'retry') {
        ctx.addIssue({ code: 'custom', path: ['fromStep'], message: 'only with action "retry"' });
      }
      const seen = new Set<string>();
      b.jobIds?.forEach((id, i) => {
        if (seen.has(id)) ctx.addIssue({ code: 'custom', path: ['jobIds', i], message: 'listed twice' });
        seen.add(id);
      });
    }),
  'input',
);
export type BulkBody = z.output<typeof bulkBodySchema>;

export const bulkStartResponseSchema = named(
  'BulkStartResponse',
  startJobResponseSchema.extend({
    items: z.number().int().describe('How many jobs the bulk job acts on'),
  }),
);
export type BulkStartResponse = z.output<typeof bulkStartResponseSchema>;
