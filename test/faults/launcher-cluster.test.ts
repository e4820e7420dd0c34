/**
 * `npm run cluster` as its users start it — the compiled launcher (dist/scripts/cluster.js, what the
 * npm script runs) as a process group of its own, with API keys — broken from outside by the pids
 * of its own children: `kill -9` of a worker, the API, the Web UI server, Temporal Server and
 * PostgreSQL, each while a `demoPipeline` (a batch of sub-jobs) and a `dataImport` run. Each time
 * the launcher restarts the killed process by itself while the others keep running (same pids),
 * every job completes with each sub-job run once and each row indexed once, and the cluster is
 * whole again (every process up, two workers polling). Then: the keys are in no child's
 * /proc/<pid>/environ; Ctrl-C stops everything in order; a worker that exits at once every time
 * (a bad bundle path) is a crash loop that stops the launcher, naming it and showing its last lines.
 * No sleeps: every wait polls a condition with a deadline.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Client, Connection } from '@temporalio/client';
import type { StepwiseClient } from '../../src/client/client';
import type { ClusterPorts } from '../../src/cluster/cluster';
import { loadConfig } from '../../src/config';
import type exampleApp from '../../workflows/app';
import { uniqueId, waitFor, waitForState } from '../helpers';
import {
  CLUSTER_JS,
  environOf,
  Launcher,
  processesMentioning,
  stackOf,
  type StackProcess,
} from '../launcher';
import {
  activitiesOn,
  closedStates,
  connectJobs,
  demoPartIds,
  expectDemoDoneOnce,
  expectImportedOnce,
  FAULTS_TMP,
  freeClusterPorts,
  http,
  importFolder,
} from './fault-helpers';

const KEY = `launcher-key-${randomUUID()}`;
const KEY_DIGEST = createHash('sha256').update(KEY).digest('hex');

let dataDir: string;
let ports: ClusterPorts;
let launcher: Launcher;
let connection: Connection;
let client: Client;
let jobs: StepwiseClient<typeof exampleApp>;
let api: string;

function launchEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    STEPWISE_DATA_DIR: dataDir,
    PORT: String(ports.api),
    CLUSTER_POSTGRES_PORT: String(ports.postgres),
    CLUSTER_TEMPORAL_PORT: String(ports.temporal),
    CLUSTER_UI_PORT: String(ports.ui),
    CLUSTER_WORKER_PORT_BASE: String(ports.workerBase),
    CLUSTER_WORKERS: '2',
    WORKFLOW_BUNDLE_PATH: process.env.STEPWISE_TEST_BUNDLE,
    STEPWISE_API_KEYS: `ops:admin:${KEY}`,
    STEPWISE_WORKER_SHUTDOWN_GRACE_MS: '10000',
    LOG_LEVEL: 'info',
    // The launcher's own Temporal settings are not its processes' (they use the cluster's
    // profile): an address where nothing answers and a deprecated name must change nothing.
    TEMPORAL_ADDRESS: '127.0.0.1:1',
    TEMPORAL_PROFILE: 'not-the-cluster',
    ...extra,
  };
  return env;
}

beforeAll(async () => {
  if (!process.env.STEPWISE_TEST_BUNDLE) throw new Error('run through "npm run test:faults"');
  dataDir = join(FAULTS_TMP, uniqueId('launcher-cluster'));
  mkdirSync(dataDir, { recursive: true });
  ports = await freeClusterPorts(2);
  api = `http://127.0.0.1:${ports.api}`;
  const env = launchEnv();
  launcher = new Launcher(CLUSTER_JS, [], env);
  await launcher.waitForLine(/Stepwise cluster is up/, 240_000);
  ({ connection, client, jobs } = await connectJobs(`127.0.0.1:${ports.temporal}`, env));
}, 300_000);

afterAll(async () => {
  await connection?.close();
  await launcher?.cleanup();
}, 150_000);

/** On failure, the launcher's last lines say what its processes did. */
async function withLog<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const tail = launcher.lines.slice(-120).join('\n');
    throw new Error(`${(err as Error).message}\n--- launcher output (tail) ---\n${tail}`, { cause: err });
  }
}

const ROLES = ['postgres', 'temporal', 'temporal-ui', 'worker-1', 'worker-2', 'api'];

/** Role → pid of each child, checking that there is exactly one of each. */
function pids(): Record<string, number> {
  const kids = launcher.children();
  expect(kids.map((k) => k.role).sort()).toEqual([...ROLES].sort());
  return Object.fromEntries(kids.map((k) => [k.role, k.pid]));
}

/** Whole again: every process up (the API's status detail and /proc agree), both workers ready. */
async function expectWhole(): Promise<StackProcess[]> {
  const stack = await waitFor(
    () => stackOf(api),
    (s) => s !== null && s.every((p) => p.state === 'up'),
    120_000,
    250,
  );
  const now = pids();
  for (const p of stack!) expect(p.pid).toBe(now[p.name]);
  for (const i of [0, 1]) {
    const ready = await waitFor(
      () => http(`http://127.0.0.1:${ports.workerBase + 2 * i + 1}`, 'GET', '/readyz'),
      (r) => r.status === 200,
      60_000,
      250,
    );
    expect(ready.status).toBe(200);
  }
  return stack!;
}

const demo = { durationMs: 300, parts: 3, steps: { transform: { durationMs: 3000 } } };

/**
 * Starts two demoPipelines and a dataImport, waits until they are mid-way (`midway`), kills
 * `victim` with SIGKILL, and checks that the launcher restarts it alone and that every job's work
 * was done exactly once.
 */
async function killMidJob(victim: string, midway: (demos: string[]) => Promise<void>): Promise<void> {
  await withLog(async () => {
    const before = pids();
    const restartsBefore = (await stackOf(api))?.find((p) => p.name === victim)?.restarts ?? 0;
    const data = importFolder(dataDir, `kill-${victim}`, 6);
    const demos = await Promise.all([1, 2].map(async () => (await jobs.start('demoPipeline', demo)).jobId));
    const { jobId: importId } = await jobs.start('dataImport', { sourceDir: `kill-${victim}`, batchSize: 2 });
    await midway(demos);
    const from = launcher.lines.length;
    process.kill(before[victim], 'SIGKILL');
    await launcher.waitForLine(new RegExp(`^\\[cluster\\]\\s+${victim} killed by SIGKILL`), 30_000, from);
    await launcher.waitForLine(
      new RegExp(`^\\[cluster\\]\\s+${victim} is up again \\(pid \\d+`),
      180_000,
      from,
    );
    const stack = await expectWhole();
    const after = pids();
    // Restarted alone: a new process for the victim, the same for everything else.
    expect(after[victim]).not.toBe(before[victim]);
    for (const role of ROLES.filter((r) => r !== victim))
      expect([role, after[role]]).toEqual([role, before[role]]);
    expect(stack.find((p) => p.name === victim)).toMatchObject({
      restarts: restartsBefore + 1,
      lastExit: { code: null, signal: 'SIGKILL', reason: expect.stringMatching(/^killed by SIGKILL/) },
    });
    // Every job completed, each sub-job ran once, each valid row was indexed once.
    const states = await closedStates(jobs, [...demos, importId], 240_000);
    for (const id of demos) await expectDemoDoneOnce(client, states.get(id)!, demo.parts);
    // Killing the API or the UI cannot interrupt the index step: it ran once.
    expectImportedOnce(dataDir, states.get(importId)!, data, {
      singlePass: victim === 'api' || victim === 'temporal-ui',
    });
  });
}

/** Until the first demo runs its transform batch (step 2 of 4). */
const inTransform = async (demos: string[]): Promise<void> => {
  await waitForState(jobs, demos[0], (s) => s.currentStep >= 2, { timeoutMs: 60_000, intervalMs: 200 });
};

it('started with keys: no child has a key in /proc/<pid>/environ; the API takes the key from its descriptor', async () => {
  await withLog(async () => {
    const kids = launcher.children();
    expect(kids.map((k) => k.role).sort()).toEqual([...ROLES].sort());
    for (const { pid, role } of kids) {
      const environ = environOf(pid);
      expect([role, environ.includes(KEY)]).toEqual([role, false]);
      expect([role, environ.includes(KEY_DIGEST)]).toEqual([role, false]);
      expect([role, /(^|\0)STEPWISE_API_KEYS=/.test(environ)]).toEqual([role, false]);
    }
    expect(environOf(pids().api)).toMatch(/(^|\0)STEPWISE_API_KEYS_FILE=\/dev\/fd\/3(\0|$)/);
    expect((await http(api, 'GET', '/api/me')).status).toBe(401);
    expect(await http(api, 'GET', '/api/me', undefined, KEY)).toMatchObject({
      status: 200,
      body: { name: 'ops', role: 'admin' },
    });
  });
});

it("its workers and API reach Temporal only through the cluster's 0600 temporal.toml profile, not the launcher's variables", async () => {
  await withLog(async () => {
    const file = join(dataDir, 'cluster', 'config', 'temporal.toml');
    expect((statSync(file).mode & 0o777).toString(8)).toBe('600');
    // The file is the standard one: the SDK's loader reads the cluster's server from it.
    expect(loadConfig({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'cluster' }).temporal).toMatchObject({
      address: `127.0.0.1:${ports.temporal}`,
      namespace: 'default',
      profile: 'cluster',
    });
    expect(launcher.lines.join('\n')).toContain(
      'note: TEMPORAL_ADDRESS, TEMPORAL_PROFILE ignored; the cluster\'s server is used (profile "cluster")',
    );
    const now = pids();
    for (const role of ['worker-1', 'worker-2', 'api']) {
      const environ = environOf(now[role]).split('\0');
      expect([
        role,
        environ.filter((e) => /^TEMPORAL_(ADDRESS|NAMESPACE|PROFILE|CONFIG_FILE)=/.test(e)).sort(),
      ]).toEqual([role, [`TEMPORAL_CONFIG_FILE=${file}`, 'TEMPORAL_PROFILE=cluster']]);
    }
    // Each worker and the API said so at start (their `connecting` / `API listening` lines).
    const named = launcher.lines.filter((l) => l.includes('"profile":"cluster"') && l.includes(file));
    for (const role of ['worker-1', 'worker-2', 'api']) {
      expect([role, named.some((l) => l.startsWith(`[${role}]`))]).toEqual([role, true]);
    }
  });
});

it.each(['worker-1', 'worker-2'])(
  'kill -9 of %s holding running activities: restarted by the launcher; jobs complete once; two workers again',
  async (worker) => {
    await killMidJob(worker, async (demos) => {
      const parts = demos.flatMap((id) => demoPartIds(id, demo.parts));
      await waitFor(
        () => activitiesOn(client, `${worker}@`, parts),
        (n) => n > 0,
        60_000,
        200,
      );
    });
  },
);

it('kill -9 of the API mid-job: restarted; jobs complete once', async () => {
  await killMidJob('api', inTransform);
});

it('kill -9 of the Web UI server: restarted and answering again', async () => {
  await killMidJob('temporal-ui', inTransform);
  expect((await fetch(`http://127.0.0.1:${ports.ui}/`)).status).toBe(200);
});

it('kill -9 of Temporal Server mid-job: restarted; workers and API reconnect by themselves; jobs complete once', async () => {
  await killMidJob('temporal', inTransform);
});

it('kill -9 of PostgreSQL mid-job: restarted (its orphaned backends cleared); Temporal reconnects; jobs complete once', async () => {
  await killMidJob('postgres', inTransform);
});

it('Ctrl-C stops everything in dependency order — API and workers, then the UI and Temporal, then PostgreSQL — and leaves nothing running', async () => {
  await withLog(async () => {
    launcher.children();
    const from = launcher.lines.length;
    launcher.interrupt();
    expect(await launcher.exited).toEqual({ code: 0, signal: null });
    const stopped = launcher.lines
      .slice(from)
      .map((l) => /^\[cluster\]\s+(\S+) stopped$/.exec(l)?.[1])
      .filter((n): n is string => Boolean(n) && n !== 'all');
    expect(stopped.slice(0, 4).sort()).toEqual(['api', 'temporal-ui', 'worker-1', 'worker-2']);
    expect(stopped.slice(4)).toEqual(['temporal', 'postgres']);
    expect(launcher.aliveSeen()).toEqual([]);
    expect(processesMentioning(dataDir)).toEqual([]);
  });
});

it('a worker that exits at once every time (a bad bundle path) is a crash loop: the launcher stops, naming it and showing its last lines', async () => {
  const bad = join(dataDir, 'no-such-bundle.js');
  launcher = new Launcher(CLUSTER_JS, [], launchEnv({ WORKFLOW_BUNDLE_PATH: bad }));
  const exit = await launcher.exited;
  await withLog(async () => {
    expect(exit).toEqual({ code: 1, signal: null });
    const text = launcher.text();
    const loop =
      /\[cluster\]\s+(worker-[12]) is in a crash loop: 6 unexpected exits within 60 s \(more than 5\)/.exec(
        text,
      );
    expect(loop).not.toBeNull();
    const name = loop![1];
    // The documented default: 5 restarts, then the 6th exit stops everything.
    expect(
      text.match(new RegExp(`\\[cluster\\]\\s+${name} failed to start.*; restarting it in`, 'g')),
    ).toHaveLength(5);
    const at = launcher.lines.findIndex((l) => l.includes(`${name} is in a crash loop`));
    expect(launcher.lines[at + 1]).toMatch(new RegExp(`Last lines of ${name}:$`));
    const shown = launcher.lines.slice(at + 2).filter((l) => /^\[cluster\]\s+\| /.test(l));
    expect(shown.join('\n')).toContain(bad);
    expect(text).toMatch(/\[cluster\]\s+Stopping everything\./);
    expect(launcher.lines.at(-1)).toMatch(/\[cluster\]\s+all stopped$/);
    expect(processesMentioning(dataDir)).toEqual([]);
  });
}, 300_000);
