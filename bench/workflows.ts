/**
 * The benchmark's workflow bundle entry: every Stepwise workflow, a bench-only job type, and the
 * raw-SDK baselines they are compared with. A worker loads one bundle, so both sides run on the
 * same worker, the same activities and the same server. Deterministic code only, like workflows/.
 */
import * as wf from '@temporalio/workflow';
import { z } from 'zod';
import type { StepActivities } from '../workflows/activities';
import { defineJob } from '../workflows/engine/definition';
import type { ActivityJobRef, BatchChunkArgs } from '../workflows/engine/step-io';
import { jobWorkflow } from '../workflows/engine/workflow';

export * from '../workflows';

/** Activity steps in a `benchSteps` job (a definition is static, so the count is fixed here). */
export const BENCH_STEPS = 20;

const benchStepsInput = z.object({ durationMs: z.number().int().min(0).default(0) }).strict();

/** Bench-only job type: {@link BENCH_STEPS} `simulateWork` activity steps in sequence. */
export const benchSteps = jobWorkflow(
  defineJob({
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
  }),
);

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
  const acts = wf.proxyActivities<StepActivities>({
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
  const acts = wf.proxyActivities<StepActivities>({
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
