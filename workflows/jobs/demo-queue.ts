/**
 * DEMO job type `demoQueue`: a job under a concurrency limit, for trying limits, the `queued`
 * status and priorities from the API and the dashboard:
 *
 *   work (activity, `durationMs`) → publish (activity)
 *
 * At most 2 jobs per `tenant` run at once (`STEPWISE_CONCURRENCY_LIMITS` can change it, e.g.
 * `demoQueue=1` for one at a time of the whole type); the others wait `queued`, and a higher
 * priority goes first.
 */
import { z } from 'zod';
import { jobBuilder } from '../engine/builder';
import { simulatedDuration, type DemoActivities } from './demo-contracts';

const job = jobBuilder<DemoActivities>();

export const demoQueueInput = z
  .object({
    /** Whose job it is: the limit counts per tenant. */
    tenant: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and -, at most 64')
      .default('default'),
    /** How long the work step takes. */
    durationMs: simulatedDuration.default(2_000),
  })
  .strict();

export const demoQueueDefinition = job({
  name: 'demoQueue',
  description: 'DEMO for concurrency limits: at most 2 per tenant run at once, the others wait queued.',
  input: demoQueueInput,
  concurrency: { limit: 2, key: ({ input }) => input.tenant },
})
  .activity('work', {
    name: 'Work',
    activity: 'simulateWork',
    heartbeatTimeoutMs: 10_000,
    args: ({ input }) => ({ label: `work for ${input.tenant}`, durationMs: input.durationMs, items: 4 }),
  })
  .activity('publish', {
    name: 'Publish',
    activity: 'simulateWork',
    heartbeatTimeoutMs: 10_000,
    args: ({ input }) => ({ label: `publish for ${input.tenant}`, durationMs: 0, items: 1 }),
  })
  .build();
