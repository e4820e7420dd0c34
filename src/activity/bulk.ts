/**
 * The bulk job's activities (`stepwiseBulk`, workflows/engine/bulk.ts): each item is checked —
 * the actor's role, not the bulk job itself, not another bulk job, not a sub-job — then acted on
 * through the {@link StepwiseClient}, so the same state rules (the 409s of the single-job routes)
 * apply, and recorded in the audit trail exactly once, under request id `bulk/<bulkJobId>/<index>`:
 * an attempt that runs again finds the rows the earlier one wrote and reuses their outcomes
 * instead of acting twice.
 */
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import { roleRank, type Role } from '../api-keys';
import type { AuditStore } from '../api/audit/audit.store';
import type { AuditEntry } from '../api/contracts';
import type { StepwiseClient } from '../client/client';
import { InvalidArgument, JobNotFound, StepwiseError } from '../client/errors';
import { describeStepwiseJob } from '../client/stepwise-job';
import { JobParentIdKey } from '../../workflows/search-attributes';
import {
  BULK_JOB_TYPE,
  BULK_MAX_ITEMS_LIMIT,
  type BulkAction,
  type BulkActivities,
  type BulkChunkArgs,
  type BulkCounts,
  type BulkItemOutcome,
  type BulkItemResult,
} from '../../workflows/engine/bulk-contracts';

/** The lowest role that may take each action (as on the single-job routes). */
const REQUIRED_ROLE: Record<BulkAction, Role> = {
  cancel: 'operator',
  pause: 'operator',
  resume: 'operator',
  retry: 'operator',
};

/** Longest item message kept in the audit row and the job's results. */
const MAX_MESSAGE = 500;

/** The audit row's request id of item `index` of bulk job `bulkJobId` (`/` never occurs in an API request id). */
export const bulkRequestId = (bulkJobId: string, index: number): string => `bulk/${bulkJobId}/${index}`;

/** An item's outcome from its audit row (a refusal answered 404 is `not_found`). */
const OUTCOME_OF_AUDIT: Record<AuditEntry['outcome'], (status: number) => BulkItemOutcome> = {
  accepted: () => 'ok',
  refused: (status) => (status === 404 ? 'not_found' : 'refused'),
  failed: () => 'error',
};

/** What an item's audit row says: the outcome, and the status the single-job route would have answered. */
function auditFields(result: ItemResult): { outcome: AuditEntry['outcome']; statusCode: number } {
  switch (result.outcome) {
    case 'ok':
      return { outcome: 'accepted', statusCode: 200 };
    case 'refused':
      return { outcome: 'refused', statusCode: result.statusCode ?? 409 };
    case 'not_found':
      return { outcome: 'refused', statusCode: 404 };
    case 'error':
      return { outcome: 'failed', statusCode: 503 };
  }
}

/** An item's result as the activity first sees it: a refusal may name its HTTP status (403, 400). */
type ItemResult = BulkItemResult & { statusCode?: number };

/** An item's result from its audit row (the message of an accepted row carries the status). */
function fromAudit(entry: AuditEntry): BulkItemResult {
  const outcome = OUTCOME_OF_AUDIT[entry.outcome](entry.statusCode);
  const status = outcome === 'ok' ? /^status ([a-z_]+)/.exec(entry.message ?? '')?.[1] : undefined;
  return {
    jobId: entry.jobId ?? '',
    outcome,
    ...(status ? { status } : {}),
    // The row names the bulk job (for readers of the trail); the bulk job's own card need not.
    message: status ? `status ${status}` : (entry.message ?? ''),
  };
}

/**
 * The bulk job's activities, over a client of the worker's app and queue and the audit trail the
 * API reads (null: a worker without one, whose bulk jobs fail at once saying so).
 */
export function createBulkActivities(jobs: StepwiseClient, audit: AuditStore | null): BulkActivities {
  const trail = (): AuditStore => {
    if (audit) return audit;
    throw ApplicationFailure.nonRetryable(
      'This worker has no audit trail to record bulk items in: give it the API’s STEPWISE_AUDIT_DB_PATH (createWorker’s auditDbPath)',
      'BulkAuditUnavailable',
    );
  };

  /** Checks and acts on one item; refusals are outcomes, not errors. */
  async function act(bulkJobId: string, args: BulkChunkArgs, jobId: string): Promise<ItemResult> {
    const refused = (message: string, statusCode = 409): ItemResult => ({
      jobId,
      outcome: 'refused',
      message,
      statusCode,
    });
    const needed = REQUIRED_ROLE[args.action];
    if (roleRank(args.actor.role) < roleRank(needed)) {
      return refused(`Role ${args.actor.role} may not ${args.action} jobs (needs ${needed})`, 403);
    }
    if (jobId === bulkJobId) return refused('A bulk job does not act on itself');
    try {
      const { desc, def } = await describeStepwiseJob(jobs.temporal, jobs.app, jobId);
      if (def.name === BULK_JOB_TYPE) {
        return refused(`"${jobId}" is a bulk job: control it on its own, not from another bulk job`);
      }
      const parent = desc.typedSearchAttributes.get(JobParentIdKey);
      if (parent) return refused(`"${jobId}" is a sub-job of "${parent}": act on "${parent}" instead`);
      const by = args.actor.name;
      let status: string;
      switch (args.action) {
        case 'cancel':
          status = (await jobs.cancel(jobId, { reason: args.reason, by })).status;
          break;
        case 'pause':
          status = (await jobs.pause(jobId, { reason: args.reason, by })).status;
          break;
        case 'resume':
          status = (await jobs.resume(jobId, { reason: args.reason, by })).status;
          break;
        case 'retry':
          status = (await jobs.retry(jobId, { fromStep: args.fromStep, startedBy: by })).status;
          break;
      }
      return { jobId, outcome: 'ok', status, message: `status ${status} · bulk job ${bulkJobId}` };
    } catch (err) {
      const message = (err instanceof Error ? err.message : String(err)).slice(0, MAX_MESSAGE);
      if (err instanceof JobNotFound) return { jobId, outcome: 'not_found', message };
      if (err instanceof StepwiseError) return refused(message, err instanceof InvalidArgument ? 400 : 409);
      return { jobId, outcome: 'error', message };
    }
  }

  return {
    async stepwiseBulkItems(job, args) {
      const store = trail();
      const ctx = Context.current();
      let done = 0;
      for (const item of args.items) {
        // Cancellation arrives with a heartbeat's answer: stop before the next item.
        ctx.heartbeat({ done });
        if (ctx.cancellationSignal.aborted) throw new CancelledFailure('bulk job cancelled');
        const requestId = bulkRequestId(job.jobId, item.index);
        // An earlier attempt acted on this item and recorded it: that row is its outcome.
        if (!store.findRequest(requestId)) {
          const result = await act(job.jobId, args, item.jobId);
          store.appendOnce({
            at: new Date().toISOString(),
            requestId,
            actor: args.actor.name,
            role: args.actor.role,
            action: args.action,
            jobId: item.jobId,
            reason: args.reason ?? null,
            ...auditFields(result),
            message: result.message.slice(0, MAX_MESSAGE),
            ip: null,
          });
        }
        done++;
      }
      return { done, message: `${done} jobs acted on` };
    },

    async stepwiseBulkResults(job, { total }) {
      const rows = trail().listRequests(`bulk/${job.jobId}/`, Math.min(total, BULK_MAX_ITEMS_LIMIT) + 1);
      const byIndex = new Map<number, BulkItemResult>();
      for (const row of rows) {
        const index = Number(row.requestId.slice(`bulk/${job.jobId}/`.length));
        if (Number.isInteger(index) && !byIndex.has(index)) byIndex.set(index, fromAudit(row));
      }
      const counts: BulkCounts = { total, ok: 0, refused: 0, not_found: 0, error: 0 };
      const items: BulkItemResult[] = [];
      for (let i = 0; i < total; i++) {
        const item = byIndex.get(i) ?? {
          jobId: '',
          outcome: 'error' as const,
          message: 'No outcome recorded for this item',
        };
        counts[item.outcome]++;
        items.push(item);
      }
      // Items are counted in the summary by the batch step already.
      return { counts, items, message: `${counts.ok} of ${total} done` };
    },

    async stepwiseBulkVerdict(_job, { message }) {
      throw ApplicationFailure.nonRetryable(message, 'BulkItemsNotDone');
    },
  };
}
