/**
 * The step-kind map: exactly one executor per kind. A new kind in `StepKind` without an executor
 * here, or an executor for a kind that does not exist, is a compile error.
 */
import type { Json, StepKind } from '../../contracts';
import type { NormalizedStep, StepContext } from '../definition';
import type { Job } from '../job';
import { runActivityStep } from './activity';
import { runApprovalStep } from './approval';
import { runBatchStep } from './batch';
import { runSleepStep } from './sleep';
import { runSubJobStep } from './sub-job';
import type { StepExecutor } from './types';

export const executors: { readonly [K in StepKind]: StepExecutor<K> } = {
  activity: runActivityStep,
  job: runSubJobStep,
  batch: runBatchStep,
  sleep: runSleepStep,
  approval: runApprovalStep,
};

/** Runs one attempt of `step` with its kind's executor. */
export function executeStep(
  job: Job,
  step: NormalizedStep<unknown>,
  ctx: StepContext<unknown>,
  attempt: number,
): Promise<Json> {
  // The map's type pairs each kind with its executor; indexing by a union loses that pairing.
  const run = executors[step.kind] as StepExecutor<StepKind>;
  return run({ job, step, ctx, attempt });
}
