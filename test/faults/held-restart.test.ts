/**
 * A held job survives a full restart: the dev server (on its SQLite file), the worker and the API
 * all stop while a step is held and start again as new objects; the job is still `held` with the
 * same hold, and the operator's retry from the restarted API runs the step and completes the job,
 * audited in the trail that outlived the API.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Client, type Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { createApp } from '../../src/app';
import exampleApp from '../../workflows/app';
import { loadConfig } from '../../src/config';
import { DevServer, freePort } from '../../src/dev-server';
import { connectTemporal } from '../../src/temporal';
import { createActivities } from '../../activities';
import { createWorker } from '../../src/worker-factory';
import type { AuditPage } from '../../src/api/contracts';
import type { JobState } from '../../workflows/contracts';
import { expectJobStateInvariants, testPipelineConfig, uniqueId, waitFor } from '../helpers';
import { FAULTS_TMP } from './fault-helpers';

const taskQueue = uniqueId('faults-held');
const dir = join(FAULTS_TMP, uniqueId('held'));
const dbFile = join(dir, 'temporal.sqlite');
const auditDbPath = join(dir, 'audit.sqlite');
let port: number;

interface Stack {
  server: DevServer;
  nativeConnection: NativeConnection;
  connection: Connection;
  worker: Worker;
  running: Promise<void>;
  app: NestFastifyApplication;
}
let stack: Stack | null = null;

/** Everything `npm start` runs, as new objects: dev server on the same file, worker, API. */
async function startStack(): Promise<Stack> {
  const server = await DevServer.start({ port, uiPort: port + 1, headless: true, dbFile });
  const nativeConnection = await NativeConnection.connect({ address: server.address });
  const connection = await connectTemporal({ address: server.address });
  const client = new Client({ connection, namespace: 'default' });
  const worker = await createWorker({
    app: exampleApp,
    activities: createActivities({ client, pipelines: testPipelineConfig() }),
    connection: nativeConnection,
    namespace: 'default',
    client,
    taskQueue,
    auditDbPath,
    workflowBundlePath: process.env.STEPWISE_TEST_BUNDLE,
  });
  const running = worker.run();
  const app = await createApp(
    loadConfig({
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_TASK_QUEUE: taskQueue,
      STEPWISE_AUDIT_DB_PATH: auditDbPath,
      STEPWISE_NOTIFICATIONS_DB_PATH: ':memory:',
    }),
    { app: exampleApp },
  );
  return { server, nativeConnection, connection, worker, running, app };
}

async function stopStack(s: Stack): Promise<void> {
  await s.app.close();
  s.worker.shutdown();
  await s.running;
  await s.connection.close();
  await s.nativeConnection.close();
  await s.server.stop();
}

beforeAll(async () => {
  mkdirSync(dir, { recursive: true });
  port = await freePort();
  stack = await startStack();
}, 120_000);

afterAll(async () => {
  if (stack) await stopStack(stack);
}, 60_000);

const state = async (jobId: string): Promise<JobState> => {
  const res = await stack!.app.inject({ method: 'GET', url: `/api/jobs/${jobId}` });
  expect(res.statusCode).toBe(200);
  const s = res.json<JobState>();
  expectJobStateInvariants(s);
  return s;
};
const until = (jobId: string, done: (s: JobState) => boolean) =>
  waitFor(
    () => state(jobId),
    (s) => done(s) || s.closedAt !== null,
    60_000,
    100,
  );

it('a held job is still held after the server, the worker and the API restart, and the retry completes it', async () => {
  const jobId = uniqueId('held');
  const started = await stack!.app.inject({
    method: 'POST',
    url: '/api/jobs',
    payload: { type: 'demoHold', jobId, input: { durationMs: 50, failAttempts: 2 } },
  });
  expect(started.statusCode).toBe(201);
  const held = await until(jobId, (s) => s.status === 'held');
  expect(held.hold).toMatchObject({ step: 'sync', attempts: 2 });

  await stopStack(stack!);
  stack = null;
  stack = await startStack();

  const after = await until(jobId, () => true);
  expect(after.status).toBe('held');
  expect(after.hold).toEqual(held.hold);
  expect(after.runId).toBe(held.runId);
  const retried = await stack.app.inject({
    method: 'POST',
    url: `/api/jobs/${jobId}/retry-step`,
    payload: { step: 'sync', reason: 'fixed after the restart' },
    headers: { 'content-type': 'application/json' },
  });
  expect(retried.statusCode).toBeLessThan(300);
  const done = await until(jobId, (s) => s.closedAt !== null);
  expect(done.status).toBe('completed');
  expect(done.steps.map((s) => s.status)).toEqual(['completed', 'completed', 'completed']);
  expect(done.steps[1].attempts.map((a) => a.outcome)).toEqual(['failed', 'failed', 'completed']);
  const audit = (
    await stack.app.inject({ method: 'GET', url: `/api/audit?jobId=${jobId}&action=retry-step` })
  ).json<AuditPage>();
  expect(audit.entries).toHaveLength(1);
  expect(audit.entries[0]).toMatchObject({ action: 'retry-step', jobId });
});
