/**
 * The benchmark's workflow bundle entry: an app of its own (the example app's job types and the
 * bench-only ones; its default export) and the raw-SDK baselines they are compared with (named
 * exports, which Temporal runs by name before it falls back to the app). A worker loads one bundle, so both sides run on the
 * same worker, the same activities and the same server. Deterministic code only, like workflows/.
 */
import * as wf from '@temporalio/workflow';
import { z } from 'zod';
import exampleApp from '../workflows/app';
import { defineApp } from '../workflows/engine/app';
import { jobBuilder } from '../workflows/engine/builder';
import { defineJob } from '../workflows/engine/definition';
import type { ActivityJobRef, BatchChunkArgs } from '../workflows/engine/step-io';
import { exampleSubJobDefinition } from '../workflows/jobs/example';
import { simulatedDuration, type DemoActivities } from '../workflows/jobs/demo-contracts';

/** Activity steps in a `benchSteps` job (a definition is static, so the count is fixed here). */
export const BENCH_STEPS = 20;

const benchStepsInput = z.object({ durationMs: z.number().int().min(0).default(0) }).strict();

/** Bench-only job type: {@link BENCH_STEPS} `simulateWork` activity steps in sequence. */
export const benchStepsDefinition = defineJob({
  name: 'benchSteps',
  description: `Benchmark: ${BENCH_STEPS} simulateWork activity steps in sequence.`,
  input: benchStepsInput,
  steps: Array.from({ length: BENCH_STEPS }, (_, i) => ({
    key: `s${i + 1}`,
    name: `Step ${i + 1}`,
    kind: 'activity' as const,
    activity: 'simulateWork' as const,
    args: ({ input }: { input: z.infer<typeof benchStepsInput> }) => ({
      durationMs: input.durationMs,
      items: 1,
    }),
  })),
});

const ref = (stepKey: string, stepIndex: number): ActivityJobRef => {
  const info = wf.workflowInfo();
  return {
    jobId: info.workflowId,
    jobType: info.workflowType,
    parentJobId: null,
    stepKey,
    stepIndex,
    attempt: 1,
    reportProgress: false,
  };
};

/** Baseline for `benchSteps`: the same activity calls in sequence, written with the raw SDK. */
export async function baselineSteps(p: { steps: number; durationMs: number }): Promise<number> {
  const acts = wf.proxyActivities<DemoActivities>({
    startToCloseTimeout: '10 minutes',
    retry: { maximumAttempts: 1 },
  });
  for (let i = 1; i <= p.steps; i++) {
    await acts.simulateWork(ref(`s${i}`, i), { durationMs: p.durationMs, items: 1 });
  }
  return p.steps;
}

/** Baseline for `itemBatch`: the same `countItems` chunks with the same window, in one workflow. */
export async function baselineBatch(p: {
  count: number;
  chunkSize: number;
  window: number;
}): Promise<number> {
  const acts = wf.proxyActivities<DemoActivities>({
    startToCloseTimeout: '10 minutes',
    retry: { maximumAttempts: 3 },
  });
  const items = Array.from({ length: p.count }, (_, i) => i);
  let inFlight = 0;
  let counted = 0;
  const running: Promise<void>[] = [];
  for (let offset = 0, chunk = 0; offset < items.length; offset += p.chunkSize, chunk++) {
    await wf.condition(() => inFlight < p.window);
    inFlight++;
    const args: BatchChunkArgs = { items: items.slice(offset, offset + p.chunkSize), offset };
    running.push(
      acts.countItems(ref('count', chunk), args).then((r) => {
        counted += r.count;
        inFlight--;
      }),
    );
  }
  await Promise.all(running);
  return counted;
}

// ——— Scenarios beyond `steps` and `batch` (see bench/README.md) ———

const job = jobBuilder<DemoActivities>();

const benchHandoffInput = z.object({}).strict();

/**
 * Bench-only job type for `handoff`: a sub-job step (`exampleSubJob`, no simulated work), then an
 * activity step; the bench reads the gap between the two from the job's history.
 */
export const benchHandoffDefinition = job({
  name: 'benchHandoff',
  description: 'Benchmark: a sub-job step, then an activity step.',
  input: benchHandoffInput,
})
  .subJob('child', { name: 'Child', job: exampleSubJobDefinition, input: () => ({ durationMs: 0 }) })
  .activity('next', {
    name: 'Next',
    activity: 'simulateWork',
    args: () => ({ durationMs: 0, items: 1 }),
  })
  .build();

const benchFanoutInput = z
  .object({
    count: z.number().int().min(0).max(100_000),
    window: z.number().int().min(1).max(10_000),
    durationMs: simulatedDuration.default(0),
  })
  .strict();

/**
 * Bench-only job type for `fanout-10k`, `cancel-100` and `cancel-1000`: one batch step of `count`
 * `exampleSubJob` sub-jobs (one item each), `window` at a time.
 */
export const benchFanoutDefinition = job({
  name: 'benchFanout',
  description: 'Benchmark: `count` exampleSubJob sub-jobs, `window` at a time.',
  input: benchFanoutInput,
})
  .batch('run', {
    name: 'Run sub-jobs',
    items: ({ input }) => Array.from({ length: input.count }, (_, i) => i),
    chunkSize: 1,
    window: ({ input }) => input.window,
    run: { job: exampleSubJobDefinition },
    chunkInput: (_chunk, { input }) => ({ durationMs: input.durationMs }),
  })
  .build();

const childActivities = (): DemoActivities =>
  wf.proxyActivities<DemoActivities>({
    startToCloseTimeout: '10 minutes',
    retry: { maximumAttempts: 1 },
    cancellationType: wf.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  });

/** Raw child: what an `exampleSubJob` does (one `simulateWork` call with the same arguments). */
export async function baselineChildWork(p: { durationMs: number }): Promise<void> {
  await childActivities().simulateWork(ref('work', 1), {
    durationMs: p.durationMs,
    items: 5,
    label: 'sub-job work',
  });
}

/** Baseline for `benchHandoff`: a child workflow, then an activity. */
export async function baselineHandoff(): Promise<void> {
  await wf.executeChild(baselineChildWork, {
    workflowId: `${wf.workflowInfo().workflowId}/child`,
    args: [{ durationMs: 0 }],
  });
  await childActivities().simulateWork(ref('next', 2), { durationMs: 0, items: 1 });
}

export interface BaselineFanoutParams {
  count: number;
  window: number;
  durationMs: number;
  /** Children started per run before continuing as new (the sample's page size). */
  perRun: number;
  /** Next child index; carried across continue-as-new. */
  next?: number;
}

/**
 * Baseline for `benchFanout`: a sliding window of child workflows in the style of
 * samples-typescript `batch-sliding-window` — at most `window` children in flight, continue-as-new
 * after `perRun` children (once those in flight closed). Cancelled, it waits for every child to
 * stop (`WAIT_CANCELLATION_COMPLETED`) before closing.
 */
export async function baselineFanout(p: BaselineFanoutParams): Promise<number> {
  const { workflowId } = wf.workflowInfo();
  let next = p.next ?? 0;
  let inFlight = 0;
  let startedHere = 0;
  const running: Promise<void>[] = [];
  try {
    while (next < p.count) {
      if (startedHere >= p.perRun) {
        await Promise.all(running);
        return await wf.continueAsNew<typeof baselineFanout>({ ...p, next });
      }
      if (inFlight >= p.window) await wf.condition(() => inFlight < p.window);
      const i = next++;
      inFlight++;
      startedHere++;
      running.push(
        wf
          .executeChild(baselineChildWork, {
            workflowId: `${workflowId}/c/${i}`,
            args: [{ durationMs: p.durationMs }],
            cancellationType: wf.ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
          })
          .finally(() => {
            inFlight--;
          }),
      );
    }
    await Promise.all(running);
  } catch (err) {
    if (wf.isCancellation(err)) await wf.CancellationScope.nonCancellable(() => Promise.allSettled(running));
    throw err;
  }
  return next;
}

/** Releases a {@link baselineHold} workflow. */
export const releaseSignal = wf.defineSignal('release');

/** Baseline for `paused-1000`: a raw workflow blocked on a condition until signalled. */
export async function baselineHold(): Promise<void> {
  let released = false;
  wf.setHandler(releaseSignal, () => {
    released = true;
  });
  await wf.condition(() => released);
}

// ——— notify: the cost of a webhook notification ———

/** What the `notify` step's simulated failure says (both sides). */
export const NOTIFY_FAILURE = 'bench: the step fails (simulated)';

const failingWork = { items: 1, failPermanently: true, failMessage: NOTIFY_FAILURE };

/**
 * Bench-only job type for `notify`: one activity step that fails at once (non-retryable, one
 * attempt), so the job fails and the notifier tells the subscriptions that want `job.failed`.
 */
export const benchFailDefinition = job({
  name: 'benchFail',
  description: 'Benchmark: one activity step that fails at once.',
  input: z.object({}).strict(),
})
  .activity('work', {
    name: 'Work',
    activity: 'simulateWork',
    retry: { maxAttempts: 1 },
    args: () => failingWork,
  })
  .build();

/** One webhook the raw side posts: where to, its `webhook-id`, and the body. */
export interface RawWebhook {
  url: string;
  webhookId: string;
  body: string;
}

/** The raw side's webhook activity (the bench worker has it; `bench/scenarios/notify.ts`). */
export interface BenchNotifyActivities {
  /** POSTs one signed webhook; throws on anything but a 2xx (retryable unless it cannot succeed). */
  benchPostWebhook(hook: RawWebhook): Promise<{ statusCode: number }>;
}

/**
 * Baseline for `benchFail` with notifications: the same failing activity; on its failure the
 * workflow posts one signed webhook per URL itself (one activity each, in parallel, retried by
 * Temporal with the delivery workflow's default backoff), then fails. Its close waits for the
 * webhooks: that is the hand-written design, where a receiver that is down keeps the workflow open.
 */
export async function baselineNotify(p: { urls: string[] }): Promise<void> {
  const work = wf.proxyActivities<DemoActivities>({
    startToCloseTimeout: '1 minute',
    retry: { maximumAttempts: 1 },
  });
  try {
    await work.simulateWork(ref('work', 1), failingWork);
  } catch (err) {
    if (!(err instanceof wf.ActivityFailure)) throw err;
    const { workflowId, workflowType, runId } = wf.workflowInfo();
    const message = err.cause?.message ?? err.message;
    const body = JSON.stringify({
      type: 'job.failed',
      timestamp: new Date().toISOString(),
      data: { jobId: workflowId, runId, jobType: workflowType, status: 'failed', error: { message } },
    });
    const { benchPostWebhook } = wf.proxyActivities<BenchNotifyActivities>({
      startToCloseTimeout: '25 seconds',
      retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '1 hour' },
      scheduleToCloseTimeout: '24 hours',
    });
    await Promise.all(
      p.urls.map((url, i) =>
        benchPostWebhook({ url, webhookId: `webhook:raw-${i}:${runId}:job.failed`, body }),
      ),
    );
    throw wf.ApplicationFailure.nonRetryable(`step work failed: ${message}`, 'StepFailed');
  }
}

// ——— limit: the cost of a concurrency limit ———

/** The `limit` scenario's concurrency limit (both sides keep this many jobs running at once). */
export const BENCH_LIMIT = 10;

const benchLimitInput = z
  .object({
    /**
     * The concurrency key: each measurement runs under a limiter of its own, so one limiter's
     * history is one measurement's (a limiter lives on for 5 minutes after its last job).
     */
    batch: z.string().min(1).max(100),
    durationMs: simulatedDuration.default(200),
  })
  .strict();

const limitWork = (durationMs: number) => ({ durationMs, items: 1 });

/**
 * Bench-only job type for `limit`: one `simulateWork` activity step, at most {@link BENCH_LIMIT}
 * jobs of a `batch` at once; the others wait `queued` for a slot of their batch's limiter.
 */
export const benchLimitedDefinition = job({
  name: 'benchLimited',
  description: `Benchmark: one simulateWork activity step, at most ${BENCH_LIMIT} per batch at once.`,
  input: benchLimitInput,
  concurrency: { limit: BENCH_LIMIT, key: ({ input }) => input.batch },
})
  .activity('work', {
    name: 'Work',
    activity: 'simulateWork',
    args: ({ input }) => limitWork(input.durationMs),
  })
  .build();

/** `benchLimited` without its concurrency limit: what the limit adds to a job's history. */
export const benchUnlimitedDefinition = job({
  name: 'benchUnlimited',
  description: 'Benchmark: one simulateWork activity step, no concurrency limit.',
  input: benchLimitInput,
})
  .activity('work', {
    name: 'Work',
    activity: 'simulateWork',
    args: ({ input }) => limitWork(input.durationMs),
  })
  .build();

/** The bench's app: the example app's job types and the bench-only ones. */
export default defineApp({
  jobs: [
    ...exampleApp.listed,
    benchStepsDefinition,
    benchHandoffDefinition,
    benchFanoutDefinition,
    benchFailDefinition,
    benchLimitedDefinition,
    benchUnlimitedDefinition,
  ],
});
