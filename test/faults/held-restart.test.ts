/**
 * A held job, and the webhook telling someone about it, survive a full restart: the dev server (on
 * its SQLite file), the worker and the API all stop while a step is held and the `job.held`
 * delivery is retrying against a receiver that answers 500, and start again as new objects. The
 * job is still `held` with the same hold; the delivery goes on and reaches the receiver once it
 * answers, exactly once, signed; the operator's retry from the restarted API completes the job,
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
import { readJobUntil, testPipelineConfig, uniqueId, waitFor } from '../helpers';
import { Receiver, verifyStandardWebhook } from '../webhook-receiver';
import { FAULTS_TMP } from './fault-helpers';

const taskQueue = uniqueId('faults-held');
const dir = join(FAULTS_TMP, uniqueId('held'));
const dbFile = join(dir, 'temporal.sqlite');
const auditDbPath = join(dir, 'audit.sqlite');
const receiver = new Receiver();
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
      STEPWISE_NOTIFICATIONS_DB_PATH: join(dir, 'notifications.sqlite'),
      STEPWISE_WEBHOOK_ALLOW_PRIVATE: 'true',
      STEPWISE_WEBHOOK_RETRY_INITIAL_MS: '300',
      STEPWISE_WEBHOOK_RETRY_MAX_MS: '1000',
      STEPWISE_NOTIFIER_POLL_MS: '200',
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
  await receiver.start();
  stack = await startStack();
}, 120_000);

afterAll(async () => {
  if (stack) await stopStack(stack);
  await receiver.close();
}, 60_000);

const until = (jobId: string, done: (s: JobState) => boolean) =>
  readJobUntil(() => stack!.app, jobId, done, { everyMs: 100 });

it('a held job and its job.held delivery survive the server, the worker and the API restarting; the retry completes the job', async () => {
  const path = `/${uniqueId('held-hook')}`;
  receiver.failFirst.set(path, Number.MAX_SAFE_INTEGER);
  const sub = await stack!.app.inject({
    method: 'POST',
    url: '/api/notifications/subscriptions',
    payload: { url: `${receiver.url}${path}`, events: ['job.held'] },
    headers: { 'content-type': 'application/json' },
  });
  expect(sub.statusCode).toBe(201);
  const secret = sub.json<{ secret: string }>().secret;
  const jobId = uniqueId('held');
  const started = await stack!.app.inject({
    method: 'POST',
    url: '/api/jobs',
    payload: { type: 'demoHold', jobId, input: { durationMs: 50, failAttempts: 2 } },
  });
  expect(started.statusCode).toBe(201);
  const held = await until(jobId, (s) => s.status === 'held');
  expect(held.hold).toMatchObject({ step: 'sync', attempts: 2 });

  // The delivery is retrying: its receiver answered 500 at least twice.
  await waitFor(
    async () => receiver.received.filter((r) => r.path === path).length,
    (n) => n >= 2,
    60_000,
    100,
  );

  await stopStack(stack!);
  stack = null;
  const failedBefore = receiver.received.filter((r) => r.path === path).length;
  receiver.failFirst.delete(path);
  stack = await startStack();

  const after = await until(jobId, () => true);
  expect(after.status).toBe('held');
  expect(after.hold).toEqual(held.hold);
  expect(after.runId).toBe(held.runId);
  // The same delivery, from its workflow that outlived everything: once, signed, about this hold.
  const [got] = await waitFor(
    async () => receiver.ok(path),
    (ok) => ok.length >= 1,
    60_000,
    100,
  );
  expect(verifyStandardWebhook(secret, got.headers, got.body)).toBe(true);
  expect(JSON.parse(got.body)).toMatchObject({
    type: 'job.held',
    data: { jobId, status: 'held', step: 'sync', hold: { attempts: 2 } },
  });
  const ids = new Set(receiver.received.filter((r) => r.path === path).map((r) => r.headers['webhook-id']));
  expect(ids.size).toBe(1);
  expect(failedBefore).toBeGreaterThanOrEqual(2);

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
  // Still one 2xx: the restarted notifier did not deliver the hold again.
  const deliveries = (await stack.app.inject({ method: 'GET', url: '/api/notifications/deliveries' })).json<{
    deliveries: { status: string; event: string }[];
  }>().deliveries;
  expect(deliveries.filter((d) => d.event === 'job.held')).toEqual([
    expect.objectContaining({ status: 'delivered' }),
  ]);
  expect(receiver.ok(path)).toHaveLength(1);
});
