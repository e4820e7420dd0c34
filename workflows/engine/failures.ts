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
