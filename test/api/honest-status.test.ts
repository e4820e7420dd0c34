/**
 * What the API refuses and how honestly it answers, against the real dev server: internal sub-job
 * types and over-budget inputs start nothing; the budgets reach the workflow in `JobParams.limits`;
 * a job terminated in Temporal reads as failed and can be retried; Temporal unreachable is a quick
 * 503; a page token Temporal did not issue is a 400.
 */
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { createApp } from '../../src/app';
import exampleApp from '../../workflows/app';
import { runStartParams } from '../../src/client/job-runs';
import type { JobList } from '../../src/api/jobs/schemas';
import { RPC_DEADLINE_MS } from '../../src/client/deadlines';
import { loadConfig } from '../../src/config';
import type { JobParams, JobState } from '../../workflows/contracts';
import { initialJobAttributes } from '../../workflows/search-attributes';
import { BATCH_COORDINATOR_TYPE } from '../../workflows/engine/batch-contracts';
import { BULK_JOB_TYPE } from '../../workflows/engine/bulk-contracts';
import { DEFAULT_LIMITS } from '../../workflows/limits';
import { freePort, uniqueId, waitFor, type TestEnv } from '../helpers';
import { startTestApi, type TestApi } from '../api-harness';

const MAX_INPUT_BYTES = 4096;
const MAX_CONTROL_ACTIONS = 7;

let harness: TestApi;
let env: TestEnv;
let app: NestFastifyApplication;
let taskQueue: string;

beforeAll(async () => {
  harness = await startTestApi({
    STEPWISE_MAX_INPUT_BYTES: String(MAX_INPUT_BYTES),
    STEPWISE_MAX_CONTROL_ACTIONS: String(MAX_CONTROL_ACTIONS),
  });
  ({ env, app, taskQueue } = harness);
});

afterAll(async () => {
  await harness?.close();
});

const post = (url: string, payload: unknown) =>
  app.inject({ method: 'POST', url, payload: payload as object });
const get = (url: string) => app.inject({ method: 'GET', url });
const state = async (jobId: string): Promise<JobState> => (await get(`/api/jobs/${jobId}`)).json();
const startParams = (jobId: string, runId: string) =>
  runStartParams(env.client, 'default', { workflowId: jobId, runId });

async function expectNotStarted(jobId: string): Promise<void> {
  await expect(env.client.workflow.getHandle(jobId).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
}

describe('POST /api/jobs refuses what callers may not start', () => {
  it.each(exampleApp.jobs.filter((d) => d.internal).map((d) => d.name))(
    'internal type %s → 400 on "type", nothing started',
    async (type) => {
      const jobId = uniqueId(`internal-${type}`);
      const res = await post('/api/jobs', { type, jobId, input: {} });
      expect(res.statusCode).toBe(400);
      const body = res.json<{ message: string; issues: { path: unknown[] }[] }>();
      expect(body.message).toMatch(
        type === BULK_JOB_TYPE
          ? /^"stepwiseBulk" is the framework's bulk-action job type: start it with POST \/api\/bulk/
          : new RegExp(`^"${type}" is an internal sub-job type, started only by its parent job \\(`),
      );
      expect(body.issues.map((i) => i.path)).toEqual([['type']]);
      await expectNotStarted(jobId);
    },
  );

  it('the batch coordinator is no job type at all → 404, nothing started', async () => {
    const jobId = uniqueId('coordinator');
    const res = await post('/api/jobs', { type: BATCH_COORDINATOR_TYPE, jobId, input: {} });
    expect(res.statusCode).toBe(404);
    expect(res.json<{ message: string }>().message).toMatch(
      new RegExp(`^Unknown job type "${BATCH_COORDINATOR_TYPE}"; the job types are "example", `),
    );
    await expectNotStarted(jobId);
  });

  it('an input over STEPWISE_MAX_INPUT_BYTES → 413 naming the limit and the variable, nothing started', async () => {
    const jobId = uniqueId('too-big');
    // Over the budget before validation: an unknown field would be a 400 later.
    const res = await post('/api/jobs', {
      type: 'example',
      jobId,
      input: { pad: 'x'.repeat(MAX_INPUT_BYTES) },
    });
    expect(res.statusCode).toBe(413);
    const body = res.json<{ message: string; issues: { path: unknown[] }[] }>();
    expect(body).toMatchObject({ statusCode: 413, error: 'Payload Too Large' });
    expect(body.message).toMatch(
      new RegExp(`limit is ${MAX_INPUT_BYTES} bytes \\(STEPWISE_MAX_INPUT_BYTES\\)`),
    );
    expect(body.issues.map((i) => i.path)).toEqual([['input']]);
    await expectNotStarted(jobId);
  });

  it('a body over Fastify’s limit (budget + 64 KiB) → 413 in the same error format, nothing started', async () => {
    const jobId = uniqueId('huge-body');
    const res = await post('/api/jobs', { type: 'example', jobId, input: { pad: 'x'.repeat(200 * 1024) } });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toEqual({ statusCode: 413, error: 'Payload Too Large', message: expect.any(String) });
    await expectNotStarted(jobId);
  });
});

describe('budgets travel with the job', () => {
  it('passes the configured limits in JobParams on start', async () => {
    const res = await post('/api/jobs', { type: 'example', input: { durationMs: 10 } });
    expect(res.statusCode).toBe(201);
    const { jobId, runId } = res.json<{ jobId: string; runId: string }>();
    expect((await startParams(jobId, runId))?.limits).toEqual({
      maxInputBytes: MAX_INPUT_BYTES,
      maxControlActions: MAX_CONTROL_ACTIONS,
      maxRunControlActions: DEFAULT_LIMITS.maxRunControlActions,
    });
    await env.client.workflow.getHandle(jobId).result();
  });
});

describe('a job terminated in Temporal', () => {
  it('reads as failed/Terminated in GET and the list, and a retry runs it to completion', async () => {
    const jobId = uniqueId('terminated');
    const input = { durationMs: 20, parts: 1, steps: { load: { durationMs: 3000 } } };
    expect((await post('/api/jobs', { type: 'demoPipeline', jobId, input })).statusCode).toBe(201);
    await waitFor(
      () => state(jobId),
      (s) => s.steps.find((x) => x.key === 'load')?.status === 'running',
    );
    const handle = env.client.workflow.getHandle(jobId);
    await handle.terminate('test');
    const desc = await handle.describe();
    expect(desc.status.name).toBe('TERMINATED');

    const s = await state(jobId);
    expect(s).toMatchObject({
      status: 'failed',
      error: { type: 'Terminated', nonRetryable: true, step: null },
      closedAt: desc.closeTime!.toISOString(),
      activeSubJobs: [],
    });
    expect(s.error!.message).toContain('test');
    expect(s.progress).toBeLessThan(100);
    expect(s.steps.map((x) => [x.key, x.status])).toEqual([
      ['extract', 'completed'],
      ['transform', 'completed'],
      ['load', 'failed'],
      ['report', 'not_run'],
    ]);

    // The list says the same, with or without a status filter, once Temporal's visibility store
    // has the close (it is eventually consistent: docs/api.md).
    for (const query of ['type=demoPipeline&pageSize=100', 'type=demoPipeline&status=failed&pageSize=100']) {
      const listed = await waitFor(
        async () => (await get(`/api/jobs?${query}`)).json<JobList>().jobs.find((j) => j.jobId === jobId),
        (j) => j !== undefined && j.status !== 'running',
        10_000,
      );
      expect(listed).toMatchObject({ status: 'failed', recoverable: true });
    }
    const runningList = (
      await get('/api/jobs?type=demoPipeline&status=running&pageSize=100')
    ).json<JobList>();
    expect(runningList.jobs.find((j) => j.jobId === jobId)).toBeUndefined();
    // Control routes see it closed, as failed.
    const pause = await post(`/api/jobs/${jobId}/pause`, {});
    expect(pause.statusCode).toBe(409);
    expect(pause.json<{ message: string }>().message).toMatch(/closed \(failed\)/);

    const retry = await post(`/api/jobs/${jobId}/retry`, {});
    expect(retry.statusCode).toBe(201);
    const { runId } = retry.json<{ runId: string }>();
    const params = await startParams(jobId, runId);
    expect(params?.recovery).toMatchObject({ attempt: 1, fromStep: 3, previousRunId: desc.runId });
    expect(Object.keys(params?.recovery?.carried ?? {}).sort()).toEqual(['extract', 'transform']);
    expect(params?.limits).toEqual({
      maxInputBytes: MAX_INPUT_BYTES,
      maxControlActions: MAX_CONTROL_ACTIONS,
      maxRunControlActions: DEFAULT_LIMITS.maxRunControlActions,
    });
    await env.client.workflow.getHandle(jobId, runId).result();
    const done = await state(jobId);
    expect(done).toMatchObject({ runId, status: 'completed', progress: 100, error: null });
    expect(done.steps.map((x) => [x.key, x.status, x.carriedFrom])).toEqual([
      ['extract', 'completed', desc.runId],
      ['transform', 'completed', desc.runId],
      ['load', 'completed', null],
      ['report', 'completed', null],
    ]);
  });
});

describe('a job timed out in Temporal', () => {
  it('reads as failed/TimedOut naming the timeout', async () => {
    const jobId = uniqueId('timed-out');
    const params: JobParams = {
      input: { durationMs: 20, parts: 1, steps: { load: { durationMs: 60_000 } } },
    };
    const handle = await env.client.workflow.start('demoPipeline', {
      taskQueue,
      workflowId: jobId,
      args: [params],
      typedSearchAttributes: initialJobAttributes('demoPipeline'),
      workflowExecutionTimeout: '3s',
    });
    await expect(handle.result()).rejects.toThrow();
    const desc = await handle.describe();
    expect(desc.status.name).toBe('TIMED_OUT');
    const s = await state(jobId);
    expect(s).toMatchObject({
      status: 'failed',
      error: { type: 'TimedOut', nonRetryable: true, step: null },
      closedAt: desc.closeTime!.toISOString(),
    });
    expect(s.error!.message).toMatch(/execution timeout 3 s/);
    // Once the (eventually consistent) visibility store has the close; scoped to this job's id.
    const listed = await waitFor(
      async () =>
        (await get(`/api/jobs?jobIdPrefix=${jobId}&status=failed&recoverable=true`))
          .json<JobList>()
          .jobs.find((j) => j.jobId === jobId),
      (j) => j !== undefined,
      10_000,
    );
    expect(listed).toMatchObject({ status: 'failed', recoverable: true });
  });
});

describe('Temporal unreachable', () => {
  it('answers 503 once the call deadline passes on the job routes', async () => {
    // A real client to a port nothing listens on; lazy, so the app starts without connecting.
    const connection = Connection.lazy({ address: `127.0.0.1:${await freePort()}` });
    const unreachable = await createApp(
      loadConfig({ STEPWISE_AUDIT_DB_PATH: ':memory:', TEMPORAL_ADDRESS: env.address }),
      { app: exampleApp, client: new Client({ connection, namespace: 'default' }) },
    );
    try {
      const requests = [
        { method: 'GET' as const, url: `/api/jobs/${uniqueId('x')}` },
        { method: 'POST' as const, url: '/api/jobs', payload: { type: 'example', input: {} } },
        {
          method: 'POST' as const,
          url: '/api/jobs',
          payload: { type: 'example', jobId: uniqueId('x'), input: {} },
        },
        { method: 'GET' as const, url: '/api/jobs' },
      ];
      for (const req of requests) {
        const started = Date.now();
        const res = await unreachable.inject(req);
        expect([res.statusCode, req.url]).toEqual([503, req.url]);
        expect(res.json()).toMatchObject({ statusCode: 503, error: 'Service Unavailable' });
        // Not a performance figure: the request ends because of the call's deadline, not because
        // gRPC's own retries gave up (minutes); 3× the deadline leaves room for a loaded machine.
        expect(Date.now() - started).toBeLessThan(3 * RPC_DEADLINE_MS);
      }
    } finally {
      await unreachable.close();
      await connection.close();
    }
  }, 90_000);
});

describe('GET /api/jobs page tokens', () => {
  it('answers 400 on "pageToken" for a token Temporal did not issue', async () => {
    for (let i = 0; i < 3; i++) {
      expect((await post('/api/jobs', { type: 'example', input: { durationMs: 0 } })).statusCode).toBe(201);
    }
    const first = (await get('/api/jobs?type=example&pageSize=1')).json<JobList>();
    expect(first.nextPageToken).not.toBeNull();
    const real = Buffer.from(first.nextPageToken!, 'base64url');
    const flipped = Buffer.from(real);
    flipped[Math.floor(flipped.length / 2)] ^= 0x5a;
    const tampered = [
      Buffer.from('not a token at all').toString('base64url'),
      flipped.toString('base64url'),
      Buffer.from('{"LastStartTime":"x","LastRunID":1}').toString('base64url'),
      '%%%',
    ];
    for (const token of tampered) {
      const res = await get(`/api/jobs?type=example&pageSize=1&pageToken=${encodeURIComponent(token)}`);
      expect([token, res.statusCode]).toEqual([token, 400]);
      expect(res.json<{ issues: { path: unknown[] }[] }>().issues.map((i) => i.path)).toEqual([
        ['pageToken'],
      ]);
    }
    // The real token still pages.
    const next = await get(`/api/jobs?type=example&pageSize=1&pageToken=${first.nextPageToken}`);
    expect(next.statusCode).toBe(200);
  });
});
