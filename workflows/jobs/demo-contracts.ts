/** The simulated activities behind the demo job types, the tests and the benchmarks. */
import type { ActivityJobRef, BatchChunkArgs, StepResultExtras } from '../engine/step-io';

export type SimulateWorkArgs = {
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
};

export type SimulateWorkResult = StepResultExtras & {
  label: string | null;
  items: number;
  attempt: number;
};

export type CountItemsResult = StepResultExtras & { count: number };

/** The activities of the demo job types (`example`, `sceneProcessing`, `itemBatch`, `demoPipeline`). */
export interface DemoActivities {
  /** Simulated work for demos, tests and benchmarks: sleeps, reports progress, fails on demand. */
  simulateWork(job: ActivityJobRef, args: SimulateWorkArgs): Promise<SimulateWorkResult>;
  /** A cheap batch chunk: counts its items. */
  countItems(job: ActivityJobRef, args: BatchChunkArgs): Promise<CountItemsResult>;
}
