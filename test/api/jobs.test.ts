import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { createApp } from '../../src/app';
import exampleApp from '../../workflows/app';
import { loadConfig } from '../../src/config';
import type { JobState } from '../../workflows/contracts';
import { freePort, uniqueId, waitFor, type TestEnv } from '../helpers';
import { startTestApi, type TestApi } from '../api-harness';

let harness: TestApi;
let env: TestEnv;
let app: NestFastifyApplication;

beforeAll(async () => {
  harness = await startTestApi();
  ({ env, app } = harness);
});

afterAll(async () => {
  await harness?.close();
});

const post = (url: string, payload: unknown) =>
  app.inject({ method: 'POST', url, payload: payload as object });
const get = (url: string) => app.inject({ method: 'GET', url });

async function expectNotStarted(jobId: string): Promise<void> {
  await expect(env.client.workflow.getHandle(jobId).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
}

describe('GET /health', () => {
  it('is 200 with Temporal reachable', async () => {
    const res = await get('/health');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok', temporal: 'ok' });
  });

  it('is 503 within its deadline when Temporal is unreachable', async () => {
    // A real client to a port nothing listens on; lazy, so the app starts without connecting.
    const connection = Connection.lazy({ address: `127.0.0.1:${await freePort()}` });
    const unreachable = await createApp(
      loadConfig({ STEPWISE_AUDIT_DB_PATH: ':memory:', TEMPORAL_ADDRESS: env.address }),
      { app: exampleApp, client: new Client({ connection, namespace: 'default' }) },
    );
    try {
      const res = await unreachable.inject({ method: 'GET', url: '/health' });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toEqual({ status: 'error', temporal: 'unreachable' });
    } finally {
      await unreachable.close();
      await connection.close();
    }
  }, 10_000); // the health deadline is 3 s; gRPC's own retries would take far longer

  it('leaves a client passed in open when the app closes', async () => {
    const other = await createApp(
      loadConfig({ STEPWISE_AUDIT_DB_PATH: ':memory:', TEMPORAL_ADDRESS: env.address }),
      { app: exampleApp, client: env.client },
    );
    await other.close();
    await expect(
      env.client.workflowService.describeNamespace({ namespace: 'default' }),
    ).resolves.toBeDefined();
  });
});

describe('GET /docs', () => {
  it('is the interactive reference on /openapi.json, with its assets served locally', async () => {
    const res = await get('/docs');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.body).toContain('/docs/assets/swagger-ui-bundle.js');
    expect((await get('/docs/assets/init.js')).body).toContain('/openapi.json');
  });
});

describe('POST /api/jobs and GET /api/jobs/:jobId', () => {
  it('starts an example job (201) whose state soon shows completed, step 2/2, progress 100', async () => {
    const res = await post('/api/jobs', { type: 'example', input: { durationMs: 50 } });
    expect(res.statusCode).toBe(201);
    const body = res.json<{ jobId: string; runId: string; type: string; status: string }>();
    expect(body).toMatchObject({ type: 'example', status: 'running' });
    expect(body.jobId).toMatch(/^example-/);
    const state = await waitFor(
      async () => (await get(`/api/jobs/${body.jobId}`)).json<JobState>(),
      (s) => s.status === 'completed',
    );
    expect(state).toMatchObject({
      jobId: body.jobId,
      runId: body.runId,
      currentStep: 2,
      totalSteps: 2,
      progress: 100,
    });
  });

  it('is idempotent for a jobId with the same type and input, running or closed (200, same run)', async () => {
    const jobId = uniqueId('api-idem');
    const first = await post('/api/jobs', { type: 'example', jobId, input: { durationMs: 400 } });
    expect(first.statusCode).toBe(201);
    const again = await post('/api/jobs', { type: 'example', jobId, input: { durationMs: 400 } });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual(first.json());
    await env.client.workflow.getHandle(jobId).result();
    // Closed: the same answer with the job's current status; the input compares after parsing
    // (defaults filled in) and whatever the key order.
    const closed = await post('/api/jobs', {
      type: 'example',
      jobId,
      input: { failAttempts: 0, durationMs: 400 },
    });
    expect(closed.statusCode).toBe(200);
    expect(closed.json()).toEqual({ ...first.json<object>(), status: 'completed' });
  });

  it('answers 409 naming the difference when a jobId exists with another input or type', async () => {
    const jobId = uniqueId('api-idem-conflict');
    expect((await post('/api/jobs', { type: 'example', jobId, input: { durationMs: 50 } })).statusCode).toBe(
      201,
    );
    const otherInput = await post('/api/jobs', { type: 'example', jobId, input: { durationMs: 60 } });
    expect(otherInput.statusCode).toBe(409);
    expect(otherInput.json()).toMatchObject({
      statusCode: 409,
      error: 'Conflict',
      issues: [{ path: ['input', 'durationMs'] }],
    });
    expect(otherInput.json<{ message: string }>().message).toMatch(/different input.*input\.durationMs/);
    const otherType = await post('/api/jobs', { type: 'itemBatch', jobId, input: {} });
    expect(otherType.statusCode).toBe(409);
    expect(otherType.json<{ message: string }>().message).toMatch(/as type "example", not "itemBatch"/);
    await env.client.workflow.getHandle(jobId).result();
  });

  it('rejects invalid input with 400 and the zod issue paths, starting nothing', async () => {
    const jobId = uniqueId('api-bad');
    const res = await post('/api/jobs', {
      type: 'example',
      jobId,
      input: { durationMs: -5, failAttempts: 'x' },
    });
    expect(res.statusCode).toBe(400);
    const body = res.json<{ statusCode: number; error: string; issues: { path: unknown[] }[] }>();
    expect(body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    expect(body.issues.map((i) => i.path)).toEqual([
      ['input', 'durationMs'],
      ['input', 'failAttempts'],
    ]);
    await expectNotStarted(jobId);
  });

  it('rejects a malformed body (unknown keys, missing type) with 400 and paths', async () => {
    const res = await post('/api/jobs', { input: {}, extra: true });
    expect(res.statusCode).toBe(400);
    expect(res.json<{ issues: { path: unknown[] }[] }>().issues.map((i) => i.path)).toEqual(
      expect.arrayContaining([['type'], ['extra']]),
    );
  });

  it('answers 404 for an unknown job type, starting nothing', async () => {
    const jobId = uniqueId('api-unknown');
    const res = await post('/api/jobs', { type: 'noSuchType', jobId, input: {} });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({
      statusCode: 404,
      error: 'Not Found',
      message: `Unknown job type "noSuchType"; the job types are "example", "sceneProcessing", "itemBatch", "demoPipeline", "demoHold", "demoWait", "demoQueue", "demoApproval", "dataImport", "datasetBuild" (GET /api/job-types)`,
    });
    await expectNotStarted(jobId);
  });

  it('answers 404 for an unknown job id', async () => {
    const res = await get(`/api/jobs/${uniqueId('nobody')}`);
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ statusCode: 404, error: 'Not Found' });
  });
});
