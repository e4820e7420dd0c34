import type { Client, WorkflowExecutionDescription } from '@temporalio/client';
import { findJobDefinition } from '../../../workflows/catalog';
import type { JobDefinition } from '../../../workflows/engine/definition';
import { ApiError } from '../common/errors';
import { temporalCall } from '../temporal/deadlines';
import { describedJobStatus } from './job-runs';

/**
 * The job's latest run and its type's definition. An unknown id propagates Temporal's
 * `WorkflowNotFoundError` (404); a workflow that is not a Stepwise job is a 404 too.
 */
export async function describeStepwiseJob(
  client: Client,
  jobId: string,
): Promise<{ desc: WorkflowExecutionDescription; def: JobDefinition }> {
  const desc = await temporalCall(client, 'rpc', () => client.workflow.getHandle(jobId).describe());
  const def = findJobDefinition(desc.type);
  if (!def) throw new ApiError(404, `"${jobId}" is not a Stepwise job (workflow type ${desc.type})`);
  return { desc, def };
}

/**
 * The job status of a closed run: its search attribute, or how Temporal closed it (terminated or
 * timed out: `failed`) when the attribute still names an open status.
 */
export function closedStatus(desc: WorkflowExecutionDescription): string {
  return describedJobStatus(desc);
}
