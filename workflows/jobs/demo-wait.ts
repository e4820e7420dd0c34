/**
 * DEMO job type `demoWait`: a step that waits, for trying sleep steps from the API and the card:
 *
 *   prepare (activity) → wait (sleep `waitMs`, or until `wakeAt`) → publish (activity)
 *
 * While it sleeps the card shows when it wakes; pausing the job holds the sleep past its time until
 * the job is resumed.
 */
import { z } from 'zod';
import { jobBuilder } from '../engine/builder';
import { simulatedDuration, type DemoActivities } from './demo-contracts';

const job = jobBuilder<DemoActivities>();

export const demoWaitInput = z
  .object({
    /** Duration of the two working steps. */
    durationMs: simulatedDuration.default(100),
    /** How long the wait step sleeps (ms); at most a day. */
    waitMs: z.number().int().min(0).max(86_400_000).default(1_000),
    /** Or when it wakes (ISO 8601 with a zone); a time passed wakes it at once. */
    wakeAt: z.iso.datetime({ offset: true }).optional(),
  })
  .strict();

export const demoWaitDefinition = job({
  name: 'demoWait',
  description: 'DEMO for waiting steps: prepare → wait (a durable, pause-aware sleep) → publish.',
  input: demoWaitInput,
})
  .activity('prepare', {
    name: 'Prepare',
    activity: 'simulateWork',
    heartbeatTimeoutMs: 10_000,
    args: ({ input }) => ({ label: 'prepare', durationMs: input.durationMs, items: 1 }),
  })
  .sleep('wait', {
    name: 'Wait',
    until: ({ input }) => input.wakeAt ?? new Date(Date.now() + input.waitMs),
  })
  .activity('publish', {
    name: 'Publish',
    activity: 'simulateWork',
    heartbeatTimeoutMs: 10_000,
    args: ({ input, results }) => ({
      label: `publish (woke ${results.wait.wokeAt})`,
      durationMs: input.durationMs,
      items: 1,
    }),
  })
  .build();
