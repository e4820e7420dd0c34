/**
 * Job metrics from inside the workflow, through the SDK's workflow metric meter: the worker's
 * Runtime exports them with its own (Prometheus, STEPWISE_WORKER_METRICS_ADDRESS), tagged with
 * `namespace`, `taskQueue` and `workflowType` (the SDK's own series carry the `temporal_` prefix;
 * these do not). Counters get the `_total` suffix. Recording a metric is not a command and the SDK drops metrics while a workflow
 * replays, so none of this changes a job's history or its determinism.
 *
 * The series are derived from state changes the job already makes (Job.changed / Job.finish):
 * - `stepwise_jobs_started` {job_type} — a run began (a recovery is a new run);
 * - `stepwise_jobs_closed` {job_type, status} — it closed (completed, completed_with_errors, failed, cancelled);
 * - `stepwise_job_duration_seconds` {job_type, status} — the closed run's time from start to close;
 * - `stepwise_job_recoveries` {job_type, outcome} — a recovery run (a retry from a step) closed, the
 *   outcome being its final status;
 * - `stepwise_job_cancel_requests` {job_type} — it began cancelling;
 * - `stepwise_job_stalls` {job_type, step} — it became `stalled` (a running step reported nothing
 *   for its stall threshold);
 * - `stepwise_step_retries` {job_type, step} — attempts after a step's first;
 * - `stepwise_step_duration_seconds` {job_type, step, status} — a step finished (completed or failed).
 *
 * Durations are in seconds (the Prometheus base unit, like the SDK's own with
 * `useSecondsForDurations`); their buckets are in workflows/engine/metric-buckets.ts.
 */
import * as wf from '@temporalio/workflow';
import type { JobState, JobStatus } from '../contracts';

const CLOSED: ReadonlySet<JobStatus> = new Set(['completed', 'completed_with_errors', 'failed', 'cancelled']);

export class JobMetrics {
  private readonly started = wf.metricMeter.createCounter(
    'stepwise_jobs_started',
    'jobs',
    'Job runs started',
  );
  private readonly closed = wf.metricMeter.createCounter(
    'stepwise_jobs_closed',
    'jobs',
    'Job runs closed, by final status',
  );
  private readonly cancels = wf.metricMeter.createCounter(
    'stepwise_job_cancel_requests',
    'jobs',
    'Job runs that began cancelling',
  );
  private readonly retries = wf.metricMeter.createCounter(
    'stepwise_step_retries',
    'attempts',
    'Step attempts after the first',
  );
  private readonly stalls = wf.metricMeter.createCounter(
    'stepwise_job_stalls',
    'jobs',
    'Job runs that became stalled (a running step reported no progress for its stall threshold), by step',
  );
  private readonly recoveries = wf.metricMeter.createCounter(
    'stepwise_job_recoveries',
    'runs',
    'Recovery runs (retries from a step) closed, by outcome (the final status)',
  );
  private readonly jobDuration = wf.metricMeter.createHistogram(
    'stepwise_job_duration_seconds',
    'float',
    's',
    'Duration of closed job runs, from the run start to its close, by final status',
  );
  private readonly duration = wf.metricMeter.createHistogram(
    'stepwise_step_duration_seconds',
    'float',
    's',
    'Duration of finished steps (all attempts), by final step status',
  );
  private status: JobStatus | null = null;
  private readonly steps = new Map<string, { status: string; attempt: number }>();

  constructor(private readonly jobType: string) {}

  /** Compares the state with the last one seen and records what changed. */
  observe(st: JobState): void {
    const job_type = this.jobType;
    if (this.status === null) this.started.add(1, { job_type });
    if (st.status !== this.status) {
      if (st.status === 'cancelling') this.cancels.add(1, { job_type });
      if (st.status === 'stalled' && st.stalled) this.stalls.add(1, { job_type, step: st.stalled.step });
      if (CLOSED.has(st.status)) {
        this.closed.add(1, { job_type, status: st.status });
        const seconds = secondsBetween(st.startedAt, st.closedAt);
        if (seconds !== null) this.jobDuration.record(seconds, { job_type, status: st.status });
        if (st.recovery.attempt > 0) this.recoveries.add(1, { job_type, outcome: st.status });
      }
      this.status = st.status;
    }
    for (const s of st.steps) {
      // Carried over from an earlier run by a recovery: measured there.
      if (s.carriedFrom !== null) continue;
      const before = this.steps.get(s.key) ?? { status: 'pending', attempt: Math.min(s.attempt, 1) };
      if (s.attempt > Math.max(before.attempt, 1)) {
        this.retries.add(s.attempt - Math.max(before.attempt, 1), { job_type, step: s.key });
      }
      if (
        s.status !== before.status &&
        (s.status === 'completed' || s.status === 'failed') &&
        s.durationMs !== null
      ) {
        this.duration.record(s.durationMs / 1000, { job_type, step: s.key, status: s.status });
      }
      this.steps.set(s.key, { status: s.status, attempt: s.attempt });
    }
  }
}

/** Seconds from `from` to `to` (ISO times), or null when either is missing or unreadable. */
function secondsBetween(from: string | null, to: string | null): number | null {
  if (!from || !to) return null;
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isFinite(ms) && ms >= 0 ? ms / 1000 : null;
}
