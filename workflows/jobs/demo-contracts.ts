/** The simulated activities behind the demo job types, the tests and the benchmarks. */
import { z } from 'zod';
import type { ActivityJobRef, BatchChunkArgs, StepResultExtras } from '../engine/step-io';

/**
 * A simulated step must fit its attempt's timeout (the engine's default: 10 minutes), or every
 * attempt would time out: an input asking for more is refused at start.
 */
export const MAX_SIMULATED_MS = 9 * 60_000;
export const simulatedDuration = z
  .number()
  .int()
  .min(0)
  .max(MAX_SIMULATED_MS, `must fit the step's 10-minute timeout: at most ${MAX_SIMULATED_MS} ms`);

/** A simulated cleanup must fit the cleanup activity's timeout (60 s by default). */
export const MAX_SIMULATED_CLEANUP_MS = 50_000;
export const simulatedCleanup = z
  .number()
  .int()
  .min(0)
  .max(
    MAX_SIMULATED_CLEANUP_MS,
    `must fit the cleanup's 60-second timeout: at most ${MAX_SIMULATED_CLEANUP_MS} ms`,
  );

export type SimulateWorkArgs = {
  /** Total simulated duration. */
  durationMs?: number;
  /** Items processed; progress is reported per item. */
  items?: number;
  /** Fail attempts 1..failAttempts, then succeed. */
  failAttempts?: number;
  /** Fail every attempt with a non-retryable error. */
  failPermanently?: boolean;
  /** The message of that error (default: "<label> failed permanently (simulated)"). */
  failMessage?: string;
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
