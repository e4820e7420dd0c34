import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { ActivityJobRef, BatchChunkArgs } from '../workflows/engine/step-io';
import type {
  CountItemsResult,
  DemoActivities,
  SimulateWorkArgs,
  SimulateWorkResult,
} from '../workflows/jobs/demo-contracts';
import { ProgressReporter } from '../src/activity/progress';
import { jobLog } from '../src/activity/log';

/** The demo activities; progress reports go through `client`. */
export function createDemoActivities(client: Client): DemoActivities {
  return {
    simulateWork: (job, args) => simulateWork(client, job, args),
    countItems: (job, args) => countItems(job, args),
  };
}

/** Simulated work: sleeps per item (cancellable), reports progress, fails when asked to. */
export async function simulateWork(
  client: Client,
  job: ActivityJobRef,
  args: SimulateWorkArgs,
): Promise<SimulateWorkResult> {
  const items = Math.max(1, args.items ?? 10);
  const perItem = Math.max(0, args.durationMs ?? 0) / items;
  const log = jobLog(job);
  if (args.failPermanently) {
    throw ApplicationFailure.nonRetryable(
      args.failMessage ?? `${args.label ?? 'work'} failed permanently (simulated)`,
      'SimulatedFailure',
    );
  }
  const reporter = new ProgressReporter(client, job);
  log.info('simulated work started', { items, durationMs: args.durationMs ?? 0 });
  for (let i = 1; i <= items; i++) {
    if (perItem > 0) await sleepHeartbeating(perItem);
    if (args.failAttempts && job.attempt <= args.failAttempts && i === Math.ceil(items / 2)) {
      throw ApplicationFailure.retryable(
        `${args.label ?? 'work'} failed on attempt ${job.attempt} (simulated)`,
        'SimulatedFailure',
      );
    }
    await reporter.report((i / items) * 100, `${args.label ?? 'work'}: ${i}/${items} items`);
  }
  return reporter.finish({
    label: args.label ?? null,
    items,
    attempt: job.attempt,
    stats: { itemsProcessed: items },
  });
}

/** A cheap batch chunk, for large fan-outs in tests and benchmarks. */
export async function countItems(job: ActivityJobRef, args: BatchChunkArgs): Promise<CountItemsResult> {
  Context.current().heartbeat();
  jobLog(job).debug('counted chunk', { offset: args.offset, items: args.items.length });
  return { count: args.items.length };
}

/** Sleeps in slices of at most 500 ms with a heartbeat each, so a cancellation arrives promptly. */
async function sleepHeartbeating(ms: number): Promise<void> {
  const ctx = Context.current();
  for (let left = ms; left > 0; left -= 500) {
    await ctx.sleep(Math.min(500, left));
    ctx.heartbeat();
  }
}
