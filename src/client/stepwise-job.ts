import { WorkflowNotFoundError, type Client, type WorkflowExecutionDescription } from '@temporalio/client';
import type { StepwiseApp } from '../../workflows/engine/app';
import { BATCH_COORDINATOR_TYPE } from '../../workflows/engine/batch-contracts';
import type { JobDefinition } from '../../workflows/engine/definition';
import { JobParentIdKey } from '../../workflows/search-attributes';
import { temporalCall } from './deadlines';
import { JobNotFound } from './errors';
import { describedJobStatus } from './job-runs';
import { namespaceNotFound } from './temporal-errors';

/**
 * The job's latest run (or the run `runId`) and its type's definition. An unknown id, a workflow that is not a job of
 * the app, and the engine's batch coordinator are a {@link JobNotFound}.
 */
export async function describeStepwiseJob(
  client: Client,
  app: StepwiseApp,
  jobId: string,
  runId?: string,
): Promise<{ desc: WorkflowExecutionDescription; def: JobDefinition }> {
  let desc: WorkflowExecutionDescription;
  try {
    desc = await temporalCall(client, 'rpc', () => client.workflow.getHandle(jobId, runId).describe());
  } catch (err) {
    if (err instanceof WorkflowNotFoundError && !namespaceNotFound(err)) {
      const what = runId ? `Run ${runId} of job "${jobId}"` : `Job "${err.workflowId}"`;
      throw new JobNotFound(jobId, `${what} not found`, { cause: err });
    }
    throw err;
  }
  const def = app.find(desc.type);
  if (!def && desc.type === BATCH_COORDINATOR_TYPE) {
    // The engine's own helper workflow of a batch step (`<jobId>/<step>`): say where its work is.
    const owner = desc.typedSearchAttributes.get(JobParentIdKey) ?? desc.parentExecution?.workflowId;
    throw new JobNotFound(
      jobId,
      `"${jobId}" is the batch coordinator of a step of job "${owner ?? 'unknown'}", not a job: its chunks are sub-jobs of that job (GET /api/jobs/<jobId>/children)`,
    );
  }
  if (!def) throw new JobNotFound(jobId, `"${jobId}" is not a Stepwise job (workflow type ${desc.type})`);
  return { desc, def };
}

/**
 * The job status of a closed run: its search attribute, or how Temporal closed it (terminated or
 * timed out: `failed`) when the attribute still names an open status.
 */
export function closedStatus(desc: WorkflowExecutionDescription): string {
  return describedJobStatus(desc);
}
