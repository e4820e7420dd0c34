/**
 * Activity implementations, built by a factory that receives their dependencies, so the worker
 * wires real ones and tests can pass their own.
 */
import type { Client } from '@temporalio/client';
import type { StepActivities } from '../workflows/activity-contracts';
import { countItems, simulateWork } from './simulate';

export interface ActivityDeps {
  /** Used to report step progress to the job (a signal to its workflow). */
  client: Client;
}

export function createActivities(deps: ActivityDeps): StepActivities {
  return {
    simulateWork: (job, args) => simulateWork(deps.client, job, args),
    countItems: (job, args) => countItems(job, args),
    requestCancellation: async (job, args) => {
      await deps.client.workflow.getHandle(job.jobId, args.runId).cancel();
    },
  };
}
