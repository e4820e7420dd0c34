/**
 * The concurrency limiter's activities (`workflows/engine/limiter.ts`): a job's request for a
 * slot, sent with signal-with-start so the first job of a type (and key) starts its limiter; and
 * the limiter's check of which holders have closed.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import {
  acquireSlotSignal,
  LIMITER_TYPE,
  type LimiterActivities,
  type LimiterParams,
  type SlotRelease,
} from '../../workflows/engine/limiter-contracts';

/** Holders checked per call (a limiter's running jobs are at most its limit). */
const MAX_RUNS_PER_CHECK = 10_000;
/** Describes sent at once by one check. */
const DESCRIBES_AT_ONCE = 20;

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
    async stepwiseClosedRuns({ runs }) {
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
      const todo = runs.slice(0, MAX_RUNS_PER_CHECK);
      for (let i = 0; i < todo.length; i += DESCRIBES_AT_ONCE) {
        await Promise.all(todo.slice(i, i + DESCRIBES_AT_ONCE).map(check));
      }
      return closed;
    },
  };
}
