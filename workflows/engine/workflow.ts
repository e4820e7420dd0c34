/**
 * The job workflow: every handler a job answers is registered here, where a reader sees them all;
 * then the input is checked, the steps run, and the job closes as completed, completed with
 * errors, failed or cancelled. The state lives in {@link Job}; the rules and the work live in the
 * modules this one calls (control, scheduler, executors, cancellation, publication).
 */
import * as wf from '@temporalio/workflow';
import {
  cancelJobUpdate,
  cancelSignal,
  decideApprovalUpdate,
  type ApprovalDecisionPayload,
  failStepUpdate,
  retryStepUpdate,
  skipStepUpdate,
  type HoldDecisionPayload,
  HANDLER_DESCRIPTIONS as D,
  jobStateQuery,
  pauseJobUpdate,
  pauseSignal,
  progressQuery,
  resumeJobUpdate,
  resumeSignal,
  stepProgressSignal,
  type ControlPayload,
  type JobParams,
  type JobState,
  type ProgressSnapshot,
  type StepProgressReport,
} from '../contracts';
import { cancelWaitExpired, closeCancelled, requestCancel } from './cancellation';
import type { JobDefinition, StepContext } from './definition';
import { jsonBytes } from '../limits';
import { recoveryProblem } from './entry-checks';
import { formatIssues } from './failures';
import { Job } from './job';
import {
  decideApproval,
  decideHold,
  onControlSignal,
  pause,
  resume,
  validateApprovalDecision,
  validateHoldDecision,
  validateUpdate,
} from './operator';
import type { JobConcurrency } from './limiter-contracts';
import { concurrencyOf, ConcurrencyKeyProblem, leaveQueue, waitForSlot, type Admission } from './queue';
import { runSteps } from './scheduler';
import { applyCarried, completion, controlAck, progressSnapshot } from './state';
import { progressReported } from './transitions';
import { JobEtaOverrunKey } from '../search-attributes';

/** Turns a job definition into the workflow function registered under the job type's name. */
export function jobWorkflow(def: JobDefinition): (params: JobParams) => Promise<JobState> {
  const fn = async (params: JobParams): Promise<JobState> => runJob(new Job(def, params));
  Object.defineProperty(fn, 'name', { value: def.name });
  return fn;
}

/** Every query, signal and update a job answers. */
function registerHandlers(job: Job): void {
  wf.setHandler(jobStateQuery, () => job.state, {
    description: D.jobState,
  });
  wf.setHandler(progressQuery, (): ProgressSnapshot => progressSnapshot(job.state), {
    description: D.progress,
  });
  wf.setHandler(stepProgressSignal, (r: StepProgressReport) => onStepProgress(job, r), {
    description: D.stepProgress,
  });
  wf.setHandler(pauseSignal, (raw?: unknown) => onControlSignal(job, 'pause', raw), {
    description: D.pause,
  });
  wf.setHandler(resumeSignal, (raw?: unknown) => onControlSignal(job, 'resume', raw), {
    description: D.resume,
  });
  wf.setHandler(cancelSignal, (raw?: unknown) => onControlSignal(job, 'cancel', raw), {
    description: D.cancel,
  });
  wf.setHandler(
    pauseJobUpdate,
    (p?: ControlPayload) => {
      pause(job, p, 'update');
      return controlAck(job.state, 'pause');
    },
    {
      validator: (p?: ControlPayload) => validateUpdate(job, 'pause', p),
      description: D.pauseJob,
    },
  );
  wf.setHandler(
    resumeJobUpdate,
    (p?: ControlPayload) => {
      resume(job, p, 'update');
      return controlAck(job.state, 'resume');
    },
    {
      validator: (p?: ControlPayload) => validateUpdate(job, 'resume', p),
      description: D.resumeJob,
    },
  );
  wf.setHandler(
    cancelJobUpdate,
    (p?: ControlPayload) => {
      requestCancel(job, p, 'update');
      return controlAck(job.state, 'cancel');
    },
    {
      validator: (p?: ControlPayload) => validateUpdate(job, 'cancel', p),
      description: D.cancelJob,
    },
  );
  const holdUpdates = [
    [retryStepUpdate, 'retry_step', D.retryStep],
    [skipStepUpdate, 'skip_step', D.skipStep],
    [failStepUpdate, 'fail_step', D.failStep],
  ] as const;
  for (const [update, action, description] of holdUpdates) {
    wf.setHandler(
      update,
      (p?: HoldDecisionPayload) => {
        decideHold(job, action, p);
        return controlAck(job.state, action);
      },
      { validator: (p?: HoldDecisionPayload) => validateHoldDecision(job, action, p), description },
    );
  }
  wf.setHandler(
    decideApprovalUpdate,
    (p: ApprovalDecisionPayload) => controlAck(job.state, decideApproval(job, p)),
    {
      validator: (p: ApprovalDecisionPayload) => validateApprovalDecision(job, p),
      description: D.decideApproval,
    },
  );
}

/** A running step's activity or sub-job reports progress; stale attempts are ignored. */
function onStepProgress(job: Job, r: StepProgressReport): void {
  if (!progressReported(job.state, r)) return;
  const seen = job.reports.get(r.stepKey);
  job.reports.set(r.stepKey, { count: (seen?.count ?? 0) + 1, at: new Date().toISOString() });
  job.changed();
}

async function runJob(job: Job): Promise<JobState> {
  const { def, params } = job;
  registerHandlers(job);
  // The Web UI's "Request cancellation", `temporal workflow cancel` and `handle.cancel()` cancel the
  // root scope; they take the same path as the cancel signal and update.
  void job.rootScope.cancelRequested.catch(() => requestCancel(job, undefined, 'native'));
  const inputBytes = jsonBytes(params.input);
  if (inputBytes > job.limits.maxInputBytes) {
    job.state.input = null; // not kept: the state every query returns stays small
    const message = `Input of job type "${def.name}" is ${inputBytes} bytes, over the limit of ${job.limits.maxInputBytes} (STEPWISE_MAX_INPUT_BYTES)`;
    fail(job, 'InputTooLarge', message);
  }
  const parsed = def.input.safeParse(params.input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ path: i.path.map(String), message: i.message }));
    const message = `Invalid input for job type "${def.name}": ${formatIssues(issues)}`;
    fail(job, 'InvalidJobInput', message, [issues]);
  }
  const recovery = params.recovery;
  if (recovery) {
    const problem = recoveryProblem(def, recovery);
    if (problem) fail(job, 'InvalidRecovery', `Invalid recovery of job type "${def.name}": ${problem}`);
    if (recovery.attempt > def.recoveryLimit) {
      const message = `Recovery limit reached: attempt ${recovery.attempt} of at most ${def.recoveryLimit}`;
      fail(job, 'RecoveryLimitReached', message);
    }
    applyCarried(job.state, def, recovery, job.results);
  }
  const ctx: StepContext<unknown> = {
    input: parsed.data,
    jobId: job.jobId,
    results: job.results,
    recoveryAttempt: job.state.recovery.attempt,
  };
  job.log(
    'info',
    null,
    recovery
      ? `Job ${def.name} recovery ${recovery.attempt}/${def.recoveryLimit} started from step ${recovery.fromStep}`
      : `Job ${def.name} started with ${def.steps.length} steps`,
  );
  job.changed();

  let concurrency: JobConcurrency | null = null;
  try {
    concurrency = concurrencyOf(job, parsed.data);
  } catch (err) {
    if (!(err instanceof ConcurrencyKeyProblem)) throw err;
    fail(job, 'InvalidConcurrencyKey', `Job type "${def.name}": ${err.message}`);
  }
  let admission: Admission = { outcome: 'granted' };
  const steps = job.stepsScope.run(async () => {
    // Over a concurrency limit the job waits `queued` for a slot before its first step.
    if (concurrency) admission = await waitForSlot(job, concurrency);
    if (admission.outcome !== 'granted') return;
    await runSteps(job, ctx, new Set(Object.keys(recovery?.carried ?? {})));
  });
  try {
    return await runAdmitted(job, ctx, steps, () => admission);
  } finally {
    await leaveQueue(job);
  }
}

/** After the steps were started (or queued): wait for them and close the job as they ended. */
async function runAdmitted(
  job: Job,
  ctx: StepContext<unknown>,
  steps: Promise<void>,
  admission: () => Admission,
): Promise<JobState> {
  const { params } = job;
  if (typeof params.overrunAfterMs === 'number' && params.overrunAfterMs >= 1000) {
    // Not awaited: it ends with the job (a timer left pending when the run closes costs nothing).
    void wf.CancellationScope.nonCancellable(() => watchOverrun(job, params.overrunAfterMs!));
  }
  // A cancelled job waits for its steps and sub-jobs to stop, but no longer than cancelWaitMs.
  await wf.CancellationScope.nonCancellable(() => Promise.race([steps, cancelWaitExpired(job, ctx)]));

  if (job.state.cancellation) return closeCancelled(job, ctx, job.state.cancellation);
  const admitted = admission();
  if (admitted.outcome === 'refused') fail(job, 'ConcurrencyQueueFull', `Not started: ${admitted.reason}`);
  if (job.failure) {
    const { step, error } = job.failure;
    const message = `Step ${step.index} "${step.name}" failed: ${error.message}`;
    job.state.error = { ...error, step: step.key };
    job.finish('failed', message);
    await wf.condition(wf.allHandlersFinished);
    // The cause keeps the step's own error type and retryability, so a parent job running this
    // one as a sub-job retries it exactly when the underlying error is retryable.
    throw wf.ApplicationFailure.create({
      type: 'JobFailed',
      message,
      nonRetryable: error.nonRetryable,
      cause: wf.ApplicationFailure.create({
        type: error.type ?? undefined,
        message: error.message,
        nonRetryable: error.nonRetryable,
      }),
    });
  }
  const { status, message } = completion(job.state, job.endMessage);
  job.finish(status, message);
  await wf.condition(wf.allHandlersFinished);
  return job.state;
}

/** Overrun watches run only in runs that started with this code. */
export const ETA_OVERRUN_PATCH = 'eta-overrun';
/** An overrun sets the `JobEtaOverrun` search attribute only in runs that started with this code. */
export const ETA_OVERRUN_ATTRIBUTE_PATCH = 'eta-overrun-attribute';

/**
 * Marks the job `etaOverrun` once it has run `afterMs` (pauses not counted) without closing: one
 * timer, and one more per pause.
 */
async function watchOverrun(job: Job, afterMs: number): Promise<void> {
  if (!wf.patched(ETA_OVERRUN_PATCH)) return;
  let counted = 0;
  for (;;) {
    if (job.isClosed()) return;
    if (job.state.control.paused) {
      await wf.condition(() => !job.state.control.paused || job.isClosed());
      continue;
    }
    const from = Date.now();
    const stopped = await wf.condition(() => job.state.control.paused || job.isClosed(), afterMs - counted);
    counted += Date.now() - from;
    if (job.isClosed()) return;
    if (!stopped || counted >= afterMs) {
      job.state.etaOverrun = { overrunAfterMs: afterMs, at: new Date().toISOString() };
      // Visible to the notifier (its `job.eta_overrun`): one upsert, in runs that started with it.
      if (wf.patched(ETA_OVERRUN_ATTRIBUTE_PATCH))
        wf.upsertSearchAttributes([{ key: JobEtaOverrunKey, value: true }]);
      job.log('warn', null, `Running longer than expected: over ${afterMs} ms (its learned ETA and margin)`);
      job.changed();
      return;
    }
  }
}

/** Fails the job before any step ran (bad input, recovery past the limit): nothing to retry. */
function fail(job: Job, type: string, message: string, details?: unknown[]): never {
  job.state.error = { message, type, nonRetryable: true, step: null };
  job.finish('failed', message);
  throw wf.ApplicationFailure.create({ type, message, nonRetryable: true, details });
}
