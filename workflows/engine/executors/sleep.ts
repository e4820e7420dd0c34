/**
 * `sleep` steps: a durable timer. The wake-up time is fixed when the attempt starts and shown in
 * the step's message and its `wakeAt` (at most 366 days away: a later one fails the step); while the job is paused the sleep does not end (a time passed meanwhile
 * ends it at resume). History: one timer, and one more per pause that ends before the time.
 */
import * as wf from '@temporalio/workflow';
import type { Json } from '../../contracts';
import { MAX_WAIT_MS } from '../definition';
import { callStepFunction } from '../failures';
import { progressReported, sleepScheduled } from '../transitions';
import type { StepExecutor } from './types';

export const runSleepStep: StepExecutor<'sleep'> = async ({ job, step, ctx, attempt }) => {
  const wakeMs = callStepFunction(step, step.until ? 'until' : 'durationMs', () => {
    if (step.until) {
      const at = step.until(ctx);
      const ms = at instanceof Date ? at.getTime() : Date.parse(at);
      if (!Number.isFinite(ms)) throw new Error(`until gave no valid time: ${String(at)}`);
      return ms;
    }
    const d = typeof step.durationMs === 'function' ? step.durationMs(ctx) : (step.durationMs ?? 0);
    if (!(Number.isFinite(d) && d >= 0)) throw new Error(`durationMs gave ${String(d)}, not a duration >= 0`);
    return Date.now() + Math.round(d);
  });
  const wakeAt = new Date(wakeMs).toISOString();
  if (wakeMs - Date.now() > MAX_WAIT_MS) {
    throw wf.ApplicationFailure.create({
      type: 'SleepTooLong',
      message: `A sleep until ${wakeAt} is longer than 366 days, the longest a sleep step may wait`,
      nonRetryable: true,
    });
  }
  sleepScheduled(job.state, step.key, wakeAt);
  progressReported(job.state, { stepKey: step.key, attempt, progress: 0, message: `Sleeps until ${wakeAt}` });
  job.changed();
  for (;;) {
    if (job.state.control.paused) {
      await wf.condition(() => !job.state.control.paused);
      continue;
    }
    // Ends early only for a pause; the timer's end is the wake-up (a time already passed is a 1 ms
    // timer: whether the step wakes follows from the history, never from Date.now() in a task).
    const left = Math.max(1, wakeMs - Date.now());
    if (!(await wf.condition(() => job.state.control.paused, left))) break;
  }
  const wokeAt = new Date().toISOString();
  return { wakeAt, wokeAt, message: `Woke at ${wokeAt} (due ${wakeAt})` } satisfies Record<string, Json>;
};
