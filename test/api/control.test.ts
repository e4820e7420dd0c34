/**
 * Operator routes against the real dev server: pause/resume/cancel, retry (recovery from a step),
 * listing by search attributes and the sub-job tree.
 */
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Worker } from '@temporalio/worker';
import { createApp } from '../../src/app';
import exampleApp from '../../workflows/app';
import type { JobList, JobTreeNode } from '../../src/api/jobs/schemas';
import { loadConfig } from '../../src/config';
import type { JobState } from '../../workflows/contracts';
import {
  connectTestEnv,
  createTestWorker,
  recordingActivities,
  uniqueId,
  waitFor,
  type SimulateCall,
  type TestEnv,
} from '../helpers';

let env: TestEnv;
let app: NestFastifyApplication;
let worker: Worker;
let running: Promise<void>;
let calls: SimulateCall[] = [];

beforeAll(async () => {
  env = await connectTestEnv();
  const recorded = recordingActivities(env);
  calls = recorded.calls;
  const w = await createTestWorker(env, { activities: recorded.activities });
  worker = w.worker;
  running = worker.run();
  app = await createApp(
    loadConfig({
      STEPWISE_AUDIT_DB_PATH: ':memory:',
      TEMPORAL_ADDRESS: env.address,
      TEMPORAL_TASK_QUEUE: w.taskQueue,
    }),
    { app: exampleApp, client: env.client },
  );
});

afterAll(async () => {
  await app?.close();
  worker?.shutdown();
  await running;
  await env?.close();
});

/** A POST with a JSON body (`{}` unless given): the API refuses one without (415). */
const post = (url: string, payload: unknown = {}) =>
  app.inject({ method: 'POST', url, payload: payload as object });
const get = (url: string) => app.inject({ method: 'GET', url });
const state = async (jobId: string): Promise<JobState> => (await get(`/api/jobs/${jobId}`)).json();
const until = (jobId: string, done: (s: JobState) => boolean) => waitFor(() => state(jobId), done, 60_000);
const isClosed = (s: JobState) => s.closedAt !== null;
const callCount = (jobId: string, step: string) =>
  calls.filter((c) => c.jobId === jobId && c.step === step).length;

async function startDemo(input: unknown): Promise<string> {
  const jobId = uniqueId('ctl');
  const res = await post('/api/jobs', { type: 'demoPipeline', input, jobId });
  expect(res.statusCode).toBe(201);
  return jobId;
}

async function listIds(query: string): Promise<string[]> {
  const res = await get(`/api/jobs?${query}&pageSize=100`);
  expect(res.statusCode).toBe(200);
  return (res.json() as JobList).jobs.map((j) => j.jobId);
}

describe('pause, resume and cancel over HTTP', () => {
  it('answers with an acknowledgement, 409 when the action does not fit, 404/400 on bad requests', async () => {
    const jobId = await startDemo({ durationMs: 100, parts: 1, steps: { extract: { durationMs: 5000 } } });
    await until(jobId, (s) => s.steps[0].status === 'running');

    expect((await post('/api/jobs/no-such-job/pause', {})).statusCode).toBe(404);
    const bad = await post(`/api/jobs/${jobId}/pause`, { reason: 5 });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().issues).toEqual([expect.objectContaining({ path: ['reason'] })]);
    expect((await state(jobId)).control.actions).toHaveLength(0);

    const paused = await post(`/api/jobs/${jobId}/pause`, { reason: 'deploy', by: 'ops' });
    expect(paused.statusCode).toBe(200);
    expect(paused.json()).toMatchObject({ jobId, action: 'pause', status: 'pausing', paused: true });
    const again = await post(`/api/jobs/${jobId}/pause`);
    expect(again.statusCode).toBe(409);
    expect(again.json().message).toMatch(/already paused/);

    const resumed = await post(`/api/jobs/${jobId}/resume`, {});
    expect(resumed.statusCode).toBe(200);
    expect(resumed.json()).toMatchObject({ jobId, action: 'resume', status: 'running', paused: false });
    expect((await post(`/api/jobs/${jobId}/resume`, {})).statusCode).toBe(409);

    const cancelled = await post(`/api/jobs/${jobId}/cancel`, { reason: 'not needed' });
    expect(cancelled.statusCode).toBe(202);
    expect(cancelled.json().status).toBe('cancelling');
    const final = await until(jobId, isClosed);
    expect(final.status).toBe('cancelled');
    expect(final.control.actions.map((a) => a.action)).toEqual(['pause', 'resume', 'cancel']);

    const closed = await post(`/api/jobs/${jobId}/pause`, {});
    expect(closed.statusCode).toBe(409);
    expect(closed.json().message).toMatch(/closed \(cancelled\)/);
    expect((await post(`/api/jobs/${jobId}/cancel`, {})).statusCode).toBe(409);
  });

  it('GET /children returns the sub-job tree with status and progress', async () => {
    const jobId = await startDemo({ durationMs: 50, parts: 2 });
    await until(jobId, isClosed);
    const res = await get(`/api/jobs/${jobId}/children`);
    expect(res.statusCode).toBe(200);
    const tree = res.json() as JobTreeNode[];
    expect(tree.map((n) => n.jobId).sort()).toEqual([`${jobId}/transform/0`, `${jobId}/transform/1`]);
    for (const n of tree)
      expect(n).toMatchObject({ type: 'demoTask', status: 'completed', progress: 100, children: [] });
    expect((await get('/api/jobs/no-such-job/children')).statusCode).toBe(404);
  });
});

describe('retry (recovery from a step)', () => {
  it('after a failure in step 3, retry runs from step 3 without re-running steps 1-2, and counts the recovery', async () => {
    const jobId = await startDemo({ durationMs: 50, parts: 2, steps: { load: { failRuns: 1 } } });
    const failed = await until(jobId, isClosed);
    expect(failed.status).toBe('failed');
    expect(failed.error?.step).toBe('load');
    expect(failed.recovery).toMatchObject({ attempt: 0, max: 3 });
    await waitFor(
      () => listIds('type=demoPipeline&status=failed&recoverable=true'),
      (ids) => ids.includes(jobId),
    );
    expect(callCount(jobId, 'extract')).toBe(1);
    expect(callCount(`${jobId}/transform/0`, 'work')).toBe(1);

    // Not from a step that never completed's successor, nor out of range.
    const tooFar = await post(`/api/jobs/${jobId}/retry`, { fromStep: 4 });
    expect(tooFar.statusCode).toBe(409);
    expect(tooFar.json().message).toMatch(/Step 3 "Load" did not complete/);
    const outOfRange = await post(`/api/jobs/${jobId}/retry`, { fromStep: 9 });
    expect(outOfRange.statusCode).toBe(400);
    expect(outOfRange.json().issues[0].path).toEqual(['fromStep']);

    const retry = await post(`/api/jobs/${jobId}/retry`, {});
    expect(retry.statusCode).toBe(201);
    expect(retry.json()).toMatchObject({ jobId, type: 'demoPipeline', status: 'running' });
    expect(retry.json().runId).not.toBe(failed.runId);
    const done = await until(jobId, (s) => s.runId === retry.json().runId && isClosed(s));
    expect(done.status).toBe('completed');
    expect(done.recovery).toMatchObject({ attempt: 1, fromStep: 3, previousRunId: failed.runId });
    expect(done.steps.map((s) => s.carriedFrom)).toEqual([failed.runId, failed.runId, null, null]);
    expect(done.steps[1].result).toEqual(failed.steps[1].result);
    // Steps 1-2 were not run again; step 3 ran once per run.
    expect(callCount(jobId, 'extract')).toBe(1);
    expect(callCount(`${jobId}/transform/0`, 'work')).toBe(1);
    expect(callCount(`${jobId}/transform/1`, 'work')).toBe(1);
    expect(callCount(jobId, 'load')).toBe(2);
    expect(done.summary.itemsProcessed).toBe(failed.summary.itemsProcessed + 5 + 5);

    const completedRetry = await post(`/api/jobs/${jobId}/retry`, {});
    expect(completedRetry.statusCode).toBe(409);
    expect(completedRetry.json().message).toMatch(/is completed/);
  });

  it('counts recoveries against the limit: the attempt past it gets 409, and the job stops being listed as recoverable', async () => {
    const jobId = await startDemo({ durationMs: 20, parts: 1, steps: { report: { failRuns: 10 } } });
    await until(jobId, isClosed);
    for (let attempt = 1; attempt <= 3; attempt++) {
      const res = await post(`/api/jobs/${jobId}/retry`);
      expect(res.statusCode).toBe(201);
      const s = await until(jobId, (x) => x.runId === res.json().runId && isClosed(x));
      expect(s).toMatchObject({ status: 'failed', recovery: { attempt, fromStep: 4 } });
    }
    const refused = await post(`/api/jobs/${jobId}/retry`, {});
    expect(refused.statusCode).toBe(409);
    expect(refused.json().message).toMatch(/Recovery limit reached.*3 of 3/);
    await waitFor(
      () =>
        Promise.all([listIds('recoverable=true&status=failed'), listIds('recoverable=false&status=failed')]),
      ([yes, no]) => !yes.includes(jobId) && no.includes(jobId),
    );
    expect(callCount(jobId, 'extract')).toBe(1);
  });

  it('re-runs just the failed steps of a completed_with_errors job (and the steps they skipped)', async () => {
    const jobId = uniqueId('ctl-cwe');
    const input = { durationMs: 20, newScenes: 2, steps: { generateMetadata: { failRuns: 1 } } };
    expect((await post('/api/jobs', { type: 'sceneProcessing', input, jobId })).statusCode).toBe(201);
    const first = await until(jobId, isClosed);
    expect(first.status).toBe('completed_with_errors');
    const retry = await post(`/api/jobs/${jobId}/retry`);
    expect(retry.statusCode).toBe(201);
    const done = await until(jobId, (s) => s.runId === retry.json().runId && isClosed(s));
    expect(done.status).toBe('completed');
    expect(done.recovery).toMatchObject({ attempt: 1, fromStep: 6 });
    expect(done.steps.map((s) => (s.carriedFrom ? 'carried' : s.status))).toEqual([
      ...Array(5).fill('carried'),
      'completed',
      'completed',
    ]);
    // Only the two re-run steps started sub-jobs in the recovery run.
    expect(done.steps.flatMap((s) => (s.carriedFrom ? [] : s.subJobIds))).toEqual([
      `${jobId}/generateMetadata-r1`,
      `${jobId}/finalSync-r1`,
    ]);
  });

  it('refuses to retry a running job and an unknown one', async () => {
    const jobId = await startDemo({ durationMs: 100, parts: 1, steps: { extract: { durationMs: 3000 } } });
    const res = await post(`/api/jobs/${jobId}/retry`, {});
    expect(res.statusCode).toBe(409);
    expect(res.json().message).toMatch(/still running/);
    expect((await post('/api/jobs/no-such-job/retry', {})).statusCode).toBe(404);
    await post(`/api/jobs/${jobId}/cancel`, {});
  });
});

describe('GET /api/jobs', () => {
  it('filters by type and status, paginates, and rejects bad filters with 400', async () => {
    const running = await startDemo({
      durationMs: 100,
      parts: 1,
      steps: { extract: { durationMs: 20_000 } },
    });
    const completed = await startDemo({ durationMs: 20, parts: 1 });
    await until(completed, isClosed);
    await until(running, (s) => s.steps[0].status === 'running');

    await waitFor(
      () =>
        Promise.all([
          listIds('type=demoPipeline&status=running'),
          listIds('type=demoPipeline&status=completed'),
        ]),
      ([r, c]) =>
        r.includes(running) && !r.includes(completed) && c.includes(completed) && !c.includes(running),
    );
    const page = await get(`/api/jobs?type=demoPipeline&status=running&pageSize=100`);
    const summary = (page.json() as JobList).jobs.find((j) => j.jobId === running);
    expect(summary).toMatchObject({
      type: 'demoPipeline',
      status: 'running',
      totalSteps: 4,
      currentStep: 1,
      stepName: 'Extract',
      closedAt: null,
      recoverable: false,
    });
    // Sub-jobs are jobs: listed by their parent.
    expect(await listIds(`parentJobId=${completed}`)).toEqual(
      expect.arrayContaining([`${completed}/transform/0`]),
    );

    const first = (await get('/api/jobs?type=demoPipeline&pageSize=1')).json() as JobList;
    expect(first.jobs).toHaveLength(1);
    expect(first.nextPageToken).toEqual(expect.any(String));
    const second = (
      await get(`/api/jobs?type=demoPipeline&pageSize=1&pageToken=${first.nextPageToken}`)
    ).json() as JobList;
    expect(second.jobs).toHaveLength(1);
    expect(second.jobs[0].jobId).not.toBe(first.jobs[0].jobId);

    for (const [query, path] of [
      ['status=bogus', 'status'],
      ['pageSize=0', 'pageSize'],
      ['type=nope', 'type'],
      ['recoverable=maybe', 'recoverable'],
      ['color=red', 'color'],
    ]) {
      const res = await get(`/api/jobs?${query}`);
      expect(res.statusCode).toBe(400);
      expect(res.json().issues.map((i: { path: string[] }) => i.path[0])).toContain(path);
    }
    await post(`/api/jobs/${running}/cancel`, {});
  });
});
