/**
 * DEMO job type `demoApproval`: a step that waits for a person, for trying approval steps from the
 * API and the card:
 *
 *   prepare (activity) → approve (approval: `role`, optional `timeoutMs`, `onTimeout`, `onReject`)
 *   → publish (activity, runs when approved, and after a rejection or timeout under `continue`)
 *
 * While it waits the job is `awaiting_approval` and the card offers Approve and Reject to callers
 * with the role; the decision, who made it and their comment end up in the step's result.
 */
import { z } from 'zod';
import { jobBuilder } from '../engine/builder';
import { simulatedDuration, type DemoActivities } from './demo-contracts';

const job = jobBuilder<DemoActivities>();

export const demoApprovalInput = z
  .object({
    /** Duration of the two working steps. */
    durationMs: simulatedDuration.default(100),
    /** Who may decide. */
    role: z.enum(['operator', 'admin']).default('operator'),
    /** How long the job waits for a decision (ms); no limit without it. */
    timeoutMs: z.number().int().min(1000).max(86_400_000).optional(),
    /** A timeout fails the job, or lets it go on. */
    onTimeout: z.enum(['fail', 'continue']).default('fail'),
    /** A rejection fails the job, or lets it go on. */
    onReject: z.enum(['fail', 'continue']).default('fail'),
  })
  .strict()
  // The published example runs without a person: nobody decides, and after a second it goes on.
  .meta({ examples: [{ durationMs: 100, timeoutMs: 1000, onTimeout: 'continue' }] });

export const demoApprovalDefinition = job({
  name: 'demoApproval',
  description: 'DEMO for approval steps: prepare → approve (waits for an operator or admin) → publish.',
  input: demoApprovalInput,
})
  .activity('prepare', {
    name: 'Prepare',
    activity: 'simulateWork',
    heartbeatTimeoutMs: 10_000,
    args: ({ input }) => ({ label: 'prepare', durationMs: input.durationMs, items: 1 }),
  })
  .approval('approve', {
    name: 'Approve',
    message: 'Publish what was prepared?',
    role: ({ input }) => input.role,
    timeoutMs: ({ input }) => input.timeoutMs,
    onTimeout: ({ input }) => input.onTimeout,
    onReject: ({ input }) => input.onReject,
  })
  .activity('publish', {
    name: 'Publish',
    activity: 'simulateWork',
    heartbeatTimeoutMs: 10_000,
    args: ({ input, results }) => ({
      label: `publish (${results.approve.decision}${results.approve.by ? ` by ${results.approve.by}` : ''})`,
      durationMs: input.durationMs,
      items: 1,
    }),
  })
  .build();
