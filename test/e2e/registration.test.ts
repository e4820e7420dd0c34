/**
 * Forgetting a job type's entry in `defineApp` means the type does not exist anywhere: the API
 * does not offer it (404, absent from the catalog), a job of that type started behind the API's
 * back fails at once with a message that names it (it does not hang), and a worker whose workflow
 * code holds another app than the one it was given refuses to start, naming the types.
 */
import { WorkflowFailedError } from '@temporalio/client';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Worker } from '@temporalio/worker';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { RegistrationError } from '../../src/registration';
import { createWorker } from '../../src/worker-factory';
import { createActivities } from '../../activities';
import exampleApp from '../../workflows/app';
import type { JobState } from '../../workflows/contracts';
import { initialJobAttributes } from '../../workflows/search-attributes';
import partialApp from '../fixtures/apps/without-example';
import { connectTestEnv, createTestWorker, testPipelineConfig, uniqueId, type TestEnv } from '../helpers';

const PARTIAL = require.resolve('../fixtures/apps/without-example');

let env: TestEnv;
let worker: Worker;
let running: Promise<void>;
let taskQueue: string;
let api: NestFastifyApplication;

beforeAll(async () => {
  env = await connectTestEnv();
  ({ worker, taskQueue } = await createTestWorker(env, {
    app: partialApp,
    workflowsPath: PARTIAL,
    workflowBundlePath: undefined,
  }));
  running = worker.run();
  api = await createApp(
    loadConfig({
      STEPWISE_AUDIT_DB_PATH: ':memory:',
      TEMPORAL_ADDRESS: env.address,
      TEMPORAL_TASK_QUEUE: taskQueue,
    }),
    { app: partialApp, client: env.client },
  );
}, 120_000);

afterAll(async () => {
  await api?.close();
  worker?.shutdown();
  await running;
  await env?.close();
});

test('the API does not offer the forgotten type: 404 on start, absent from the catalog', async () => {
  const start = await api.inject({
    method: 'POST',
    url: '/api/jobs',
    payload: { type: 'example', input: {} },
  });
  expect(start.statusCode).toBe(404);
  expect(start.json()).toMatchObject({
    message:
      'Unknown job type "example"; the job types are "sceneProcessing", "itemBatch" (GET /api/job-types)',
  });
  const types = (await api.inject({ method: 'GET', url: '/api/job-types' })).json<{ type: string }[]>();
  expect(types.map((t) => t.type)).toEqual(['sceneProcessing', 'sceneTask', 'itemBatch', 'stepwiseBulk']);
  // The types it does have run.
  const ok = await api.inject({
    method: 'POST',
    url: '/api/jobs',
    payload: { type: 'itemBatch', input: { count: 4, chunkSize: 2 } },
  });
  expect(ok.statusCode).toBe(201);
  const handle = env.client.workflow.getHandle(ok.json<{ jobId: string }>().jobId);
  expect(((await handle.result()) as JobState).status).toBe('completed');
});

test('a job of the forgotten type started behind the API fails at once, naming it (no hang)', async () => {
  const handle = await env.client.workflow.start('example', {
    taskQueue,
    workflowId: uniqueId('forgotten'),
    args: [{ input: {} }],
    typedSearchAttributes: initialJobAttributes('example'),
  });
  const error = await handle.result().then(
    () => null,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(WorkflowFailedError);
  expect((error as WorkflowFailedError).cause?.message).toBe(
    'Job type "example" is not in this worker\'s app (known: sceneProcessing, sceneTask, itemBatch, stepwiseBulk)',
  );
});

test('a worker whose workflow code holds another app than the one it was given refuses to start', async () => {
  const error = await createWorker({
    app: exampleApp,
    activities: createActivities({ client: env.client, pipelines: testPipelineConfig() }),
    connection: env.nativeConnection,
    client: env.client,
    taskQueue: uniqueId('never-polled'),
    workflowsPath: PARTIAL,
  }).then(
    () => null,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(RegistrationError);
  expect((error as RegistrationError).missing).toEqual([
    'example',
    'exampleSubJob',
    'demoPipeline',
    'demoTask',
    'demoHold',
    'demoWait',
    'demoQueue',
    'demoApproval',
    'dataImport',
    'importBatch',
    'datasetBuild',
  ]);
});
