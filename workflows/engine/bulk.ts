/**
 * The bulk-action job type every app has (`defineApp` adds it): cancel, pause, resume or retry a
 * list of jobs, as a job of its own. It is built with the engine's own builder, so it has what every
 * job has — progress, pause and cancel (between chunks), step states, its card — and its items run
 * as a batch step of engine activities (`src/activity/bulk.ts`), a few jobs per chunk.
 *
 * Steps: `act` (the batch: each item acted on and recorded in the audit trail exactly once),
 * `results` (every item's outcome read back, in input order: the card shows them), and `verdict`
 * (runs only when some item was not done; it fails with the counts, so the job ends
 * `completed_with_errors` and the refused items are easy to find).
 */
import { jobBuilder } from './builder';
import {
  BULK_CHUNK_SIZE,
  BULK_JOB_TYPE,
  bulkInputSchema,
  bulkVerdict,
  type BulkActivities,
  type BulkItem,
} from './bulk-contracts';

export const bulkJobDefinition = jobBuilder<BulkActivities>()({
  name: BULK_JOB_TYPE,
  description:
    'Cancel, pause, resume or retry a list of jobs (started by POST /api/bulk): each job is checked against the caller’s role and recorded in the audit trail.',
  // Started only through the bulk route (which sets the actor), never through POST /api/jobs.
  internal: true,
  input: bulkInputSchema,
  // Acting again on the same items would only be refused: retry the jobs that were not done instead.
  recoveryLimit: 0,
})
  .batch('act', {
    name: 'Act on the jobs',
    weight: 10,
    items: ({ input }): BulkItem[] => input.jobIds.map((jobId, index) => ({ jobId, index })),
    chunkSize: BULK_CHUNK_SIZE,
    // One chunk at a time: a pause or cancel stops the bulk job after the chunk in flight.
    window: 1,
    run: { activity: 'stepwiseBulkItems' },
    chunkInput: (chunk, { input }) => ({
      action: input.action,
      actor: input.actor,
      items: chunk.items,
      ...(input.reason !== undefined ? { reason: input.reason } : {}),
      ...(input.fromStep !== undefined ? { fromStep: input.fromStep } : {}),
    }),
    timeoutMs: 5 * 60_000,
  })
  .activity('results', {
    name: 'Collect the results',
    activity: 'stepwiseBulkResults',
    heartbeatTimeoutMs: 30_000,
    args: ({ input }) => ({ total: input.jobIds.length }),
  })
  .activity('verdict', {
    name: 'Check the outcomes',
    activity: 'stepwiseBulkVerdict',
    heartbeatTimeoutMs: 30_000,
    when: ({ results }) => bulkVerdict(results.results.counts) !== null,
    args: ({ results }) => ({ message: bulkVerdict(results.results.counts) ?? '' }),
    retry: { maxAttempts: 1 },
    onFailure: 'continue',
  })
  .build();
