/**
 * What job authors trip over, against the real dev server with a bundle of test job types
 * (`fixtures/author-jobs.ts`): a step function that throws fails its step at once, naming the step
 * and the function (it is deterministic: a retry would throw again); a cleanup's `args` sees the
 * results that exist when the job is cancelled, and the log lines the cleanup returns reach the
 * job's log.
 */
import type { Worker } from '@temporalio/worker';
import type { StepwiseClient } from 'stepwise/client';
import { createActivities } from '../../activities';
import { cancelSignal, type JobState } from '../../workflows/contracts';
import type { ActivityJobRef } from '../../workflows/engine/step-io';
import {
  connectTestEnv,
  createTestWorker,
  expectJobStateInvariants,
  startJob,
  testPipelineConfig,
  testClient,
  type TestEnv,
  waitForState,
} from '../helpers';
import authorApp, { type AuthorTestActivities } from './fixtures/author-jobs';

let env: TestEnv;
let worker: Worker;
let taskQueue: string;
let running: Promise<void>;
let jobs: StepwiseClient<typeof authorApp>;
const cleanups: { job: ActivityJobRef; path: string | null }[] = [];

beforeAll(async () => {
  env = await connectTestEnv();
  const recordCleanup: AuthorTestActivities['recordCleanup'] = async (job, args) => {
    cleanups.push({ job, path: args.path });
    return { logs: [{ level: 'info', message: `Removed ${args.path ?? 'nothing'}` }] };
  };
  ({ worker, taskQueue } = await createTestWorker(env, {
    // Bundled from source: this file's job types are another app.
    app: authorApp,
    workflowsPath: require.resolve('./fixtures/author-jobs'),
    workflowBundlePath: undefined,
    activities: {
      ...createActivities({ client: env.client, pipelines: testPipelineConfig() }),
      recordCleanup,
    },
  }));
  running = worker.run();
  jobs = testClient(env, taskQueue, authorApp);
});
afterAll(async () => {
  worker?.shutdown();
  await running;
  await env?.close();
});

const closedState = async (jobId: string): Promise<JobState> => {
  // A deadline, not a sleep: a job stuck in a failing workflow task never closes.
  const state = await waitForState(jobs, jobId, (s) => s.closedAt !== null, {
    timeoutMs: 30_000,
    intervalMs: 100,
  });
  expectJobStateInvariants(state);
  return state;
};
const stepOf = (s: JobState, key: string) => s.steps.find((x) => x.key === key)!;

describe('a step function that throws', () => {
  it('fails its step on the first attempt, not retried, naming the step and the function', async () => {
    const handle = await startJob(env, taskQueue, 'authorArgsBug', {}, undefined, authorApp);
    const state = await closedState(handle.workflowId);
    expect(state.status).toBe('failed');
    const second = stepOf(state, 'second');
    expect(second).toMatchObject({
      status: 'failed',
      attempt: 1,
      error: { type: 'StepFunctionFailed', nonRetryable: true },
    });
    expect(second.error!.message).toMatch(/^the args function of step "second" \(Second\) threw TypeError: /);
    expect(state.error).toMatchObject({ step: 'second', type: 'StepFunctionFailed', nonRetryable: true });
    expect(state.message).toMatch(/^Step 2 "Second" failed: the args function of step "second"/);
    expect(state.logs.filter((l) => /^Attempt \d of "Second" failed/.test(l.message))).toEqual([]);
  });

  it('a throwing `when` fails its step instead of the workflow task; the job goes on under `continue`', async () => {
    const handle = await startJob(env, taskQueue, 'authorWhenBug', {}, undefined, authorApp);
    const state = await closedState(handle.workflowId);
    expect(state.status).toBe('completed_with_errors');
    expect(stepOf(state, 'second')).toMatchObject({
      status: 'failed',
      attempt: 0,
      error: { type: 'StepFunctionFailed', nonRetryable: true },
    });
    expect(stepOf(state, 'second').error!.message).toMatch(/^the when function of step "second"/);
    expect(stepOf(state, 'third').status).toBe('completed');
  });
});

describe('onCancel', () => {
  it("sees the results that exist at cancel time, and the cleanup's log lines reach the job's log", async () => {
    const handle = await startJob(env, taskQueue, 'authorCleanup', { workMs: 30_000 }, undefined, authorApp);
    await waitForState(jobs, handle.workflowId, (s) => stepOf(s, 'second').status === 'running');
    await handle.signal(cancelSignal, { by: 'jest', reason: 'author test' });
    const state = await closedState(handle.workflowId);
    expect(state.status).toBe('cancelled');
    expect(state.cancellation).toMatchObject({ cleanup: 'completed' });
    const mine = cleanups.filter((c) => c.job.jobId === handle.workflowId);
    expect(mine).toEqual([{ job: expect.objectContaining({ stepKey: 'onCancel' }), path: '/tmp/scratch-1' }]);
    const line = state.logs.find((l) => l.message === 'Removed /tmp/scratch-1');
    expect(line).toMatchObject({ level: 'info', step: null });
    // In order: after the cleanup started, before the job closed.
    const at = (m: RegExp) => state.logs.findIndex((l) => m.test(l.message));
    expect(at(/^Cleanup recordCleanup started/)).toBeLessThan(at(/^Removed /));
    expect(at(/^Removed /)).toBeLessThan(at(/^Job cancelled/));
  });
});
