/** The activities the engine itself calls, whatever the job type. */
import type { Client } from '@temporalio/client';
import type { AuditStore } from '../api/audit/audit.store';
import { StepwiseClient } from '../client/client';
import type { StepwiseApp } from '../../workflows/engine/app';
import type { BulkActivities } from '../../workflows/engine/bulk-contracts';
import type { EngineActivities } from '../../workflows/engine/step-io';
import { createBulkActivities } from './bulk';
import { createLimiterActivities } from './limiter';
import type { LimiterActivities } from '../../workflows/engine/limiter-contracts';

/** What the engine's activities need besides the client. */
export interface EngineActivityDeps {
  /** The worker's app and queue: the bulk job acts on that app's jobs, and retries on that queue. */
  app: StepwiseApp;
  taskQueue: string;
  /** The audit trail the API reads, where the bulk job records each item (null: bulk jobs fail saying so). */
  audit: AuditStore | null;
}

export function createEngineActivities(
  client: Client,
  deps: EngineActivityDeps,
): EngineActivities & BulkActivities & LimiterActivities {
  const jobs = new StepwiseClient({ app: deps.app, client, taskQueue: deps.taskQueue, via: 'a bulk job' });
  return {
    requestCancellation: async (job, args) => {
      await client.workflow.getHandle(job.jobId, args.runId).cancel();
    },
    ...createBulkActivities(jobs, deps.audit),
    ...createLimiterActivities(client, deps.taskQueue),
  };
}
