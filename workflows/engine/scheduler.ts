/**
 * The scheduler: starts each step once its dependencies have settled (a DAG, in declaration
 * order), runs it in its own cancellation scope, retries failed attempts with backoff, and
 * records how each step ended. What an attempt does is its kind's executor's business; how each
 * of these moves the step's state is in `transitions.ts`.
 */
import * as wf from '@temporalio/workflow';
import type { Json, StepError } from '../contracts';
import type { NormalizedStep, StepContext } from './definition';
import { executeStep } from './executors';
import { callStepFunction, toStepError } from './failures';
import type { Job } from './job';
import { stepEnded, stepStarted } from './log-context';
import {
  attemptFailed,
  attemptStarted,
  decideStep,
  holdRetried,
  splitResult,
  stepCancelled,
  stepCompleted,
  stepFailed,
  stepNotRun,
  stepSkipped,
  type JobCourse,
  type StepOutcome,
} from './transitions';

/** Runs the job's steps (those not carried over by a recovery) until none can start. */
export async function runSteps(
  job: Job,
  ctx: StepContext<unknown>,
  carried: ReadonlySet<string>,
): Promise<void> {
  const outcome = new Map<string, StepOutcome>(
    [...carried].map((k): [string, StepOutcome] => [k, 'completed']),
  );
  const running = new Map<string, Promise<void>>();
  const byKey = new Map(job.def.steps.map((s) => [s.key, s]));
  // Asked for each step: a `when` that throws fails its step, and so maybe the job, mid-pass.
  const course = (): JobCourse =>
    job.endMessage !== null
      ? 'ending'
      : job.failure !== null || job.state.cancellation !== null
        ? 'stopping'
        : 'running';
  for (;;) {
    for (const key of job.def.order) {
      if (outcome.has(key) || running.has(key)) continue;
      const step = byKey.get(key)!;
      const decision = decideStep(
        step.dependsOn.map((d) => outcome.get(d)),
        course(),
      );
      if (decision === 'wait') continue;
      if (decision === 'not_run') {
        // The job fails or is cancelled before this step could start (a recovery may run it).
        outcome.set(key, 'cancelled');
        stepNotRun(job.state, key);
        continue;
      }
      if (decision === 'skip_ended') {
        skip(job, step, outcome, 'skipped_dependency', 'Job ended early');
        continue;
      }
      if (decision === 'skip_dependency') {
        skip(job, step, outcome, 'skipped_dependency', 'A step it depends on did not complete');
        continue;
      }
      // Nothing new starts while a step is held: it waits for an operator's decision.
      if (job.state.hold) continue;
      if (step.when && !whenHolds(job, step, ctx, outcome)) continue;
      running.set(
        key,
        runStepInScope(job, step, ctx).then((o) => {
          outcome.set(key, o);
          running.delete(key);
        }),
      );
    }
    if (running.size === 0) return;
    const waits: Promise<unknown>[] = [...running.values()];
    // A decided hold lets the steps that waited for it start, though no step has ended.
    if (job.state.hold) {
      const seen = job.holdVersion;
      waits.push(wf.condition(() => job.holdVersion !== seen));
    }
    await Promise.race(waits);
  }
}

/** Evaluates the step's `when`: false skips it; an exception fails it before any attempt. */
function whenHolds(
  job: Job,
  step: NormalizedStep<unknown>,
  ctx: StepContext<unknown>,
  outcome: Map<string, StepOutcome>,
): boolean {
  let holds: boolean;
  try {
    holds = callStepFunction(step, 'when', () => step.when!(ctx));
  } catch (err) {
    outcome.set(step.key, failStep(job, step, toStepError(err)));
    return false;
  }
  if (!holds) skip(job, step, outcome, 'skipped_condition', 'Condition not met');
  return holds;
}

function skip(
  job: Job,
  step: NormalizedStep<unknown>,
  outcome: Map<string, StepOutcome>,
  why: StepOutcome,
  message: string,
): void {
  outcome.set(step.key, why);
  stepSkipped(job.state, step.key, message);
  job.log('info', step.index, `Step "${step.name}" skipped: ${message}`);
  job.changed();
}

async function runStepInScope(
  job: Job,
  step: NormalizedStep<unknown>,
  ctx: StepContext<unknown>,
): Promise<StepOutcome> {
  const scope = new wf.CancellationScope();
  job.stepScopes.set(step.key, scope);
  stepStarted(step.key);
  try {
    return await scope.run(() => runStep(job, step, ctx));
  } catch (err) {
    if (!wf.isCancellation(err)) throw err;
    stepCancelled(job.state, step.key);
    job.log('warn', step.index, `Step "${step.name}" cancelled`);
    job.changed();
    return 'cancelled';
  } finally {
    job.stepScopes.delete(step.key);
    stepEnded(step.key);
  }
}

/** The retry loop: waits while paused, runs an attempt, and backs off before the next one. */
async function runStep(
  job: Job,
  step: NormalizedStep<unknown>,
  ctx: StepContext<unknown>,
): Promise<StepOutcome> {
  for (let attempt = 1; ; attempt++) {
    await wf.condition(() => !job.state.control.paused);
    attemptStarted(job.state, step.key, attempt);
    job.log(
      'info',
      step.index,
      `Step "${step.name}" started (attempt ${attempt}/${step.retryPolicy.maxAttempts})`,
    );
    job.changed();
    try {
      const raw = await watchingStall(job, step, attempt, () => executeStep(job, step, ctx, attempt));
      return completeStep(job, step, ctx, raw);
    } catch (err) {
      // Only this job's own cancellation stops the step; a sub-job cancelled from outside fails it.
      if (wf.isCancellation(err) && wf.CancellationScope.current().consideredCancelled) throw err;
      const error = toStepError(err);
      const delay = attemptFailed(job.state, step, attempt, error);
      if (delay === null) return failed(job, step, error);
      if (delay === 'held') {
        const decision = await awaitDecision(job, step, attempt, error);
        if (decision === 'retry') continue;
        if (decision === 'skip') return 'skipped_condition';
        stepFailed(job.state, step.key, error);
        return failed(job, step, error);
      }
      job.log(
        'warn',
        step.index,
        `Attempt ${attempt} of "${step.name}" failed: ${error.message}; retrying in ${delay} ms`,
      );
      job.changed();
      await wf.sleep(delay);
    }
  }
}

/** Stall watches run only in runs that started with this code (older histories replay unchanged). */
export const STALL_WATCH_PATCH = 'stall-watch';
/** Runs started with this code look less often at an attempt that has run long (see below). */
export const STALL_WATCH_BACKOFF_PATCH = 'stall-watch-backoff';
/**
 * Looks an attempt gets at its threshold's rate; after them, the wait is a tenth of the attempt's
 * running time when that is longer than the threshold. A step with a 10 s threshold that runs for
 * 10 hours is looked at about 135 times, not 3,600: the watch's history grows with the logarithm
 * of a long attempt's running time.
 */
export const STALL_CHECKS_AT_FULL_RATE = 100;

/** The wait before look `checks + 1` at an attempt that has run `elapsedMs` (see above). */
export function stallCheckWaitMs(thresholdMs: number, checks: number, elapsedMs: number): number {
  return checks < STALL_CHECKS_AT_FULL_RATE ? thresholdMs : Math.max(thresholdMs, Math.round(elapsedMs / 10));
}

/** The step's stall threshold: its own `stallAfterMs`, else the one the client learned at start. */
function stallThreshold(job: Job, step: NormalizedStep<unknown>): number | null {
  // A sleep or an approval reports nothing by design: it is never stalled.
  if (step.kind === 'sleep' || step.kind === 'approval') return null;
  const ms = step.stallAfterMs ?? job.params.stallAfterMs?.[step.key];
  return typeof ms === 'number' && Number.isFinite(ms) && ms >= 1000 ? Math.round(ms) : null;
}

/**
 * Runs the attempt while watching it: a timer every threshold; when it fires and the step has
 * reported nothing since the last one (and the job is not paused), the job is `stalled` until the
 * step reports again. History: one timer per threshold of the attempt's running time for its first
 * {@link STALL_CHECKS_AT_FULL_RATE} looks, then one per tenth of its running time.
 */
async function watchingStall<T>(
  job: Job,
  step: NormalizedStep<unknown>,
  attempt: number,
  work: () => Promise<T>,
): Promise<T> {
  const threshold = stallThreshold(job, step);
  if (threshold === null || !wf.patched(STALL_WATCH_PATCH)) return work();
  let done = false;
  const count = (): number => job.reports.get(step.key)?.count ?? 0;
  const watch = async (): Promise<void> => {
    let seen = count();
    const started = new Date().toISOString();
    const startedMs = Date.now();
    let checks = 0;
    while (!done) {
      const wait =
        checks >= STALL_CHECKS_AT_FULL_RATE && wf.patched(STALL_WATCH_BACKOFF_PATCH)
          ? stallCheckWaitMs(threshold, checks, Date.now() - startedMs)
          : threshold;
      checks++;
      const ended = await wf.condition(() => done, wait);
      if (ended || done) return;
      if (count() !== seen || job.state.control.paused) {
        seen = count();
        continue;
      }
      job.state.stalled = {
        step: step.key,
        stepName: step.name,
        since: job.reports.get(step.key)?.at ?? started,
        thresholdMs: threshold,
      };
      job.log(
        'warn',
        step.index,
        `Step "${step.name}" stalled: no progress for ${threshold} ms (attempt ${attempt})`,
      );
      job.changed();
      await wf.condition(() => done || count() !== seen || job.state.control.paused);
      if (job.state.stalled?.step === step.key) job.state.stalled = null;
      if (!done) job.log('info', step.index, `Step "${step.name}" moves again`);
      job.changed();
      seen = count();
    }
  };
  const watcher = wf.CancellationScope.nonCancellable(watch);
  try {
    return await work();
  } finally {
    done = true;
    if (job.state.stalled?.step === step.key) {
      job.state.stalled = null;
      job.changed();
    }
    await watcher;
  }
}

/**
 * A held step waits for an operator to retry it, skip it or fail it (or for its `holdTimeoutMs`,
 * which fails it). Cancelling the job cancels the wait; pausing it does not change it.
 */
async function awaitDecision(
  job: Job,
  step: NormalizedStep<unknown>,
  attempt: number,
  error: StepError,
): Promise<'retry' | 'skip' | 'fail'> {
  job.log(
    'warn',
    step.index,
    `Step "${step.name}" held after attempt ${attempt}: ${error.message}; waiting for an operator to retry it, skip it or fail the job`,
  );
  job.changed();
  const decided = (): boolean => job.holdDecisions.has(step.key);
  const timeout = step.holdTimeoutMs;
  const inTime =
    typeof timeout === 'number' ? await wf.condition(decided, timeout) : (await wf.condition(decided), true);
  const d = job.holdDecisions.get(step.key);
  job.holdDecisions.delete(step.key);
  job.holdVersion++;
  if (!inTime || !d) {
    job.log(
      'error',
      step.index,
      `No decision on held step "${step.name}" within ${timeout} ms (holdTimeoutMs): it fails`,
    );
    return 'fail';
  }
  const who = `${d.by ? ` by ${d.by}` : ''}${d.reason ? `: ${d.reason}` : ''}`;
  if (d.action === 'retry_step') {
    holdRetried(job.state, step.key);
    job.log('info', step.index, `Held step "${step.name}" retried${who}`);
    job.changed();
    return 'retry';
  }
  if (d.action === 'skip_step') {
    stepSkipped(job.state, step.key, `Skipped after it was held${who}`);
    job.log('info', step.index, `Held step "${step.name}" skipped${who}`);
    job.changed();
    return 'skip';
  }
  job.log('info', step.index, `Held step "${step.name}" failed${who}`);
  return 'fail';
}

/**
 * The attempt's work is done. `endJob` is asked first: if it throws, the step fails (the caller's
 * catch) instead of completing with a result the job cannot act on.
 */
function completeStep(
  job: Job,
  step: NormalizedStep<unknown>,
  ctx: StepContext<unknown>,
  raw: Json,
): StepOutcome {
  // `endJob` sees the step's own result among the others, as it always has.
  job.results[step.key] = splitResult(raw).result;
  let end: string | null | undefined = null;
  try {
    end = step.endJob
      ? callStepFunction(step, 'endJob', () => step.endJob!(job.results[step.key], ctx))
      : null;
  } catch (err) {
    delete job.results[step.key];
    throw err;
  }
  const result = stepCompleted(job.state, step.key, raw);
  job.results[step.key] = result;
  const s = job.stepState(step.key);
  job.log('info', step.index, `Step "${step.name}" completed in ${s.durationMs} ms`);
  if (end) {
    job.endMessage = end;
    job.log('info', step.index, `Job ends early: ${end}`);
    job.changed();
    return 'ended';
  }
  job.changed();
  return 'completed';
}

/** A step that failed before an attempt (its `when` threw). */
function failStep(job: Job, step: NormalizedStep<unknown>, error: StepError): StepOutcome {
  stepFailed(job.state, step.key, error);
  return failed(job, step, error);
}

/** The step has failed for good: log it, and fail the job unless the step may fail. */
function failed(job: Job, step: NormalizedStep<unknown>, error: StepError): StepOutcome {
  job.log('error', step.index, `Step "${step.name}" failed: ${error.message}`);
  // A held step an operator failed fails the job like a `fail` step.
  if (step.onFailure !== 'continue' && !job.failure) {
    job.failure = { step, error };
    // Stop the other running steps: the job has failed.
    for (const [key, scope] of job.stepScopes) if (key !== step.key) scope.cancel();
  }
  job.changed();
  return 'failed';
}
