/**
 * `job` steps: another job type as a child workflow; a new child (and id) per attempt. The step's
 * `timeoutMs` bounds the sub-job's running time: time the job spends paused does not count.
 */
import * as wf from '@temporalio/workflow';
import type { JobParams, JobState, Json } from '../../contracts';
import { callStepFunction } from '../failures';
import type { Job } from '../job';
import { startStepChild, stepChildId } from './child-step';
import type { StepExecutor } from './types';

/**
 * Runs recorded before this patch gave the child Temporal's execution timeout, which also counts
 * time spent paused; after it, the job keeps a deadline that stops while it is paused.
 */
export const SUB_JOB_DEADLINE_PATCH = 'sub-job-deadline-excludes-pause';

export const runSubJobStep: StepExecutor<'job'> = async ({ job, step, ctx, attempt }) => {
  const params: JobParams = {
    input: step.input ? callStepFunction(step, 'input', () => step.input!(ctx, attempt)) : {},
    parent: { jobId: job.jobId, stepKey: step.key, attempt, reportProgress: true },
    ...(job.params.limits ? { limits: job.params.limits } : {}),
  };
  const childId = stepChildId(job, step.key, attempt);
  if (!wf.patched(SUB_JOB_DEADLINE_PATCH)) {
    const child = await startStepChild(job, step, childId, step.jobType, params, step.timeoutMs);
    return subJobResult((await child.result()) as JobState);
  }
  const childScope = new wf.CancellationScope();
  const finished = childScope.run(async () => {
    const child = await startStepChild(job, step, childId, step.jobType, params);
    return (await child.result()) as JobState;
  });
  const deadlineScope = new wf.CancellationScope();
  const expired = deadlineScope.run(() => runningTimeExpired(job, step.timeoutMs));
  let first: { state: JobState } | null;
  try {
    first = await Promise.race([finished.then((state) => ({ state })), expired.then(() => null)]);
  } catch (err) {
    // The sub-job failed, or the job is being cancelled: stop the deadline, and wait for the
    // sub-job to stop (a cancelled one may still be running its cleanup).
    deadlineScope.cancel();
    await finished.catch(() => undefined);
    throw err;
  }
  if (first) {
    deadlineScope.cancel(); // the deadline's timer is not needed any more
    await expired.catch(() => undefined);
    return subJobResult(first.state);
  }
  childScope.cancel(); // the sub-job is cancelled (and waited for, with its cleanup)
  await finished.catch(() => undefined);
  throw wf.ApplicationFailure.create({
    type: 'Timeout',
    message: `sub-job ${childId} did not finish within ${step.timeoutMs} ms of running time (paused time not counted)`,
  });
};

/** Resolves once the job has run (not paused) for `ms`; the wait stops while the job is paused. */
async function runningTimeExpired(job: Job, ms: number): Promise<void> {
  let left = ms;
  for (;;) {
    const started = Date.now();
    const pausedFirst = await wf.condition(() => job.state.control.paused, left);
    if (!pausedFirst) return;
    left -= Date.now() - started;
    await wf.condition(() => !job.state.control.paused);
  }
}

function subJobResult(childState: JobState): Json {
  return {
    jobId: childState.jobId,
    status: childState.status,
    output: childState.output,
    summary: { ...childState.summary },
    // Folded into this job's summary and step with the result's extras.
    stats: { ...childState.summary },
    ...(childState.message ? { message: childState.message } : {}),
  };
}
