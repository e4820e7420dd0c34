/** The job engine against the real dev server, through the sceneProcessing and itemBatch demo types. */
import type { Worker } from '@temporalio/worker';
import type { JobState } from '../../workflows/contracts';
import {
  connectTestEnv,
  createTestWorker,
  expectJobStateInvariants,
  queryState,
  startJob,
  startUncheckedJob,
  type TestEnv,
  waitFor,
} from '../helpers';

let env: TestEnv;
let worker: Worker;
let taskQueue: string;
let running: Promise<void>;

beforeAll(async () => {
  env = await connectTestEnv();
  ({ worker, taskQueue } = await createTestWorker(env, {
    overrides: { maxConcurrentActivityTaskExecutions: 100 },
  }));
  running = worker.run();
});
afterAll(async () => {
  worker?.shutdown();
  await running;
  await env?.close();
});

const fast = { durationMs: 60, newScenes: 4, analyze: { chunkSize: 2, window: 2 } };
const run = (input: unknown) => startJob(env, taskQueue, 'sceneProcessing', input);
const finalState = async (jobId: string): Promise<JobState> => {
  await env.client.workflow
    .getHandle(jobId)
    .result()
    .catch(() => undefined);
  return queryState(env, jobId);
};
const step = (s: JobState, key: string) => s.steps.find((x) => x.key === key)!;

describe('sceneProcessing', () => {
  it('progress sampled through the query never decreases, moves inside steps, and is 100 only after completion', async () => {
    // 1.2 s a step: activities report at most every 0.5 s and their final report rides on the
    // result, so only work longer than that shows progress inside its step.
    const handle = await run({ ...fast, durationMs: 1200 });
    const samples: JobState[] = [];
    await waitFor(
      async () => {
        const s = await queryState(env, handle.workflowId);
        samples.push(s);
        return s;
      },
      (s) => s.closedAt !== null,
      60_000,
      40,
    );
    const progress = samples.map((s) => s.progress);
    for (let i = 1; i < progress.length; i++) expect(progress[i]).toBeGreaterThanOrEqual(progress[i - 1]);
    expect(samples.filter((s) => s.progress === 100).every((s) => s.status === 'completed')).toBe(true);
    // inside a step: a running step reported partial progress, and the job's value moved with it
    const inside = samples.filter((s) =>
      s.steps.some((x) => x.status === 'running' && x.progress > 0 && x.progress < 100),
    );
    expect(inside.length).toBeGreaterThan(0);
    expect(new Set(progress).size).toBeGreaterThan(8);
    const last = samples[samples.length - 1];
    expect(last).toMatchObject({
      status: 'completed',
      progress: 100,
      currentStep: 7,
      totalSteps: 7,
      stepName: 'Final sync',
    });
  });

  it('retries a step that fails twice: retrying is visible with attempts, gaps follow the 1 s × 2 backoff', async () => {
    const handle = await run({ ...fast, steps: { scanMetadata: { failAttempts: 2 } } });
    const seen = new Set<string>();
    await waitFor(
      async () => {
        const s = step(await queryState(env, handle.workflowId), 'scanMetadata');
        seen.add(`${s.status}:${s.attempt}`);
        return s;
      },
      (s) => s.status === 'completed',
      60_000,
      40,
    );
    expect([...seen]).toEqual(expect.arrayContaining(['retrying:1', 'retrying:2', 'completed:3']));
    const state = await finalState(handle.workflowId);
    expect(state.status).toBe('completed');
    expect(step(state, 'scanMetadata').subJobIds).toHaveLength(3);
    const starts = await Promise.all(
      step(state, 'scanMetadata').subJobIds.map(async (id) =>
        (await env.client.workflow.getHandle(id).describe()).startTime.getTime(),
      ),
    );
    const closes = await Promise.all(
      step(state, 'scanMetadata').subJobIds.map(async (id) =>
        (await env.client.workflow.getHandle(id).describe()).closeTime!.getTime(),
      ),
    );
    const gap1 = starts[1] - closes[0];
    const gap2 = starts[2] - closes[1];
    expect(gap1).toBeGreaterThanOrEqual(1000);
    expect(gap2).toBeGreaterThanOrEqual(2000);
    expect(gap2).toBeLessThan(6000);
  });

  it('runs independent steps concurrently and the join step waits for both', async () => {
    const handle = await run({ ...fast, steps: { incrementalSync: { durationMs: 800 } } });
    const s = await finalState(handle.workflowId);
    const sync = step(s, 'incrementalSync');
    const analyze = step(s, 'analyze');
    const apply = step(s, 'applyChanges');
    const t = (x: string | null) => Date.parse(x!);
    expect(t(sync.startedAt)).toBeLessThan(t(analyze.completedAt));
    expect(t(analyze.startedAt)).toBeLessThan(t(sync.completedAt));
    expect(t(apply.startedAt)).toBeGreaterThanOrEqual(Math.max(t(sync.completedAt), t(analyze.completedAt)));
    expect(analyze.batch).toEqual({ total: 2, completed: 2, failed: 0, running: 0 });
  });

  it('a continue failure ends completed_with_errors with its dependents skipped', async () => {
    const handle = await run({ ...fast, steps: { generateMetadata: { failPermanently: true } } });
    const s = await finalState(handle.workflowId);
    expect(s.status).toBe('completed_with_errors');
    expect(step(s, 'generateMetadata')).toMatchObject({ status: 'failed', attempt: 1 });
    expect(step(s, 'generateMetadata').error?.message).toMatch(/failed permanently/);
    expect(step(s, 'finalSync').status).toBe('skipped');
    expect(s.message).toMatch(/Generate metadata/);
  });

  it('a fail failure fails the job, naming the step and its error', async () => {
    const handle = await run({ ...fast, steps: { applyChanges: { failPermanently: true } } });
    const err = await handle.result().catch((e: Error) => e);
    expect(String((err as Error & { cause?: Error }).cause?.message)).toMatch(
      /Step 5 "Apply changes" failed/,
    );
    const s = await queryState(env, handle.workflowId);
    expect(s).toMatchObject({ status: 'failed', currentStep: 5, stepName: 'Apply changes' });
    expect(s.error).toMatchObject({ step: 'applyChanges', type: 'SimulatedFailure' });
    expect(s.progress).toBeLessThan(100);
    expect(step(s, 'generateMetadata').status).toBe('not_run');
  });

  it('ends early with a message when there are no new scenes', async () => {
    const handle = await run({ ...fast, newScenes: 0 });
    const s = await finalState(handle.workflowId);
    expect(s).toMatchObject({ status: 'completed', message: 'No new scenes to process', progress: 100 });
    expect(s.steps.slice(1).every((x) => x.status === 'skipped')).toBe(true);
  });

  it('rejects invalid input with a clear non-retryable failure', async () => {
    // Started past the client, which would refuse it: this is about the workflow's own check.
    const handle = await startUncheckedJob(env, taskQueue, 'sceneProcessing', {
      newScenes: -1,
      steps: { nope: {} },
    });
    const s = await finalState(handle.workflowId);
    expect(s.status).toBe('failed');
    expect(s.error).toMatchObject({ type: 'InvalidJobInput', nonRetryable: true });
    expect(s.error?.message).toMatch(/newScenes/);
  });

  it('is found by client.workflow.list on JobType and JobStatus', async () => {
    const handle = await run({ ...fast, newScenes: 0 });
    await handle.result();
    const found = await waitFor(
      async () => {
        const ids: string[] = [];
        for await (const wf of env.client.workflow.list({
          query: `JobType = "sceneProcessing" AND JobStatus = "completed" AND WorkflowId = "${handle.workflowId}"`,
        })) {
          ids.push(wf.workflowId);
        }
        return ids;
      },
      (ids) => ids.length === 1,
    );
    expect(found).toEqual([handle.workflowId]);
  });
});

describe('many jobs and large batches', () => {
  it('50 jobs completing at once each show the last step, completed, 100 right after completion', async () => {
    const handles = await Promise.all(
      Array.from({ length: 50 }, () => startJob(env, taskQueue, 'example', { durationMs: 30 })),
    );
    const states = await Promise.all(
      handles.map(async (h) => {
        await h.result();
        return queryState(env, h.workflowId);
      }),
    );
    for (const s of states) {
      expect(s).toMatchObject({ status: 'completed', currentStep: 2, totalSteps: 2, progress: 100 });
    }
  });

  it('a batch of 10,000 items completes with every run under 10,240 events and never more in flight than the window', async () => {
    const window = 20;
    const handle = await startJob(env, taskQueue, 'itemBatch', { count: 10_000, chunkSize: 5, window });
    const result = (await handle.result()) as JobState;
    expectJobStateInvariants(result);
    expect(result.status).toBe('completed');
    expect(result.steps[0].batch).toEqual({ total: 2000, completed: 2000, failed: 0, running: 0 });
    expect(result.summary.itemsProcessed).toBe(10_000);

    const coordinatorId = `${handle.workflowId}/count`;
    const runs: string[] = [];
    for await (const wf of env.client.workflow.list({ query: `WorkflowId = "${coordinatorId}"` }))
      runs.push(wf.runId);
    expect(runs.length).toBeGreaterThan(1); // it continued as new
    const parentHistory = await handle.fetchHistory();
    for (const history of [
      parentHistory,
      ...(await Promise.all(runs.map((r) => env.client.workflow.getHandle(coordinatorId, r).fetchHistory()))),
    ]) {
      const events = history.events ?? [];
      expect(events.length).toBeLessThanOrEqual(10_240);
      let pending = 0;
      let maxPending = 0;
      for (const e of events) {
        if (e.activityTaskScheduledEventAttributes || e.startChildWorkflowExecutionInitiatedEventAttributes)
          pending++;
        if (
          e.activityTaskCompletedEventAttributes ||
          e.activityTaskFailedEventAttributes ||
          e.activityTaskTimedOutEventAttributes ||
          e.activityTaskCanceledEventAttributes ||
          e.childWorkflowExecutionCompletedEventAttributes ||
          e.childWorkflowExecutionFailedEventAttributes ||
          e.childWorkflowExecutionCanceledEventAttributes ||
          e.childWorkflowExecutionTimedOutEventAttributes ||
          e.childWorkflowExecutionTerminatedEventAttributes ||
          e.startChildWorkflowExecutionFailedEventAttributes
        ) {
          pending--;
        }
        maxPending = Math.max(maxPending, pending);
      }
      expect(maxPending).toBeLessThanOrEqual(window);
    }
    // progress reporting stayed within budget: the parent got at most 20 progress signals, the
    // final one, and one saying how many chunks run once the first window is in flight
    const signals = (parentHistory.events ?? []).filter(
      (e) => e.workflowExecutionSignaledEventAttributes,
    ).length;
    expect(signals).toBeLessThanOrEqual(22);
  });
});
