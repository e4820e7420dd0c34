/**
 * DEMO job type `demoPipeline`: four steps for trying operator control — pause, resume, cancel
 * and recovery — from the API, the Web UI or the CLI, and for the tests that check them:
 *
 *   extract (activity) → transform (batch: one `demoTask` sub-job per part) → load (activity) → report (activity)
 *
 * Durations, the number of parts, failures and the time cleanup takes come from the input.
 * Cancelling runs a cleanup in every cancelled `demoTask` and once in the pipeline itself.
 */
import { z } from 'zod';
import { jobBuilder } from '../engine/builder';
import type { StepContext } from '../engine/definition';
import {
  simulatedCleanup,
  simulatedDuration,
  type DemoActivities,
  type SimulateWorkArgs,
} from './demo-contracts';

const job = jobBuilder<DemoActivities>();

const duration = simulatedDuration;

export const demoTaskInput = z
  .object({
    label: z.string().max(200).default('demo task'),
    durationMs: duration.default(300),
    items: z.number().int().min(1).max(10_000).default(5),
    /** How long this sub-job's cleanup takes when it is cancelled. */
    cleanupMs: simulatedCleanup.default(0),
    /** Fail the work step permanently with this message. */
    failWith: z.string().max(500).optional(),
  })
  .strict();

export const demoTaskDefinition = job({
  name: 'demoTask',
  description: 'Sub-job of demoPipeline: one simulated unit of work, with a cleanup when cancelled (demo).',
  internal: true,
  input: demoTaskInput,
})
  .activity('work', {
    name: 'Work',
    activity: 'simulateWork',
    heartbeatTimeoutMs: 10_000,
    args: ({ input }) => ({
      label: input.label,
      durationMs: input.durationMs,
      items: input.items,
      ...(input.failWith ? { failPermanently: true, failMessage: input.failWith } : {}),
    }),
  })
  // A second step, so a paused sub-job has a boundary to stop at.
  .activity('verify', {
    name: 'Verify',
    activity: 'simulateWork',
    heartbeatTimeoutMs: 10_000,
    args: ({ input }) => ({
      label: `${input.label} verify`,
      durationMs: Math.min(100, input.durationMs),
      items: 1,
    }),
  })
  .onCancel({
    activity: 'simulateWork',
    args: ({ input }) => ({ label: `${input.label} cleanup`, durationMs: input.cleanupMs, items: 1 }),
  })
  .build();

export const DEMO_STEP_KEYS = ['extract', 'transform', 'load', 'report'] as const;
type DemoStepKey = (typeof DEMO_STEP_KEYS)[number];

const demoStepShape = z
  .object({
    durationMs: duration.optional(),
    /** Fail attempts 1..failAttempts of this step (each retried with backoff). */
    failAttempts: z.number().int().min(0).max(20).optional(),
    /** Fail this step permanently (non-retryable). */
    failPermanently: z.boolean().optional(),
    /** Fail this step permanently in the first `failRuns` runs only: a recovery then gets past it. */
    failRuns: z.number().int().min(0).max(10).optional(),
  })
  .strict();

export const demoPipelineInput = z
  .object({
    /** Default duration of every step and part. */
    durationMs: duration.default(300),
    /** Sub-jobs the transform step runs, all at once. */
    parts: z.number().int().min(1).max(50).default(3),
    /** How many of them (the first ones) fail, each with `partFailure` (a batch with failing chunks). */
    partsFailing: z.number().int().min(0).max(50).optional(),
    /** The error those parts fail with. */
    partFailure: z.string().max(500).optional(),
    /** How long the pipeline's cleanup takes when it is cancelled. */
    cleanupMs: simulatedCleanup.default(0),
    /** How long each cancelled part's cleanup takes (default: cleanupMs). */
    partCleanupMs: simulatedCleanup.optional(),
    /** How long a cancellation waits for running parts to stop. */
    cancelWaitMs: z.number().int().min(0).max(3_600_000).default(300_000),
    steps: z.partialRecord(z.enum(DEMO_STEP_KEYS), demoStepShape).default({}),
  })
  .strict();
type DemoInput = z.infer<typeof demoPipelineInput>;

function activityArgs(key: DemoStepKey) {
  return ({ input, recoveryAttempt }: StepContext<DemoInput, object>): SimulateWorkArgs => {
    const s = input.steps[key] ?? {};
    return {
      label: key,
      durationMs: s.durationMs ?? input.durationMs,
      items: 5,
      failAttempts: s.failAttempts ?? 0,
      failPermanently: (s.failPermanently ?? false) || recoveryAttempt < (s.failRuns ?? 0),
    };
  };
}

/** Whether part `offset` (from 0) of the transform step fails, and how (absent: it does not). */
function partFailure(offset: number, input: DemoInput): { failWith?: string } {
  if (!input.partsFailing || offset >= input.partsFailing) return {};
  return { failWith: input.partFailure ?? `part ${offset + 1} failed (simulated)` };
}

export const demoPipelineDefinition = job({
  name: 'demoPipeline',
  description:
    'DEMO for operator control: extract → transform (parallel sub-jobs) → load → report, with durations, ' +
    'failures and cleanup time taken from the input.',
  input: demoPipelineInput,
  recoveryLimit: 3,
  cancelWaitMs: ({ input }) => input.cancelWaitMs,
})
  .activity('extract', {
    name: 'Extract',
    activity: 'simulateWork',
    heartbeatTimeoutMs: 10_000,
    args: activityArgs('extract'),
  })
  .batch('transform', {
    name: 'Transform',
    weight: 2,
    items: ({ input }) => Array.from({ length: input.parts }, (_, i) => `part-${i + 1}`),
    window: ({ input }) => input.parts,
    run: { job: demoTaskDefinition },
    chunkInput: (chunk, { input }) => ({
      label: `transform ${chunk.items[0]}`,
      durationMs: input.steps.transform?.durationMs ?? input.durationMs,
      items: 5,
      cleanupMs: input.partCleanupMs ?? input.cleanupMs,
      ...partFailure(chunk.offset, input),
    }),
  })
  .activity('load', {
    name: 'Load',
    activity: 'simulateWork',
    heartbeatTimeoutMs: 10_000,
    retry: { initialIntervalMs: 200 },
    args: activityArgs('load'),
  })
  .activity('report', {
    name: 'Report',
    activity: 'simulateWork',
    heartbeatTimeoutMs: 10_000,
    args: activityArgs('report'),
  })
  .onCancel({
    activity: 'simulateWork',
    args: ({ input }) => ({ label: 'demoPipeline cleanup', durationMs: input.cleanupMs, items: 1 }),
  })
  .build();
