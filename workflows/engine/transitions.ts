/**
 * Every change the engine makes to a step of the job state, and the scheduling decision that
 * precedes it, as pure functions over `JobState`. The scheduler, the executors and the handlers
 * call these (and only these) to move a step; `test/unit/state-invariants.test.ts` drives them
 * through random runs — progress, completion, failure, retry, pause, cancel, recovery — and checks
 * `invariants.ts` after each one. Workflow-safe: no Temporal calls; times come from `nowIso`.
 */
import type {
  ApprovalState,
  CancellationInfo,
  JobState,
  Json,
  StepError,
  StepProgressReport,
  StepState,
} from '../contracts';
import type { NormalizedStep } from './definition';
import { addStats, backoffMs, clampPercent } from './progress';
import { beginAttempt, endAttempt, nowIso, pushLog, stepStateOf } from './state';
import type { StepResultExtras } from './step-io';

/** How a step ended, as the scheduler remembers it for the steps that depend on it. */
export type StepOutcome =
  'completed' | 'failed' | 'skipped_condition' | 'skipped_dependency' | 'cancelled' | 'ended';

/**
 * What the scheduler does with a step that has neither started nor settled: wait for its
 * dependencies; mark it not run (the job is failing or cancelling); skip it (the job ended early,
 * or a dependency did not complete); or, `candidate`, start it once its `when` allows.
 */
export type StepDecision = 'wait' | 'not_run' | 'skip_ended' | 'skip_dependency' | 'candidate';

/** Where the job stands: going on, ending early (a step's `endJob`), or stopping (failure, cancel). */
export type JobCourse = 'running' | 'ending' | 'stopping';

export function decideStep(deps: readonly (StepOutcome | undefined)[], course: JobCourse): StepDecision {
  if (deps.some((d) => d === undefined)) return 'wait';
  if (course === 'ending') return 'skip_ended';
  if (course === 'stopping') return 'not_run';
  const unmet = (d: StepOutcome | undefined): boolean =>
    d === 'failed' || d === 'skipped_dependency' || d === 'cancelled' || d === 'ended';
  return deps.some(unmet) ? 'skip_dependency' : 'candidate';
}

const sinceStart = (s: StepState, at: string): number | null =>
  s.startedAt ? Date.parse(at) - Date.parse(s.startedAt) : null;

/** Attempt `attempt` starts: progress and message restart, the last error stays until it completes. */
export function attemptStarted(state: JobState, key: string, attempt: number): void {
  const s = stepStateOf(state, key);
  // A late start after the job stopped (should not happen) leaves no dangling record.
  endAttempt(s, 'cancelled', nowIso());
  beginAttempt(s, attempt, nowIso());
  s.status = 'running';
  s.attempt = attempt;
  s.startedAt ??= nowIso();
  s.nextAttemptAt = null;
  s.progress = 0;
  s.message = null;
}

/**
 * A progress report of a running step's activity, sub-job or batch coordinator. Reports of an
 * earlier attempt, of a step that is no longer running, or reaching a closed job change nothing
 * (returns false). Each report replaces the step's message: it describes where the work is now.
 * A late report of the attempt that just failed still moves the step's progress (as it always
 * did: what the job reports onwards depends on it) but not its message or counts.
 */
export function progressReported(state: JobState, r: StepProgressReport): boolean {
  if (state.closedAt !== null) return false;
  const s = state.steps.find((x) => x.key === r.stepKey);
  if (!s || s.attempt !== r.attempt || (s.status !== 'running' && s.status !== 'retrying')) return false;
  s.progress = Math.max(s.progress, Math.min(99, clampPercent(r.progress)));
  if (s.status === 'running') {
    s.message = r.message ? r.message : null;
    if (r.batch) s.batch = { ...r.batch };
  }
  if (r.subJob) {
    const sub = state.activeSubJobs.find((j) => j.id === r.subJob!.id);
    if (sub) Object.assign(sub, { status: r.subJob.status, progress: r.subJob.progress });
  }
  return true;
}

/** A step's result split into what the job keeps and the extras it folds in elsewhere. */
export function splitResult(raw: Json): { result: Json } & StepResultExtras {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return { result: raw };
  const { stats, logs, message, ...rest } = raw as Record<string, Json> & StepResultExtras;
  return {
    result: rest as Json,
    ...(stats ? { stats } : {}),
    ...(logs ? { logs } : {}),
    ...(typeof message === 'string' ? { message } : {}),
  };
}

/**
 * The step completed with `raw`: its `stats` go into the summary, its `logs` into the log ring,
 * its `message` (or none: a mid-way report never stands for a finished step) onto the step; the
 * rest is its result, which this returns.
 */
export function stepCompleted(state: JobState, key: string, raw: Json): Json {
  const s = stepStateOf(state, key);
  const { result, stats, logs, message } = splitResult(raw);
  if (stats) {
    addStats(state.summary, stats);
    s.stats = stats;
  }
  for (const line of logs ?? []) pushLog(state, { ...line, at: nowIso(), step: s.index });
  endAttempt(s, 'completed', nowIso());
  s.status = 'completed';
  s.progress = 100;
  s.result = result;
  s.error = null;
  s.message = message ?? null;
  s.nextAttemptAt = null;
  s.completedAt = nowIso();
  s.durationMs = sinceStart(s, s.completedAt) ?? 0;
  if (s.batch) s.batch.running = 0;
  state.output = result;
  return result;
}

/**
 * Attempt `attempt` failed with `error`: `retrying` (returns the delay before the next attempt), or,
 * when the error is not retryable or no attempt is left, `failed` (returns null) — `held` instead
 * (returns `'held'`) for a step with `onFailure: 'hold'`.
 */
export function attemptFailed(
  state: JobState,
  step: Pick<NormalizedStep<unknown>, 'key' | 'retryPolicy'> & {
    onFailure?: NormalizedStep<unknown>['onFailure'];
  },
  attempt: number,
  error: StepError,
): number | 'held' | null {
  if (error.nonRetryable || attempt >= step.retryPolicy.maxAttempts) {
    if (step.onFailure === 'hold') {
      stepHeld(state, step.key, error);
      return 'held';
    }
    stepFailed(state, step.key, error);
    return null;
  }
  const s = stepStateOf(state, step.key);
  const delay = backoffMs(attempt + 1, step.retryPolicy);
  s.status = 'retrying';
  s.error = error;
  s.nextAttemptAt = new Date(Date.now() + delay).toISOString();
  endAttempt(s, 'failed', nowIso(), error.message, s.nextAttemptAt);
  s.message = null;
  // The attempt's batch coordinator closed after its chunks settled.
  if (s.batch) s.batch.running = 0;
  state.summary.totalErrors += 1;
  return delay;
}

/** The step ran out of attempts under `onFailure: 'hold'`: it waits for an operator's decision. */
export function stepHeld(state: JobState, key: string, error: StepError): void {
  const s = stepStateOf(state, key);
  endAttempt(s, 'failed', nowIso(), error.message);
  s.status = 'held';
  s.error = error;
  s.message = null;
  s.nextAttemptAt = null;
  if (s.batch) s.batch.running = 0;
  state.summary.totalErrors += 1;
}

/** An operator chose to retry the held step: it waits for its next attempt, due now. */
export function holdRetried(state: JobState, key: string): void {
  const s = stepStateOf(state, key);
  s.status = 'retrying';
  s.nextAttemptAt = nowIso();
}

/** The step failed for good (also before an attempt, when its `when` threw). */
export function stepFailed(state: JobState, key: string, error: StepError): void {
  const s = stepStateOf(state, key);
  // A held step's failure was counted when it was held.
  if (s.status !== 'held') state.summary.totalErrors += 1;
  endAttempt(s, 'failed', nowIso(), error.message);
  s.status = 'failed';
  s.error = error;
  s.message = null;
  s.nextAttemptAt = null;
  s.completedAt = nowIso();
  s.durationMs = sinceStart(s, s.completedAt) ?? 0;
  if (s.batch) s.batch.running = 0;
}

/**
 * The job's cancellation (or another step's failure) stopped the step, and what it ran — its
 * activity, sub-job or batch coordinator with its chunks — has stopped too: executors wait for that.
 */
export function stepCancelled(state: JobState, key: string): void {
  const s = stepStateOf(state, key);
  endAttempt(s, 'cancelled', nowIso());
  s.status = 'cancelled';
  s.message = null;
  s.nextAttemptAt = null;
  s.completedAt = nowIso();
  s.durationMs = sinceStart(s, s.completedAt);
  if (s.batch) s.batch.running = 0;
  if (s.approval?.status === 'awaiting')
    Object.assign(s.approval, { status: 'cancelled', decidedAt: s.completedAt });
}

/** A sleep step's attempt fixed its wake-up time. */
export function sleepScheduled(state: JobState, key: string, wakeAt: string): void {
  stepStateOf(state, key).wakeAt = wakeAt;
}

/** A running approval step starts waiting for a decision: the job is `awaiting_approval`. */
export function approvalAwaited(
  state: JobState,
  key: string,
  wait: Pick<ApprovalState, 'role' | 'message' | 'timeoutAt' | 'onTimeout' | 'onReject'>,
): void {
  const s = stepStateOf(state, key);
  s.approval = { status: 'awaiting', ...wait, since: nowIso(), by: null, comment: null, decidedAt: null };
}

/** The approval step's wait ended: decided by someone, or timed out. The step completes or fails next. */
export function approvalDecided(
  state: JobState,
  key: string,
  status: 'approved' | 'rejected' | 'timed_out',
  by: string | null,
  comment: string | null,
): void {
  const s = stepStateOf(state, key);
  if (!s.approval) return;
  Object.assign(s.approval, { status, by, comment, decidedAt: nowIso() });
}

export function stepSkipped(state: JobState, key: string, message: string): void {
  const s = stepStateOf(state, key);
  s.status = 'skipped';
  s.message = message;
}

/** The job is failing or being cancelled before this step could start: it will not run. */
export function stepNotRun(state: JobState, key: string): void {
  const s = stepStateOf(state, key);
  if (s.status === 'pending') s.status = 'not_run';
}

/** A step's sub-job or batch coordinator started. */
export function subJobStarted(state: JobState, stepKey: string, id: string, type: string): void {
  const s = stepStateOf(state, stepKey);
  if (!s.subJobIds.includes(id)) s.subJobIds.push(id);
  state.activeSubJobs.push({ id, type, status: 'running', progress: 0, step: stepKey });
}

/** A sub-job or batch coordinator closed, whatever the outcome. */
export function subJobClosed(state: JobState, id: string): void {
  state.activeSubJobs = state.activeSubJobs.filter((j) => j.id !== id);
}

/** A cancellation was accepted: the running sub-jobs are being cancelled with the job. */
export function cancelRequested(state: JobState, info: CancellationInfo): void {
  state.cancellation = info;
  for (const j of state.activeSubJobs) j.status = 'cancelling';
}
