/** How failures read in the job state: the innermost cause, and zod issues as one line. */
import * as wf from '@temporalio/workflow';
import type { StepError } from '../contracts';

/** The innermost failure message and type: activity and child failures wrap the real cause. */
export function toStepError(err: unknown): StepError {
  let cur: unknown = err;
  let best: StepError = { message: String(err), type: null, nonRetryable: false };
  while (cur instanceof Error) {
    if (cur instanceof wf.ApplicationFailure) {
      best = { message: cur.message, type: cur.type ?? null, nonRetryable: cur.nonRetryable ?? false };
    } else if (cur instanceof wf.TimeoutFailure) {
      best = { message: `timed out (${cur.timeoutType})`, type: 'Timeout', nonRetryable: false };
    } else if (cur instanceof wf.CancelledFailure) {
      // A sub-job or activity cancelled from outside while this job was not cancelling.
      best = { message: `cancelled: ${cur.message}`, type: 'Cancelled', nonRetryable: true };
    } else if (!(cur instanceof wf.ActivityFailure) && !(cur instanceof wf.ChildWorkflowFailure)) {
      best = { message: cur.message, type: cur.name, nonRetryable: false };
    }
    cur = (cur as { cause?: unknown }).cause;
  }
  return best;
}

/** Zod issues as `path: message; …` (`(root)` for the value itself). */
export function formatIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  return issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`).join('; ');
}

/**
 * Runs recorded before this patch retried an attempt whose step function threw, like any error
 * (and a throwing `when` failed the workflow task over and over); after it, the step fails at once.
 */
export const STEP_FUNCTION_ERROR_PATCH = 'step-function-error-non-retryable';

/** The pure functions of a step definition, as named in errors. */
export type StepFunctionName =
  | 'when'
  | 'args'
  | 'input'
  | 'items'
  | 'chunkSize'
  | 'window'
  | 'chunkInput'
  | 'endJob'
  | 'durationMs'
  | 'until'
  | 'role'
  | 'timeoutMs'
  | 'onTimeout'
  | 'onReject';

/**
 * Calls one of a step's pure functions. They are deterministic — the same context gives the same
 * exception (a result the step does not depend on, a bug) — so retrying cannot help: an exception
 * becomes a non-retryable `StepFunctionFailed` naming the step and the function.
 */
export function callStepFunction<T>(
  step: { key: string; name: string },
  fn: StepFunctionName,
  call: () => T,
): T {
  try {
    return call();
  } catch (err) {
    if (!wf.patched(STEP_FUNCTION_ERROR_PATCH)) throw err;
    const cause = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    throw wf.ApplicationFailure.create({
      type: 'StepFunctionFailed',
      message: `the ${fn} function of step "${step.key}" (${step.name}) threw ${cause}; a bug in the job type's definition is not retried`,
      nonRetryable: true,
    });
  }
}
