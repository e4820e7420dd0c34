/**
 * What the engine passes to every activity and what it reads back from every step result. The
 * pipelines' own argument and result types live next to their job types (`workflows/jobs/`).
 */
import type { JobLogLine, JobSummaryStats, Json } from '../contracts';

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
  /** The step's last progress message (an activity's final report rides here, not in a signal). */
  message?: string;
}

/** A step's result as the job keeps it: the activity's answer without its `stats`, `logs` and `message`. */
export type StepResultOf<R> = R extends object ? Omit<R, keyof StepResultExtras> : R;

/** A batch step's default chunk argument: the chunk's items and the offset of the first one. */
export interface BatchChunkArgs {
  items: Json[];
  offset: number;
}

/** The shape of every activity a step can run: the caller's job reference, then one argument. */
export type StepActivityFn = (job: ActivityJobRef, args: never) => Promise<unknown>;

/** How the engine calls a step's activity: by name, with the argument the step computed. */
export type StepActivityCall = (job: ActivityJobRef, args: unknown) => Promise<unknown>;

/** Activities the engine itself calls, whatever the job type. */
export interface EngineActivities {
  /**
   * Asks Temporal to cancel the calling job's own run. The server refuses a workflow's request to
   * cancel itself, so the cancel signal and update go through this, and the job then closes as
   * Canceled exactly as after a cancellation from the Web UI.
   */
  requestCancellation(job: ActivityJobRef, args: { runId: string }): Promise<void>;
}
