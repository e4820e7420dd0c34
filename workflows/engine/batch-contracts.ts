/** Shapes exchanged between a job and the batch coordinator that runs one of its batch steps. */
import type { BatchCounts, JobParams, JobSummaryStats, Json } from '../contracts';
import type { NormalizedRetry } from './definition';

/** Workflow type of the coordinator child that runs a batch step's chunks with a window. */
export const BATCH_COORDINATOR_TYPE = 'batchCoordinator';

export interface BatchFailure {
  chunk: number;
  message: string;
}

export interface BatchCoordinatorParams {
  /** The job whose batch step this coordinator runs. */
  parentJobId: string;
  /** That job's own parent job, if it is a sub-job (for the chunk activities' log context). */
  jobParentId?: string | null;
  parentJobType: string;
  stepKey: string;
  attempt: number;
  /**
   * What the step's `items` and `chunkInput` see: the job's parsed input and the results of the
   * steps the batch step depends on. The coordinator computes each chunk's input from these and the
   * step's definition when it starts the chunk, so its arguments do not grow with the item count.
   */
  ctx?: { jobId: string; input: unknown; results: Record<string, Json>; recoveryAttempt: number };
  /** Runs started before `ctx` existed: every chunk's input, computed by the job. */
  chunks?: unknown[];
  /** Items per chunk and in all, for item counts in stats. */
  chunkSize: number;
  itemTotal: number;
  window: number;
  run: { activity: string } | { jobType: string };
  chunkRetry: NormalizedRetry;
  chunkTimeoutMs: number;
  /** Index of the next chunk to start; carried across continue-as-new. */
  cursor: number;
  counts: BatchCounts;
  /** First failures, bounded. */
  failures: BatchFailure[];
  stats: JobSummaryStats;
  /** Last progress reported to the parent, so the report budget spans runs. */
  lastReported?: number | null;
  /** Set in a recovery run, so chunk sub-job ids differ from the earlier run's. */
  recoveryAttempt?: number;
  /** The job's budgets, passed on to chunk sub-jobs. */
  limits?: JobParams['limits'];
  /** Paused by the job (carried across continue-as-new). */
  paused?: boolean;
}

export interface BatchOutcome {
  counts: BatchCounts;
  failures: BatchFailure[];
  stats: JobSummaryStats;
}
