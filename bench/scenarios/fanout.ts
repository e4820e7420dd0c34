/**
 * Sub-job fan-outs, Stepwise `benchFanout` (a batch step of `exampleSubJob` sub-jobs run by a batch
 * coordinator) against raw `baselineFanout` (a sliding window of child workflows with
 * continue-as-new):
 * - `cancel-N`: N sub-jobs running (each in a long `simulateWork`), then cancel the job (the
 *   `cancelJob` update, what `POST /api/jobs/:id/cancel` sends) against cancelling the raw parent
 *   (`handle.cancel()`); timed until the parent closed, which both sides do only after every child
 *   has closed (`WAIT_CANCELLATION_COMPLETED`).
 * - `fanout-10k`: 10,000 sub-jobs with a window of 100: throughput and the longest history of any
 *   run (the parent's, every coordinator run's, sampled children's) against the 10,240 limit.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { BenchEnv } from '../env';
import { goals, metric, pairs, waitUntil, type ScenarioResult, type SideName } from '../lib';
import { benchFanoutDefinition, type BaselineFanoutParams } from '../workflows';

/** What samples-typescript's sliding window calls its page size: children per run. */
const RAW_PER_RUN = 500;
/** The worker's default activity slots: only this many sub-jobs' activities run at once. */
const CANCEL_WORK_MS = 540_000;

async function startFanout(
  env: BenchEnv,
  side: SideName,
  workflowId: string,
  p: { count: number; window: number; durationMs: number },
): Promise<WorkflowHandle> {
  if (side === 'stepwise') {
    // Started as every program starts a job (the client: input checked, then the start the API sends).
    const { runId } = await env.jobs.start(benchFanoutDefinition, p, { jobId: workflowId });
    return env.client.workflow.getHandle(workflowId, undefined, { firstExecutionRunId: runId });
  }
  const raw: BaselineFanoutParams = { ...p, perRun: Math.max(RAW_PER_RUN, p.window) };
  return env.client.workflow.start('baselineFanout', {
    taskQueue: env.taskQueue,
    workflowId,
    args: [raw],
  });
}

/** The workflow whose children the sub-jobs are: the batch coordinator, or the raw parent. */
const childParentId = (side: SideName, workflowId: string): string =>
  side === 'stepwise' ? `${workflowId}/run` : workflowId;

async function startedChildren(client: Client, parentId: string): Promise<number> {
  try {
    const d = await client.workflow.getHandle(parentId).describe();
    return (d.raw.pendingChildren ?? []).filter((c) => c.runId).length;
  } catch {
    return 0; // the coordinator is not started yet
  }
}

/** Waits until the worker has had nothing to do for a few polls in a row. */
async function workerIdle(env: BenchEnv): Promise<void> {
  let quiet = 0;
  await waitUntil(
    'the worker to settle',
    async () => {
      quiet = env.worker.getStatus().numInFlightWorkflowActivations === 0 ? quiet + 1 : 0;
      return quiet >= 5 ? true : undefined;
    },
    { everyMs: 100, timeoutMs: 120_000 },
  );
}

interface CancelRun {
  ms: number;
  leftRunning: number;
}

export async function cancelRun(env: BenchEnv, side: SideName, n: number, id: string): Promise<CancelRun> {
  const handle = await startFanout(env, side, id, { count: n, window: n, durationMs: CANCEL_WORK_MS });
  await waitUntil(
    `${n} children of ${id} started`,
    async () => ((await startedChildren(env.client, childParentId(side, id))) >= n ? true : undefined),
    { everyMs: 200, timeoutMs: 300_000 },
  );
  await workerIdle(env);
  const t = performance.now();
  if (side === 'stepwise') {
    // The cancelJob update, as POST /api/jobs/:id/cancel sends it (the client checks the job first).
    await env.jobs.cancel(id, { by: 'bench', reason: 'cancel benchmark' });
  } else {
    await handle.cancel();
  }
  await handle.result().catch(() => undefined);
  const ms = performance.now() - t;
  let leftRunning = 0;
  if (side === 'stepwise') {
    const state = await env.jobs.get(id);
    leftRunning = state.cancellation?.leftRunning.length ?? -1;
  }
  return { ms, leftRunning };
}

export async function cancelScenario(
  env: BenchEnv,
  n: number,
  reps: number,
  warmup = true,
): Promise<ScenarioResult> {
  const t0 = Date.now();
  const run = (side: SideName, rep: number | 'warmup'): Promise<CancelRun> => {
    // The warm-up runs a tenth of the children: same paths, a fraction of the time.
    const count = rep === 'warmup' ? Math.max(10, Math.floor(n / 10)) : n;
    return cancelRun(env, side, count, `${env.runId}-cancel${n}-${rep}-${side}`);
  };
  const runs = await pairs(reps, run, warmup ? (side) => run(side, 'warmup') : null);
  const left = runs.stepwise.reduce((a, r) => a + r.leftRunning, 0);
  return {
    name: `cancel-${n}`,
    description: `cancel a job with ${n} running sub-jobs until all are closed: the cancelJob update on benchFanout (coordinator + ${n} exampleSubJob) against handle.cancel() on a raw parent of ${n} children`,
    metrics: [
      metric(
        'cancel → all closed',
        'ms',
        runs.baseline.map((r) => r.ms),
        runs.stepwise.map((r) => r.ms),
        goals.ratioAtMost(1.2),
      ),
    ],
    notes: [
      ...(warmup ? [] : ['Warm-up: the cancel-100 scenario just before (same paths).']),
      `Each sub-job / child runs one simulateWork of ${CANCEL_WORK_MS / 1000} s (cancelled at its next heartbeat); the worker has 100 activity slots, so at most 100 of them are in an activity, the rest have one scheduled.`,
      `Sub-jobs Stepwise reported left running after the cancel wait, over all repetitions: ${left}.`,
    ],
    wallSeconds: (Date.now() - t0) / 1000,
  };
}

interface FanoutRun {
  ms: number;
  perSecond: number;
  maxEvents: number;
  runs: number;
}

/** Longest history of any run of `ids` (all their runs, continue-as-new included) and of sampled children. */
async function maxRunEvents(
  client: Client,
  ids: string[],
  sampleChildren: string[],
): Promise<[number, number]> {
  let max = 0;
  let runs = 0;
  for (const id of ids) {
    for await (const w of client.workflow.list({ query: `WorkflowId = '${id}'` })) {
      max = Math.max(max, w.historyLength);
      runs++;
    }
  }
  for (const id of sampleChildren) {
    max = Math.max(max, (await client.workflow.getHandle(id).describe()).historyLength);
  }
  return [max, runs];
}

async function fanoutRun(env: BenchEnv, side: SideName, count: number, id: string): Promise<FanoutRun> {
  const t = performance.now();
  const handle = await startFanout(env, side, id, { count, window: 100, durationMs: 0 });
  await handle.result();
  const ms = performance.now() - t;
  const sample = [0, 1, Math.floor(count / 2), count - 1].map((i) =>
    side === 'stepwise' ? `${id}/run/${i}` : `${id}/c/${i}`,
  );
  const [maxEvents, runs] = await maxRunEvents(
    env.client,
    side === 'stepwise' ? [id, `${id}/run`] : [id],
    sample,
  );
  return { ms, perSecond: count / (ms / 1000), maxEvents, runs };
}

export async function fanoutScenario(env: BenchEnv, count: number, reps: number): Promise<ScenarioResult> {
  const t0 = Date.now();
  const runs = await pairs(reps, (side, rep) =>
    fanoutRun(env, side, rep === 'warmup' ? 200 : count, `${env.runId}-fanout-${rep}-${side}`),
  );
  const pick = (k: keyof FanoutRun) =>
    [runs.baseline.map((r) => r[k]), runs.stepwise.map((r) => r[k])] as const;
  return {
    name: count === 10_000 ? 'fanout-10k' : `fanout-${count}`,
    description: `${count} sub-jobs (exampleSubJob, no simulated work), window 100: benchFanout against baselineFanout (sliding window, continue-as-new every ${RAW_PER_RUN} children)`,
    metrics: [
      metric('throughput', 'sub-jobs/s', ...pick('perSecond'), goals.ratioAtLeast(0.9)),
      metric('wall', 'ms', ...pick('ms')),
      metric('longest run history', 'events', ...pick('maxEvents'), goals.bothAtMost(10_240)),
      metric('parent runs', 'runs', ...pick('runs')),
    ],
    notes: [
      'Longest run history: every run of the job, of its batch coordinator (continued as new) and of the raw parent, and 4 sampled children per side.',
      'The raw side drains its window before each continue-as-new, like the Stepwise coordinator does.',
    ],
    wallSeconds: (Date.now() - t0) / 1000,
  };
}
