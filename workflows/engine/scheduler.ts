/**
 * The scheduler: starts each step once its dependencies have settled (a DAG, in declaration
 * order), runs it in its own cancellation scope, retries failed attempts with backoff, and
 * records how each step ended. What an attempt does is its kind's executor's business.
 */
import * as wf from '@temporalio/workflow';
import type { Json, StepError } from '../contracts';
import type { NormalizedStep, StepContext } from './definition';
import { executeStep } from './executors';
import { toStepError } from './failures';
import type { Job } from './job';
import { stepEnded, stepStarted } from './log-context';
import { addStats, backoffMs } from './progress';
import { nowIso, pushLog } from './state';
import type { StepResultExtras } from './step-io';

type Outcome = 'completed' | 'failed' | 'skipped_condition' | 'skipped_dependency' | 'cancelled' | 'ended';

/** Runs the job's steps (those not carried over by a recovery) until none can start. */
export async function runSteps(
  job: Job,
  ctx: StepContext<unknown>,
  carried: ReadonlySet<string>,
): Promise<void> {
  const outcome = new Map<string, Outcome>([...carried].map((k): [string, Outcome] => [k, 'completed']));
  const running = new Map<string, Promise<void>>();
  const byKey = new Map(job.def.steps.map((s) => [s.key, s]));
  for (;;) {
    const stopping = job.failure !== null || job.endMessage !== null || job.state.cancellation !== null;
    for (const key of job.def.order) {
      if (outcome.has(key) || running.has(key)) continue;
      const step = byKey.get(key)!;
      const deps = step.dependsOn.map((d) => outcome.get(d));
      if (deps.some((d) => d === undefined)) continue;
      if (stopping) {
        // Steps that never started stay pending on failure/cancel; an early end skips them.
        if (job.endMessage !== null) skip(job, step, outcome, 'skipped_dependency', 'Job ended early');
        else outcome.set(key, 'cancelled');
        continue;
      }
      if (
        deps.some((d) => d === 'failed' || d === 'skipped_dependency' || d === 'cancelled' || d === 'ended')
      ) {
        skip(job, step, outcome, 'skipped_dependency', 'A step it depends on did not complete');
        continue;
      }
      if (step.when && !step.when(ctx)) {
        skip(job, step, outcome, 'skipped_condition', 'Condition not met');
        continue;
      }
      running.set(
        key,
        runStepInScope(job, step, ctx).then((o) => {
          outcome.set(key, o);
          running.delete(key);
        }),
      );
    }
    if (running.size === 0) return;
    await Promise.race(running.values());
  }
}

function skip(
  job: Job,
  step: NormalizedStep<unknown>,
  outcome: Map<string, Outcome>,
  why: Outcome,
  message: string,
): void {
  outcome.set(step.key, why);
  const s = job.stepState(step.key);
  s.status = 'skipped';
  s.message = message;
  job.log('info', step.index, `Step "${step.name}" skipped: ${message}`);
  job.changed();
}

async function runStepInScope(
  job: Job,
  step: NormalizedStep<unknown>,
  ctx: StepContext<unknown>,
): Promise<Outcome> {
  const scope = new wf.CancellationScope();
  job.stepScopes.set(step.key, scope);
  stepStarted(step.key);
  try {
    return await scope.run(() => runStep(job, step, ctx));
  } catch (err) {
    if (!wf.isCancellation(err)) throw err;
    const s = job.stepState(step.key);
    s.status = 'cancelled';
    s.completedAt = nowIso();
    s.durationMs = s.startedAt ? Date.parse(s.completedAt) - Date.parse(s.startedAt) : null;
    job.log('warn', step.index, `Step "${step.name}" cancelled`);
    job.changed();
    return 'cancelled';
  } finally {
    job.stepScopes.delete(step.key);
    stepEnded(step.key);
  }
}

/** The retry loop: waits while paused, runs an attempt, and backs off before the next one. */
async function runStep(job: Job, step: NormalizedStep<unknown>, ctx: StepContext<unknown>): Promise<Outcome> {
  const s = job.stepState(step.key);
  for (let attempt = 1; ; attempt++) {
    await wf.condition(() => !job.state.control.paused);
    s.status = 'running';
    s.attempt = attempt;
    s.startedAt ??= nowIso();
    s.nextAttemptAt = null;
    s.progress = 0;
    job.log(
      'info',
      step.index,
      `Step "${step.name}" started (attempt ${attempt}/${step.retryPolicy.maxAttempts})`,
    );
    job.changed();
    try {
      const raw = await executeStep(job, step, ctx, attempt);
      return completeStep(job, step, ctx, raw);
    } catch (err) {
      // Only this job's own cancellation stops the step; a sub-job cancelled from outside fails it.
      if (wf.isCancellation(err) && wf.CancellationScope.current().consideredCancelled) throw err;
      const error = toStepError(err);
      s.error = error;
      if (error.nonRetryable || attempt >= step.retryPolicy.maxAttempts) return failStep(job, step, error);
      const delay = backoffMs(attempt + 1, step.retryPolicy);
      s.status = 'retrying';
      s.nextAttemptAt = new Date(Date.now() + delay).toISOString();
      job.state.summary.totalErrors += 1;
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

function completeStep(
  job: Job,
  step: NormalizedStep<unknown>,
  ctx: StepContext<unknown>,
  raw: Json,
): Outcome {
  const s = job.stepState(step.key);
  const result = absorbExtras(job, step, raw);
  job.results[step.key] = result;
  s.status = 'completed';
  s.progress = 100;
  s.result = result;
  s.error = null;
  s.completedAt = nowIso();
  s.durationMs = Date.parse(s.completedAt) - Date.parse(s.startedAt ?? s.completedAt);
  job.state.output = result;
  job.log('info', step.index, `Step "${step.name}" completed in ${s.durationMs} ms`);
  const end = step.endJob?.(result, ctx);
  if (end) {
    job.endMessage = end;
    job.state.message = end;
    job.log('info', step.index, `Job ends early: ${end}`);
    job.changed();
    return 'ended';
  }
  job.changed();
  return 'completed';
}

function failStep(job: Job, step: NormalizedStep<unknown>, error: StepError): Outcome {
  const s = job.stepState(step.key);
  s.status = 'failed';
  s.completedAt = nowIso();
  s.durationMs = Date.parse(s.completedAt) - Date.parse(s.startedAt ?? s.completedAt);
  job.state.summary.totalErrors += 1;
  job.log('error', step.index, `Step "${step.name}" failed: ${error.message}`);
  if (step.onFailure === 'fail' && !job.failure) {
    job.failure = { step, error };
    // Stop the other running steps: the job has failed.
    for (const [key, scope] of job.stepScopes) if (key !== step.key) scope.cancel();
  }
  job.changed();
  return 'failed';
}

/** Folds `stats`, `logs` and `message` of a result into the job and returns the rest. */
function absorbExtras(job: Job, step: NormalizedStep<unknown>, raw: Json): Json {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return raw;
  const { stats, logs, message, ...rest } = raw as Record<string, Json> & StepResultExtras;
  if (typeof message === 'string') job.stepState(step.key).message = message;
  if (stats) {
    addStats(job.state.summary, stats);
    job.stepState(step.key).stats = stats;
  }
  for (const line of logs ?? []) pushLog(job.state, { ...line, at: nowIso(), step: step.index });
  return rest as Json;
}
