/**
 * `batch` steps: the chunks run in a batch coordinator child workflow (`../batch.ts`), which keeps
 * `window` in flight and continues as new before its history grows large.
 */
import * as wf from '@temporalio/workflow';
import { BATCH_COORDINATOR_TYPE, type BatchCoordinatorParams, type BatchOutcome } from '../batch-contracts';
import type { StepContext } from '../definition';
import { addStats } from '../progress';
import { startStepChild, stepChildId } from './child-step';
import type { StepExecutor } from './types';

export const runBatchStep: StepExecutor<'batch'> = async ({ job, step, ctx, attempt }) => {
  const items = step.items(ctx);
  const resolve = (v: number | ((c: StepContext<unknown>) => number) | undefined, dflt: number): number =>
    Math.max(1, Math.floor(typeof v === 'function' ? v(ctx) : (v ?? dflt)));
  const chunkSize = resolve(step.chunkSize, 1);
  const chunks: unknown[] = [];
  for (let offset = 0; offset < items.length; offset += chunkSize) {
    const chunk = { items: items.slice(offset, offset + chunkSize), offset };
    chunks.push(step.chunkInput ? step.chunkInput(chunk, ctx, attempt) : chunk);
  }
  const total = chunks.length;
  job.stepState(step.key).batch = { total, completed: 0, failed: 0, running: 0 };
  const params: BatchCoordinatorParams = {
    parentJobId: job.jobId,
    jobParentId: job.state.parentJobId,
    parentJobType: job.def.name,
    stepKey: step.key,
    attempt,
    chunks,
    chunkSize,
    itemTotal: items.length,
    window: resolve(step.window, 10),
    run: step.run,
    chunkRetry: step.retryPolicy,
    chunkTimeoutMs: step.timeoutMs,
    cursor: 0,
    ...(job.state.recovery.attempt > 0 ? { recoveryAttempt: job.state.recovery.attempt } : {}),
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
  return { chunks: outcome.counts.total, completed: outcome.counts.completed, stats: { ...outcome.stats } };
};
