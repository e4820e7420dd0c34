/** `activity` steps: one activity call per attempt; the engine retries, so attempts show in the state. */
import * as wf from '@temporalio/workflow';
import type { Json } from '../../contracts';
import { callStepFunction } from '../failures';
import type { StepActivityCall } from '../step-io';
import type { StepExecutor } from './types';

export const runActivityStep: StepExecutor<'activity'> = async ({ job, step, ctx, attempt }) => {
  const acts = wf.proxyActivities<Record<string, StepActivityCall>>({
    startToCloseTimeout: step.timeoutMs,
    heartbeatTimeout: step.heartbeatTimeoutMs,
    retry: { maximumAttempts: 1 }, // the engine retries, so attempts are visible in the query
    cancellationType: wf.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  });
  const tag = `${step.key}#${attempt}`;
  job.runningActivities.add(tag);
  try {
    const ref = job.activityRef(step.key, step.index, attempt, true);
    // Activities return plain JSON: their results travel through Temporal's JSON payloads.
    const args = step.args ? callStepFunction(step, 'args', () => step.args!(ctx, attempt)) : {};
    return (await acts[step.activity](ref, args)) as Json;
  } finally {
    job.runningActivities.delete(tag);
    if (job.state.control.paused) job.changed(); // pausing → paused once nothing runs
  }
};
