/**
 * `example`: the smallest real job — one activity step, then one sub-job step. Used by the
 * quick start and the end-to-end tests.
 */
import { z } from 'zod';
import { jobBuilder } from '../engine/builder';
import { simulatedDuration, type DemoActivities } from './demo-contracts';

const job = jobBuilder<DemoActivities>();

export const exampleSubJobInput = z
  .object({
    /** Simulated work duration of the sub-job's only step. */
    durationMs: simulatedDuration.default(300),
  })
  .strict();

export const exampleSubJobDefinition = job({
  name: 'exampleSubJob',
  description: 'Sub-job of the example job: one simulated activity step.',
  internal: true,
  input: exampleSubJobInput,
})
  .activity('work', {
    name: 'Do the sub-job work',
    activity: 'simulateWork',
    heartbeatTimeoutMs: 10_000,
    args: ({ input }) => ({ durationMs: input.durationMs, items: 5, label: 'sub-job work' }),
  })
  .build();

export const exampleInput = z
  .object({
    /** Simulated duration of each step. */
    durationMs: simulatedDuration.default(300),
    /** Make the first step fail this many attempts before it succeeds (it has 3). */
    failAttempts: z.number().int().min(0).max(10).default(0),
  })
  .strict();

export const exampleDefinition = job({
  name: 'example',
  description: 'Example job: one activity step, then one sub-job step.',
  input: exampleInput,
})
  .activity('prepare', {
    name: 'Prepare',
    activity: 'simulateWork',
    heartbeatTimeoutMs: 10_000,
    weight: 1,
    retry: { maxAttempts: 3, initialIntervalMs: 200 },
    args: ({ input }) => ({
      durationMs: input.durationMs,
      items: 5,
      failAttempts: input.failAttempts,
      label: 'prepare',
    }),
  })
  .subJob('subJob', {
    name: 'Run sub-job',
    job: exampleSubJobDefinition,
    weight: 1,
    input: ({ input }) => ({ durationMs: input.durationMs }),
  })
  .build();
