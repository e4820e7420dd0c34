/** Pure progress math, shared by the engine and unit-tested directly. */
import type { JobSummaryStats, StepState } from '../contracts';

/**
 * Progress reports per step attempt that an activity or sub-job may send to its job. Each report
 * is a signal (about four history events with its workflow task), so this bounds the history cost
 * of progress at roughly 100 events per step, whatever the item count.
 */
export const PROGRESS_REPORT_BUDGET = 20;

/**
 * Weighted progress of a job from its steps, 0–99 while it runs: 100 is reserved for completion.
 * Completed and skipped steps count in full; a running, retrying, failed or cancelled step counts
 * with the progress it reached (a failed step does not jump to the end of its range).
 */
export function weightedProgress(
  steps: readonly Pick<StepState, 'status' | 'progress' | 'weight'>[],
): number {
  const total = steps.reduce((sum, s) => sum + s.weight, 0);
  if (total <= 0) return 0;
  let done = 0;
  for (const s of steps) {
    const fraction = s.status === 'completed' || s.status === 'skipped' ? 1 : clampPercent(s.progress) / 100;
    done += s.weight * fraction;
  }
  return Math.min(99, Math.floor((done / total) * 100));
}

export function clampPercent(value: number): number {
  if (!Number.isFinite(value)) return 0;
  return Math.max(0, Math.min(100, value));
}

/** Delay before attempt `nextAttempt` (2, 3, …): initial × coefficient^(nextAttempt − 2), capped. */
export function backoffMs(
  nextAttempt: number,
  policy: { initialIntervalMs: number; backoffCoefficient: number; maxIntervalMs: number },
): number {
  const raw = policy.initialIntervalMs * Math.pow(policy.backoffCoefficient, Math.max(0, nextAttempt - 2));
  return Math.min(policy.maxIntervalMs, Math.round(raw));
}

/**
 * Decides whether a progress report is worth its history events: at most `budget` reports per
 * attempt (each at least 100/budget points apart), plus the final 100.
 */
export function shouldReport(lastReported: number | null, next: number, budget: number): boolean {
  const n = Math.floor(clampPercent(next));
  if (lastReported === null) return n > 0;
  if (n <= lastReported) return false;
  return n === 100 || n - lastReported >= Math.ceil(100 / budget);
}

/** Adds `stats` (missing fields count 0) into `sum`, in place. */
export function addStats(sum: JobSummaryStats, stats: Partial<JobSummaryStats> | undefined): void {
  sum.itemsProcessed += stats?.itemsProcessed ?? 0;
  sum.itemsCreated += stats?.itemsCreated ?? 0;
  sum.itemsFailed += stats?.itemsFailed ?? 0;
  sum.totalErrors += stats?.totalErrors ?? 0;
}
