/** The activities the engine itself calls, whatever the job type. */
import type { Client } from '@temporalio/client';
import type { EngineActivities } from '../../workflows/engine/step-io';

export function createEngineActivities(client: Client): EngineActivities {
  return {
    requestCancellation: async (job, args) => {
      await client.workflow.getHandle(job.jobId, args.runId).cancel();
    },
  };
}
