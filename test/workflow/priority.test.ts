/**
 * Priorities change dispatch order on a busy task queue, on the real server. Jobs are started on a
 * queue no worker polls yet — six at priority 5, then one at priority 1 — and then one worker takes
 * one workflow task at a time. The priority-1 job's first task runs first; with every job at the
 * default priority (the control) the job started last runs last. The dev server here has one
 * partition per task queue: Temporal keeps priority order within a partition (a queue has 4 by
 * default, where the order is close to, not exactly, priority order — docs/flow-control.md).
 * Temporal Server 1.29 keeps priorities only with its new matcher, which every dev server gets
 * (`DEV_DYNAMIC_CONFIG`); the last test shows the FIFO order without it.
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { StepwiseClient } from '../../src/client/client';
import { DevServer, freePort } from '../../src/dev-server';
import { createWorker } from '../../src/worker-factory';
import exampleApp from '../../workflows/app';
import type { JobState } from '../../workflows/contracts';
import { testPipelineConfig, uniqueId, waitForState } from '../helpers';

interface Server {
  server: DevServer;
  connection: Connection;
  native: NativeConnection;
  client: Client;
}
let main: Server;

/** A dev server with one partition per task queue (and `extra` dynamic config). */
async function startServer(extra: Record<string, boolean> = {}): Promise<Server> {
  const port = await freePort();
  const server = await DevServer.start({
    port,
    uiPort: port + 1,
    headless: true,
    dynamicConfig: {
      'matching.numTaskqueueReadPartitions': 1,
      'matching.numTaskqueueWritePartitions': 1,
      ...extra,
    },
  });
  const connection = await Connection.connect({ address: server.address });
  const native = await NativeConnection.connect({ address: server.address });
  return { server, connection, native, client: new Client({ connection, namespace: 'default' }) };
}
async function stopServer(s: Server | undefined): Promise<void> {
  await s?.connection.close();
  await s?.native.close();
  await s?.server.stop();
}

beforeAll(async () => {
  main = await startServer();
}, 60_000);
afterAll(() => stopServer(main));

/** Starts `priorities` in order on a queue nobody polls, then one worker taking one task at a time. */
async function dispatchOrder(
  priorities: (number | undefined)[],
  { client, native }: Server = main,
): Promise<JobState[]> {
  const taskQueue = uniqueId('priority');
  const jobs = new StepwiseClient({ app: exampleApp, client, taskQueue });
  const ids: string[] = [];
  for (const priority of priorities) {
    const { jobId } = await jobs.start('example', { durationMs: 0 }, priority ? { priority } : {});
    ids.push(jobId);
  }
  const worker: Worker = await createWorker({
    app: exampleApp,
    activities: createActivities({ client, pipelines: testPipelineConfig() }),
    connection: native,
    client,
    taskQueue,
    workflowBundlePath: process.env.STEPWISE_TEST_BUNDLE,
    overrides: {
      maxCachedWorkflows: 0,
      maxConcurrentWorkflowTaskExecutions: 1,
      maxConcurrentWorkflowTaskPolls: 1,
    },
  });
  const running = worker.run();
  try {
    const states: JobState[] = [];
    for (const id of ids)
      states.push(await waitForState(jobs, id, (s) => s.closedAt !== null, { timeoutMs: 60_000 }));
    return states;
  } finally {
    worker.shutdown();
    await running;
    await jobs.close();
  }
}

/** The rank of each job by when its first workflow task ran (`startedAt` is that task's time). */
const ranks = (states: JobState[]): number[] => {
  const order = [...states].sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt));
  return states.map((s) => order.indexOf(s));
};

it('a priority-1 job started after six priority-5 jobs runs first on a busy queue', async () => {
  const states = await dispatchOrder([5, 5, 5, 5, 5, 5, 1]);
  expect(states.map((s) => s.status)).toEqual(Array(7).fill('completed'));
  expect(states.map((s) => s.priority)).toEqual([5, 5, 5, 5, 5, 5, 1]);
  expect(ranks(states)[6]).toBe(0);
});

it('the control: at one priority the job started last runs last', async () => {
  const states = await dispatchOrder([
    undefined,
    undefined,
    undefined,
    undefined,
    undefined,
    undefined,
    undefined,
  ]);
  expect(states.map((s) => s.priority)).toEqual(Array(7).fill(3));
  expect(ranks(states)[6]).toBe(6);
});

it('without the new matcher, Temporal Server 1.29 ignores priorities: the priority-1 job started last runs last', async () => {
  const old = await startServer({ 'matching.useNewMatcher': false });
  try {
    const states = await dispatchOrder([5, 5, 5, 5, 5, 5, 1], old);
    expect(states[6].priority).toBe(1);
    expect(ranks(states)[6]).toBe(6);
  } finally {
    await stopServer(old);
  }
});
