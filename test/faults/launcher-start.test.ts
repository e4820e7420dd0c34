/**
 * `npm start` as its users start it — the compiled launcher (dist/src/bin/stepwise.js dev, what npm start runs) as a process group
 * of its own, with API keys — broken from outside by the pids of its own children: `kill -9` of the
 * worker, the API and the Temporal dev server, each while a `demoPipeline` (a batch of sub-jobs)
 * and a `dataImport` run. Each time the launcher restarts the killed process by itself while the
 * others keep running, and every job completes with each sub-job run once and each row indexed
 * once. The keys are in no child's /proc/<pid>/environ. No sleeps: every wait polls a condition
 * with a deadline.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Client, Connection } from '@temporalio/client';
import type { StepwiseClient } from '../../src/client/client';
import { freePort } from '../../src/dev-server';
import type exampleApp from '../../workflows/app';
import { uniqueId, waitFor, waitForState } from '../helpers';
import { environOf, Launcher, processesMentioning, stackOf, NPM_START } from '../launcher';
import {
  activitiesOn,
  closedStates,
  connectJobs,
  demoPartIds,
  expectDemoDoneOnce,
  expectImportedOnce,
  FAULTS_TMP,
  http,
  importFolder,
} from './fault-helpers';

const KEY = `start-key-${randomUUID()}`;
const KEY_DIGEST = createHash('sha256').update(KEY).digest('hex');
const ROLES = ['temporal', 'worker', 'api'];

let dataDir: string;
let launcher: Launcher;
let connection: Connection;
let client: Client;
let jobs: StepwiseClient<typeof exampleApp>;
let api: string;

beforeAll(async () => {
  dataDir = join(FAULTS_TMP, uniqueId('launcher-start'));
  mkdirSync(dataDir, { recursive: true });
  const [port, temporalPort, uiPort] = [await freePort(), await freePort(), await freePort()];
  api = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    STEPWISE_DATA_DIR: dataDir,
    PORT: String(port),
    TEMPORAL_DEV_PORT: String(temporalPort),
    TEMPORAL_UI_PORT: String(uiPort),
    STEPWISE_API_KEYS: `ops:admin:${KEY}`,
    STEPWISE_WORKER_SHUTDOWN_GRACE_MS: '10000',
    LOG_LEVEL: 'info',
  };
  delete env.TEMPORAL_ADDRESS;
  launcher = new Launcher(NPM_START.entry, NPM_START.args, env);
  await launcher.waitForLine(/Stepwise is up/, 180_000);
  ({ connection, client, jobs } = await connectJobs(`127.0.0.1:${temporalPort}`, env));
}, 240_000);

afterAll(async () => {
  await connection?.close();
  await launcher?.cleanup();
}, 150_000);

async function withLog<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const tail = launcher.lines.slice(-120).join('\n');
    throw new Error(`${(err as Error).message}\n--- launcher output (tail) ---\n${tail}`, { cause: err });
  }
}

function pids(): Record<string, number> {
  const kids = launcher.children();
  expect(kids.map((k) => k.role).sort()).toEqual([...ROLES].sort());
  return Object.fromEntries(kids.map((k) => [k.role, k.pid]));
}

const demo = { durationMs: 300, parts: 3, steps: { transform: { durationMs: 3000 } } };

async function killMidJob(victim: string, midway: (demos: string[]) => Promise<void>): Promise<void> {
  await withLog(async () => {
    const before = pids();
    const data = importFolder(dataDir, `kill-${victim}`, 6);
    const demos = await Promise.all([1, 2].map(async () => (await jobs.start('demoPipeline', demo)).jobId));
    const { jobId: importId } = await jobs.start('dataImport', { sourceDir: `kill-${victim}`, batchSize: 2 });
    await midway(demos);
    const from = launcher.lines.length;
    process.kill(before[victim], 'SIGKILL');
    await launcher.waitForLine(new RegExp(`^\\[start\\]\\s+${victim} killed by SIGKILL`), 30_000, from);
    await launcher.waitForLine(
      new RegExp(`^\\[start\\]\\s+${victim} is up again \\(pid \\d+`),
      180_000,
      from,
    );
    const stack = await waitFor(
      () => stackOf(api),
      (s) => s !== null && s.every((p) => p.state === 'up'),
      120_000,
      250,
    );
    const after = pids();
    for (const p of stack!) expect(p.pid).toBe(after[p.name]);
    expect(after[victim]).not.toBe(before[victim]);
    for (const role of ROLES.filter((r) => r !== victim)) {
      expect([role, after[role]]).toEqual([role, before[role]]);
    }
    const states = await closedStates(jobs, [...demos, importId], 240_000);
    for (const id of demos) await expectDemoDoneOnce(client, states.get(id)!, demo.parts);
    // Killing the API or the UI cannot interrupt the index step: it ran once.
    expectImportedOnce(dataDir, states.get(importId)!, data, {
      singlePass: victim === 'api' || victim === 'temporal-ui',
    });
  });
}

const inTransform = async (demos: string[]): Promise<void> => {
  await waitForState(jobs, demos[0], (s) => s.currentStep >= 2, { timeoutMs: 60_000, intervalMs: 200 });
};

it('started with keys: no key in the dev server’s, the worker’s or the API’s /proc/<pid>/environ; the API takes the key from its descriptor', async () => {
  await withLog(async () => {
    for (const { pid, role } of launcher.children()) {
      const environ = environOf(pid);
      expect([role, environ.includes(KEY), environ.includes(KEY_DIGEST)]).toEqual([role, false, false]);
      expect([role, /(^|\0)STEPWISE_API_KEYS=/.test(environ)]).toEqual([role, false]);
    }
    expect((await http(api, 'GET', '/api/me')).status).toBe(401);
    expect((await http(api, 'GET', '/api/me', undefined, KEY)).status).toBe(200);
  });
});

it('kill -9 of the worker while it runs activities: restarted; jobs complete once', async () => {
  await killMidJob('worker', async (demos) => {
    const parts = demos.flatMap((id) => demoPartIds(id, demo.parts));
    await waitFor(
      () => activitiesOn(client, '', parts),
      (n) => n > 0,
      60_000,
      200,
    );
  });
});

it('kill -9 of the API mid-job: restarted; jobs complete once', async () => {
  await killMidJob('api', inTransform);
});

it('kill -9 of the Temporal dev server mid-job: restarted on its SQLite file; worker and API reconnect; jobs complete once', async () => {
  await killMidJob('temporal', inTransform);
});

it('Ctrl-C stops everything and leaves nothing running', async () => {
  await withLog(async () => {
    launcher.children();
    launcher.interrupt();
    expect(await launcher.exited).toEqual({ code: 0, signal: null });
    expect(launcher.aliveSeen()).toEqual([]);
    expect(processesMentioning(dataDir)).toEqual([]);
  });
});
