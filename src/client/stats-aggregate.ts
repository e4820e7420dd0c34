/**
 * The figures of `GET /api/stats` from what was read: pure functions over runs (as the visibility
 * store lists them) and the final states of the closed ones. No Temporal here, so every figure is
 * unit-tested on its own (`test/unit/stats-aggregate.test.ts`).
 */
import type { JobState, JobStatus } from '../../workflows/contracts';
import { CLOSED_STATUSES, type StatsBucket, type StepStats, type TypeStats } from '../api/contracts';

/** A run as the visibility store lists it. */
export interface StatsRun {
  jobId: string;
  runId: string;
  type: string;
  /** The Stepwise status (a run closed outside Stepwise reads as failed or cancelled). */
  status: JobStatus;
  startedMs: number;
  closedMs: number | null;
}

/** How many of the top steps `slowestSteps` and `mostFailingSteps` list. */
export const TOP_STEPS = 10;

/**
 * The `p`-th percentile of `values` by nearest rank: the smallest value with at least `p` % of
 * the values at or below it (so always one of the values, never an interpolation); null when empty.
 */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1];
}

/** `a / b`, or null when `b` is 0. */
export const ratio = (a: number, b: number): number | null => (b === 0 ? null : a / b);

/** Milliseconds `from` + k·`intervalMs` up to `to` (exclusive): the buckets' starts. */
export function bucketStarts(fromMs: number, toMs: number, intervalMs: number): number[] {
  const starts: number[] = [];
  for (let t = fromMs; t < toMs; t += intervalMs) starts.push(t);
  return starts;
}

/** The bucket a time falls in (`[start, start + interval)`), or -1 outside `[from, to)`. */
export function bucketOf(ms: number, fromMs: number, toMs: number, intervalMs: number): number {
  if (ms < fromMs || ms >= toMs) return -1;
  return Math.floor((ms - fromMs) / intervalMs);
}

const isClosedStatus = (s: JobStatus): s is (typeof CLOSED_STATUSES)[number] =>
  (CLOSED_STATUSES as readonly string[]).includes(s);

/** Started and closed runs per interval, closes by status. */
export function series(
  runs: readonly StatsRun[],
  fromMs: number,
  toMs: number,
  intervalMs: number,
): StatsBucket[] {
  const buckets = bucketStarts(fromMs, toMs, intervalMs).map((start): StatsBucket => ({
    start: new Date(start).toISOString(),
    started: 0,
    closed: { completed: 0, completed_with_errors: 0, failed: 0, cancelled: 0 },
  }));
  for (const r of runs) {
    const s = bucketOf(r.startedMs, fromMs, toMs, intervalMs);
    if (s >= 0) buckets[s].started++;
    if (r.closedMs !== null && isClosedStatus(r.status)) {
      const c = bucketOf(r.closedMs, fromMs, toMs, intervalMs);
      if (c >= 0) buckets[c].closed[r.status]++;
    }
  }
  return buckets;
}

/** What a run's state says about its steps: those that ran in this run (not carried over). */
function ranSteps(state: JobState): JobState['steps'] {
  return state.steps.filter((s) => s.attempt > 0 && s.carriedFrom === null);
}

const succeeded = (s: JobStatus): boolean => s === 'completed' || s === 'completed_with_errors';

/**
 * Per type: counts and run durations from the visibility records of every run in `[from, to)`;
 * retries and recoveries from the states read (keyed by run id), which are of closed runs.
 */
export function typeStats(
  runs: readonly StatsRun[],
  states: ReadonlyMap<string, JobState>,
  fromMs: number,
  toMs: number,
): TypeStats[] {
  const inRange = (ms: number | null): boolean => ms !== null && ms >= fromMs && ms < toMs;
  const byType = new Map<string, StatsRun[]>();
  for (const r of runs) byType.set(r.type, [...(byType.get(r.type) ?? []), r]);
  return [...byType.keys()].sort().map((type): TypeStats => {
    const all = byType.get(type)!;
    const closed = all.filter((r) => inRange(r.closedMs));
    const count = (f: (s: JobStatus) => boolean): number => closed.filter((r) => f(r.status)).length;
    const failed = count((s) => s === 'failed');
    const read = closed.map((r) => states.get(r.runId)).filter((s): s is JobState => s !== undefined);
    let attempts = 0;
    let retries = 0;
    for (const st of read) {
      for (const step of ranSteps(st)) {
        attempts += step.attempt;
        retries += step.attempt - 1;
      }
    }
    const recoveries = read.filter((s) => s.recovery.attempt > 0);
    const recovered = recoveries.filter((s) => succeeded(s.status)).length;
    const durations = closed.map((r) => r.closedMs! - r.startedMs);
    return {
      type,
      started: all.filter((r) => inRange(r.startedMs)).length,
      closed: closed.length,
      completed: count(succeeded),
      failed,
      cancelled: count((s) => s === 'cancelled'),
      failureRate: ratio(failed, closed.length),
      durationP50Ms: percentile(durations, 50),
      durationP95Ms: percentile(durations, 95),
      statesRead: read.length,
      stepAttempts: attempts,
      retries,
      retryRate: ratio(retries, attempts),
      recoveryRuns: recoveries.length,
      recoverySucceeded: recovered,
      recoverySuccessRate: ratio(recovered, recoveries.length),
    };
  });
}

/** Per type and step, from the states read: runs, failures, attempts and retries, completed durations. */
export function stepStats(states: Iterable<JobState>): StepStats[] {
  interface Acc {
    type: string;
    step: string;
    index: number;
    name: string;
    runs: number;
    failures: number;
    attempts: number;
    durations: number[];
  }
  const acc = new Map<string, Acc>();
  for (const st of states) {
    for (const s of ranSteps(st)) {
      const key = JSON.stringify([st.type, s.key]);
      const a = acc.get(key) ?? {
        type: st.type,
        step: s.key,
        index: s.index,
        name: s.name,
        runs: 0,
        failures: 0,
        attempts: 0,
        durations: [],
      };
      a.runs++;
      a.attempts += s.attempt;
      if (s.status === 'failed') a.failures++;
      if (s.status === 'completed' && s.durationMs !== null) a.durations.push(s.durationMs);
      acc.set(key, a);
    }
  }
  return [...acc.values()]
    .sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : a.index - b.index))
    .map((a): StepStats => ({
      type: a.type,
      step: a.step,
      index: a.index,
      name: a.name,
      runs: a.runs,
      failures: a.failures,
      failureRate: ratio(a.failures, a.runs),
      attempts: a.attempts,
      retries: a.attempts - a.runs,
      retryRate: ratio(a.attempts - a.runs, a.attempts),
      durationP50Ms: percentile(a.durations, 50),
      durationP95Ms: percentile(a.durations, 95),
    }));
}

const byName = (a: StepStats, b: StepStats): number => a.type.localeCompare(b.type) || a.index - b.index;

/** The {@link TOP_STEPS} steps with the highest p95 duration (steps that never completed left out). */
export function slowestSteps(steps: readonly StepStats[]): StepStats[] {
  return steps
    .filter((s) => s.durationP95Ms !== null)
    .sort((a, b) => b.durationP95Ms! - a.durationP95Ms! || byName(a, b))
    .slice(0, TOP_STEPS);
}

/** The {@link TOP_STEPS} steps with the most failures, then the highest failure rate (steps that never failed left out). */
export function mostFailingSteps(steps: readonly StepStats[]): StepStats[] {
  return steps
    .filter((s) => s.failures > 0)
    .sort((a, b) => b.failures - a.failures || (b.failureRate ?? 0) - (a.failureRate ?? 0) || byName(a, b))
    .slice(0, TOP_STEPS);
}

/** An interval (`<n>m`, `<n>h` or `<n>d`, n from 1) in milliseconds, or null when the text is not one. */
export function parseInterval(text: string): number | null {
  const m = /^([1-9]\d{0,4})([mhd])$/.exec(text);
  if (!m) return null;
  return Number(m[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'm' | 'h' | 'd'];
}

/** The intervals a default is chosen from, shortest first. */
const DEFAULT_INTERVALS = ['1m', '5m', '15m', '1h', '6h', '1d'] as const;

/** The shortest of 1m, 5m, 15m, 1h, 6h, 1d that cuts the span into at most 60 buckets. */
export function defaultInterval(spanMs: number): string {
  return DEFAULT_INTERVALS.find((i) => spanMs / parseInterval(i)! <= 60) ?? '1d';
}
