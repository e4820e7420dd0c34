/** Starting a step's child workflow (a sub-job or a batch coordinator) and tracking it in the job. */
import type * as wf from '@temporalio/workflow';
import { pauseSignal } from '../../contracts';
import { childJobId, forwardControl, startChildJob } from '../children';
import type { NormalizedStep } from '../definition';
import type { Job } from '../job';
import { currentPausePayload } from '../operator';
import { subJobClosed, subJobStarted } from '../transitions';

export async function startStepChild(
  job: Job,
  step: NormalizedStep<unknown>,
  childId: string,
  workflowType: string,
  arg: unknown,
  /** Temporal's execution timeout for the child (runs recorded before the paused-time-aware deadline). */
  executionTimeoutMs?: number,
): Promise<wf.ChildWorkflowHandle<wf.Workflow>> {
  const handle = await startChildJob({
    workflowType,
    workflowId: childId, // the task queue is inherited from this job
    arg,
    parentJobId: job.jobId,
    workflowExecutionTimeoutMs: executionTimeoutMs,
    staticSummary: `Step ${step.index} "${step.name}" of ${job.def.name} job ${job.jobId}`,
  });
  subJobStarted(job.state, step.key, childId, workflowType);
  // Paused between this step's start and its sub-job's start: the sub-job pauses too.
  if (job.state.control.paused) forwardControl(pauseSignal, [childId], currentPausePayload(job));
  job.changed();
  // Drop the sub-job from the active list when it closes, whatever the outcome.
  const drop = (): void => {
    subJobClosed(job.state, childId);
    job.changed();
  };
  handle.result().then(drop, drop);
  return handle;
}

/** This job's id for a step's child on `attempt`. */
export function stepChildId(job: Job, stepKey: string, attempt: number): string {
  return childJobId({ jobId: job.jobId, stepKey, recoveryAttempt: job.state.recovery.attempt, attempt });
}
