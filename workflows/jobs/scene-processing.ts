/**
 * DEMO job type `sceneProcessing`, modelled on a media library's "process new scenes" workflow.
 * Every step is a sub-job doing simulated work whose durations, item counts and failures come
 * from the input, so demos, tests and benchmarks can shape it:
 *
 *   processDownloads → scanMetadata ─┬─ incrementalSync ─┬─ applyChanges → generateMetadata → finalSync
 *                                    └─ analyze (batch) ─┘
 *
 * `generateMetadata` may fail without failing the job (`continue`): the job then ends
 * `completed_with_errors` and `finalSync`, which publishes that metadata, is skipped.
 * No new scenes ends the job early after `processDownloads`.
 */
import { z } from 'zod';
import { jobBuilder } from '../engine/builder';
import type { StepContext } from '../engine/definition';
import { simulatedDuration, type DemoActivities } from './demo-contracts';

const job = jobBuilder<DemoActivities>();

export const SCENE_STEP_KEYS = [
  'processDownloads',
  'scanMetadata',
  'incrementalSync',
  'analyze',
  'applyChanges',
  'generateMetadata',
  'finalSync',
] as const;
export type SceneStepKey = (typeof SCENE_STEP_KEYS)[number];

/** Input of `sceneTask`, the sub-job every step runs. */
export const sceneTaskInput = z
  .object({
    label: z.string().default('scene task'),
    durationMs: simulatedDuration.default(0),
    items: z.number().int().min(1).max(1_000_000).default(1),
    /** Fail this run with a retryable error (the parent decides per attempt). */
    fail: z.boolean().default(false),
    /** Fail this run with a non-retryable error. */
    failPermanently: z.boolean().default(false),
  })
  .strict();

export const sceneTaskDefinition = job({
  name: 'sceneTask',
  description: 'Sub-job of sceneProcessing: one simulated unit of work (demo).',
  internal: true,
  input: sceneTaskInput,
})
  .activity('work', {
    name: 'Work',
    activity: 'simulateWork',
    retry: { maxAttempts: 1 }, // the parent job's step retries the whole sub-job
    heartbeatTimeoutMs: 30_000,
    args: ({ input }) => ({
      label: input.label,
      durationMs: input.durationMs,
      items: input.items,
      failAttempts: input.fail ? 1 : 0,
      failPermanently: input.failPermanently,
    }),
  })
  .build();

const stepShape = z
  .object({
    durationMs: simulatedDuration.optional(),
    items: z.number().int().min(1).max(1_000_000).optional(),
    /** Fail attempts 1..failAttempts of this step (each retried with backoff). */
    failAttempts: z.number().int().min(0).max(20).optional(),
    /** Fail this step permanently (non-retryable). */
    failPermanently: z.boolean().optional(),
    /** Fail this step permanently in the first `failRuns` runs only: a recovery then gets past it. */
    failRuns: z.number().int().min(0).max(10).optional(),
  })
  .strict();

export const sceneProcessingInput = z
  .object({
    /** New scenes found in downloads; 0 ends the job early. */
    newScenes: z.number().int().min(0).max(100_000).default(12),
    /** Defaults for every step. */
    durationMs: simulatedDuration.default(500),
    /** Per-step overrides and failures. */
    steps: z.partialRecord(z.enum(SCENE_STEP_KEYS), stepShape).default({}),
    analyze: z
      .object({
        /** Scenes per analysis sub-job. */
        chunkSize: z.number().int().min(1).max(10_000).default(3),
        /** Analysis sub-jobs in flight at once. */
        window: z.number().int().min(1).max(100).default(4),
      })
      .strict()
      .default({ chunkSize: 3, window: 4 }),
  })
  .strict();
type SceneInput = z.infer<typeof sceneProcessingInput>;

/** The sceneTask input for step `key` on `attempt`, from the job input. */
function taskInput(key: SceneStepKey, label: string) {
  return ({ input, recoveryAttempt }: StepContext<SceneInput, object>, attempt: number) => {
    const s = input.steps[key] ?? {};
    return {
      label,
      durationMs: s.durationMs ?? input.durationMs,
      items: s.items ?? 10,
      fail: attempt <= (s.failAttempts ?? 0),
      failPermanently: (s.failPermanently ?? false) || recoveryAttempt < (s.failRuns ?? 0),
    };
  };
}

/** A step that runs one `sceneTask` sub-job. */
const sceneStep = (key: SceneStepKey, name: string, weight: number) => ({
  name,
  job: sceneTaskDefinition,
  weight,
  input: taskInput(key, name),
});

export const sceneProcessingDefinition = job({
  name: 'sceneProcessing',
  description:
    'DEMO: process new scenes — downloads, metadata scan, incremental sync and batch analysis in parallel, ' +
    'apply changes, generate metadata, final sync. Durations, item counts and failures come from the input.',
  input: sceneProcessingInput,
  recoveryLimit: 3,
})
  .subJob('processDownloads', {
    ...sceneStep('processDownloads', 'Process downloads', 1),
    endJob: (_result, { input }) => (input.newScenes === 0 ? 'No new scenes to process' : null),
  })
  .subJob('scanMetadata', sceneStep('scanMetadata', 'Scan metadata', 1))
  .subJob('incrementalSync', {
    ...sceneStep('incrementalSync', 'Incremental sync', 2),
    dependsOn: ['scanMetadata'],
  })
  .batch('analyze', {
    name: 'Analyze scenes',
    weight: 3,
    dependsOn: ['scanMetadata'],
    items: ({ input }) => Array.from({ length: input.newScenes }, (_, i) => `scene-${i + 1}`),
    chunkSize: ({ input }) => input.analyze.chunkSize,
    window: ({ input }) => input.analyze.window,
    run: { job: sceneTaskDefinition },
    chunkInput: (chunk, { input }) => ({
      label: `Analyze ${chunk.items.length} scenes from #${chunk.offset + 1}`,
      durationMs: input.steps.analyze?.durationMs ?? input.durationMs,
      items: chunk.items.length,
    }),
  })
  .subJob('applyChanges', {
    ...sceneStep('applyChanges', 'Apply changes', 1),
    dependsOn: ['incrementalSync', 'analyze'],
  })
  .subJob('generateMetadata', {
    ...sceneStep('generateMetadata', 'Generate metadata', 1),
    onFailure: 'continue',
  })
  .subJob('finalSync', sceneStep('finalSync', 'Final sync', 1))
  .build();
