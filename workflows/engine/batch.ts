/**
 * The batch coordinator: a child workflow that runs one batch step's chunks (activities or child
 * jobs) with at most `window` in flight, reports counts to its job within a fixed budget of
 * signals, and continues as new before its history grows large, so a batch of any size keeps
 * every run's history bounded.
 */
import * as wf from '@temporalio/workflow';
import type { ActivityJobRef, StepActivities, StepResultExtras } from '../activity-contracts';
import { stepProgressSignal, type JobParams, type JobState, type Json } from '../contracts';
import type { BatchCoordinatorParams, BatchOutcome } from './batch-contracts';
import { PROGRESS_REPORT_BUDGET, addStats, shouldReport } from './progress';

/** Continue as new once a run's history passes this many events (the hard limit we keep under is 10,240). */
export const BATCH_HISTORY_SOFT_LIMIT = 4000;
const MAX_RECORDED_FAILURES = 20;

export async function batchCoordinator(p: BatchCoordinatorParams): Promise<BatchOutcome> {
  const counts = { ...p.counts, running: 0 };
  const failures = [...p.failures];
  const stats = { ...p.stats };
  let lastReported = p.lastReported ?? null;
  let cursor = p.cursor;
  let inFlight = 0;

  const report = (): void => {
    const done = counts.completed + counts.failed;
    const progress = counts.total === 0 ? 100 : Math.floor((done / counts.total) * 100);
    wf.setCurrentDetails(
      `${done}/${counts.total} chunks · ${counts.failed} failed · ${counts.running} running`,
    );
    if (!shouldReport(lastReported, progress, PROGRESS_REPORT_BUDGET)) return;
    lastReported = progress;
    wf.getExternalWorkflowHandle(p.parentJobId)
      .signal(stepProgressSignal, {
        stepKey: p.stepKey,
        attempt: p.attempt,
        progress,
        message: `${done}/${counts.total} chunks done`,
        batch: { ...counts },
      })
      .catch(() => undefined);
  };

  const runChunk = async (chunk: number): Promise<void> => {
    const arg = p.chunks[chunk];
    const itemCount = Math.min(p.chunkSize, Math.max(0, p.itemTotal - chunk * p.chunkSize));
    inFlight++;
    counts.running = inFlight;
    try {
      const result = await runOne(p, chunk, arg);
      counts.completed++;
      const reported =
        result && typeof result === 'object' && !Array.isArray(result)
          ? (result as StepResultExtras).stats
          : undefined;
      // A chunk that does not count its items processed all of them.
      addStats(stats, { itemsProcessed: itemCount, ...reported });
    } catch (err) {
      if (wf.isCancellation(err)) throw err;
      counts.failed++;
      addStats(stats, { itemsFailed: itemCount, totalErrors: 1 });
      if (failures.length < MAX_RECORDED_FAILURES) {
        failures.push({ chunk, message: err instanceof Error ? (err.cause ?? err).toString() : String(err) });
      }
    } finally {
      inFlight--;
      counts.running = inFlight;
      report();
    }
  };

  const tasks: Promise<void>[] = [];
  while (cursor < counts.total) {
    await wf.condition(() => inFlight < p.window);
    const info = wf.workflowInfo();
    if (info.historyLength > BATCH_HISTORY_SOFT_LIMIT || info.continueAsNewSuggested) {
      await wf.condition(() => inFlight === 0);
      await wf.condition(wf.allHandlersFinished);
      return wf.continueAsNew<typeof batchCoordinator>({
        ...p,
        cursor,
        counts,
        failures,
        stats,
        lastReported,
      });
    }
    tasks.push(runChunk(cursor++));
  }
  await Promise.all(tasks);
  report();
  return { counts, failures, stats };
}

async function runOne(p: BatchCoordinatorParams, chunk: number, arg: Json): Promise<Json> {
  const retry = {
    maximumAttempts: p.chunkRetry.maxAttempts,
    initialInterval: p.chunkRetry.initialIntervalMs,
    backoffCoefficient: p.chunkRetry.backoffCoefficient,
    maximumInterval: p.chunkRetry.maxIntervalMs,
  };
  if ('activity' in p.run) {
    const acts = wf.proxyActivities<StepActivities>({
      startToCloseTimeout: p.chunkTimeoutMs,
      retry,
      cancellationType: wf.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    });
    const ref: ActivityJobRef = {
      jobId: p.parentJobId,
      jobType: p.parentJobType,
      parentJobId: p.parentJobId,
      stepKey: p.stepKey,
      stepIndex: chunk,
      attempt: p.attempt,
      reportProgress: false,
    };
    const fn = acts[p.run.activity] as unknown as (ref: ActivityJobRef, a: Json) => Promise<Json>;
    return fn(ref, arg);
  }
  const childParams: JobParams = {
    input: arg,
    parent: { jobId: p.parentJobId, stepKey: p.stepKey, attempt: p.attempt, reportProgress: false },
  };
  const state = (await wf.executeChild(p.run.jobType, {
    workflowId: `${p.parentJobId}/${p.stepKey}/${chunk}${p.attempt > 1 ? `-a${p.attempt}` : ''}`,
    args: [childParams],
    retry,
    cancellationType: wf.ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
    parentClosePolicy: 'REQUEST_CANCEL',
    searchAttributes: { JobType: [p.run.jobType], JobStatus: ['running'], JobParentId: [p.parentJobId] },
  })) as JobState;
  return { stats: { ...state.summary } } as Json;
}
