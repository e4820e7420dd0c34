/**
 * Cancelling a job, from every path (native request, signal, update): stop the steps' scope and
 * wait for running work, but no longer than the type's `cancelWaitMs`; record what was left
 * running; run the type's cleanup once; close as Canceled in Temporal.
 */
import * as wf from '@temporalio/workflow';
import type { CancellationInfo, ControlPayload, ControlSource, Json } from '../contracts';
import { describeRequest } from './control';
import type { StepContext } from './definition';
import { toStepError } from './failures';
import type { Job } from './job';
import { nowIso, pushLog, recordAction } from './state';
import { cancelRequested, splitResult } from './transitions';
import type { EngineActivities, StepActivityCall } from './step-io';

/**
 * Every way to cancel ends here: the running steps' scope is cancelled (sub-jobs are asked to
 * stop and waited for), and for the signal and update a cancellation request is sent to this
 * very run, so it closes as Canceled in Temporal exactly as after a native request.
 */
export function requestCancel(job: Job, p: ControlPayload | undefined, source: ControlSource): void {
  const st = job.state;
  if (job.isClosed() || st.cancellation) return;
  cancelRequested(st, {
    requestedAt: nowIso(),
    by: p?.by ?? null,
    reason: p?.reason ?? null,
    source,
    leftRunning: [],
    cleanup: null,
  });
  recordAction(job.state, 'cancel', p, source, job.limits.maxControlActions);
  job.log('warn', null, `Cancel requested${describeRequest(p)} (${source})`);
  job.stepsScope.cancel();
  if (source !== 'native') {
    // Temporal refuses a workflow's own request to cancel itself, so an activity asks for it.
    const acts = wf.proxyActivities<EngineActivities>({
      startToCloseTimeout: 30_000,
      retry: { maximumAttempts: 5, initialInterval: 500 },
    });
    const { runId } = wf.workflowInfo();
    wf.CancellationScope.nonCancellable(() =>
      acts.requestCancellation(job.activityRef('onCancel', 0), { runId }),
    ).catch((err: unknown) => {
      job.selfCancelError = toStepError(err).message;
      job.log('warn', null, `Could not request cancellation of this run: ${job.selfCancelError}`);
    });
  }
  job.changed();
}

export function cancelWaitMs(job: Job, ctx: StepContext<unknown>): number {
  const v = job.def.cancelWaitMs;
  return Math.max(0, typeof v === 'function' ? v(ctx) : v);
}

/** Resolves once a cancellation has waited `cancelWaitMs` for the job's running work. */
export async function cancelWaitExpired(job: Job, ctx: StepContext<unknown>): Promise<void> {
  await wf.condition(() => job.state.cancellation !== null);
  await wf.sleep(cancelWaitMs(job, ctx));
}

/** After a cancellation: record what still runs, run the type's cleanup once, close as Canceled. */
export async function closeCancelled(
  job: Job,
  ctx: StepContext<unknown>,
  c: CancellationInfo,
): Promise<never> {
  const message = `Cancelled${c.by ? ` by ${c.by}` : ''}${c.reason ? `: ${c.reason}` : ''}`;
  await wf.CancellationScope.nonCancellable(async () => {
    c.leftRunning = [
      ...job.state.activeSubJobs.map((j) => j.id),
      ...[...job.runningActivities].map((a) => `activity ${a}`),
    ];
    if (c.leftRunning.length > 0) {
      job.log(
        'warn',
        null,
        `Stopped waiting after ${cancelWaitMs(job, ctx)} ms; still running: ${c.leftRunning.join(', ')}`,
      );
    }
    if (job.def.onCancel) await runCleanup(job, ctx, c);
    // The signal and update paths wait for their own cancellation request to arrive.
    await wf.condition(() => job.rootScope.consideredCancelled || job.selfCancelError !== null);
    job.finish('cancelled', message);
    await wf.condition(wf.allHandlersFinished);
  });
  if (job.rootScope.consideredCancelled) throw new wf.CancelledFailure(message);
  throw wf.ApplicationFailure.create({ type: 'JobCancelled', message, nonRetryable: true });
}

async function runCleanup(job: Job, ctx: StepContext<unknown>, c: CancellationInfo): Promise<void> {
  const cleanup = job.def.onCancel!;
  const acts = wf.proxyActivities<Record<string, StepActivityCall>>({
    startToCloseTimeout: cleanup.timeoutMs ?? 60_000,
    retry: { maximumAttempts: 3, initialInterval: 1000 },
  });
  job.log('info', null, `Cleanup ${cleanup.activity} started`);
  let args: unknown = {};
  try {
    // `ctx.results` holds the results of the steps that completed before the cancellation.
    if (cleanup.args) args = cleanup.args(ctx);
  } catch (err) {
    c.cleanup = 'failed';
    const cause = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    job.log('error', null, `Cleanup ${cleanup.activity} failed: its args function threw ${cause}`);
    return;
  }
  try {
    const raw = await acts[cleanup.activity](job.activityRef('onCancel', 0), args);
    c.cleanup = 'completed';
    // Like a step's, the cleanup's `logs` go into the job's log (as job-level lines).
    for (const line of splitResult(raw as Json).logs ?? []) {
      pushLog(job.state, { ...line, at: nowIso(), step: null });
    }
    job.log('info', null, `Cleanup ${cleanup.activity} completed`);
  } catch (err) {
    c.cleanup = 'failed';
    job.log('error', null, `Cleanup ${cleanup.activity} failed: ${toStepError(err).message}`);
  }
}
