/**
 * A job's side of a concurrency limit: find its limit and key, ask its limiter for a slot, wait
 * `queued` until it is granted, and give it back when the job closes (however it closes; a run
 * that cannot — terminated, timed out — is found closed by the limiter).
 */
import * as wf from '@temporalio/workflow';
import { MAX_CONCURRENCY_KEY_LENGTH, MAX_CONCURRENCY_LIMIT } from './definition';
import type { Job } from './job';
import {
  limiterId,
  releaseSlotSignal,
  slotAnswerSignal,
  describeLimit,
  type JobConcurrency,
  type LimiterActivities,
  type SlotAnswer,
} from './limiter-contracts';
import { toStepError } from './failures';

/** Why a job's concurrency key is unusable (it then fails at its entry). */
export class ConcurrencyKeyProblem extends Error {}

/**
 * The job's concurrency limit: the deployment's (`JobParams.concurrency`, set by the client from
 * `STEPWISE_CONCURRENCY_LIMITS`) over the type's own; null when neither sets one. Throws
 * {@link ConcurrencyKeyProblem} when the key function throws or returns an unusable key.
 */
export function concurrencyOf(job: Job, input: unknown): JobConcurrency | null {
  const declared = job.def.concurrency;
  const override = job.params.concurrency;
  if (!declared && !override) return null;
  const raw = override?.limit ?? declared!.limit;
  const limit = Math.min(MAX_CONCURRENCY_LIMIT, Math.max(1, Math.floor(Number.isFinite(raw) ? raw : 1)));
  const perKey = override ? override.perKey === true : declared?.key !== undefined;
  let key: string | null = null;
  if (perKey && declared?.key) {
    let k: unknown;
    try {
      k = declared.key({ input });
    } catch (err) {
      throw new ConcurrencyKeyProblem(`its concurrency key function threw ${toStepError(err).message}`);
    }
    if (typeof k !== 'string' || k.length === 0 || k.length > MAX_CONCURRENCY_KEY_LENGTH) {
      throw new ConcurrencyKeyProblem(
        `its concurrency key must be a string of 1 to ${MAX_CONCURRENCY_KEY_LENGTH} characters (got ${typeof k === 'string' ? `${k.length} characters` : typeof k})`,
      );
    }
    key = k;
  }
  return { limiterId: limiterId(wf.workflowInfo().taskQueue, job.def.name, key), limit, key };
}

/** How waiting for a slot ended. */
export type Admission =
  { outcome: 'granted' } | { outcome: 'refused'; reason: string } | { outcome: 'cancelled' };

/**
 * Asks for a slot and waits for it, `queued` meanwhile. Runs in the steps' scope: cancelling the
 * job ends the wait (`cancelled`), and {@link leaveQueue} then takes the job out of the queue.
 */
export async function waitForSlot(job: Job, c: JobConcurrency): Promise<Admission> {
  let answer: SlotAnswer | null = null;
  // A job asks one limiter once: the first answer is its answer (not matched on `limiterId`, which
  // names the task queue, and a replay runs on a task queue of its own).
  wf.setHandler(slotAnswerSignal, (a) => {
    answer ??= a;
  });
  const info = wf.workflowInfo();
  const priority = job.state.priority;
  job.state.queue = {
    limiterId: c.limiterId,
    jobType: job.def.name,
    key: c.key,
    limit: c.limit,
    priority,
    since: new Date().toISOString(),
    position: null,
    running: null,
  };
  job.queueEntered = c;
  job.log(
    'info',
    null,
    `Queued: waits for one of the ${c.limit} slots of ${describeLimit(job.def.name, c.key)}`,
  );
  job.changed();
  // A local activity: one call to Temporal (signal-with-start) needs no trip through the task
  // queue, where a burst of starts made requests wait behind each other (bench `limit`), and it
  // records one marker instead of three activity events.
  const acts = wf.proxyLocalActivities<LimiterActivities>({
    startToCloseTimeout: 30_000,
    retry: { initialInterval: 1000, maximumInterval: 10_000 },
  });
  try {
    await acts.stepwiseEnterQueue({
      limiterId: c.limiterId,
      jobType: job.def.name,
      key: c.key,
      request: {
        jobId: info.workflowId,
        runId: info.runId,
        priority,
        // When the job was started (the start event), not its first task (runStartTime): on a
        // busy worker two jobs' first tasks can run in either order (seen in the priority test).
        arrivedAt: info.startTime.toISOString(),
        limit: c.limit,
      },
    });
    await wf.condition(() => answer !== null);
  } catch (err) {
    if (wf.isCancellation(err)) return { outcome: 'cancelled' };
    throw err;
  }
  const since = Date.parse(job.state.queue.since);
  job.state.queue = null;
  if (answer!.outcome === 'refused')
    return { outcome: 'refused', reason: answer!.reason ?? 'the queue is full' };
  job.log('info', null, `Slot granted after ${Math.max(0, Date.now() - since)} ms in the queue`);
  job.changed();
  return { outcome: 'granted' };
}

/**
 * Gives the slot back (or leaves the queue) when the job closes, if it ever asked for one. Not
 * cancellable; a limiter that is gone is not an error (it ends only when nobody runs or waits).
 * Runs after the job's state closed, so it writes nothing into it.
 */
export async function leaveQueue(job: Job): Promise<void> {
  const c = job.queueEntered;
  if (!c) return;
  job.queueEntered = null;
  const { workflowId, runId } = wf.workflowInfo();
  await wf.CancellationScope.nonCancellable(async () => {
    try {
      await wf.getExternalWorkflowHandle(c.limiterId).signal(releaseSlotSignal, { jobId: workflowId, runId });
    } catch (err) {
      // The job has closed: its state no longer changes (a query may have read it), so the
      // worker's log says it. The limiter's watch finds the closed holder and frees the slot.
      wf.log.warn(`Could not give back the slot of ${c.limiterId}: ${toStepError(err).message}`, {
        jobId: job.jobId,
        jobType: job.def.name,
      });
    }
  });
}
