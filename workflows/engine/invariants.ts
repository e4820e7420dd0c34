/**
 * What is true of every `JobState` the engine shows, in one place. Each rule names a way the
 * state could contradict itself on a card — a finished step still "9/10 items", a headline left
 * over from an earlier step, a batch at "7/8 chunks" next to 8 of 8 done, a closed job with a step
 * still pending or cancelling — and the engine's transitions (`transitions.ts`, `state.ts`) keep
 * them all. The unit property tests check them after every transition of random runs; the
 * workflow tests check them on every state they read from a real job. Pure and workflow-safe.
 */
import { isTerminal, MAX_ATTEMPT_RECORDS, type JobState, type StepState } from '../contracts';
import { weightedProgress } from './progress';

const ACTIVE = new Set(['running', 'retrying']);

/** A count such as "9/10". */
const FRACTION = /(\d+)\/(\d+)/g;

/** The engine's batch message, `<done>/<total> chunks done…`: its numbers must match the counts. */
const CHUNKS_MESSAGE = /^(\d+)\/(\d+) chunks done/;

/** Every rule `state` breaks, as sentences naming the step; empty when it holds them all. */
export function jobStateViolations(state: JobState): string[] {
  const out: string[] = [];
  const bad = (rule: string): void => {
    out.push(rule);
  };
  const closed = state.closedAt !== null;
  const { steps } = state;

  // The job.
  if (closed !== isTerminal(state.status)) {
    bad(`status ${state.status} with closedAt ${String(state.closedAt)}: closed exactly when terminal`);
  }
  if (!(state.progress >= 0 && state.progress <= 100)) bad(`progress ${state.progress} is outside 0–100`);
  const completed = state.status === 'completed' || state.status === 'completed_with_errors';
  if ((state.progress === 100) !== completed) {
    bad(`progress ${state.progress} with status ${state.status}: 100 exactly when completed`);
  }
  if (state.progress < weightedProgress(steps) && !completed) {
    bad(`progress ${state.progress} is behind its steps' ${weightedProgress(steps)}`);
  }
  if (state.totalSteps !== steps.length) bad(`totalSteps ${state.totalSteps} with ${steps.length} steps`);
  if (state.currentStep < 0 || state.currentStep > steps.length) {
    bad(`currentStep ${state.currentStep} is not a step`);
  }
  const current = state.currentStep > 0 ? steps[state.currentStep - 1] : undefined;
  if ((current?.name ?? null) !== state.stepName) {
    bad(`stepName ${JSON.stringify(state.stepName)} is not step ${state.currentStep}'s name`);
  }
  const cancelStatus = state.status === 'cancelling' || state.status === 'cancelled';
  if (cancelStatus !== (state.cancellation !== null)) {
    bad(`status ${state.status} with cancellation ${state.cancellation ? 'set' : 'null'}`);
  }
  if (state.status === 'stalled' && state.stalled === null) bad('status stalled without `stalled`');
  if (state.stalled && (closed || state.status === 'running')) {
    bad(`stalled on "${state.stalled.step}" with status ${state.status}`);
  }
  if (state.stalled && steps.find((s) => s.key === state.stalled!.step)?.status !== 'running') {
    bad(`stalled on "${state.stalled.step}", which is not running`);
  }
  const heldSteps = steps.filter((s) => s.status === 'held');
  if ((state.hold !== null) !== heldSteps.length > 0) {
    bad(`hold ${state.hold ? `on "${state.hold.step}"` : 'null'} with ${heldSteps.length} held steps`);
  }
  if (state.hold && state.hold.step !== heldSteps[0]?.key)
    bad(`hold names "${state.hold.step}", not the first held step`);
  if ((state.status === 'held') !== (state.hold !== null && !state.cancellation && !closed)) {
    bad(
      `status ${state.status} with hold ${state.hold ? 'set' : 'null'}: held exactly while a step is held and the job is not cancelling`,
    );
  }
  if ((state.status === 'queued') !== (state.queue !== null && !state.cancellation && !closed)) {
    bad(
      `status ${state.status} with queue ${state.queue ? 'set' : 'null'}: queued exactly while it waits for a slot and is not cancelling`,
    );
  }
  if (state.queue && closed) bad('a closed job still has `queue`');
  if (state.queue && steps.some((s) => s.startedAt !== null && s.carriedFrom === null)) {
    bad('queued, yet a step has started: no step starts before the job has a slot');
  }
  if (state.queue?.position !== null && state.queue?.position !== undefined && state.queue.running === null) {
    bad('queue.position without queue.running: both are read from the limiter');
  }
  const awaiting = steps.filter((s) => s.status === 'running' && s.approval?.status === 'awaiting');
  const awaitingExpected =
    awaiting.length > 0 && !closed && !state.cancellation && !state.control.paused && state.hold === null;
  if ((state.status === 'awaiting_approval') !== awaitingExpected) {
    bad(
      `status ${state.status} with ${awaiting.length} steps awaiting approval: awaiting_approval exactly while one awaits and the job is not paused, held or cancelling`,
    );
  }
  if ((state.status === 'pausing' || state.status === 'paused') && !state.control.paused) {
    bad(`status ${state.status} while control.paused is false`);
  }
  if (!closed && state.control.paused && !state.cancellation && state.status === 'running') {
    bad('status running while control.paused is true');
  }
  if (state.status === 'paused' && state.activeSubJobs.some((j) => j.status !== 'paused')) {
    bad('status paused while a sub-job has not paused');
  }
  for (const [k, v] of Object.entries(state.summary)) if (!(v >= 0)) bad(`summary.${k} is ${v}`);

  // The headline belongs to the running step it is about, or to the job once it closed.
  if (closed) {
    if (state.message === null) bad('a closed job has no message saying how it ended');
  } else if (state.message !== null) {
    if (!current || !ACTIVE.has(current.status) || current.message !== state.message) {
      bad(`message ${JSON.stringify(state.message)} is not the running current step's own`);
    }
  }

  // Sub-jobs.
  if (closed && (state.activeSubJobs.length > 0 || state.runningSubJobs !== 0)) {
    bad(`a closed job lists ${state.activeSubJobs.length} active sub-jobs, ${state.runningSubJobs} running`);
  }
  const ownSubJobs = state.activeSubJobs.filter((j) => j.type !== 'batchCoordinator').length;
  const chunkJobs = steps.reduce((n, s) => n + (ACTIVE.has(s.status) ? (s.batch?.running ?? 0) : 0), 0);
  if (!closed && (state.runningSubJobs < ownSubJobs || state.runningSubJobs > ownSubJobs + chunkJobs)) {
    bad(`runningSubJobs ${state.runningSubJobs} with ${ownSubJobs} sub-jobs and ${chunkJobs} chunks running`);
  }
  for (const j of state.activeSubJobs) {
    const s = steps.find((x) => x.key === j.step);
    if (!s || !ACTIVE.has(s.status) || !s.subJobIds.includes(j.id)) {
      bad(`active sub-job ${j.id} is not a sub-job of a running step`);
    }
  }

  // Steps.
  for (const s of steps) out.push(...stepViolations(state, s).map((v) => `step ${s.index} "${s.key}": ${v}`));

  // How the job ended agrees with how its steps did.
  const statuses = new Set(steps.map((s) => s.status));
  if (closed) {
    for (const st of ['pending', 'running', 'retrying'] as const) {
      if (statuses.has(st)) bad(`a closed job has a ${st} step`);
    }
  }
  if (state.status === 'completed' && steps.some((s) => s.status !== 'completed' && s.status !== 'skipped')) {
    bad('a completed job has a step that neither completed nor was skipped');
  }
  if (state.status === 'completed_with_errors') {
    if (!statuses.has('failed')) bad('completed_with_errors without a failed step');
    if (steps.some((s) => !['completed', 'failed', 'skipped'].includes(s.status))) {
      bad('completed_with_errors with a step that did not complete, fail or get skipped');
    }
  }
  if (state.status === 'failed') {
    if (!state.error) bad('a failed job has no error');
    else if (
      state.error.step !== null &&
      steps.find((s) => s.key === state.error!.step)?.status !== 'failed'
    ) {
      bad(`the failed job's error names step "${state.error.step}", which did not fail`);
    }
  }
  return out;
}

function stepViolations(state: JobState, s: StepState): string[] {
  const out: string[] = [];
  const closed = state.closedAt !== null;
  const active = ACTIVE.has(s.status);
  if (!(s.progress >= 0 && s.progress <= 100)) out.push(`progress ${s.progress} is outside 0–100`);
  if ((s.status === 'completed') !== (s.progress === 100)) {
    out.push(`${s.status} at ${s.progress}%: 100 exactly when completed`);
  }
  if ((s.nextAttemptAt !== null) !== (s.status === 'retrying')) {
    out.push(`${s.status} with nextAttemptAt ${String(s.nextAttemptAt)}`);
  }
  if (active && (s.attempt < 1 || s.startedAt === null)) out.push(`${s.status} without an attempt`);
  if ((s.status === 'pending' || s.status === 'not_run') && (s.attempt !== 0 || s.startedAt !== null)) {
    out.push(`${s.status} after attempt ${s.attempt} started`);
  }
  // A carried step completed in the run it was carried from.
  if ((s.status === 'completed' || s.status === 'failed') && s.completedAt === null && !s.carriedFrom) {
    out.push(`${s.status} without completedAt`);
  }
  if (s.status === 'completed' && s.error !== null) out.push('completed with an error');
  if ((s.status === 'failed' || s.status === 'retrying') && s.error === null) {
    out.push(`${s.status} without an error`);
  }
  // A message speaks for a running step, a completed step's result, or why a step was skipped.
  if (s.status === 'held' && (s.error === null || s.attempts.at(-1)?.outcome === 'running')) {
    out.push('held without an error, or with an attempt running');
  }
  if (closed && s.status === 'held') out.push('held in a closed job');
  if (['pending', 'not_run', 'failed', 'held', 'cancelled'].includes(s.status) && s.message !== null) {
    out.push(`${s.status} with a message ${JSON.stringify(s.message)}`);
  }
  if (s.status === 'retrying' && s.message !== null) {
    out.push(`retrying with the failed attempt's message ${JSON.stringify(s.message)}`);
  }
  if (s.status === 'skipped' && s.message === null) out.push('skipped without a reason');
  // An approval awaits exactly while its step runs; a decided one says who and when.
  const ap = s.approval;
  if (ap && (ap.status === 'awaiting') !== (s.status === 'running')) {
    out.push(`${s.status} with its approval ${ap.status}`);
  }
  if (ap && (ap.status === 'awaiting') !== (ap.decidedAt === null)) {
    out.push(`approval ${ap.status} with decidedAt ${String(ap.decidedAt)}`);
  }
  if (ap && s.kind !== 'approval') out.push(`a ${s.kind} step with an approval`);
  // A finished step does not read as part-way ("9/10 items" on a completed step).
  for (const [, done, of] of s.status === 'completed' ? (s.message ?? '').matchAll(FRACTION) : []) {
    if (Number(done) < Number(of)) out.push(`completed with a part-way message ${JSON.stringify(s.message)}`);
  }
  // The attempt records tell the same story as the step: one runs exactly when the step does.
  const last = s.attempts.at(-1);
  if ((s.status === 'running') !== (last?.outcome === 'running')) {
    out.push(`${s.status} with its last attempt record ${last ? last.outcome : 'missing'}`);
  }
  if (s.attempts.filter((a) => a.outcome === 'running').length > 1) out.push('two attempts running at once');
  if (last && last.attempt !== s.attempt)
    out.push(`attempt ${s.attempt} but its last record is ${last.attempt}`);
  if (s.status === 'retrying' && last?.outcome !== 'failed')
    out.push('retrying after an attempt that did not fail');
  if (s.attempts.length > MAX_ATTEMPT_RECORDS) out.push(`${s.attempts.length} attempt records`);
  const b = s.batch;
  if (b) {
    const counts = [b.total, b.completed, b.failed, b.running];
    if (counts.some((n) => !(Number.isInteger(n) && n >= 0))) out.push(`batch counts ${JSON.stringify(b)}`);
    if (b.completed + b.failed + b.running > b.total) {
      out.push(`batch ${b.completed} done + ${b.failed} failed + ${b.running} running > ${b.total}`);
    }
    if (s.status === 'completed' && (b.completed !== b.total || b.failed !== 0 || b.running !== 0)) {
      out.push(`completed with batch ${JSON.stringify(b)}`);
    }
    // Chunks still run after the job closed only when its cancellation stopped waiting for them.
    const leftBehind = (state.cancellation?.leftRunning.length ?? 0) > 0;
    if (!active && b.running !== 0 && !(closed && leftBehind && s.status === 'cancelled')) {
      out.push(`${s.status} with ${b.running} chunks running`);
    }
    const m = s.message ? CHUNKS_MESSAGE.exec(s.message) : null;
    if (m && (Number(m[1]) !== b.completed + b.failed || Number(m[2]) !== b.total)) {
      out.push(`message "${s.message}" disagrees with batch ${JSON.stringify(b)}`);
    }
  } else if (s.message && CHUNKS_MESSAGE.test(s.message)) {
    out.push(`message "${s.message}" without batch counts`);
  }
  return out;
}

/** The top-level fields that differ, each before → after (cut at 300 characters), to find why. */
function changedFields(prev: JobState, next: JobState): string {
  const keys = new Set([...Object.keys(prev), ...Object.keys(next)]);
  const cut = (v: unknown): string => {
    const text = JSON.stringify(v) ?? 'undefined';
    return text.length > 300 ? `${text.slice(0, 300)}…` : text;
  };
  const a = prev as unknown as Record<string, unknown>;
  const b = next as unknown as Record<string, unknown>;
  return [...keys]
    .filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]))
    .map((k) => `${k}: ${cut(a[k])} → ${cut(b[k])}`)
    .join('; ');
}

/**
 * Every rule the change from `prev` to `next` (two states of one run, in the order they were
 * seen) breaks: progress and the summary never go back, a settled step stays settled, and a closed
 * state never changes.
 */
export function transitionViolations(prev: JobState, next: JobState): string[] {
  if (prev.runId !== next.runId) return [];
  const out: string[] = [];
  if (next.progress < prev.progress) out.push(`progress went back from ${prev.progress} to ${next.progress}`);
  if (prev.closedAt !== null && JSON.stringify(prev) !== JSON.stringify(next)) {
    out.push(`a closed job changed: ${changedFields(prev, next)}`);
  }
  for (const [k, v] of Object.entries(prev.summary) as [keyof JobState['summary'], number][]) {
    if (next.summary[k] < v) out.push(`summary.${k} went back from ${v} to ${next.summary[k]}`);
  }
  if (prev.cancellation && !next.cancellation) out.push('a cancellation was forgotten');
  const SETTLED = new Set(['completed', 'failed', 'skipped', 'cancelled', 'not_run']);
  for (const p of prev.steps) {
    const n = next.steps.find((x) => x.key === p.key);
    if (!n) continue;
    if (SETTLED.has(p.status) && n.status !== p.status) {
      out.push(`step "${p.key}" went from ${p.status} to ${n.status}`);
    }
    if (n.attempt < p.attempt)
      out.push(`step "${p.key}" attempt went back from ${p.attempt} to ${n.attempt}`);
    if (n.status === p.status && n.attempt === p.attempt && ACTIVE.has(n.status) && n.progress < p.progress) {
      out.push(`step "${p.key}" progress went back within attempt ${n.attempt}`);
    }
  }
  return out;
}
