/**
 * The concurrency limiter's activities (`workflows/engine/limiter.ts`): a job's request for a
 * slot, sent with signal-with-start so the first job of a type (and key) starts its limiter; and
 * the limiter's watch, which gives back the slots of holders that closed without saying so.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import {
  acquireSlotSignal,
  LIMITER_TYPE,
  limiterIdleSignal,
  limiterStateQuery,
  releaseSlotSignal,
  type LimiterActivities,
  type LimiterParams,
  type SlotRelease,
} from '../../workflows/engine/limiter-contracts';

/** Describes sent at once by one check. */
const DESCRIBES_AT_ONCE = 20;

/** Which of `runs` have closed (or are gone): their slots are free. */
async function closedRuns(client: Client, runs: SlotRelease[]): Promise<SlotRelease[]> {
  const closed: SlotRelease[] = [];
  const check = async (run: SlotRelease): Promise<void> => {
    try {
      const desc = await client.workflow.getHandle(run.jobId, run.runId).describe();
      if (desc.status.name !== 'RUNNING') closed.push(run);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) closed.push(run);
      else throw err;
    }
  };
  // A few describes at a time: a limit of thousands is checked in seconds, not minutes.
  for (let i = 0; i < runs.length; i += DESCRIBES_AT_ONCE) {
    await Promise.all(runs.slice(i, i + DESCRIBES_AT_ONCE).map(check));
  }
  return closed;
}

export function createLimiterActivities(client: Client, taskQueue: string): LimiterActivities {
  return {
    async stepwiseEnterQueue({ limiterId, jobType, key, request }) {
      const params: LimiterParams = { jobType, key, limit: request.limit };
      await client.workflow.signalWithStart(LIMITER_TYPE, {
        workflowId: limiterId,
        taskQueue,
        args: [params],
        signal: acquireSlotSignal,
        signalArgs: [request],
        // The limiter's tasks go before the jobs' own on a busy queue: a slot is never kept waiting.
        priority: { priorityKey: 1 },
      });
    },
    async stepwiseLimiterWatch({ everyMs, idleMs }) {
      const ctx = Context.current();
      const run = ctx.info.workflowExecution;
      if (!run) return; // not run by a workflow (a standalone activity): nothing to watch
      const limiter = client.workflow.getHandle(run.workflowId, run.runId);
      let idleSince: number | null = null;
      for (;;) {
        ctx.heartbeat();
        try {
          await sleep(everyMs, undefined, { signal: ctx.cancellationSignal });
        } catch {
          // Cancelled. The run closed (its watch is done), or this worker shuts down: then fail, so
          // Temporal runs the watch again on another worker (a return would end it for the run).
          const open = await limiter.describe().then(
            (d) => d.status.name === 'RUNNING',
            () => false,
          );
          if (!open) return;
          throw ApplicationFailure.retryable(
            'The limiter watch was stopped with its worker',
            'WatchInterrupted',
          );
        }
        try {
          // The run it watches has closed or continued as new (whose own watch took over): done.
          if ((await limiter.describe()).status.name !== 'RUNNING') return;
          const st = await limiter.query(limiterStateQuery);
          if (st.running.length === 0 && st.queued.length === 0) {
            idleSince ??= Date.now();
            if (Date.now() - idleSince >= idleMs) await limiter.signal(limiterIdleSignal);
            continue;
          }
          idleSince = null;
          if (!(st.queued.length > 0 && st.running.length >= st.limit)) continue;
          for (const run of await closedRuns(client, st.running)) {
            await limiter.signal(releaseSlotSignal, { jobId: run.jobId, runId: run.runId });
          }
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) return;
          // Temporal unreachable or the limiter slow to answer: look again next time.
        }
      }
    },
  };
}
