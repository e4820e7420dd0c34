/**
 * What the card leads with, through the API a client uses: a failed job's root cause (the deepest
 * failing step, chunk errors grouped, the steps that did not run because of it), an ETA learned
 * from the type's completed runs, each step's attempts with their retry waits, who started the
 * job, and its runs (the recovery chain), each readable by run id. Real dev server.
 */
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { JobState } from '../../workflows/contracts';
import type { JobRuns, RootCause } from '../../src/api/contracts';
import { expectJobStateInvariants, uniqueId, waitFor } from '../helpers';
import { startTestApi, type TestApi } from '../api-harness';

let harness: TestApi;
let app: NestFastifyApplication;

beforeAll(async () => {
  harness = await startTestApi();
  app = harness.app;
});

afterAll(async () => {
  await harness?.close();
});

const path = (jobId: string, rest = ''): string => `/api/jobs/${encodeURIComponent(jobId)}${rest}`;
const json = { 'content-type': 'application/json' };
const get = (url: string) => app.inject({ method: 'GET', url });
const post = (url: string, payload: object = {}) =>
  app.inject({ method: 'POST', url, payload, headers: json });

async function start(type: string, input: unknown, prefix = type): Promise<string> {
  const jobId = uniqueId(`insight-${prefix}`);
  const res = await post('/api/jobs', { type, jobId, input });
  expect(res.statusCode).toBe(201);
  return jobId;
}

const stateOf = async (jobId: string, query = ''): Promise<JobState> => {
  const res = await get(`${path(jobId)}${query}`);
  expect(res.statusCode).toBe(200);
  return res.json<JobState>();
};

const closedState = (jobId: string): Promise<JobState> =>
  waitFor(
    () => stateOf(jobId),
    (s) => s.closedAt !== null,
    60_000,
    100,
  );

describe('root cause', () => {
  it('leads a failed demoPipeline with its failing chunks, grouped by error, and marks what did not run', async () => {
    const jobId = await start('demoPipeline', {
      durationMs: 0,
      parts: 5,
      partsFailing: 3,
      partFailure: 'ECONNRESET from images.example.com',
    });
    const final = await closedState(jobId);
    expect(final.status).toBe('failed');
    expect(final.error?.step).toBe('transform');

    const res = await get(path(jobId, '/cause'));
    expect(res.statusCode).toBe(200);
    const cause = res.json<RootCause>();
    expect(cause.status).toBe('failed');
    // The deepest failure: the work step of a failed chunk sub-job, with the chunk's own error.
    expect(cause.cause).toMatchObject({
      type: 'demoTask',
      step: 'work',
      error: { message: 'ECONNRESET from images.example.com' },
    });
    expect(cause.path[0]).toMatchObject({ jobId, step: 'transform', stepName: 'Transform' });
    expect(cause.path.at(-1)?.jobId).toBe(cause.cause?.jobId);
    expect(cause.failedChunks).toBe(3);
    expect(cause.groups).toHaveLength(1);
    expect(cause.groups[0]).toMatchObject({ message: 'ECONNRESET from images.example.com', count: 3 });
    expect(cause.groups[0].chunks.sort()).toEqual([0, 1, 2]);
    // Every chunk it names is a job a client can open, and it did fail with that error.
    for (const chunkId of cause.groups[0].jobIds) {
      const chunk = await stateOf(chunkId);
      expect(chunk.status).toBe('failed');
      expect(chunk.parentJobId).toBe(jobId);
      expect(chunk.error?.message).toBe('ECONNRESET from images.example.com');
    }
    // Load and Report never ran because Transform failed.
    expect(cause.consequences).toEqual([
      { step: 'load', stepName: 'Load', status: 'not_run' },
      { step: 'report', stepName: 'Report', status: 'not_run' },
    ]);
  });

  it('is empty for a job that did not fail', async () => {
    const jobId = await start('demoPipeline', { durationMs: 0, parts: 1 });
    expect((await closedState(jobId)).status).toBe('completed');
    const cause = (await get(path(jobId, '/cause'))).json<RootCause>();
    expect(cause).toMatchObject({ status: 'completed', cause: null, groups: [], consequences: [] });
  });

  it('answers 404 for an unknown job and 400 for a malformed id', async () => {
    expect((await get(path('no-such-job-insight', '/cause'))).statusCode).toBe(404);
    expect((await get('/api/jobs/a%00b/cause')).statusCode).toBe(400);
  });
});

describe('attempts, pauses and who started it', () => {
  it("records each attempt of a retried step, with the wait before the next, and the pause on the job's control log", async () => {
    const jobId = await start('demoPipeline', {
      durationMs: 200,
      parts: 1,
      steps: { load: { failAttempts: 2, durationMs: 100 } },
    });
    expect((await post(path(jobId, '/pause'), { reason: 'timeline' })).statusCode).toBe(200);
    await waitFor(
      () => stateOf(jobId),
      (s) => s.status === 'paused',
    );
    expect((await post(path(jobId, '/resume'), {})).statusCode).toBe(200);
    const final = await closedState(jobId);
    expectJobStateInvariants(final);
    expect(final.status).toBe('completed');
    expect(final.startedBy).toBe('local');

    const load = final.steps.find((s) => s.key === 'load')!;
    expect(load.attempt).toBe(3);
    expect(load.attempts.map((a) => [a.attempt, a.outcome])).toEqual([
      [1, 'failed'],
      [2, 'failed'],
      [3, 'completed'],
    ]);
    for (const [i, a] of load.attempts.entries()) {
      expect(Date.parse(a.endedAt!)).toBeGreaterThanOrEqual(Date.parse(a.startedAt));
      if (a.outcome === 'failed') {
        expect(a.error).toMatch(/failed on attempt/);
        // The next attempt starts when the wait ends, not before.
        expect(Date.parse(load.attempts[i + 1].startedAt)).toBeGreaterThanOrEqual(Date.parse(a.retryAt!));
      }
    }
    // Every other step ran once.
    for (const s of final.steps.filter((x) => x.key !== 'load')) {
      expect(s.attempts.map((a) => a.outcome)).toEqual(['completed']);
    }
    expect(final.control.actions.map((a) => a.action)).toEqual(['pause', 'resume']);
  });
});

describe('runs (the recovery chain)', () => {
  it('lists the first run and the retry, each readable by its run id', async () => {
    const jobId = await start('demoPipeline', { durationMs: 0, parts: 1, steps: { load: { failRuns: 1 } } });
    const first = await closedState(jobId);
    expect(first.status).toBe('failed');
    const retry = await post(path(jobId, '/retry'), { fromStep: 3 });
    expect(retry.statusCode).toBe(201);
    const second = await closedState(jobId);
    expect(second.status).toBe('completed');

    const runs = (await get(path(jobId, '/runs'))).json<JobRuns>().runs;
    expect(runs).toHaveLength(2);
    expect(runs[0]).toMatchObject({
      runId: second.runId,
      status: 'completed',
      recoveryAttempt: 1,
      fromStep: 3,
      previousRunId: first.runId,
      startedBy: 'local',
    });
    expect(runs[1]).toMatchObject({
      runId: first.runId,
      status: 'failed',
      recoveryAttempt: 0,
      previousRunId: null,
    });

    const earlier = await stateOf(jobId, `?runId=${first.runId}`);
    expect(earlier).toMatchObject({ runId: first.runId, status: 'failed', eta: null });
    expect((await get(`${path(jobId)}?runId=00000000-0000-4000-8000-000000000000`)).statusCode).toBe(404);
    const bad = await get(`${path(jobId)}?runId=not%20a%20run`);
    expect(bad.statusCode).toBe(400);
    expect(bad.json<{ issues: { path: string[] }[] }>().issues[0].path).toEqual(['runId']);
    expect((await get(`${path(jobId)}?other=1`)).statusCode).toBe(400);
  });
});

describe('ETA', () => {
  it('is learned from completed runs of the type, and refined as a running job moves', async () => {
    const input = { newScenes: 2, durationMs: 400, analyze: { chunkSize: 1, window: 2 } };
    const prefix = uniqueId('insight-eta-history');
    for (let i = 0; i < 2; i++) {
      const id = `${prefix}-${i}`;
      expect((await post('/api/jobs', { type: 'sceneProcessing', jobId: id, input })).statusCode).toBe(201);
      expect((await closedState(id)).status).toBe('completed');
    }
    // Visibility catches up with a run's close a moment after it: the model learns from what it lists.
    await waitFor(
      () => get(`/api/jobs?jobIdPrefix=${prefix}&status=completed&topLevel=true`),
      (res) => res.json<{ jobs: unknown[] }>().jobs.length === 2,
    );
    const jobId = await start('sceneProcessing', input, 'eta');
    const withEta = await waitFor(
      () => stateOf(jobId),
      (s) => s.eta?.at != null || s.closedAt !== null,
      30_000,
      100,
    );
    expect(withEta.closedAt).toBeNull();
    const eta = withEta.eta!;
    expect(eta.basedOnRuns).toBeGreaterThanOrEqual(2);
    expect(eta.note).toMatch(/completed runs of "sceneProcessing"/);
    expect(Date.parse(eta.at!)).toBe(Date.parse(eta.computedAt) + eta.remainingMs!);
    expect(eta.remainingMs).toBeGreaterThanOrEqual(0);
    // Closed: no estimate.
    const final = await closedState(jobId);
    expect(final.eta).toBeNull();
  });
});
