import type { Client, WorkflowExecutionDescription } from '@temporalio/client';
import { findJobDefinition } from '../../../workflows/catalog';
import type { JobDefinition } from '../../../workflows/engine/definition';
import { JobStatusKey } from '../../../workflows/search-attributes';
import { ApiError } from '../common/errors';

/**
 * The job's latest run and its type's definition. An unknown id propagates Temporal's
 * `WorkflowNotFoundError` (404); a workflow that is not a Stepwise job is a 404 too.
 */
export async function describeStepwiseJob(
  client: Client,
  jobId: string,
): Promise<{ desc: WorkflowExecutionDescription; def: JobDefinition }> {
  const desc = await client.workflow.getHandle(jobId).describe();
  const def = findJobDefinition(desc.type);
  if (!def) throw new ApiError(404, `"${jobId}" is not a Stepwise job (workflow type ${desc.type})`);
  return { desc, def };
}

/** The job status of a closed run, from its search attribute, else from Temporal's status. */
export function closedStatus(desc: WorkflowExecutionDescription): string {
  return desc.typedSearchAttributes.get(JobStatusKey) ?? desc.status.name.toLowerCase();
}
