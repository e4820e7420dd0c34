/**
 * DEMO job type `demoHold`: three steps whose failures hold the job for an operator instead of
 * failing it (`onStepFailure: 'hold'`), for trying holds from the API, the card and the tests:
 *
 *   prepare (activity) → sync (activity, 2 attempts a round; fails its first `failAttempts`) → publish (activity)
 *
 * Sync is `stalled` while an item takes longer than 2 s without a report (`durationMs` over 4000).
 * By default nothing fails. With `failAttempts: 3`, sync fails twice and holds the job; a retry from the operator runs a third
 * attempt, which fails and holds it again; the next retry succeeds. Skip ends sync `skipped` and
 * publish runs; fail fails the job.
 */
import { z } from 'zod';
import { jobBuilder } from '../engine/builder';
import { simulatedDuration, type DemoActivities } from './demo-contracts';

const job = jobBuilder<DemoActivities>();

export const demoHoldInput = z
  .object({
    /** Duration of each step. */
    durationMs: simulatedDuration.default(200),
    /** Sync fails its attempts 1..failAttempts (two attempts a round before it holds the job; 2: held once). */
    failAttempts: z.number().int().min(0).max(20).default(0),
    /** How long a held step waits for a decision before the job fails (ms); absent: no limit. */
    holdTimeoutMs: z
      .number()
      .int()
      .min(1_000)
      .max(7 * 24 * 3_600_000)
      .optional(),
  })
  .strict();

export const demoHoldDefinition = job({
  name: 'demoHold',
  description:
    'DEMO for holds: prepare → sync → publish; a step that runs out of attempts holds the job for an operator to retry, skip or fail it.',
  input: demoHoldInput,
  onStepFailure: 'hold',
})
  .activity('prepare', {
    name: 'Prepare',
    activity: 'simulateWork',
    heartbeatTimeoutMs: 10_000,
    args: ({ input }) => ({ label: 'prepare', durationMs: input.durationMs, items: 2 }),
  })
  .activity('sync', {
    name: 'Sync',
    activity: 'simulateWork',
    heartbeatTimeoutMs: 10_000,
    retry: { maxAttempts: 2, initialIntervalMs: 100 },
    // Two items, one progress report each: an item longer than this stalls the job until it reports.
    stallAfterMs: 2_000,
    args: ({ input }) => ({
      label: 'sync',
      durationMs: input.durationMs,
      items: 2,
      failAttempts: input.failAttempts,
    }),
  })
  .activity('publish', {
    name: 'Publish',
    activity: 'simulateWork',
    heartbeatTimeoutMs: 10_000,
    args: ({ input }) => ({ label: 'publish', durationMs: input.durationMs, items: 2 }),
  })
  .build();
