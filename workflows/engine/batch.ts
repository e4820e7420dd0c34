/**
 * The batch coordinator: a child workflow that runs one batch step's chunks (activities or child
 * jobs) with at most `window` in flight, reports counts to its job within a fixed budget of
 * signals, and continues as new before its history grows large, so a batch of any size keeps
 * every run's history bounded.
 */
import * as wf from '@temporalio/workflow';
import {
  pauseSignal,
  resumeSignal,
  stepProgressSignal,
  type ControlPayload,
  type JobParams,
  type JobState,
  type JobStatus,
  type Json,
  type StepProgressReport,
} from '../contracts';
import type { BatchCoordinatorParams, BatchOutcome } from './batch-contracts';
import { childJobId, forwardControl, startChildJob } from './children';
import { deriveStatus } from './control';
import { callStepFunction } from './failures';
import type { JobDefinition, StepContext } from './definition';
import { PROGRESS_REPORT_BUDGET, addStats, shouldReport } from './progress';
import type { ActivityJobRef, StepActivityCall, StepResultExtras } from './step-io';

/** Continue as new once a run's history passes this many events (the hard limit we keep under is 10,240). */
export const BATCH_HISTORY_SOFT_LIMIT = 4000;
const MAX_RECORDED_FAILURES = 20;
/** While cancelling, the coordinator reports the chunks still running in steps (see `report`). */
export const BATCH_CANCEL_REPORTS_PATCH = 'batch-cancel-reports-in-steps';
/**
 * Once its first window of chunks is in flight, the coordinator reports how many run (one signal
 * per batch step attempt, in its first run), so the job knows its running chunk sub-jobs before the
 * first one finishes. Runs recorded before this sent their first report when progress first moved.
 */
export const BATCH_START_REPORT_PATCH = 'batch-reports-running-chunks-at-start';

/**
 * The batch coordinator workflow. `findJobType` is the app's lookup (see `defineApp`): the
 * coordinator computes its chunks' inputs from its step's definition.
 */
export async function batchCoordinator(
  p: BatchCoordinatorParams,
  findJobType: (name: string) => JobDefinition | undefined,
): Promise<BatchOutcome> {
  const chunkArg = chunkArguments(p, findJobType);
  const counts = { ...p.counts, running: 0 };
  const failures = [...p.failures];
  const stats = { ...p.stats };
  const { workflowId } = wf.workflowInfo();
  let lastReported = p.lastReported ?? null;
  let cursor = p.cursor;
  let inFlight = 0;
  let paused = p.paused ?? false;
  const root = wf.CancellationScope.current();
  let lastStatus: JobStatus = 'running';
  /** Chunks still running at the last report while cancelling, and the drop that is worth a new one. */
  let lastCancelReport: number | null = null;
  const cancelReportStep = Math.max(1, Math.ceil(p.window / PROGRESS_REPORT_BUDGET));
  /** Running chunk sub-jobs and the status each last reported. */
  const chunkJobs = new Map<string, JobStatus>();

  // Paused: no new chunk starts and running chunk sub-jobs pause at their own step boundaries.
  // `paused` once no chunk activity runs and every chunk sub-job has paused.
  const status = (): JobStatus =>
    deriveStatus({
      cancelling: root.consideredCancelled,
      paused,
      busy: inFlight - chunkJobs.size > 0 || [...chunkJobs.values()].some((s) => s !== 'paused'),
    });

  /**
   * Whether the chunks running were reported (see {@link BATCH_START_REPORT_PATCH}); a run after a
   * continue-as-new does not report again: the job has heard from the earlier runs.
   */
  let startReported = p.cursor > 0;
  const report = (force = false): void => {
    const done = counts.completed + counts.failed;
    const progress = counts.total === 0 ? 100 : Math.floor((done / counts.total) * 100);
    const now = status();
    wf.setCurrentDetails(
      `${done}/${counts.total} chunks · ${counts.failed} failed · ${counts.running} running${now === 'running' ? '' : ` · ${now}`}`,
    );
    const statusChanged = now !== lastStatus;
    // While cancelling, the job hears how many chunks still run: each time that number dropped by a
    // twentieth of the window, and when it reaches 0 (runs before the patch reported every chunk).
    const cancelling = root.consideredCancelled;
    if (
      !force &&
      !statusChanged &&
      !cancelling &&
      !shouldReport(lastReported, progress, PROGRESS_REPORT_BUDGET)
    )
      return;
    if (
      !statusChanged &&
      cancelling &&
      lastCancelReport !== null &&
      counts.running > 0 &&
      lastCancelReport - counts.running < cancelReportStep &&
      wf.patched(BATCH_CANCEL_REPORTS_PATCH)
    ) {
      return;
    }
    if (cancelling) lastCancelReport = counts.running;
    if (!force && !statusChanged && !cancelling) lastReported = progress;
    lastStatus = now;
    const update: StepProgressReport = {
      stepKey: p.stepKey,
      attempt: p.attempt,
      progress,
      message: `${done}/${counts.total} chunks done${now === 'running' ? '' : ` · ${now}`}`,
      batch: { ...counts },
      subJob: { id: workflowId, type: 'batchCoordinator', status: now, progress, step: p.stepKey },
    };
    // Non-cancellable so the job still hears how many chunks run while a cancellation drains them.
    wf.CancellationScope.nonCancellable(() =>
      wf.getExternalWorkflowHandle(p.parentJobId).signal(stepProgressSignal, update),
    ).catch(() => undefined);
  };

  const forward = (signal: typeof pauseSignal, payload?: ControlPayload): void =>
    forwardControl(signal, chunkJobs.keys(), payload);
  wf.setHandler(
    pauseSignal,
    (payload?: ControlPayload) => {
      if (paused) return;
      paused = true;
      forward(pauseSignal, payload);
      report();
    },
    { description: 'Sent by the job: start no new chunk and pause running chunk sub-jobs.' },
  );
  wf.setHandler(
    resumeSignal,
    (payload?: ControlPayload) => {
      if (!paused) return;
      paused = false;
      forward(resumeSignal, payload);
      report();
    },
    { description: 'Sent by the job: resume starting chunks and resume paused chunk sub-jobs.' },
  );
  wf.setHandler(
    stepProgressSignal,
    (r: StepProgressReport) => {
      if (r.subJob && chunkJobs.has(r.subJob.id)) {
        chunkJobs.set(r.subJob.id, r.subJob.status);
        report();
      }
    },
    { description: 'Internal: status changes of running chunk sub-jobs.' },
  );

  const runChunk = async (chunk: number): Promise<void> => {
    const arg = chunkArg(chunk);
    const itemCount = Math.min(p.chunkSize, Math.max(0, p.itemTotal - chunk * p.chunkSize));
    inFlight++;
    counts.running = inFlight;
    try {
      const result = await runOne(p, chunk, arg, workflowId, {
        started: (id) => {
          chunkJobs.set(id, 'running');
          if (paused) forward(pauseSignal, { by: `job ${p.parentJobId}` });
        },
        closed: (id) => chunkJobs.delete(id),
      });
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

  /** The first time this run's window is in flight: the job hears how many chunks run. */
  const reportStart = (): void => {
    if (startReported || inFlight === 0 || root.consideredCancelled) return;
    startReported = true;
    if (wf.patched(BATCH_START_REPORT_PATCH)) report(true);
  };

  const tasks: Promise<void>[] = [];
  try {
    const mayStart = (): boolean => inFlight < p.window && !paused;
    while (cursor < counts.total) {
      // Only wait when there is something to wait for: a condition already true still costs an
      // async turn, and filling a large window that way piles them up by the thousand.
      if (!mayStart()) {
        reportStart();
        await wf.condition(mayStart);
      }
      const info = wf.workflowInfo();
      if (info.historyLength > BATCH_HISTORY_SOFT_LIMIT || info.continueAsNewSuggested) {
        await wf.condition(() => inFlight === 0);
        await wf.condition(wf.allHandlersFinished);
        return wf.continueAsNew<(params: BatchCoordinatorParams) => Promise<BatchOutcome>>({
          ...p,
          cursor,
          counts,
          failures,
          stats,
          lastReported,
          paused,
        });
      }
      tasks.push(runChunk(cursor++));
    }
    reportStart();
    await Promise.all(tasks);
  } catch (err) {
    // Cancelled: close only after every running chunk has stopped (they wait for their own cleanup).
    await wf.CancellationScope.nonCancellable(() => Promise.allSettled(tasks));
    throw err;
  }
  report();
  return { counts, failures, stats };
}

/**
 * Chunk `i`'s activity argument or sub-job input: from the step's definition and the job's context
 * (pure functions, so every run of this coordinator computes the same), or from the list a run
 * started before ranges carried.
 */
function chunkArguments(
  p: BatchCoordinatorParams,
  findJobType: (name: string) => JobDefinition | undefined,
): (chunk: number) => unknown {
  const { chunks } = p;
  if (chunks) return (i) => chunks[i];
  const step = findJobType(p.parentJobType)?.steps.find((s) => s.key === p.stepKey);
  if (!step || step.kind !== 'batch' || !p.ctx) {
    throw wf.ApplicationFailure.create({
      type: 'BatchStepUnknown',
      message: `No batch step "${p.stepKey}" of job type "${p.parentJobType}" in this worker's app`,
      nonRetryable: true,
    });
  }
  const ctx: StepContext<unknown> = { ...p.ctx };
  const items = callStepFunction(step, 'items', () => step.items(ctx));
  const { chunkInput } = step;
  return (i) => {
    const chunk = { items: items.slice(i * p.chunkSize, (i + 1) * p.chunkSize), offset: i * p.chunkSize };
    return chunkInput ? callStepFunction(step, 'chunkInput', () => chunkInput(chunk, ctx, p.attempt)) : chunk;
  };
}

interface ChunkJobEvents {
  started(id: string): void;
  closed(id: string): void;
}

async function runOne(
  p: BatchCoordinatorParams,
  chunk: number,
  arg: unknown,
  coordinatorId: string,
  events: ChunkJobEvents,
): Promise<Json> {
  const retry = {
    maximumAttempts: p.chunkRetry.maxAttempts,
    initialInterval: p.chunkRetry.initialIntervalMs,
    backoffCoefficient: p.chunkRetry.backoffCoefficient,
    maximumInterval: p.chunkRetry.maxIntervalMs,
  };
  if ('activity' in p.run) {
    const acts = wf.proxyActivities<Record<string, StepActivityCall>>({
      startToCloseTimeout: p.chunkTimeoutMs,
      retry,
      cancellationType: wf.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    });
    const ref: ActivityJobRef = {
      jobId: p.parentJobId,
      jobType: p.parentJobType,
      parentJobId: p.jobParentId ?? null,
      stepKey: p.stepKey,
      stepIndex: chunk,
      attempt: p.attempt,
      reportProgress: false,
    };
    // Activities return plain JSON: their results travel through Temporal's JSON payloads.
    return (await acts[p.run.activity](ref, arg)) as Json;
  }
  const childParams: JobParams = {
    input: arg,
    // Chunk sub-jobs report status changes (pausing, paused) to this coordinator, not progress.
    parent: {
      jobId: p.parentJobId,
      stepKey: p.stepKey,
      attempt: p.attempt,
      reportProgress: false,
      reportTo: coordinatorId,
    },
    ...(p.limits ? { limits: p.limits } : {}),
  };
  const childId = childJobId({
    jobId: p.parentJobId,
    stepKey: p.stepKey,
    recoveryAttempt: p.recoveryAttempt ?? 0,
    attempt: p.attempt,
    chunk,
  });
  const handle = await startChildJob({
    workflowType: p.run.jobType,
    workflowId: childId,
    arg: childParams,
    parentJobId: p.parentJobId,
    retry,
  });
  events.started(childId);
  try {
    const state = (await handle.result()) as JobState;
    return { stats: { ...state.summary } } as Json;
  } finally {
    events.closed(childId);
  }
}
