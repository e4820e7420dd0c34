/**
 * The job state: its initial shape, the derived fields recomputed after every change, closing,
 * carried steps of a recovery run, and the bounded log ring. Pure: no Temporal calls, so the
 * bookkeeping can be read (and tested) apart from the workflow that drives it. The changes to a
 * step are in `transitions.ts`; what must hold after each of them is in `invariants.ts`.
 */
import type {
  ControlAck,
  ControlAction,
  ControlPayload,
  ControlSource,
  HoldInfo,
  JobLogLine,
  JobParams,
  JobState,
  JobStatus,
  Json,
  ProgressSnapshot,
  RecoveryParams,
  StepAttempt,
  StepState,
} from '../contracts';
import { MAX_ATTEMPT_RECORDS } from '../contracts';
import { BATCH_COORDINATOR_TYPE } from './batch-contracts';
import { deriveStatus } from './control';
import type { JobDefinition, NormalizedStep } from './definition';
import { addStats, weightedProgress } from './progress';

/** Lines kept in the job's log ring. */
export const MAX_LOG_LINES = 200;

/** Workflow time as ISO text (deterministic inside a workflow: it is the task's start time). */
export const nowIso = (): string => new Date().toISOString();

export function initialJobState(
  def: JobDefinition,
  params: JobParams,
  run: {
    workflowId: string;
    runId: string;
    startedBy?: string | null;
    priority?: number;
    traceId?: string | null;
  },
): JobState {
  return {
    jobId: run.workflowId,
    runId: run.runId,
    type: def.name,
    status: 'running',
    progress: 0,
    currentStep: 0,
    totalSteps: def.steps.length,
    stepName: null,
    message: null,
    activeSubJobs: [],
    runningSubJobs: 0,
    steps: def.steps.map((s): StepState => ({
      index: s.index,
      key: s.key,
      name: s.name,
      kind: s.kind,
      weight: s.weight,
      dependsOn: s.dependsOn,
      status: 'pending',
      attempt: 0,
      maxAttempts: s.retryPolicy.maxAttempts,
      progress: 0,
      startedAt: null,
      completedAt: null,
      durationMs: null,
      nextAttemptAt: null,
      result: null,
      error: null,
      subJobIds: [],
      batch: null,
      message: null,
      stats: null,
      carriedFrom: null,
      attempts: [],
    })),
    summary: { itemsProcessed: 0, itemsCreated: 0, itemsFailed: 0, totalErrors: 0 },
    logs: [],
    control: { paused: false, actions: [], droppedActions: 0 },
    recovery: {
      attempt: params.recovery?.attempt ?? 0,
      max: def.recoveryLimit,
      fromStep: params.recovery?.fromStep ?? null,
      previousRunId: params.recovery?.previousRunId ?? null,
    },
    hold: null,
    queue: null,
    priority: run.priority ?? 3,
    stalled: null,
    etaOverrun: null,
    cancellation: null,
    input: (params.input ?? null) as Json,
    output: null,
    error: null,
    parentJobId: params.parent?.jobId ?? null,
    startedBy: run.startedBy ?? null,
    traceId: run.traceId ?? null,
    eta: null,
    deployment: null,
    startedAt: nowIso(),
    closedAt: null,
  };
}

export function stepStateOf(state: JobState, key: string): StepState {
  return state.steps.find((s) => s.key === key)!;
}

/**
 * Records an accepted operator action in the job's control history, keeping the last `max`
 * (older ones are counted in `droppedActions`), so any number of actions costs bounded state.
 */
export function recordAction(
  state: JobState,
  action: ControlAction['action'],
  p: ControlPayload | undefined,
  source: ControlSource,
  max: number,
): void {
  const { control } = state;
  control.actions.push({ action, by: p?.by ?? null, reason: p?.reason ?? null, at: nowIso(), source });
  const over = control.actions.length - Math.max(1, max);
  if (over > 0) {
    control.actions.splice(0, over);
    control.droppedActions = (control.droppedActions ?? 0) + over;
  }
}

/** The answer of an accepted control update. */
export function controlAck(state: JobState, action: ControlAction['action']): ControlAck {
  return {
    jobId: state.jobId,
    runId: state.runId,
    action,
    status: state.status,
    paused: state.control.paused,
    at: nowIso(),
  };
}

/** Appends to the log ring, dropping the oldest lines past {@link MAX_LOG_LINES}. */
export function pushLog(state: JobState, line: JobLogLine): void {
  state.logs.push(line);
  if (state.logs.length > MAX_LOG_LINES) state.logs.splice(0, state.logs.length - MAX_LOG_LINES);
}

export function progressSnapshot(state: JobState): ProgressSnapshot {
  const { status, progress, currentStep, totalSteps, stepName, message } = state;
  return { status, progress, currentStep, totalSteps, stepName, message };
}

/** What the scheduler and the executors keep outside the state that the derived fields depend on. */
export interface DerivedInputs {
  /** Whether any activity attempt of this job is in flight (a pausing job is `paused` once none is). */
  activitiesRunning: boolean;
}

const isActive = (s: StepState): boolean => s.status === 'running' || s.status === 'retrying';

/** A running approval step that waits for a decision. */
export const isAwaitingApproval = (s: StepState): boolean =>
  s.status === 'running' && s.approval?.status === 'awaiting';

/**
 * Recomputes what is derived from the steps after any change: progress (never decreasing), the
 * current step (the first running one, else the last that started), the headline message (the
 * current step's own while it runs, else none: a finished step's message never stands for the
 * job), the sub-jobs running, and the status under operator control.
 */
export function refreshDerived(
  state: JobState,
  def: Pick<JobDefinition, 'steps'>,
  inputs: DerivedInputs,
): void {
  state.progress = Math.max(state.progress, weightedProgress(state.steps));
  const active = state.steps.filter(isActive);
  const held = state.steps.filter((s) => s.status === 'held');
  const current =
    active[0] ??
    held[0] ??
    [...state.steps]
      .reverse()
      .find((s) => s.status !== 'pending' && s.status !== 'skipped' && s.status !== 'not_run') ??
    null;
  if (current) {
    state.currentStep = current.index;
    state.stepName = current.name;
  }
  state.message = active[0]?.message ?? null;
  state.hold = held[0] ? holdInfo(held[0], def) : null;
  state.runningSubJobs = runningSubJobs(state, def);
  // Paused once no activity runs and every sub-job has paused (or closed).
  const busy = inputs.activitiesRunning || state.activeSubJobs.some((j) => j.status !== 'paused');
  state.status = deriveStatus({
    cancelling: state.cancellation !== null,
    queued: state.queue !== null,
    held: state.hold !== null,
    stalled: state.stalled !== null,
    awaitingApproval: state.steps.some(isAwaitingApproval),
    paused: state.control.paused,
    busy,
  });
}

/** What the card and the API show of a held step. */
function holdInfo(s: StepState, def: Pick<JobDefinition, 'steps'>): HoldInfo {
  const since = s.attempts.at(-1)?.endedAt ?? s.completedAt ?? s.startedAt ?? nowIso();
  const timeout = def.steps.find((d) => d.key === s.key)?.holdTimeoutMs;
  return {
    step: s.key,
    stepName: s.name,
    since,
    error: s.error ?? { message: 'failed', type: null, nonRetryable: true },
    attempts: s.attempt,
    timeoutAt: typeof timeout === 'number' ? new Date(Date.parse(since) + timeout).toISOString() : null,
  };
}

/**
 * The job's own running sub-jobs (a batch coordinator is the engine's, not a job) plus the chunk
 * sub-jobs its running batch steps' coordinators last reported as running.
 */
export function runningSubJobs(state: JobState, def: Pick<JobDefinition, 'steps'>): number {
  let n = state.activeSubJobs.filter((j) => j.type !== BATCH_COORDINATOR_TYPE).length;
  for (const s of state.steps) {
    const step = def.steps.find((d) => d.key === s.key);
    if (isActive(s) && s.batch && step?.kind === 'batch' && 'jobType' in step.run) n += s.batch.running;
  }
  return n;
}

/**
 * Closes the state: 100% and the last step on completion; the failed step on failure. No step of a
 * closed job is left pending or running: a step that never started did not run, and one still
 * running when a cancellation stopped waiting for it is cancelled (`cancellation.leftRunning` names
 * what it left behind).
 */
export function closeState(
  state: JobState,
  def: JobDefinition,
  status: JobStatus,
  message: string,
  failedStep: NormalizedStep<unknown> | null,
): void {
  state.status = status;
  state.queue = null;
  state.message = message;
  state.closedAt = nowIso();
  if (status === 'completed' || status === 'completed_with_errors') {
    state.progress = 100;
    state.currentStep = state.totalSteps;
    state.stepName = def.steps[state.totalSteps - 1].name;
  } else if (failedStep) {
    state.currentStep = failedStep.index;
    state.stepName = failedStep.name;
  }
  state.hold = null;
  state.stalled = null;
  for (const s of state.steps) {
    if (s.status === 'pending') s.status = 'not_run';
    else if (isActive(s) || s.status === 'held') {
      endAttempt(s, 'cancelled', state.closedAt);
      s.status = 'cancelled';
      s.completedAt = state.closedAt;
      s.durationMs = s.startedAt ? Date.parse(state.closedAt) - Date.parse(s.startedAt) : null;
      s.nextAttemptAt = null;
      s.message = null;
      if (s.approval?.status === 'awaiting') {
        Object.assign(s.approval, { status: 'cancelled', decidedAt: state.closedAt });
      }
    }
  }
  state.activeSubJobs = [];
  state.runningSubJobs = 0;
}

/**
 * How a job whose steps all settled ends when it was neither cancelled nor failed by a step:
 * `completed_with_errors` naming the steps that failed under `onFailure: 'continue'`, else
 * `completed` with the early end's message or "Completed".
 */
export function completion(
  state: JobState,
  endMessage: string | null,
): { status: 'completed' | 'completed_with_errors'; message: string } {
  const failed = state.steps.filter((s) => s.status === 'failed');
  if (failed.length > 0) {
    return {
      status: 'completed_with_errors',
      message: `Completed with errors in ${failed.map((s) => `"${s.name}"`).join(', ')}`,
    };
  }
  return { status: 'completed', message: endMessage ?? 'Completed' };
}

/**
 * Ends the step's running attempt record (if any) with `outcome`; keeps the last
 * {@link MAX_ATTEMPT_RECORDS}. A retry wait that ends with the job is not an attempt.
 */
export function endAttempt(
  s: StepState,
  outcome: Exclude<StepAttempt['outcome'], 'running'>,
  at: string,
  error: string | null = null,
  retryAt: string | null = null,
): void {
  const last = s.attempts.at(-1);
  if (!last || last.outcome !== 'running') return;
  Object.assign(last, { endedAt: at, outcome, error, retryAt });
}

/** A new attempt record (the oldest beyond {@link MAX_ATTEMPT_RECORDS} is dropped). */
export function beginAttempt(s: StepState, attempt: number, at: string): void {
  s.attempts.push({ attempt, startedAt: at, endedAt: null, outcome: 'running', error: null, retryAt: null });
  if (s.attempts.length > MAX_ATTEMPT_RECORDS) s.attempts.splice(0, s.attempts.length - MAX_ATTEMPT_RECORDS);
}

/** A recovery run: marks the carried steps completed with their earlier results and stats. */
export function applyCarried(
  state: JobState,
  def: JobDefinition,
  recovery: RecoveryParams,
  results: Record<string, Json>,
): void {
  for (const step of def.steps) {
    const carried = recovery.carried[step.key];
    if (!carried) continue;
    Object.assign(stepStateOf(state, step.key), {
      status: 'completed',
      progress: 100,
      result: carried.result,
      stats: carried.stats,
      carriedFrom: recovery.previousRunId,
      message: `Carried over from run ${recovery.previousRunId}`,
    });
    results[step.key] = carried.result;
    state.output = carried.result;
    if (carried.stats) addStats(state.summary, carried.stats);
  }
}
