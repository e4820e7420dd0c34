/**
 * Recovery planning: which step a new run of a failed, cancelled or partly failed job starts
 * from, and which completed steps' results it carries over. Pure, so the API decides and the
 * unit tests check it without a server; the workflow enforces the limit again when it starts.
 */
import type { JobState, RecoveryParams } from '../contracts';
import type { JobDefinition } from './definition';

export const RECOVERABLE_STATUSES = ['failed', 'cancelled', 'completed_with_errors'] as const;

export type RecoveryPlan =
  | { ok: true; params: RecoveryParams }
  /** `invalid`: the request itself is wrong (HTTP 400); `conflict`: it does not fit the job (409). */
  | { ok: false; kind: 'invalid' | 'conflict'; message: string };

/** True while a job may still be recovered: the search attribute `JobRecoverable`. */
export function isRecoverable(state: Pick<JobState, 'status' | 'recovery'>): boolean {
  return (
    (RECOVERABLE_STATUSES as readonly string[]).includes(state.status) &&
    state.recovery.attempt < state.recovery.max
  );
}

/**
 * Plans a recovery of the closed run `state`.
 * - Failed or cancelled, no `fromStep`: from the first step that neither completed nor was skipped.
 * - `completed_with_errors`, no `fromStep`: only the failed steps (and the steps they skipped) run again.
 * - With `fromStep` N: steps before N that completed are carried; every step before N must have
 *   completed or been skipped, otherwise the request is refused.
 */
export function planRecovery(def: JobDefinition, state: JobState, fromStep?: number): RecoveryPlan {
  const refuse = (kind: 'invalid' | 'conflict', message: string): RecoveryPlan => ({
    ok: false,
    kind,
    message,
  });
  if (!(RECOVERABLE_STATUSES as readonly string[]).includes(state.status)) {
    return refuse(
      'conflict',
      `Job "${state.jobId}" is ${state.status}; only failed, cancelled or completed_with_errors jobs can be retried`,
    );
  }
  if (state.recovery.attempt >= def.recoveryLimit) {
    return refuse(
      'conflict',
      `Recovery limit reached: job "${state.jobId}" has used ${state.recovery.attempt} of ${def.recoveryLimit} recoveries`,
    );
  }
  const steps = [...state.steps].sort((a, b) => a.index - b.index);
  const total = steps.length;
  if (fromStep !== undefined && (!Number.isInteger(fromStep) || fromStep < 1 || fromStep > total)) {
    return refuse('invalid', `fromStep must be an integer between 1 and ${total}`);
  }
  let start: number;
  let carry: (index: number) => boolean;
  if (fromStep === undefined && state.status === 'completed_with_errors') {
    const firstFailed = steps.find((s) => s.status === 'failed');
    if (!firstFailed) return refuse('conflict', `Job "${state.jobId}" has no failed step to run again`);
    start = firstFailed.index;
    carry = () => true; // every completed step, before or after the failed ones
  } else {
    const firstOpen = steps.find((s) => s.status !== 'completed' && s.status !== 'skipped');
    if (fromStep === undefined && !firstOpen) {
      return refuse('conflict', `Every step of job "${state.jobId}" completed; there is nothing to recover`);
    }
    start = fromStep ?? firstOpen!.index;
    if (firstOpen && firstOpen.index < start) {
      return refuse(
        'conflict',
        `Step ${firstOpen.index} "${firstOpen.name}" did not complete (${firstOpen.status}); retry from step ${firstOpen.index} or earlier`,
      );
    }
    carry = (index) => index < start;
  }
  const carried: RecoveryParams['carried'] = {};
  for (const s of steps) {
    if (s.status === 'completed' && carry(s.index)) carried[s.key] = { result: s.result, stats: s.stats };
  }
  return {
    ok: true,
    params: { attempt: state.recovery.attempt + 1, fromStep: start, previousRunId: state.runId, carried },
  };
}
