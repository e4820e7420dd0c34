/** The one interface every step kind's executor implements. */
import type { Json, StepKind } from '../../contracts';
import type { NormalizedStep, StepContext } from '../definition';
import type { Job } from '../job';

/** The normalized step of one kind. */
export type StepOfKind<K extends StepKind> = Extract<NormalizedStep<unknown>, { kind: K }>;

/** One attempt of one step. */
export interface StepAttempt<K extends StepKind> {
  job: Job;
  step: StepOfKind<K>;
  ctx: StepContext<unknown>;
  /** From 1. */
  attempt: number;
}

/**
 * Runs one attempt and resolves with the step's raw result (its `stats` and `logs` still in it),
 * or throws: the scheduler decides about retries, failure and cancellation.
 */
export type StepExecutor<K extends StepKind> = (a: StepAttempt<K>) => Promise<Json>;
