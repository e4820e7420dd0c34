/**
 * `approval` steps: the job waits for a person's decision. The step runs (progress 0, its message
 * "Awaiting approval by an operator (until …)") and its state's `approval` says whose role and
 * until when; the job reads `awaiting_approval`. The `decideApproval` update (validated in
 * `operator.ts`; the API checks the caller's role first) records the decision, which this executor
 * takes: approved completes the step; rejected or timed out completes it too under `continue`,
 * else fails it (not retryable), and so the job. Pause-aware like a sleep: a paused job takes no
 * decision, and its wait does not time out until it is resumed. History: one timer when the step
 * has a timeout (one more per pause that ends before it), none without.
 */
import * as wf from '@temporalio/workflow';
import type { ApprovalRole, Json } from '../../contracts';
import type { ApprovalResult } from '../builder-options';
import { approvalOptionProblem, type StepContext } from '../definition';
import { callStepFunction, type StepFunctionName } from '../failures';
import { approvalAwaited, approvalDecided, progressReported } from '../transitions';
import type { StepExecutor, StepOfKind } from './types';

/** "an operator" / "an admin", as the card and the step's message say it. */
export const roleWithArticle = (role: ApprovalRole): string => `an ${role}`;

/** A fixed option, or the value its function computes from the context (checked by the caller). */
function option<T>(
  step: StepOfKind<'approval'>,
  name: StepFunctionName,
  v: T | ((ctx: StepContext<unknown>) => T),
  ctx: StepContext<unknown>,
): T {
  return typeof v === 'function'
    ? callStepFunction(step, name, () => (v as (c: StepContext<unknown>) => T)(ctx))
    : v;
}

export const runApprovalStep: StepExecutor<'approval'> = async ({ job, step, ctx, attempt }) => {
  const role = option(step, 'role', step.role, ctx) ?? 'operator';
  const timeoutMs = option(step, 'timeoutMs', step.decisionTimeoutMs, ctx);
  const onTimeout = option(step, 'onTimeout', step.onTimeout, ctx) ?? 'fail';
  const onReject = option(step, 'onReject', step.onReject, ctx) ?? 'fail';
  const problem = approvalOptionProblem({ role, timeoutMs, onTimeout, onReject });
  if (problem) {
    throw wf.ApplicationFailure.create({
      type: 'InvalidApprovalOptions',
      message: problem,
      nonRetryable: true,
    });
  }
  const deadline = typeof timeoutMs === 'number' ? Date.now() + timeoutMs : null;
  const timeoutAt = deadline === null ? null : new Date(deadline).toISOString();
  approvalAwaited(job.state, step.key, {
    role,
    message: step.message ?? null,
    timeoutAt,
    onTimeout,
    onReject,
  });
  const waiting = `Awaiting approval by ${roleWithArticle(role)}${timeoutAt ? ` (until ${timeoutAt})` : ''}`;
  progressReported(job.state, { stepKey: step.key, attempt, progress: 0, message: waiting });
  job.log('info', step.index, `Step "${step.name}": ${waiting}`);
  job.changed();

  const decided = (): boolean => job.approvalDecisions.has(step.key);
  const paused = (): boolean => job.state.control.paused;
  for (;;) {
    if (decided()) break;
    if (paused()) {
      // A paused job takes no decision (the validator refuses it) and does not time out.
      await wf.condition(() => !paused() || decided());
      continue;
    }
    if (deadline === null) {
      await wf.condition(() => decided() || paused());
      continue;
    }
    // The timer decides, never clock arithmetic: whether a branch is taken must follow from the
    // history (a timer fired, a decision came), not from what Date.now() said in a task.
    const left = Math.max(1, deadline - Date.now());
    if (!(await wf.condition(() => decided() || paused(), left))) break;
  }

  const d = job.approvalDecisions.get(step.key);
  job.approvalDecisions.delete(step.key);
  const at = new Date().toISOString();
  const who = d?.by ? ` by ${d.by}` : '';
  const why = d?.comment ? `: ${d.comment}` : '';
  const result = (decision: ApprovalResult['decision'], message: string): Json =>
    ({
      decision,
      by: d?.by ?? null,
      comment: d?.comment ?? null,
      at,
      message,
    }) satisfies ApprovalResult & { message: string };
  if (!d) {
    approvalDecided(job.state, step.key, 'timed_out', null, null);
    const text = `No decision by ${timeoutAt} (timed out after ${timeoutMs} ms)`;
    job.log(onTimeout === 'fail' ? 'error' : 'warn', step.index, `Step "${step.name}": ${text}`);
    if (onTimeout === 'continue') return result('timed_out', `Timed out at ${at}: no decision`);
    throw wf.ApplicationFailure.create({ type: 'ApprovalTimedOut', message: text, nonRetryable: true });
  }
  if (d.decision === 'approve') {
    approvalDecided(job.state, step.key, 'approved', d.by, d.comment);
    job.log('info', step.index, `Step "${step.name}" approved${who}${why}`);
    return result('approved', `Approved${who}`);
  }
  approvalDecided(job.state, step.key, 'rejected', d.by, d.comment);
  job.log(onReject === 'fail' ? 'error' : 'warn', step.index, `Step "${step.name}" rejected${who}${why}`);
  if (onReject === 'continue') return result('rejected', `Rejected${who}`);
  throw wf.ApplicationFailure.create({
    type: 'ApprovalRejected',
    message: `Rejected${who}${why}`,
    nonRetryable: true,
  });
};
