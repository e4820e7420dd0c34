/**
 * The embedded default (`npm start`): the Temporal CLI dev server on its SQLite file, stopped and
 * started again mid-job. The worker and the API are the same objects before and after — nobody
 * restarts them — and the API answers 503 while the server is away.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { createApp } from '../../src/app';
import { StepwiseClient } from '../../src/client/client';
import exampleApp from '../../workflows/app';
import { loadConfig } from '../../src/config';
import { DevServer, freePort } from '../../src/dev-server';
import { connectTemporal } from '../../src/temporal';
import { createActivities } from '../../activities';
import { createWorker } from '../../src/worker-factory';
import type { JobState } from '../../workflows/contracts';
import { closedJobState, testPipelineConfig, uniqueId, waitFor, waitForState } from '../helpers';
import { expectDemoDoneOnce, FAULTS_TMP } from './fault-helpers';

let server: DevServer;
let port: number;
let dbFile: string;
let worker: Worker;
let running: Promise<void>;
let nativeConnection: NativeConnection;
let connection: Connection;
let client: Client;
let jobs: StepwiseClient<typeof exampleApp>;
let app: NestFastifyApplication;
const taskQueue = uniqueId('faults-dev');

const startServer = (): Promise<DevServer> =>
  DevServer.start({ port, uiPort: port + 1, headless: true, dbFile });

beforeAll(async () => {
  const dir = join(FAULTS_TMP, uniqueId('dev'));
  mkdirSync(dir, { recursive: true });
  dbFile = join(dir, 'temporal.sqlite');
  port = await freePort();
  server = await startServer();
  nativeConnection = await NativeConnection.connect({ address: server.address });
  connection = await connectTemporal({ address: server.address });
  client = new Client({ connection, namespace: 'default' });
  jobs = new StepwiseClient({ app: exampleApp, client, taskQueue });
  worker = await createWorker({
    app: exampleApp,
    activities: createActivities({ client, pipelines: testPipelineConfig() }),
    connection: nativeConnection,
    namespace: 'default',
    client,
    taskQueue,
    workflowBundlePath: process.env.STEPWISE_TEST_BUNDLE,
  });
  running = worker.run();
  app = await createApp(
    loadConfig({
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_TASK_QUEUE: taskQueue,
      STEPWISE_AUDIT_DB_PATH: ':memory:',
    }),
    { app: exampleApp },
  );
}, 120_000);

afterAll(async () => {
  await app?.close();
  worker?.shutdown();
  await running;
  await connection?.close();
  await nativeConnection?.close();
  await server?.stop();
}, 60_000);

const get = async (jobId: string): Promise<{ status: number; body: JobState }> => {
  const res = await app.inject({ method: 'GET', url: `/api/jobs/${jobId}` });
  return { status: res.statusCode, body: res.json<JobState>() };
};

it('keeps its SQLite files private whatever the umask: 0600 in a 0700 folder', () => {
  const mode = (f: string): string => (statSync(f).mode & 0o777).toString(8);
  expect(mode(dirname(dbFile))).toBe('700');
  const files = [dbFile, `${dbFile}-wal`, `${dbFile}-shm`].filter((f) => existsSync(f));
  expect(files).toContain(dbFile);
  expect(files.map((f) => [f, mode(f)])).toEqual(files.map((f) => [f, '600']));
});

it('dev server stopped and restarted mid-job: jobs complete once; the API answers 503 meanwhile and recovers', async () => {
  const PARTS = 3;
  const jobIds: string[] = [];
  for (let i = 0; i < 2; i++) {
    const started = await jobs.start('demoPipeline', {
      durationMs: 300,
      parts: PARTS,
      steps: { transform: { durationMs: 3000 } },
    });
    jobIds.push(started.jobId);
  }
  await waitForState(jobs, jobIds[0], (s) => s.currentStep >= 2, { timeoutMs: 60_000, intervalMs: 100 });
  await server.stop();
  const down = await waitFor(
    () => get(jobIds[0]),
    (r) => r.status === 503,
    30_000,
    200,
  );
  expect(down.status).toBe(503);
  expect((await app.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(503);
  server = await startServer();
  await waitFor(
    () => get(jobIds[0]),
    (r) => r.status === 200,
    60_000,
    250,
  );
  for (const id of jobIds) {
    await expectDemoDoneOnce(client, await closedJobState(jobs, id, 120_000), PARTS);
  }
  // The same worker object polled before and after: it reconnected by itself.
  expect(worker.getState()).toBe('RUNNING');
});
