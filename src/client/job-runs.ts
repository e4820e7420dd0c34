/**
 * What a job's run says about itself apart from its queries — the params it started with (the
 * first event of its history) and how Temporal closed it (the last one) — and the state a run
 * closed outside Stepwise really ended in. A run that is terminated or times out in Temporal never
 * writes its final state, so the `jobState` query on it replays to whatever it was doing then
 * (`running`); the API shows it as `failed` (`cancelled` for a native cancel that did not reach the
 * engine), with Temporal's reason.
 */
import type { Client, WorkflowExecutionDescription } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { isTerminal, type JobParams, type JobState, type JobStatus } from '../../workflows/contracts';
import type { JobDefinition } from '../../workflows/engine/definition';
import { initialJobState } from '../../workflows/engine/state';
import {
  JobParentIdKey,
  JobProgressKey,
  JobStartedByKey,
  JobStatusKey,
  JobStepKey,
} from '../../workflows/search-attributes';

const { VersioningBehavior } = temporal.api.enums.v1;

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
type Duration = temporal.api.workflow.v1.IWorkflowExecutionConfig['workflowRunTimeout'];
type StatusName = WorkflowExecutionDescription['status']['name'];

/** Open in Temporal: running (or paused by Temporal itself), so no final state is expected yet. */
export const isOpenStatus = (name: StatusName): boolean => name === 'RUNNING' || name === 'PAUSED';

/** How Temporal closed a run that never recorded its own end. */
export interface RunEnd {
  status: Extract<JobStatus, 'failed' | 'cancelled'>;
  error: JobState['error'];
  message: string;
}

const seconds = (d: Duration): number => Number(d?.seconds ?? 0) + (d?.nanos ?? 0) / 1e9;

/** How Temporal ended a closed run, from its status and (when read) its closing history event. */
export function runEnd(status: StatusName, closeEvent?: HistoryEvent | null, timeouts?: RunTimeouts): RunEnd {
  const failed = (type: string, message: string): RunEnd => ({
    status: 'failed',
    error: { type, message, nonRetryable: true, step: null },
    message,
  });
  switch (status) {
    case 'TERMINATED': {
      const reason = closeEvent?.workflowExecutionTerminatedEventAttributes?.reason?.trim();
      return failed(
        'Terminated',
        reason ? `Terminated in Temporal: ${reason}` : 'Terminated in Temporal (no reason given)',
      );
    }
    case 'TIMED_OUT': {
      const limits = [
        timeouts?.runTimeoutS ? `run timeout ${timeouts.runTimeoutS} s` : null,
        timeouts?.executionTimeoutS ? `execution timeout ${timeouts.executionTimeoutS} s` : null,
      ].filter(Boolean);
      return failed(
        'TimedOut',
        `Timed out in Temporal${limits.length ? ` (workflow ${limits.join(', ')})` : ''} before the job finished`,
      );
    }
    case 'CANCELLED':
      return {
        status: 'cancelled',
        error: null,
        message: 'Cancelled in Temporal before the job recorded its end',
      };
    case 'FAILED': {
      const failure = closeEvent?.workflowExecutionFailedEventAttributes?.failure;
      return failed(
        failure?.applicationFailureInfo?.type || 'WorkflowFailed',
        failure?.message ? `Failed in Temporal: ${failure.message}` : 'Failed in Temporal',
      );
    }
    default:
      return failed(
        'ClosedUnexpectedly',
        `Closed in Temporal (${status.toLowerCase()}) before the job recorded its end`,
      );
  }
}

export interface RunTimeouts {
  runTimeoutS: number;
  executionTimeoutS: number;
}

export function runTimeouts(desc: WorkflowExecutionDescription): RunTimeouts {
  const cfg = desc.raw.executionConfig;
  return {
    runTimeoutS: seconds(cfg?.workflowRunTimeout),
    executionTimeoutS: seconds(cfg?.workflowExecutionTimeout),
  };
}

/**
 * The status a job's latest run has as far as Temporal's description tells: its `JobStatus`
 * attribute, or how Temporal closed it when the attribute still names an open status.
 */
export function describedJobStatus(desc: WorkflowExecutionDescription): JobStatus {
  const status = (desc.typedSearchAttributes.get(JobStatusKey) ?? 'running') as JobStatus;
  if (isOpenStatus(desc.status.name) || isTerminal(status)) return status;
  return runEnd(desc.status.name).status;
}

/**
 * `state` (what the closed run's query replayed to) as the run really ended: the job status, error
 * and message from {@link RunEnd}; steps that were running or retrying end as failed (cancelled)
 * with the same error, steps that had not started as not run; no sub-job is active or running;
 * `closedAt` is Temporal's close time.
 */
export function closedOutsideState(state: JobState, end: RunEnd, closedAt: string | null): JobState {
  const stepError = end.error
    ? { message: end.error.message, type: end.error.type, nonRetryable: true }
    : null;
  const closed = closedAt ?? state.closedAt;
  return {
    ...state,
    status: end.status,
    message: end.message,
    error: end.error,
    activeSubJobs: [],
    runningSubJobs: 0,
    control: { ...state.control, paused: false },
    queue: null,
    closedAt: closed,
    steps: state.steps.map((s) =>
      s.status === 'running' || s.status === 'retrying'
        ? {
            ...s,
            status: end.status,
            error: stepError ?? s.error,
            message: null,
            nextAttemptAt: null,
            completedAt: closed,
            durationMs:
              s.startedAt && closed ? Math.max(0, Date.parse(closed) - Date.parse(s.startedAt)) : null,
            // The attempt that ran when Temporal closed the run ended with it.
            attempts: s.attempts.map((a) =>
              a.outcome === 'running'
                ? {
                    ...a,
                    outcome: end.status,
                    endedAt: closed ?? a.startedAt,
                    error: stepError?.message ?? null,
                  }
                : a,
            ),
          }
        : s.status === 'pending'
          ? { ...s, status: 'not_run' as const }
          : s,
    ),
  };
}

/**
 * The state of a closed run whose query could not be read (its history no longer replays, or no
 * worker answered): the type's steps, all pending — nothing is known to have completed, so a retry
 * starts from step 1 — with progress and step from its search attributes.
 */
export function stateFromDescription(
  desc: WorkflowExecutionDescription,
  def: JobDefinition,
  params: JobParams | undefined,
): JobState {
  const state = initialJobState(def, params ?? { input: null }, {
    workflowId: desc.workflowId,
    runId: desc.runId,
    startedBy: desc.typedSearchAttributes.get(JobStartedByKey) ?? null,
  });
  const step = desc.typedSearchAttributes.get(JobStepKey) ?? 0;
  return {
    ...state,
    progress: Math.min(99, desc.typedSearchAttributes.get(JobProgressKey) ?? 0),
    currentStep: step,
    stepName: step > 0 ? (def.steps[step - 1]?.name ?? null) : null,
    parentJobId: desc.typedSearchAttributes.get(JobParentIdKey) ?? state.parentJobId,
    deployment: describedDeployment(desc),
    startedAt: desc.startTime.toISOString(),
  };
}

/**
 * The worker deployment version Temporal records for the run (with Worker Deployment Versioning),
 * or null: for a run whose query cannot be read, it says which build's workers it waits for.
 */
export function describedDeployment(desc: WorkflowExecutionDescription): JobState['deployment'] {
  const info = desc.raw.workflowExecutionInfo?.versioningInfo;
  const version = info?.deploymentVersion;
  const behavior =
    info?.behavior === VersioningBehavior.VERSIONING_BEHAVIOR_PINNED
      ? 'pinned'
      : info?.behavior === VersioningBehavior.VERSIONING_BEHAVIOR_AUTO_UPGRADE
        ? 'auto_upgrade'
        : null;
  if (!version?.deploymentName || !version.buildId || !behavior) return null;
  return { name: version.deploymentName, buildId: version.buildId, behavior };
}

/** Why a run's workflow cannot run: its workflow task keeps failing (see {@link failingWorkflowTask}). */
export interface WorkflowTaskFailure {
  /** The worker's reason, e.g. "no such function is exported by the workflow bundle". */
  message: string;
  /** The failing workflow task's attempt (2 or more). */
  attempt: number;
}

/** History events read, newest first, when looking for why a workflow task fails. */
const FAILURE_SCAN_EVENTS = 200;

/**
 * Whether the open run `desc` describes is stuck on a workflow task that fails (an unknown workflow
 * type in the worker's bundle, a bundle that does not load, non-deterministic code): Temporal then
 * retries the task forever, and no query, signal or update can be answered. Null when its pending
 * workflow task is on its first attempt, or when the last thing that happened to a workflow task
 * was not a failure (a worker that died mid-task times out instead and is retried by another).
 */
export async function failingWorkflowTask(
  client: Client,
  namespace: string,
  desc: WorkflowExecutionDescription,
): Promise<WorkflowTaskFailure | null> {
  const attempt = desc.raw.pendingWorkflowTask?.attempt ?? 0;
  if (attempt < 2) return null;
  const execution = { workflowId: desc.workflowId, runId: desc.runId };
  let nextPageToken: Uint8Array | undefined;
  for (let read = 0; read < FAILURE_SCAN_EVENTS;) {
    const res = await client.workflowService.getWorkflowExecutionHistoryReverse({
      namespace,
      execution,
      maximumPageSize: 50,
      nextPageToken,
    });
    for (const e of res.history?.events ?? []) {
      read++;
      const failed = e.workflowTaskFailedEventAttributes;
      if (failed) return { message: failed.failure?.message || 'the workflow task failed', attempt };
      if (e.workflowTaskCompletedEventAttributes || e.workflowTaskTimedOutEventAttributes) return null;
    }
    if (!res.nextPageToken?.length) return null;
    nextPageToken = res.nextPageToken;
  }
  return null;
}

/** Why `action` cannot reach a job whose workflow cannot run. */
export const cannotRunMessage = (jobId: string, action: string, reason: string): string =>
  `Job "${jobId}" cannot ${action}: its workflow cannot run (${reason}), so it answers no signal or update; ` +
  `an admin can terminate it (DELETE /api/jobs/${encodeURIComponent(jobId)})`;

/**
 * The state of an open run whose workflow cannot run (see {@link failingWorkflowTask}): it reads
 * as what it is — still open in Temporal, stuck, with the worker's reason — instead of a query
 * that times out. What the run did before it got stuck is not known to the API (its query is
 * what would tell), so the steps read as in {@link stateFromDescription}.
 */
export function unrunnableState(
  desc: WorkflowExecutionDescription,
  def: JobDefinition,
  params: JobParams | undefined,
  failure: WorkflowTaskFailure,
): JobState {
  const message =
    `The job's workflow cannot run: ${failure.message} (workflow task attempt ${failure.attempt}; ` +
    'Temporal retries it until a worker can run it). An admin can terminate it.';
  return {
    ...stateFromDescription(desc, def, params),
    message,
    error: { type: 'WorkflowTaskFailed', message, nonRetryable: false, step: null },
  };
}

/** The run's first and last history events (one small page each). */
export async function runEvents(
  client: Client,
  namespace: string,
  execution: { workflowId: string; runId: string },
  which: 'first' | 'last',
): Promise<HistoryEvent | undefined> {
  const req = { namespace, execution, maximumPageSize: 1 };
  const res =
    which === 'first'
      ? await client.workflowService.getWorkflowExecutionHistory(req)
      : await client.workflowService.getWorkflowExecutionHistoryReverse(req);
  return res.history?.events?.[0] ?? undefined;
}

/** The `JobParams` a run was started with, decoded by the client's data converter. */
export async function runStartParams(
  client: Client,
  namespace: string,
  execution: { workflowId: string; runId: string },
): Promise<JobParams | undefined> {
  const first = await runEvents(client, namespace, execution, 'first');
  const payload = first?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  return payload ? decodePayload<JobParams>(client, payload) : undefined;
}

/**
 * A completed run's result, decoded from its close event (one history read, no worker replay); null
 * when the run did not complete. A job's result is its final state.
 */
export async function runResult<T>(
  client: Client,
  namespace: string,
  execution: { workflowId: string; runId: string },
): Promise<T | null> {
  const last = await runEvents(client, namespace, execution, 'last');
  const payload = last?.workflowExecutionCompletedEventAttributes?.result?.payloads?.[0];
  return payload ? decodePayload<T>(client, payload) : null;
}

type Payload = temporal.api.common.v1.IPayload;

/** One payload through the client's codecs and payload converter. */
async function decodePayload<T>(client: Client, payload: Payload): Promise<T> {
  const { payloadConverter, payloadCodecs } = client.options.loadedDataConverter;
  type Payloads = Parameters<(typeof payloadCodecs)[number]['decode']>[0];
  let payloads = [payload] as Payloads;
  for (const codec of [...payloadCodecs].reverse()) payloads = await codec.decode(payloads);
  return payloadConverter.fromPayload<T>(payloads[0]);
}

/** The job's input as its type's schema parses it, for comparing two inputs; the raw value if it does not parse. */
export function normalizedInput(def: JobDefinition | undefined, input: unknown): unknown {
  const parsed = def?.input.safeParse(input);
  return parsed?.success ? parsed.data : input;
}

/** JSON with object keys sorted, so equal values compare equal as text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

/** The path of the first place where two JSON values differ (`[]`: the values themselves), or null when equal. */
export function firstDifference(
  a: unknown,
  b: unknown,
  path: (string | number)[] = [],
): (string | number)[] | null {
  if (canonicalJson(a) === canonicalJson(b)) return null;
  const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object';
  if (!isObj(a) || !isObj(b) || Array.isArray(a) !== Array.isArray(b)) return path;
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const d = firstDifference(a[i], b[i], [...path, i]);
      if (d) return d;
    }
    return path;
  }
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  for (const k of keys) {
    const d = firstDifference(a[k], b[k], [...path, k]);
    if (d) return d;
  }
  return path;
}
