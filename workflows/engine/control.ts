/**
 * Operator control rules, pure: which pause / resume / cancel requests fit a job's state, and the
 * status a job or batch coordinator shows while it pauses or cancels. The signals, the updates'
 * validators and the batch coordinator all decide with these, so the rules live in one place.
 */
import { controlPayloadSchema, type ControlPayload, type JobState, type JobStatus } from '../contracts';
import { formatIssues } from './failures';

export type ControlAction = 'pause' | 'resume' | 'cancel';

/** Why a control request was refused: an error type for the caller and a sentence for people. */
export interface ControlRefusal {
  type:
    | 'InvalidControlPayload'
    | 'JobClosed'
    | 'JobCancelling'
    | 'AlreadyPaused'
    | 'NotPaused'
    | 'NotHeld'
    | 'NotAwaitingApproval'
    | 'ApprovalForbidden'
    | 'JobPaused';
  message: string;
}

/** The part of a job's state the rules look at. */
export type ControlView = Pick<JobState, 'jobId' | 'status' | 'closedAt' | 'cancellation' | 'control'>;

/** Null when `action` with `payload` fits the job's state; otherwise why not. Changes nothing. */
export function checkControl(
  job: ControlView,
  action: ControlAction,
  payload: unknown,
): ControlRefusal | null {
  const parsed = controlPayloadSchema.optional().safeParse(payload);
  if (!parsed.success) {
    return {
      type: 'InvalidControlPayload',
      message: `Invalid payload: ${formatIssues(parsed.error.issues)}`,
    };
  }
  const { jobId, status } = job;
  if (job.closedAt !== null) return { type: 'JobClosed', message: `Job "${jobId}" is closed (${status})` };
  if (job.cancellation)
    return { type: 'JobCancelling', message: `Job "${jobId}" is already being cancelled` };
  if (action === 'pause' && job.control.paused) {
    return { type: 'AlreadyPaused', message: `Job "${jobId}" is already paused (${status})` };
  }
  if (action === 'resume' && !job.control.paused) {
    return { type: 'NotPaused', message: `Job "${jobId}" is not paused (${status})` };
  }
  return null;
}

/**
 * The status of running work under operator control: `cancelling` wins, then `queued` (the job
 * waits for a slot of its concurrency limit; a pause takes effect once it has one), then `held` (a step waits
 * for an operator's decision); a paused job is `pausing`
 * while anything still runs (`busy`: an activity, or a sub-job that has not paused) and `paused`
 * once nothing does; a running job with an approval step waiting is `awaiting_approval`, before
 * `stalled` (an approval step is never stalled; another step of the job may be).
 */
export function deriveStatus(s: {
  cancelling: boolean;
  queued?: boolean;
  held?: boolean;
  stalled?: boolean;
  awaitingApproval?: boolean;
  paused: boolean;
  busy: boolean;
}): JobStatus {
  if (s.cancelling) return 'cancelling';
  if (s.queued) return 'queued';
  if (s.held) return 'held';
  if (!s.paused) return s.awaitingApproval ? 'awaiting_approval' : s.stalled ? 'stalled' : 'running';
  return s.busy ? 'pausing' : 'paused';
}

/** " by alice: reason" for log lines, from whatever the request carried. */
export function describeRequest(p?: ControlPayload): string {
  return `${p?.by ? ` by ${p.by}` : ''}${p?.reason ? `: ${p.reason}` : ''}`;
}
