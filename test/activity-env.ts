/** Running activities in a mock activity context (heartbeats, cancellation, logger) without a server. */
import type { Client } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import type { ActivityJobRef } from '../workflows/engine/step-io';

/** Runs `fn(...args)` as an activity; its log lines below ERROR are dropped. */
export function runActivity<A extends unknown[], R>(fn: (...a: A) => Promise<R>, ...args: A): Promise<R> {
  return new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') }).run(fn, ...args);
}

/** For activities whose progress reports are off (`reportProgress: false`): the client is never used. */
export const unusedClient = {} as Client;

export const activityJob = (jobType: string, stepKey: string, attempt = 1): ActivityJobRef => ({
  jobId: `unit-${jobType}`,
  jobType,
  parentJobId: null,
  stepKey,
  stepIndex: 1,
  attempt,
  reportProgress: false,
});
