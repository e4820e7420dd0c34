/**
 * Operator actions applied to a running job: pause and resume (forwarded to its running sub-jobs),
 * and the two ways they arrive — signals, which cannot answer and so log what they ignore, and
 * updates, whose validators refuse what does not fit. Both decide with {@link checkControl}.
 */
import * as wf from '@temporalio/workflow';
import {
  approvalDecisionPayloadSchema,
  controlPayloadSchema,
  type ApprovalDecisionPayload,
  holdDecisionPayloadSchema,
  pauseSignal,
  resumeSignal,
  type ControlPayload,
  type ControlSource,
  type HoldDecisionPayload,
} from '../contracts';
import { requestCancel } from './cancellation';
import { forwardControl } from './children';
import { checkControl, describeRequest, type ControlAction, type ControlRefusal } from './control';
import { formatIssues } from './failures';
import type { HoldDecision, Job } from './job';
import { isAwaitingApproval, recordAction } from './state';

/** What a sub-job is told when its job pauses or resumes: who asked (else the job) and why. */
export function forwardedPayload(job: Job, p: ControlPayload | undefined): ControlPayload {
  return { by: p?.by ?? `job ${job.jobId}`, ...(p?.reason !== undefined ? { reason: p.reason } : {}) };
}

/** The payload of the pause in force, for a sub-job that starts while its job is paused. */
export function currentPausePayload(job: Job): ControlPayload {
  const pause = [...job.state.control.actions].reverse().find((a) => a.action === 'pause');
  return forwardedPayload(job, {
    ...(pause?.by ? { by: pause.by } : {}),
    ...(pause?.reason ? { reason: pause.reason } : {}),
  });
}

export function pause(job: Job, p: ControlPayload | undefined, source: ControlSource): void {
  const st = job.state;
  if (job.isClosed() || st.control.paused || st.cancellation) return;
  st.control.paused = true;
  recordAction(job.state, 'pause', p, source, job.limits.maxControlActions);
  job.log('info', null, `Pause requested${describeRequest(p)}`);
  forwardControl(
    pauseSignal,
    st.activeSubJobs.map((j) => j.id),
    forwardedPayload(job, p),
  );
  job.changed();
}

export function resume(job: Job, p: ControlPayload | undefined, source: ControlSource): void {
  const st = job.state;
  if (job.isClosed() || !st.control.paused || st.cancellation) return;
  st.control.paused = false;
  recordAction(job.state, 'resume', p, source, job.limits.maxControlActions);
  job.log('info', null, `Resumed${describeRequest(p)}`);
  forwardControl(
    resumeSignal,
    st.activeSubJobs.map((j) => j.id),
    forwardedPayload(job, p),
  );
  job.changed();
}

/** Signals have no way to answer: a malformed payload or a request that does not fit is logged and ignored. */
export function onControlSignal(job: Job, action: ControlAction, raw: unknown): void {
  const parsed = controlPayloadSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    job.log(
      'warn',
      null,
      `Ignored ${action} signal with an invalid payload: ${formatIssues(parsed.error.issues)}`,
    );
    return;
  }
  const refusal = checkControl(job.state, action, parsed.data);
  if (refusal) {
    job.log('info', null, `Ignored ${action} signal: ${refusal.message}`);
    return;
  }
  if (action === 'pause') pause(job, parsed.data, 'signal');
  else if (action === 'resume') resume(job, parsed.data, 'signal');
  else requestCancel(job, parsed.data, 'signal');
}

export type HoldAction = HoldDecision['action'];

const HOLD_VERBS: Record<HoldAction, string> = {
  retry_step: 'Retry of the held step',
  skip_step: 'Skip of the held step',
  fail_step: 'Fail of the held step',
};

/** Why a decision on a held step does not fit (null: it does). */
export function checkHoldDecision(job: Job, action: HoldAction, raw: unknown): ControlRefusal | null {
  const parsed = holdDecisionPayloadSchema.optional().safeParse(raw);
  if (!parsed.success) {
    return {
      type: 'InvalidControlPayload',
      message: `Invalid payload: ${formatIssues(parsed.error.issues)}`,
    };
  }
  const st = job.state;
  if (job.isClosed()) return { type: 'JobClosed', message: `Job "${st.jobId}" is closed (${st.status})` };
  if (st.cancellation) return { type: 'JobCancelling', message: `Job "${st.jobId}" is being cancelled` };
  const key = parsed.data?.step ?? st.hold?.step;
  const step = st.steps.find((s) => s.key === key);
  if (!key || !step || step.status !== 'held' || job.holdDecisions.has(key)) {
    return {
      type: 'NotHeld',
      message: key
        ? `Step "${key}" of job "${st.jobId}" is not held (${step?.status ?? 'no such step'})${job.holdDecisions.has(key) ? ': a decision on it is already under way' : ''}`
        : `Job "${st.jobId}" has no held step (${st.status}); ${HOLD_VERBS[action].toLowerCase()} needs one`,
    };
  }
  return null;
}

/** Validator of the hold updates: refuses what does not fit, changing nothing. */
export function validateHoldDecision(job: Job, action: HoldAction, p: unknown): void {
  const refusal = checkHoldDecision(job, action, p);
  if (refusal) throw wf.ApplicationFailure.create({ ...refusal, nonRetryable: true });
}

/** Records an accepted decision; the held step acts on it (see the scheduler). */
export function decideHold(job: Job, action: HoldAction, p: HoldDecisionPayload | undefined): void {
  const key = p?.step ?? job.state.hold!.step;
  job.holdDecisions.set(key, { action, by: p?.by ?? null, reason: p?.reason ?? null });
  recordAction(job.state, action, p, 'update', job.limits.maxControlActions);
  job.log(
    'info',
    job.stepState(key).index,
    `${HOLD_VERBS[action]} "${job.stepState(key).name}" requested${describeRequest(p)}`,
  );
  job.changed();
}

/**
 * Why a decision on an approval step does not fit (null: it does): the payload (a comment over
 * `MAX_APPROVAL_COMMENT` characters), a closed, cancelling or paused job, or a step that does not await
 * a decision (no such step, another kind, already decided, or a decision under way). The caller's
 * role is the API's to check: the workflow records the `by` the update carried.
 */
export function checkApprovalDecision(job: Job, raw: unknown): ControlRefusal | null {
  const parsed = approvalDecisionPayloadSchema.safeParse(raw);
  if (!parsed.success) {
    return {
      type: 'InvalidControlPayload',
      message: `Invalid payload: ${formatIssues(parsed.error.issues)}`,
    };
  }
  const st = job.state;
  if (job.isClosed()) return { type: 'JobClosed', message: `Job "${st.jobId}" is closed (${st.status})` };
  if (st.cancellation) return { type: 'JobCancelling', message: `Job "${st.jobId}" is being cancelled` };
  const key = parsed.data.step;
  const step = st.steps.find((s) => s.key === key);
  if (!step || step.kind !== 'approval') {
    return {
      type: 'NotAwaitingApproval',
      message: `Job "${st.jobId}" has no approval step "${key}"${step ? ` (it is a ${step.kind} step)` : ''}`,
    };
  }
  if (st.control.paused) {
    return {
      type: 'JobPaused',
      message: `Job "${st.jobId}" is paused (${st.status}); resume it to decide step "${key}"`,
    };
  }
  if (!isAwaitingApproval(step) || job.approvalDecisions.has(key)) {
    const what = job.approvalDecisions.has(key)
      ? 'a decision on it is already under way'
      : step.approval
        ? `it is ${step.approval.status.replace('_', ' ')}`
        : `it is ${step.status}`;
    return {
      type: 'NotAwaitingApproval',
      message: `Step "${key}" of job "${st.jobId}" does not await approval: ${what}`,
    };
  }
  const rank = { viewer: 0, operator: 1, admin: 2 } as const;
  const required = step.approval?.role;
  if (parsed.data.role !== undefined && required !== undefined && rank[parsed.data.role] < rank[required]) {
    return {
      type: 'ApprovalForbidden',
      message: `Step "${key}" of job "${st.jobId}" needs an ${required} to approve or reject it; the caller's role is ${parsed.data.role}`,
    };
  }
  return null;
}

/** Validator of the `decideApproval` update: refuses what does not fit, changing nothing. */
export function validateApprovalDecision(job: Job, p: unknown): void {
  const refusal = checkApprovalDecision(job, p);
  if (refusal) throw wf.ApplicationFailure.create({ ...refusal, nonRetryable: true });
}

/** Records an accepted decision (who, and their comment); the approval step acts on it. */
export function decideApproval(job: Job, p: ApprovalDecisionPayload): 'approve' | 'reject' {
  const { step: key, decision } = p;
  job.approvalDecisions.set(key, { decision, by: p.by ?? null, comment: p.comment ?? null });
  const payload = { ...(p.by ? { by: p.by } : {}), ...(p.comment ? { reason: p.comment } : {}) };
  recordAction(job.state, decision, payload, 'update', job.limits.maxControlActions);
  const s = job.stepState(key);
  job.log(
    'info',
    s.index,
    `${decision === 'approve' ? 'Approval' : 'Rejection'} of "${s.name}" requested${describeRequest(payload)}`,
  );
  job.changed();
  return decision;
}

/** An update's validator: a refused update changes nothing and leaves no trace in history. */
export function validateUpdate(job: Job, action: ControlAction, p: unknown): void {
  const refusal = checkControl(job.state, action, p) ?? checkRunControlBudget(job, action);
  if (refusal) throw wf.ApplicationFailure.create({ ...refusal, nonRetryable: true });
}

/**
 * Pause and resume updates past `maxRunControlActions` accepted in this run are refused: each adds
 * history to a run that never continues as new, so an unbounded number would let any API caller
 * drive the job to Temporal's history limit (where it is terminated without cleanup). Cancel is
 * never refused for this. Only updates are refused: signals come from Temporal's own side (and from
 * the parent job, which must stay obeyed), and their count is bounded by the parent's own budget.
 */
function checkRunControlBudget(
  job: Job,
  action: ControlAction,
): { type: 'ControlLimitReached'; message: string } | null {
  if (action === 'cancel') return null;
  const { control } = job.state;
  const accepted =
    control.actions.filter((a) => a.action === 'pause' || a.action === 'resume').length +
    (control.droppedActions ?? 0);
  const max = job.limits.maxRunControlActions;
  if (accepted < max) return null;
  return {
    type: 'ControlLimitReached',
    message:
      `Job "${job.jobId}" has had ${accepted} pause/resume actions in this run, the limit ` +
      `(STEPWISE_MAX_RUN_CONTROL_ACTIONS=${max}, which keeps its history within Temporal's limit); ` +
      'it can still be cancelled',
  };
}
