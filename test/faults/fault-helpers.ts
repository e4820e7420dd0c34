/**
 * Shared wiring of the fault tests: a cluster on free ports under test/.tmp/faults (its process
 * output in a log file, printed when a test fails), a StepwiseClient that starts jobs and waits on
 * them, HTTP calls to its API (for what is about the API itself), and the checks that a job's work
 * was done once — not only that the job completed.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { join, resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { Cluster, type ClusterPorts } from '../../src/cluster/cluster';
import { tmpdir } from 'node:os';
import { temporalPorts } from '../../src/cluster/temporal-server';
import { connectTemporal } from '../../src/temporal';
import { isTemporalConnectionVar } from '../../src/temporal-env';
import { freePort, portInUse } from '../../src/dev-server';
import { StepwiseClient } from '../../src/client/client';
import { loadConfig } from '../../src/config';
import exampleApp from '../../workflows/app';
import type { JobState } from '../../workflows/contracts';
import type { ImportSummary } from '../../workflows/jobs/data-import-contracts';
import { uniqueId, waitFor, waitForState } from '../helpers';
import { writeImportFolder, type ImportFolder } from '../pipeline-fixtures';

/**
 * The fault tests' folders. Under the system's temporary folder, not the checkout: PostgreSQL runs
 * as an unprivileged user (when the tests run as root) and must reach its data directory, which a
 * checkout in a private folder (mode 0700, as `mktemp -d` makes) does not allow. One folder per
 * checkout: the global setup empties it, and must not empty another checkout's running tests'.
 */
export const FAULTS_TMP = join(
  tmpdir(),
  `stepwise-faults-${createHash('sha256')
    .update(resolve(__dirname, '..', '..'))
    .digest('hex')
    .slice(0, 12)}`,
);

async function allFree(ports: number[]): Promise<boolean> {
  for (const p of ports) if (await portInUse(p)) return false;
  return true;
}

/**
 * A port `p` in [20000, 32000) for which every port `layout(p)` is free right now (below 32768:
 * Temporal's PostgreSQL schema stores service ports as a smallint).
 */
async function freeLayout(layout: (p: number) => number[], taken: number[] = []): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const p = 20_000 + Math.floor(Math.random() * 12_000);
    const ports = layout(p);
    if (ports.some((q) => taken.includes(q))) continue;
    if (await allFree(ports)) return p;
  }
  throw new Error('no free port layout found');
}

/**
 * Ports for a cluster, none shared between its parts: each is free now, and none is in another
 * part's layout (nothing listens on them yet, so "free" alone let the workers' ports fall on
 * Temporal's membership ports — seen once: worker-1 crash-looping on EADDRINUSE).
 */
export async function freeClusterPorts(workers: number): Promise<ClusterPorts> {
  const postgres = await freePort();
  const ui = await freePort();
  const api = await freePort();
  const temporal = await freeLayout(temporalPorts, [postgres, ui, api]);
  const workerBase = await freeLayout(
    (p) => Array.from({ length: workers * 2 }, (_, i) => p + i),
    [postgres, ui, api, ...temporalPorts(temporal)],
  );
  return { postgres, temporal, ui, api, workerBase };
}

export interface FaultCluster {
  cluster: Cluster;
  dataDir: string;
  logFile: string;
  /** The last lines of the cluster's log (for failure messages). */
  tail(lines?: number): string;
}

/** A cluster (no Web UI) with `workers` workers, started; state under a fresh folder. */
export async function startFaultCluster(name: string, workers = 2): Promise<FaultCluster> {
  const dataDir = join(FAULTS_TMP, uniqueId(name));
  mkdirSync(dataDir, { recursive: true });
  const logFile = join(dataDir, 'cluster.log');
  const bundle = process.env.STEPWISE_TEST_BUNDLE;
  if (!bundle) throw new Error('STEPWISE_TEST_BUNDLE unset: run through "npm run test:faults"');
  const cluster = new Cluster({
    dataDir,
    ports: await freeClusterPorts(workers),
    namespace: 'default',
    workers,
    ui: false,
    appEnv: {
      ...process.env,
      NODE_ENV: 'production',
      WORKFLOW_BUNDLE_PATH: bundle,
      LOG_LEVEL: 'info',
      STEPWISE_WORKER_SHUTDOWN_GRACE_MS: '10000',
      STEPWISE_STREAM_POLL_MS: '200',
      STEPWISE_STREAM_HEARTBEAT_MS: '1000',
    },
    distDir: resolve(__dirname, '..', '..', 'dist', 'src'),
    workerStopGraceMs: 20_000,
    onLine: (proc, line) => appendFileSync(logFile, `[${proc}] ${line}\n`),
  });
  const tail = (lines = 60): string => {
    try {
      return readFileSync(logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  };
  try {
    await cluster.start();
  } catch (err) {
    await cluster.stop();
    throw new Error(`cluster did not start: ${String(err)}\n${tail()}`, { cause: err });
  }
  return { cluster, dataDir, logFile, tail };
}

export interface HttpAnswer<T = unknown> {
  status: number;
  body: T;
}

/** One HTTP call to the API (a network failure answers status 0: the API is down); `key`: an API key. */
export async function http<T = unknown>(
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
  key?: string,
): Promise<HttpAnswer<T>> {
  try {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(key ? { authorization: `Bearer ${key}` } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON (e.g. /metrics)
    }
    return { status: res.status, body: parsed as T };
  } catch {
    return { status: 0, body: null as T };
  }
}

export interface FaultJobs {
  connection: Connection;
  client: Client;
  /** The example app's jobs on the processes' task queue: how the fault tests start jobs and wait on them. */
  jobs: StepwiseClient<typeof exampleApp>;
}

/**
 * A Temporal client on `address` and a {@link StepwiseClient} of the example app on the task queue
 * the worker processes started with `env` poll (TEMPORAL_TASK_QUEUE, read as they read it).
 */
export async function connectJobs(address: string, env: NodeJS.ProcessEnv): Promise<FaultJobs> {
  const connection = await connectTemporal({ address });
  const client = new Client({ connection, namespace: 'default' });
  // Only the task queue is read from `env`: its Temporal settings (a launcher's, which its
  // processes do not use) are left out.
  const own = Object.fromEntries(Object.entries(env).filter(([name]) => !isTemporalConnectionVar(name)));
  const jobs = new StepwiseClient({ app: exampleApp, client, taskQueue: loadConfig(own).temporal.taskQueue });
  return { connection, client, jobs };
}

/**
 * The final state of every job (watched one after the other, within `timeoutMs` for them all),
 * each state seen checked against the `JobState` invariants ({@link waitForState}).
 */
export async function closedStates(
  jobs: StepwiseClient,
  jobIds: string[],
  timeoutMs = 120_000,
): Promise<Map<string, JobState>> {
  const deadline = Date.now() + timeoutMs;
  const states = new Map<string, JobState>();
  for (const id of jobIds) {
    const state = await waitForState(jobs, id, (s) => s.closedAt !== null, {
      timeoutMs: Math.max(deadline - Date.now(), 1),
      intervalMs: 250,
    });
    states.set(id, state);
  }
  return states;
}

/** The workflow ids of a demoPipeline's `demoTask` sub-jobs (its transform batch's parts). */
export const demoPartIds = (jobId: string, parts: number): string[] =>
  Array.from({ length: parts }, (_, i) => `${jobId}/transform/${i}`);

/** How many runs each workflow id has (visibility lists every run), and the status of the latest. */
export async function runsOf(
  client: Client,
  workflowId: string,
): Promise<{ runs: number; status: string | null }> {
  let runs = 0;
  let status: string | null = null;
  for await (const wf of client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) {
    runs++;
    status ??= wf.status.name;
  }
  return { runs, status };
}

/**
 * A demoPipeline that completed with its work done exactly once: all four steps completed, the
 * transform batch counted `parts` completed parts and no failure, and each of the `parts`
 * demoTask sub-jobs has exactly one run, completed — and there is no extra one (visibility is
 * eventually consistent: polled with a deadline).
 */
export async function expectDemoDoneOnce(client: Client, state: JobState, parts: number): Promise<void> {
  expect(state.status).toBe('completed');
  expect(state.progress).toBe(100);
  expect(state.steps.map((s) => s.status)).toEqual(['completed', 'completed', 'completed', 'completed']);
  const transform = state.steps.find((s) => s.key === 'transform');
  expect(transform?.batch).toEqual({ total: parts, completed: parts, failed: 0, running: 0 });
  for (const id of demoPartIds(state.jobId, parts)) {
    const r = await waitFor(
      () => runsOf(client, id),
      (v) => v.status === 'COMPLETED',
      30_000,
      250,
    );
    expect(r).toEqual({ runs: 1, status: 'COMPLETED' });
  }
  expect((await runsOf(client, `${state.jobId}/transform/${parts}`)).runs).toBe(0);
}

/** Workflow ids whose running activities were last picked up by `identityPrefix` (e.g. `worker-1@`). */
export async function activitiesOn(
  client: Client,
  identityPrefix: string,
  jobIds: string[],
): Promise<number> {
  let n = 0;
  for (const id of jobIds) {
    // A sub-job that has not started yet has nothing running.
    const desc = await client.workflow
      .getHandle(id)
      .describe()
      .catch(() => null);
    const raw = desc?.raw.pendingActivities ?? [];
    n += raw.filter((a) => (a.lastWorkerIdentity ?? '').startsWith(identityPrefix)).length;
  }
  return n;
}

/** Rows of one import in the index the workers share (`<dataDir>/index.sqlite`): count, distinct keys, full-text entries. */
export function indexedRows(dataDir: string, importId: string): { rows: number; keys: number; fts: number } {
  const db = new Database(join(dataDir, 'index.sqlite'), { readonly: true });
  try {
    const one = (sql: string): number => (db.prepare(sql).get(importId) as { n: number }).n;
    return {
      rows: one('SELECT count(*) AS n FROM import_rows WHERE import_id = ?'),
      keys: one('SELECT count(DISTINCT key) AS n FROM import_rows WHERE import_id = ?'),
      fts: one(
        'SELECT count(*) AS n FROM import_rows_fts WHERE rowid IN (SELECT rowid FROM import_rows WHERE import_id = ?)',
      ),
    };
  } finally {
    db.close();
  }
}

/** A dataImport folder of `files` files (10% invalid rows) under `<dataDir>/imports/<name>`. */
export function importFolder(dataDir: string, name: string, files: number): ImportFolder {
  return writeImportFolder(join(dataDir, 'imports', name), {
    prefix: uniqueId(name),
    files,
    rowsPerFile: 200,
  });
}

/**
 * A dataImport that completed with each valid row indexed exactly once: the summary's counts and
 * the index itself — rows, distinct keys, full-text entries. With `singlePass`, also that the index
 * step ran once (all rows counted as inserted): true when no process running it was killed; a
 * worker killed in the middle of the index step leaves its retry to upsert rows the killed attempt
 * had already committed, which it counts as unchanged — the rows are still there once.
 */
export function expectImportedOnce(
  dataDir: string,
  state: JobState,
  data: ImportFolder,
  opts: { singlePass?: boolean } = {},
): void {
  expect(state.status).toBe('completed');
  const summary = (state.output as { summary: ImportSummary }).summary;
  expect(summary.rows).toMatchObject({
    total: data.rows,
    valid: data.validRows,
    processed: data.validRows,
    indexed: data.validRows,
  });
  if (opts.singlePass) expect(state.summary.itemsCreated).toBe(data.validRows);
  else expect(state.summary.itemsCreated).toBeLessThanOrEqual(data.validRows);
  expect(indexedRows(dataDir, state.jobId)).toEqual({
    rows: data.validRows,
    keys: data.validRows,
    fts: data.validRows,
  });
}
