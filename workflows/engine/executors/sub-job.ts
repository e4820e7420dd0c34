/** `job` steps: another job type as a child workflow; a new child (and id) per attempt. */
import type { JobParams, JobState } from '../../contracts';
import { startStepChild, stepChildId } from './child-step';
import type { StepExecutor } from './types';

export const runSubJobStep: StepExecutor<'job'> = async ({ job, step, ctx, attempt }) => {
  const params: JobParams = {
    input: step.input ? step.input(ctx, attempt) : {},
    parent: { jobId: job.jobId, stepKey: step.key, attempt, reportProgress: true },
  };
  const child = await startStepChild(job, step, stepChildId(job, step.key, attempt), step.jobType, params);
  const childState = (await child.result()) as JobState;
  return {
    jobId: childState.jobId,
    status: childState.status,
    output: childState.output,
    summary: { ...childState.summary },
    stats: { ...childState.summary }, // folded into this job's summary with the result's extras
  };
};
