/**
 * The first five minutes of `npm start`, as a user in a terminal sees them: the compiled launcher
 * as a process group of its own with LOG_FORMAT=pretty (what `auto` picks in a terminal). It says
 * "Stepwise is up" only once the worker polls; its children print readable lines — no JSON, no
 * task tokens, no route-mapping chatter — also when it runs in a pseudo-terminal with LOG_FORMAT
 * unset; and Ctrl-C (SIGINT to the whole group, as a terminal sends it) stops the API and the
 * worker first — the worker finishes its running activity and reports it to a dev server that is
 * still up — then the dev server, without warnings.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { DevServer, freePort } from '../../src/dev-server';
import type { JobState } from '../../workflows/contracts';
import { waitFor } from '../helpers';
import { Launcher, NPM_START } from '../launcher';

let dataDir: string;
let launcher: Launcher;
let api: string;
let temporalPort: number;
let connection: Connection;
let client: Client;
/** How many pollers the worker's task queue had when the launcher said "Stepwise is up". */
let pollersAtUp: number;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'stepwise-console-'));
  const port = await freePort();
  temporalPort = await freePort();
  api = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    STEPWISE_DATA_DIR: dataDir,
    PORT: String(port),
    TEMPORAL_DEV_PORT: String(temporalPort),
    TEMPORAL_UI_PORT: String(await freePort()),
    TEMPORAL_DEV_HEADLESS: 'false',
    LOG_FORMAT: 'pretty',
    LOG_LEVEL: 'info',
  };
  delete env.TEMPORAL_ADDRESS;
  launcher = new Launcher(NPM_START.entry, NPM_START.args, env);
  // Connected before the launcher is up, so the check at "up" costs no connection time.
  await launcher.waitForLine(/^\[temporal\]/, 90_000);
  connection = await waitFor(
    () =>
      Connection.connect({ address: `127.0.0.1:${temporalPort}`, connectTimeout: 2000 }).catch(() => null),
    (c) => c !== null,
    60_000,
    200,
  ).then((c) => c!);
  client = new Client({ connection, namespace: 'default' });
  await launcher.waitForLine(/^\[start\]\s+Stepwise is up$/, 110_000);
  const queue = await client.workflowService.describeTaskQueue({
    namespace: 'default',
    taskQueue: { name: 'stepwise' },
    taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  });
  pollersAtUp = queue.pollers?.length ?? 0;
}, 120_000);

afterAll(async () => {
  await connection?.close();
  await launcher?.cleanup();
  rmSync(dataDir, { recursive: true, force: true });
}, 120_000);

it('says "Stepwise is up" only once the worker polls its task queue and the API answers', async () => {
  expect(pollersAtUp).toBeGreaterThan(0);
  expect((await fetch(`${api}/health/ready`)).status).toBe(200);
});

it('prints readable lines from every child: no JSON, no task tokens, no route-mapping chatter', async () => {
  const res = await fetch(`${api}/api/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'example', input: { durationMs: 50 } }),
  });
  expect(res.status).toBe(201);
  const { jobId } = (await res.json()) as { jobId: string };
  await waitFor(
    async () => ((await (await fetch(`${api}/api/jobs/${jobId}`)).json()) as JobState).status,
    (s) => s === 'completed',
  );
  // The worker logged the job's activities (those lines used to begin with a task token).
  await waitFor(
    async () => launcher.lines.filter((l) => l.startsWith('[worker]') && l.includes(jobId)).length,
    (n) => n > 0,
  );
  const fromChildren = launcher.lines.filter((l) => /^\[(worker|api)\]/.test(l));
  expect(fromChildren.length).toBeGreaterThan(10);
  const json = fromChildren.filter((l) => /^\[\w+\]\s+\{"/.test(l));
  expect(json).toEqual([]);
  expect(fromChildren.filter((l) => /taskToken/.test(l))).toEqual([]);
  expect(fromChildren.filter((l) => /Mapped \{|RoutesResolver|dependencies initialized/.test(l))).toEqual([]);
  // Message first: time, level, then the message.
  expect(fromChildren.find((l) => l.includes('API listening on'))).toMatch(
    /^\[api\]\s+\[\d\d:\d\d:\d\d\.\d{3}\] INFO: API listening on http/,
  );
});

it('Ctrl-C stops the API and the worker first — the worker finishes its running activity — then the dev server, quietly', async () => {
  const res = await fetch(`${api}/api/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      type: 'demoPipeline',
      input: { parts: 1, steps: { extract: { durationMs: 4000 } } },
    }),
  });
  expect(res.status).toBe(201);
  const { jobId } = (await res.json()) as { jobId: string };
  await waitFor(
    async () => (await client.workflow.getHandle(jobId).describe()).raw.pendingActivities?.length ?? 0,
    (n) => n > 0,
    60_000,
    100,
  );
  const from = launcher.lines.length;
  launcher.interrupt();
  expect(await launcher.exited).toEqual({ code: 0, signal: null });
  const after = launcher.lines.slice(from);
  const stopped = after
    .map((l) => /^\[start\]\s+(\S+) stopped$/.exec(l)?.[1])
    .filter((n) => n && n !== 'all');
  expect(stopped.slice(0, 2).sort()).toEqual(['api', 'worker']);
  expect(stopped.slice(2)).toEqual(['temporal']);
  expect(
    after.filter((l) => /\bWARN\b|Failed to poll|connection refused|did not stop|killing/.test(l)),
  ).toEqual([]);
  // The activity's completion reached the server before it stopped: the step took one attempt.
  const port = await freePort();
  const server = await DevServer.start({
    dbFile: join(dataDir, 'temporal.sqlite'),
    port,
    uiPort: await freePort(),
    headless: true,
  });
  const conn = await Connection.connect({ address: server.address });
  try {
    const history = await new Client({ connection: conn }).workflow.getHandle(jobId).fetchHistory();
    const types = (history.events ?? []).map((e) => e.eventType);
    const T = temporal.api.enums.v1.EventType;
    expect(types).toContain(T.EVENT_TYPE_ACTIVITY_TASK_COMPLETED);
    expect(types).not.toContain(T.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT);
    expect(types).not.toContain(T.EVENT_TYPE_ACTIVITY_TASK_FAILED);
  } finally {
    await conn.close();
    await server.stop();
  }
});

describe('in a terminal, with LOG_FORMAT unset (auto)', () => {
  it('the children follow the launcher: readable lines, not JSON; Ctrl-C typed in the terminal stops everything', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stepwise-tty-'));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      STEPWISE_DATA_DIR: dir,
      PORT: String(await freePort()),
      TEMPORAL_DEV_PORT: String(await freePort()),
      TEMPORAL_UI_PORT: String(await freePort()),
      TEMPORAL_DEV_HEADLESS: 'true',
    };
    delete env.TEMPORAL_ADDRESS;
    delete env.LOG_FORMAT;
    const tty = new Launcher(NPM_START.entry, NPM_START.args, env, { terminal: true });
    try {
      await tty.waitForLine(/^\[start\]\s+Stepwise is up$/, 110_000);
      const fromChildren = tty.lines.filter((l) => /^\[(worker|api)\]/.test(l));
      expect(fromChildren.length).toBeGreaterThan(3);
      expect(fromChildren.filter((l) => /^\[\w+\]\s+\{"/.test(l))).toEqual([]);
      expect(fromChildren.find((l) => l.includes('API listening on'))).toMatch(
        /^\[api\]\s+\[\d\d:\d\d:\d\d\.\d{3}\] INFO: API listening on http/,
      );
      tty.typeCtrlC();
      expect(await tty.exited).toEqual({ code: 0, signal: null });
      expect(tty.lines.some((l) => /^\[start\]\s+all stopped$/.test(l))).toBe(true);
    } finally {
      await tty.cleanup();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
