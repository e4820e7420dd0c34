/**
 * The JSON a webhook carries: `{type, timestamp, data}` (the Standard Webhooks payload shape).
 * Built once, when the notifier sees the event; every attempt and replay sends the same bytes.
 */
import type { JobState } from '../../workflows/job-state';
import type { JobStatus } from '../../workflows/contracts';
import type { NotificationEvent } from '../../workflows/notifications/contracts';
import type { RootCause } from '../api/contracts';

/** The largest body sent; past it the root cause is dropped and error messages are cut. */
export const MAX_PAYLOAD_BYTES = 16 * 1024;
const MAX_MESSAGE = 2000;

export interface JobEventData {
  jobId: string;
  runId: string;
  jobType: string;
  status: JobStatus;
  /** The failing step's key (failed / completed_with_errors), else the step the job was on. */
  step: string | null;
  stepName: string | null;
  error: { message: string; type: string | null } | null;
  /** The deepest failing step under the job (through sub-jobs and batch chunks), when known. */
  rootCause: {
    jobId: string;
    jobType: string;
    step: string | null;
    stepName: string | null;
    error: { message: string; type: string | null } | null;
  } | null;
  startedBy: string | null;
  /** `job.held`: the held step's episode (its error is `error`); else null. */
  hold: { since: string; attempts: number; timeoutAt: string | null } | null;
  /** `job.stalled`: since when the step has reported nothing, and its threshold; else null. */
  stall: { since: string; thresholdMs: number } | null;
  /** `job.eta_overrun`: the running time it passed (its learned ETA and margin) and when; else null. */
  etaOverrun: { overrunAfterMs: number; at: string } | null;
  /**
   * `job.awaiting_approval`: the step that waits (`step`), whose role may decide, since and until
   * when, what the approver is asked; else null.
   */
  approval: { role: string; since: string; timeoutAt: string | null; message: string | null } | null;
  links: { dashboard: string; temporalUi: string | null };
}

export interface JobEventPayload {
  type: NotificationEvent;
  timestamp: string;
  data: JobEventData;
}

/** The event a closed job's status fires; null for a status that fires none. */
export function eventForStatus(status: string): NotificationEvent | null {
  switch (status) {
    case 'failed':
      return 'job.failed';
    case 'completed_with_errors':
      return 'job.completed_with_errors';
    case 'cancelled':
      return 'job.cancelled';
    case 'completed':
      return 'job.completed';
    default:
      return null;
  }
}

export interface PayloadLinks {
  dashboardUrl: string;
  temporalUiUrl: string | null;
  namespace: string;
}

const cut = (s: string, n = MAX_MESSAGE): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
const err = (e: { message: string; type: string | null } | null | undefined, n?: number) =>
  e ? { message: cut(e.message, n), type: e.type } : null;

/**
 * The event's data from the run's state (final, for a closed job) and, for failures, its root
 * cause. `event` picks what an open job's event is about: the held step and its error for
 * `job.held`, the stalled step for `job.stalled`, the overrun for `job.eta_overrun`, the step that
 * awaits a decision for `job.awaiting_approval`.
 */
export function jobEventData(
  state: JobState,
  cause: RootCause | null,
  links: PayloadLinks,
  event?: NotificationEvent,
): JobEventData {
  const failing =
    state.status === 'failed' || state.status === 'completed_with_errors'
      ? (state.steps.find((s) => s.status === 'failed') ?? null)
      : null;
  const hold = event === 'job.held' ? state.hold : null;
  const stall = event === 'job.stalled' ? state.stalled : null;
  const overrun = event === 'job.eta_overrun' ? state.etaOverrun : null;
  const waiting =
    event === 'job.awaiting_approval'
      ? state.steps.find((s) => s.status === 'running' && s.approval?.status === 'awaiting')
      : undefined;
  const approval = waiting?.approval ?? null;
  const about = (key: string | undefined) => (key ? state.steps.find((s) => s.key === key) : undefined);
  const current = state.currentStep > 0 ? state.steps[state.currentStep - 1] : undefined;
  const step = about(hold?.step) ?? about(stall?.step) ?? waiting ?? failing ?? current ?? null;
  const rc = cause?.cause ?? null;
  return {
    jobId: state.jobId,
    runId: state.runId,
    jobType: state.type,
    status: state.status,
    step: step?.key ?? null,
    stepName: step?.name ?? null,
    error: err(hold?.error ?? failing?.error ?? state.error),
    rootCause: rc
      ? { jobId: rc.jobId, jobType: rc.type, step: rc.step, stepName: rc.stepName, error: err(rc.error) }
      : null,
    startedBy: state.startedBy ?? null,
    hold: hold ? { since: hold.since, attempts: hold.attempts, timeoutAt: hold.timeoutAt } : null,
    stall: stall ? { since: stall.since, thresholdMs: stall.thresholdMs } : null,
    etaOverrun: overrun ? { overrunAfterMs: overrun.overrunAfterMs, at: overrun.at } : null,
    approval: approval
      ? {
          role: approval.role,
          since: approval.since,
          timeoutAt: approval.timeoutAt,
          message: approval.message === null ? null : cut(approval.message),
        }
      : null,
    links: {
      dashboard: `${links.dashboardUrl}/jobs/${encodeURIComponent(state.jobId)}`,
      temporalUi: links.temporalUiUrl
        ? `${links.temporalUiUrl}/namespaces/${encodeURIComponent(links.namespace)}/workflows/${encodeURIComponent(state.jobId)}/${encodeURIComponent(state.runId)}/history`
        : null,
    },
  };
}

/** The body, within {@link MAX_PAYLOAD_BYTES}: the root cause goes first, then messages are cut. */
export function jobEventBody(type: NotificationEvent, timestamp: string, data: JobEventData): string {
  let body = JSON.stringify({ type, timestamp, data } satisfies JobEventPayload);
  if (Buffer.byteLength(body) <= MAX_PAYLOAD_BYTES) return body;
  const smaller: JobEventData = { ...data, rootCause: null, error: err(data.error, 200) };
  body = JSON.stringify({ type, timestamp, data: smaller });
  if (Buffer.byteLength(body) <= MAX_PAYLOAD_BYTES) return body;
  return JSON.stringify({
    type,
    timestamp,
    data: { ...smaller, error: err(data.error, 20), startedBy: null },
  });
}

/** The body of a `test` event (`POST /api/notifications/subscriptions/:id/test`). */
export function testEventBody(subscriptionId: string, timestamp: string): string {
  return JSON.stringify({
    type: 'test',
    timestamp,
    data: { subscriptionId, message: 'A test event from Stepwise: the subscription reaches its receiver.' },
  });
}
