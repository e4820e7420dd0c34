/**
 * `batch` steps: the chunks run in a batch coordinator child workflow (`../batch.ts`), which keeps
 * `window` in flight and continues as new before its history grows large.
 */
import * as wf from '@temporalio/workflow';
import { BATCH_COORDINATOR_TYPE, type BatchCoordinatorParams, type BatchOutcome } from '../batch-contracts';
import type { Json } from '../../contracts';
import type { StepContext } from '../definition';
import { callStepFunction } from '../failures';
import type { Job } from '../job';
import { addStats } from '../progress';
import { startStepChild, stepChildId } from './child-step';
import type { StepExecutor } from './types';

/** Results of the steps `key` depends on, directly or through others: all its functions may read. */
function dependencyResults(job: Job, key: string): Record<string, Json> {
  const byKey = new Map(job.def.steps.map((s) => [s.key, s]));
  const seen = new Set<string>();
  const visit = (k: string): void => {
    for (const d of byKey.get(k)?.dependsOn ?? []) {
      if (!seen.has(d)) {
        seen.add(d);
        visit(d);
      }
    }
  };
  visit(key);
  return Object.fromEntries([...seen].filter((k) => k in job.results).map((k) => [k, job.results[k]]));
}

export const runBatchStep: StepExecutor<'batch'> = async ({ job, step, ctx, attempt }) => {
  const items = callStepFunction(step, 'items', () => step.items(ctx));
  const resolve = (
    name: 'chunkSize' | 'window',
    v: number | ((c: StepContext<unknown>) => number) | undefined,
    dflt: number,
  ): number =>
    Math.max(
      1,
      Math.floor(typeof v === 'function' ? callStepFunction(step, name, () => v(ctx)) : (v ?? dflt)),
    );
  const chunkSize = resolve('chunkSize', step.chunkSize, 1);
  // The coordinator computes each chunk's input itself (see BatchCoordinatorParams.ctx).
  const total = Math.ceil(items.length / chunkSize);
  job.stepState(step.key).batch = { total, completed: 0, failed: 0, running: 0 };
  const params: BatchCoordinatorParams = {
    parentJobId: job.jobId,
    jobParentId: job.state.parentJobId,
    parentJobType: job.def.name,
    stepKey: step.key,
    attempt,
    ctx: {
      jobId: ctx.jobId,
      input: ctx.input,
      results: dependencyResults(job, step.key),
      recoveryAttempt: ctx.recoveryAttempt,
    },
    chunkSize,
    itemTotal: items.length,
    window: resolve('window', step.window, 10),
    run: step.run,
    chunkRetry: step.retryPolicy,
    chunkTimeoutMs: step.timeoutMs,
    cursor: 0,
    ...(job.state.recovery.attempt > 0 ? { recoveryAttempt: job.state.recovery.attempt } : {}),
    ...(job.params.limits ? { limits: job.params.limits } : {}),
    counts: { total, completed: 0, failed: 0, running: 0 },
    failures: [],
    stats: { itemsProcessed: 0, itemsCreated: 0, itemsFailed: 0, totalErrors: 0 },
  };
  const child = await startStepChild(
    job,
    step,
    stepChildId(job, step.key, attempt),
    BATCH_COORDINATOR_TYPE,
    params,
  );
  const outcome = (await child.result()) as BatchOutcome;
  job.stepState(step.key).batch = outcome.counts;
  if (outcome.counts.failed > 0) {
    addStats(job.state.summary, outcome.stats);
    throw wf.ApplicationFailure.create({
      type: 'BatchItemsFailed',
      message: `${outcome.counts.failed} of ${outcome.counts.total} batch chunks failed: ${outcome.failures
        .slice(0, 3)
        .map((f) => `#${f.chunk} ${f.message}`)
        .join('; ')}`,
      nonRetryable: true,
    });
  }
  const { counts } = outcome;
  return {
    chunks: counts.total,
    completed: counts.completed,
    stats: { ...outcome.stats },
    // The step's last word agrees with its final counts (the coordinator's last report may not arrive first).
    message: `${counts.completed}/${counts.total} chunks done`,
  };
};
