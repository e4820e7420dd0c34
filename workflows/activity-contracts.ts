/**
 * The activity interface workflows call through `proxyActivities`. Activities in `activities/`
 * implement it; workflows depend on this file only, never on the implementations.
 */
import type { Json, JobLogLine, JobSummaryStats } from './contracts';
import type * as P from './pipeline-contracts';

/** Who is calling: every activity receives it so its logs and progress reports carry job context. */
export interface ActivityJobRef {
  jobId: string;
  jobType: string;
  parentJobId: string | null;
  stepKey: string;
  stepIndex: number;
  attempt: number;
  /** False for batch chunks: their coordinator reports the step's progress. */
  reportProgress: boolean;
}

/**
 * Optional fields a step result may carry; the engine folds them into the job's summary
 * and log ring and keeps the rest as the step's result.
 */
export interface StepResultExtras {
  stats?: Partial<JobSummaryStats>;
  logs?: Omit<JobLogLine, 'at' | 'step'>[];
}

export interface SimulateWorkArgs {
  /** Total simulated duration. */
  durationMs?: number;
  /** Items processed; progress is reported per item. */
  items?: number;
  /** Fail attempts 1..failAttempts, then succeed. */
  failAttempts?: number;
  /** Fail every attempt with a non-retryable error. */
  failPermanently?: boolean;
  /** Label echoed into the result. */
  label?: string;
}

export interface SimulateWorkResult extends StepResultExtras {
  label: string | null;
  items: number;
  attempt: number;
}

/** A batch step's per-chunk activity input. */
export interface BatchChunkArgs {
  items: Json[];
  offset: number;
}

export interface StepActivities {
  /** Simulated work for demos, tests and benchmarks: sleeps, reports progress, fails on demand. */
  simulateWork(job: ActivityJobRef, args: SimulateWorkArgs): Promise<SimulateWorkResult>;
  /** A cheap batch chunk: counts its items. */
  countItems(job: ActivityJobRef, args: BatchChunkArgs): Promise<{ count: number } & StepResultExtras>;
  /**
   * Engine internal: asks Temporal to cancel the calling job's own run. The server refuses a
   * workflow's request to cancel itself, so the cancel signal and update go through this, and
   * the job then closes as Canceled exactly as after a cancellation from the Web UI.
   */
  requestCancellation(job: ActivityJobRef, args: { runId: string }): Promise<void>;

  // dataImport (see pipeline-contracts.ts)
  /** Checks the source folder is inside the import root and validates every CSV / JSON Lines row. */
  importValidate(job: ActivityJobRef, args: P.ImportValidateArgs): Promise<P.ImportValidateResult>;
  /** Normalises the valid rows of a batch of files into one JSON Lines file in the scratch folder. */
  importNormalize(job: ActivityJobRef, args: P.ImportNormalizeArgs): Promise<P.ImportNormalizeResult>;
  /** Upserts the normalised rows into the SQLite full-text index; idempotent by row key. */
  importIndex(job: ActivityJobRef, args: P.ImportIndexArgs): Promise<P.ImportIndexResult>;
  /** Removes a job's scratch folder (also on cancel); succeeds when there is nothing to remove. */
  cleanupWorkDir(job: ActivityJobRef, args: P.CleanupWorkDirArgs): Promise<P.CleanupWorkDirResult>;

  // datasetBuild
  datasetDownload(job: ActivityJobRef, args: P.DatasetDownloadArgs): Promise<P.DatasetDownloadResult>;
  datasetValidate(job: ActivityJobRef, args: P.DatasetValidateArgs): Promise<P.DatasetValidateResult>;
  datasetDedupe(job: ActivityJobRef, args: P.DatasetDedupeArgs): Promise<P.DatasetDedupeResult>;
  datasetMetadata(job: ActivityJobRef, args: P.DatasetMetadataArgs): Promise<P.DatasetMetadataResult>;
  datasetLabel(job: ActivityJobRef, args: P.DatasetLabelArgs): Promise<P.DatasetLabelResult>;
  datasetStore(job: ActivityJobRef, args: P.DatasetStoreArgs): Promise<P.DatasetStoreResult>;
}

export type ActivityName = keyof StepActivities;
