/**
 * Child jobs, for the job's `job` and `batch` steps and for the batch coordinator's chunks alike:
 * their ids, how they are started, and forwarding an operator's pause or resume to them.
 */
import * as wf from '@temporalio/workflow';
import type { ControlPayload, pauseSignal } from '../contracts';
import { initialJobAttributes } from '../search-attributes';

/**
 * `<jobId>/<step>`, then `-r<n>` in the n-th recovery run, `/<chunk>` for a batch chunk, and
 * `-a<k>` for the k-th attempt: stable, so a child is found (and not started twice) by its id.
 */
export function childJobId(c: {
  jobId: string;
  stepKey: string;
  recoveryAttempt: number;
  attempt: number;
  chunk?: number;
}): string {
  const base = `${c.jobId}/${c.stepKey}${c.recoveryAttempt > 0 ? `-r${c.recoveryAttempt}` : ''}`;
  const id = c.chunk === undefined ? base : `${base}/${c.chunk}`;
  return c.attempt > 1 ? `${id}-a${c.attempt}` : id;
}

export interface ChildStart {
  workflowType: string;
  workflowId: string;
  arg: unknown;
  /** The job the child belongs to (its `JobParentId`). */
  parentJobId: string;
  workflowExecutionTimeoutMs?: number;
  retry?: wf.RetryPolicy;
  staticSummary?: string;
}

/**
 * Starts a child that is cancelled with its parent and waited for when cancelled
 * (`WAIT_CANCELLATION_COMPLETED`), on the parent's task queue, tagged with its job type and parent.
 */
export function startChildJob(c: ChildStart): Promise<wf.ChildWorkflowHandle<wf.Workflow>> {
  return wf.startChild(c.workflowType, {
    workflowId: c.workflowId,
    args: [c.arg],
    cancellationType: wf.ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
    parentClosePolicy: 'REQUEST_CANCEL',
    ...(c.retry ? { retry: c.retry } : {}),
    ...(c.workflowExecutionTimeoutMs !== undefined
      ? { workflowExecutionTimeout: c.workflowExecutionTimeoutMs }
      : {}),
    typedSearchAttributes: initialJobAttributes(c.workflowType, c.parentJobId),
    ...(c.staticSummary ? { staticSummary: c.staticSummary } : {}),
  });
}

/** Sends pause or resume to running children; one that already closed needs none. */
export function forwardControl(
  signal: typeof pauseSignal,
  ids: Iterable<string>,
  payload?: ControlPayload,
): void {
  for (const id of ids) {
    wf.getExternalWorkflowHandle(id)
      .signal(signal, payload)
      .catch(() => undefined);
  }
}
