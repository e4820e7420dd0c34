/**
 * A concurrency limit holds through faults: its bookkeeping is a workflow, not a process's memory.
 * Ten `demoQueue` jobs of one tenant (at most 2 at once) are started; mid-way a worker process
 * holding running steps is killed (SIGKILL), or stops as in a deploy (SIGTERM), and then the dev server (on its SQLite file), the
 * other worker and the API are all stopped and started again as new objects. Every sample read
 * through the API shows at most 2 running and the rest `queued`; all ten complete; from the times
 * the jobs recorded, never more than 2 ran at once; a job cancelled while queued never ran.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Client, type Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { createApp } from '../../src/app';
import exampleApp from '../../workflows/app';
import { loadConfig } from '../../src/config';
import { DevServer, freePort } from '../../src/dev-server';
import { connectTemporal } from '../../src/temporal';
import { createActivities } from '../../activities';
import { createWorker } from '../../src/worker-factory';
import type { JobState } from '../../workflows/contracts';
import { readJob, testPipelineConfig, uniqueId, waitFor } from '../helpers';
import { FAULTS_TMP } from './fault-helpers';

const EventType = temporal.api.enums.v1.EventType;
const taskQueue = uniqueId('faults-queue');
const dir = join(FAULTS_TMP, uniqueId('queue'));
const dbFile = join(dir, 'temporal.sqlite');
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
let child: ChildProcess | null = null;
/** The scenario's jobs, for {@link timelines}. */
const ids: string[] = [];

/**
 * Each job's history as one line (a failure's evidence: the CI log is all there is): workflow
 * tasks, the queue's local activity, slot answers, the steps' activities, the close.
 */
async function timelines(): Promise<string> {
  if (!stack) return '(no stack)';
  const client = new Client({ connection: stack.connection, namespace: 'default' });
  const lines = await Promise.all(
    ids.map(async (id) => {
      try {
        const { events } = await client.workflow.getHandle(id).fetchHistory();
        const marks = (events ?? []).flatMap((e) => {
          const at = e.eventTime?.seconds
            ? new Date(Number(e.eventTime.seconds) * 1000 + Math.floor((e.eventTime.nanos ?? 0) / 1e6))
                .toISOString()
                .slice(14, 23)
            : '?';
          const type = String(EventType[e.eventType ?? 0] ?? e.eventType).replace('EVENT_TYPE_', '');
          if (type === 'WORKFLOW_EXECUTION_SIGNALED') {
            const name = e.workflowExecutionSignaledEventAttributes?.signalName;
            return name === 'stepProgress' ? [] : [`${name}@${at}`];
          }
          if (/^(UPSERT|WORKFLOW_TASK_SCHEDULED|WORKFLOW_TASK_COMPLETED)/.test(type)) return [];
          return [`${type}@${at}`];
        });
        const state = await stack!.app.inject({ method: 'GET', url: `/api/jobs/${id}` });
        const st = state.json<JobState>();
        return `${id} ${st.status} step start ${st.steps[0]?.startedAt} closed ${st.closedAt}: ${marks.join(' ')}`;
      } catch (err) {
        return `${id}: ${String(err)}`;
      }
    }),
  );
  return lines.join('\n');
}

/** The dev server on its file, one in-process worker and the API, as new objects. */
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
    workflowBundlePath: process.env.STEPWISE_TEST_BUNDLE,
  });
  const running = worker.run();
  const app = await createApp(
    loadConfig({
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_TASK_QUEUE: taskQueue,
      STEPWISE_AUDIT_DB_PATH: join(dir, 'audit.sqlite'),
      STEPWISE_NOTIFICATIONS_DB_PATH: join(dir, 'notifications.sqlite'),
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

/** A second worker as a process of its own (the compiled worker), ready once its probe says so. */
async function startWorkerProcess(address: string): Promise<ChildProcess> {
  const health = await freePort();
  const proc = spawn(process.execPath, [resolve(__dirname, '..', '..', 'dist', 'src', 'worker.js')], {
    env: {
      ...process.env,
      NODE_ENV: 'production',
      TEMPORAL_ADDRESS: address,
      TEMPORAL_TASK_QUEUE: taskQueue,
      WORKFLOW_BUNDLE_PATH: process.env.STEPWISE_TEST_BUNDLE,
      STEPWISE_DATA_DIR: dir,
      STEPWISE_WORKER_HEALTH_ADDRESS: `127.0.0.1:${health}`,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitFor(
    async () => {
      if (proc.exitCode !== null) throw new Error(`the worker process exited with ${proc.exitCode}`);
      return fetch(`http://127.0.0.1:${health}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
    },
    (ok) => ok,
    60_000,
    200,
  );
  return proc;
}

beforeAll(async () => {
  mkdirSync(dir, { recursive: true });
  port = await freePort();
  stack = await startStack();
}, 120_000);

afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  if (stack) await stopStack(stack);
}, 60_000);

const read = (jobId: string): Promise<JobState> => readJob(stack!.app, jobId);
/** Holds a slot: past `queued` and not closed (a queued job being cancelled holds none). */
const holding = (s: JobState): boolean => s.queue === null && s.closedAt === null;

/** Reads every job, checks the limit on this sample, until `done`. */
async function sample(ids: string[], done: (states: JobState[]) => boolean, timeoutMs = 120_000) {
  return waitFor(
    async () => {
      const states = await Promise.all(ids.map(read));
      expect(states.filter(holding).length).toBeLessThanOrEqual(2);
      for (const s of states.filter((x) => x.status === 'queued')) {
        expect(s.steps.every((st) => st.startedAt === null)).toBe(true);
      }
      return states;
    },
    done,
    timeoutMs,
    200,
  );
}

/** The scenario: `stop` ends the worker process mid-way (SIGKILL: killed; SIGTERM: a deploy). */
async function limitThroughRestarts(stop: 'SIGKILL' | 'SIGTERM'): Promise<void> {
  child = await startWorkerProcess(stack!.server.address);
  const tenant = uniqueId('t').replace(/[^A-Za-z0-9_-]/g, '');
  ids.length = 0;
  for (let i = 0; i < 10; i++) {
    const jobId = uniqueId('queued');
    const res = await stack!.app.inject({
      method: 'POST',
      url: '/api/jobs',
      payload: { type: 'demoQueue', jobId, input: { tenant, durationMs: 2500 } },
    });
    expect(res.statusCode).toBe(201);
    ids.push(jobId);
  }
  // The last one is cancelled while it waits.
  const victim = ids[9];
  await sample(
    ids,
    (states) => states[9].queue?.position !== null && states[9].queue?.position !== undefined,
  );
  expect(
    (
      await stack!.app.inject({
        method: 'POST',
        url: `/api/jobs/${victim}/cancel`,
        payload: { reason: 'not needed' },
      })
    ).statusCode,
  ).toBe(202);

  // Mid-way: two have completed and two hold slots.
  await sample(ids, (states) => states.filter((s) => s.status === 'completed').length >= 2);
  child!.kill(stop);
  await new Promise((r) => child!.once('exit', r));
  await sample(ids, (states) => states.filter((s) => s.status === 'completed').length >= 4);

  await stopStack(stack!);
  stack = null;
  stack = await startStack();

  const final = await sample(ids, (states) => states.every((s) => s.closedAt !== null), 180_000);
  const gone = final[9];
  expect(gone.status).toBe('cancelled');
  expect(gone.steps.every((s) => s.startedAt === null)).toBe(true);
  const done = final.slice(0, 9);
  expect(done.map((s) => s.status)).toEqual(Array(9).fill('completed'));
  // From the jobs' histories (the server's clock): each held its slot from the limiter's answer to
  // the release it sent; never more than 2 at once. Not from the states' times: those are the
  // workflow clock, which on a worker that took a job over after a workflow task timed out on the
  // killed worker's sticky queue can read the previous task's time (seen: a step completed 2 s
  // before its activity did), so recorded intervals can overlap that never ran together.
  const held = await Promise.all(done.map((s) => slotHeld(s.jobId)));
  const edges = held.flatMap(([from, to]): [number, number][] => [
    [from, 1],
    [to, -1],
  ]);
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let most = 0;
  for (const [, d] of edges) most = Math.max(most, (now += d));
  expect(most).toBe(2);
}

/** When a job held its slot, by its history's event times: the (first) slot answer → its release. */
async function slotHeld(jobId: string): Promise<[number, number]> {
  const client = new Client({ connection: stack!.connection, namespace: 'default' });
  const { events } = await client.workflow.getHandle(jobId).fetchHistory();
  const at = (e: (typeof events & object)[number]): number =>
    Number(e.eventTime!.seconds) * 1000 + Math.floor((e.eventTime!.nanos ?? 0) / 1e6);
  const list = events ?? [];
  const answer = list.find(
    (e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'stepwiseSlotAnswer',
  );
  const release = list.find(
    (e) => e.signalExternalWorkflowExecutionInitiatedEventAttributes?.signalName === 'stepwiseReleaseSlot',
  );
  if (!answer || !release) throw new Error(`${jobId}: no slot answer or no release in its history`);
  return [at(answer), at(release)];
}

/** The scenario; when it fails, the jobs' timelines go to the log with the failure. */
async function scenario(stop: 'SIGKILL' | 'SIGTERM'): Promise<void> {
  try {
    await limitThroughRestarts(stop);
  } catch (err) {
    console.error(`The jobs' histories:\n${await timelines()}`);
    throw err;
  }
}

it('a limit of 2 holds while a worker stops (SIGTERM) and the server, the other worker and the API restart; all complete; a cancelled queued job never runs', () =>
  scenario('SIGTERM'));

it('a limit of 2 holds while a worker is killed (SIGKILL) and the server, the other worker and the API restart; all complete; a cancelled queued job never runs', () =>
  scenario('SIGKILL'));
