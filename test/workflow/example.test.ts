import { WorkflowFailedError } from '@temporalio/client';
import type { JobState } from '../../workflows/contracts';
import {
  connectTestEnv,
  createTestWorker,
  expectJobStateInvariants,
  queryState,
  startJob,
  startUncheckedJob,
  testClient,
  type TestEnv,
  waitForState,
} from '../helpers';

let env: TestEnv;
beforeAll(async () => {
  env = await connectTestEnv();
});
afterAll(async () => {
  await env?.close();
});

describe('example job', () => {
  it('runs an activity step and a sub-job step; the query ends at step 2/2, completed, 100%', async () => {
    const { worker, taskQueue } = await createTestWorker(env);
    await worker.runUntil(async () => {
      const handle = await startJob(env, taskQueue, 'example', { durationMs: 50 });
      const result = (await handle.result()) as JobState;
      expectJobStateInvariants(result);
      const state = await queryState(env, handle.workflowId);
      for (const s of [result, state]) {
        expect(s).toMatchObject({
          status: 'completed',
          progress: 100,
          currentStep: 2,
          totalSteps: 2,
          stepName: 'Run sub-job',
          // An unversioned worker: no deployment version ran it.
          deployment: null,
        });
        expect(s.steps.map((x) => [x.key, x.status])).toEqual([
          ['prepare', 'completed'],
          ['subJob', 'completed'],
        ]);
      }
      const childId = `${handle.workflowId}/subJob`;
      expect(state.steps[1].subJobIds).toEqual([childId]);
      const child = await queryState(env, childId);
      expect(child).toMatchObject({
        status: 'completed',
        parentJobId: handle.workflowId,
        type: 'exampleSubJob',
      });
      expect(state.summary.itemsProcessed).toBe(10);
      // The final report's message rides on the activity's result, not on a signal: the completed
      // step shows it, and the job's history has no progress signal (50 ms of work reports nothing sooner).
      expect(state.steps[0]).toMatchObject({ status: 'completed', message: 'prepare: 5/5 items' });
      expect(state.steps[0].result).not.toHaveProperty('message');
      const { events } = await handle.fetchHistory();
      expect(events?.filter((e) => e.workflowExecutionSignaledEventAttributes)).toEqual([]);
    });
  });

  it('retries a failing step in the engine: the query shows attempts and the job completes', async () => {
    const { worker, taskQueue } = await createTestWorker(env);
    await worker.runUntil(async () => {
      const handle = await startJob(env, taskQueue, 'example', { durationMs: 20, failAttempts: 2 });
      const jobs = testClient(env, taskQueue);
      const retrying = await waitForState(jobs, handle.workflowId, (s) => s.steps[0].status === 'retrying');
      expect(retrying.steps[0].error?.message).toMatch(/failed on attempt 1 \(simulated\)/);
      const result = (await handle.result()) as JobState;
      expectJobStateInvariants(result);
      expect(result.steps[0]).toMatchObject({ status: 'completed', attempt: 3, error: null });
      expect(result.status).toBe('completed');
    });
  });

  it('rejects invalid input at the workflow entry with a non-retryable typed failure', async () => {
    const { worker, taskQueue } = await createTestWorker(env);
    await worker.runUntil(async () => {
      // Started past the client, which would refuse it: this is about the workflow's own check.
      const handle = await startUncheckedJob(env, taskQueue, 'example', { durationMs: 'slow' });
      const err = await handle.result().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      const cause = (err as WorkflowFailedError).cause as {
        type?: string;
        nonRetryable?: boolean;
        message: string;
      };
      expect(cause.type).toBe('InvalidJobInput');
      expect(cause.nonRetryable).toBe(true);
      expect(cause.message).toMatch(/durationMs/);
      const state = await queryState(env, handle.workflowId);
      expect(state.status).toBe('failed');
      expect(state.steps.every((s) => s.status === 'not_run')).toBe(true);
    });
  });
});
