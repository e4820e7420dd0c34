/**
 * Faults on one cluster assembled by the test from `src/cluster/` objects (PostgreSQL, Temporal
 * Server, two worker processes, the API; no supervisor), broken and repaired by the test, in this
 * order: metrics, a graceful worker stop, Temporal Server stopped and restarted, PostgreSQL stopped
 * and restarted, the API restarted under a live event stream, and a paused job across a restart of
 * everything. What the launcher users start does when its processes are killed is proven on the
 * launcher itself: test/faults/launcher-cluster.test.ts. Each scenario checks that no work was
 * lost or done twice — sub-jobs ran once, rows were indexed once — not only that jobs completed.
 * No sleeps: every wait polls a condition with a deadline.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Client, Connection } from '@temporalio/client';
import type { StepwiseClient } from '../../src/client/client';
import { run } from '../../src/cluster/process';
import type exampleApp from '../../workflows/app';
import type { JobState } from '../../workflows/contracts';
import { sampleSum } from '../deploy/series';
import { closedJobState, waitFor, waitForState } from '../helpers';
import type { ImportFolder } from '../pipeline-fixtures';
import {
  activitiesOn,
  closedStates,
  connectJobs,
  expectDemoDoneOnce,
  expectImportedOnce as expectImported,
  http,
  importFolder as writeImport,
  startFaultCluster,
  type FaultCluster,
} from './fault-helpers';

let fc: FaultCluster;
let connection: Connection;
let client: Client;
let jobs: StepwiseClient<typeof exampleApp>;
const api = (): string => fc.cluster.apiUrl;

beforeAll(async () => {
  fc = await startFaultCluster('cluster');
  ({ connection, client, jobs } = await connectJobs(fc.cluster.temporal.address, fc.cluster.opts.appEnv));
}, 240_000);

afterAll(async () => {
  await connection?.close();
  await fc?.cluster.stop();
}, 120_000);

/** Whatever an earlier scenario left stopped (when it failed half-way) runs again. */
beforeEach(async () => {
  const c = fc.cluster;
  if (!c.postgres.running) await c.postgres.start();
  if (!c.temporal.running) await c.temporal.start();
  for (const [i, w] of c.workers.entries()) if (!w?.running) await c.startWorker(i);
  if (!c.api?.running) await c.startApi();
}, 180_000);

/** On failure, the cluster's last log lines say what the processes did. */
async function withLog<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- cluster log (tail) ---\n${fc.tail(80)}`, { cause: err });
  }
}

function expectImportedOnce(state: JobState, data: ImportFolder): void {
  // Nothing here kills a worker: the index step runs once.
  expectImported(fc.dataDir, state, data, { singlePass: true });
}

const demo = (durationMs: number, parts: number) => ({
  durationMs: 300,
  parts,
  steps: { transform: { durationMs } },
});

async function workerMetrics(): Promise<string> {
  const texts = await Promise.all(
    fc.cluster.workers.map(async (_, i) => (await fetch(fc.cluster.workerMetricsUrl(i))).text()),
  );
  return texts.join('\n');
}

it('metrics: the workers and the API serve the documented series, and a job moves its counters', async () => {
  await withLog(async () => {
    const closed = { job_type: 'example', status: 'completed' };
    const before = await workerMetrics();
    const apiBefore = (await http<string>(api(), 'GET', '/metrics')).body;
    // Started through the API: its request counter is checked below.
    const res = await http<{ jobId: string }>(api(), 'POST', '/api/jobs', { type: 'example', input: {} });
    expect(res.status).toBe(201);
    const jobId = res.body.jobId;
    await closedJobState(jobs, jobId, 60_000);
    // Read through the API too: its per-route duration series is checked below.
    expect((await http<JobState>(api(), 'GET', `/api/jobs/${jobId}`)).body).toMatchObject({
      status: 'completed',
    });
    // Worker metrics are exported as the Runtime collects them: polled, not assumed instant.
    const after = await waitFor(
      workerMetrics,
      (t) =>
        sampleSum(t, 'stepwise_jobs_closed_total', closed) >=
        sampleSum(before, 'stepwise_jobs_closed_total', closed) + 1,
      30_000,
      250,
    );
    expect(sampleSum(after, 'stepwise_jobs_started_total', { job_type: 'example' })).toBeGreaterThanOrEqual(
      sampleSum(before, 'stepwise_jobs_started_total', { job_type: 'example' }) + 1,
    );
    expect(sampleSum(after, 'stepwise_step_duration_seconds_count', { job_type: 'example' })).toBeGreaterThan(
      0,
    );
    expect(sampleSum(after, 'stepwise_job_duration_seconds_count', closed)).toBeGreaterThanOrEqual(
      sampleSum(before, 'stepwise_job_duration_seconds_count', closed) + 1,
    );
    // The SDK's own series, on the same endpoint.
    expect(after).toMatch(/^temporal_workflow_completed_total\{/m);
    expect(after).toMatch(/^temporal_activity_execution_latency_bucket\{/m);
    const apiAfter = (await http<string>(api(), 'GET', '/metrics')).body;
    const started = { method: 'POST', route: '/api/jobs', status: '201' };
    expect(sampleSum(apiAfter, 'stepwise_api_http_requests_total', started)).toBe(
      sampleSum(apiBefore, 'stepwise_api_http_requests_total', started) + 1,
    );
    expect(apiAfter).toMatch(
      /^stepwise_api_http_request_duration_seconds_bucket\{.*route="\/api\/jobs\/:jobId"/m,
    );
    expect(apiAfter).toMatch(/^stepwise_api_process_cpu_seconds_total /m);
  });
});

it('graceful stop: a worker on SIGTERM lets its running activity finish — the step does not burn an attempt', async () => {
  await withLog(async () => {
    const { jobId } = await jobs.start('demoPipeline', {
      durationMs: 300,
      parts: 1,
      steps: { extract: { durationMs: 4000 } },
    });
    const onWorker = await waitFor(
      async () => {
        for (const i of [0, 1]) if ((await activitiesOn(client, `worker-${i + 1}@`, [jobId])) > 0) return i;
        return -1;
      },
      (i) => i >= 0,
      30_000,
      100,
    );
    const worker = fc.cluster.workers[onWorker]!;
    await worker.stop(30_000); // SIGTERM; the grace time in these tests is 10 s
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    const final = await closedJobState(jobs, jobId, 60_000);
    const extract = final.steps.find((s) => s.key === 'extract')!;
    expect({ status: extract.status, attempt: extract.attempt }).toEqual({ status: 'completed', attempt: 1 });
    await expectDemoDoneOnce(client, final, 1);
    await fc.cluster.startWorker(onWorker);
  });
});

it('Temporal Server stopped and restarted mid-job: the API answers 503, then recovers; workers reconnect by themselves', async () => {
  await withLog(async () => {
    const PARTS = 3;
    const data = writeImport(fc.dataDir, 'temporal', 6);
    const demos = await Promise.all(
      [1, 2].map(async () => (await jobs.start('demoPipeline', demo(3000, PARTS))).jobId),
    );
    const { jobId: importId } = await jobs.start('dataImport', { sourceDir: 'temporal', batchSize: 2 });
    await waitForState(jobs, demos[0], (s) => s.currentStep >= 2, { timeoutMs: 60_000, intervalMs: 200 });
    const workerPids = fc.cluster.workers.map((w) => w!.pid);
    await fc.cluster.temporal.stop();
    // Meanwhile: 503 from a route that needs Temporal, and from readiness (liveness stays 200).
    const during = await waitFor(
      () => http(api(), 'GET', `/api/jobs/${demos[0]}`),
      (r) => r.status === 503,
      30_000,
      200,
    );
    expect(during.status).toBe(503);
    expect((await http(api(), 'GET', '/health/ready')).status).toBe(503);
    expect((await http(api(), 'GET', '/health/live')).status).toBe(200);
    await fc.cluster.temporal.start();
    // Nobody restarts the API or the workers: they recover on their own.
    await waitFor(
      () => http(api(), 'GET', `/api/jobs/${demos[0]}`),
      (r) => r.status === 200,
      60_000,
      250,
    );
    const states = await closedStates(jobs, [...demos, importId], 120_000);
    expect(fc.cluster.workers.map((w) => w!.pid)).toEqual(workerPids);
    expect(fc.cluster.workers.every((w) => w!.running)).toBe(true);
    for (const i of [0, 1]) {
      await waitFor(
        () => http(fc.cluster.workerHealthUrl(i), 'GET', '/readyz'),
        (r) => r.status === 200,
        30_000,
        250,
      );
    }
    for (const id of demos) await expectDemoDoneOnce(client, states.get(id)!, PARTS);
    expectImportedOnce(states.get(importId)!, data);
  });
});

it('PostgreSQL restarted mid-job: jobs continue and complete once; the API answers 503 meanwhile and recovers', async () => {
  await withLog(async () => {
    const PARTS = 3;
    const data = writeImport(fc.dataDir, 'postgres', 6);
    const demos = await Promise.all(
      [1, 2].map(async () => (await jobs.start('demoPipeline', demo(3000, PARTS))).jobId),
    );
    const { jobId: importId } = await jobs.start('dataImport', { sourceDir: 'postgres', batchSize: 2 });
    await waitForState(jobs, demos[0], (s) => s.currentStep >= 2, { timeoutMs: 60_000, intervalMs: 200 });
    const workerPids = fc.cluster.workers.map((w) => w!.pid);
    await fc.cluster.postgres.stop();
    // The job list reads visibility from the database: 503 while it is down.
    await waitFor(
      () => http(api(), 'GET', '/api/jobs?pageSize=5'),
      (r) => r.status === 503,
      30_000,
      200,
    );
    await fc.cluster.postgres.start();
    await waitFor(
      () => http(api(), 'GET', '/api/jobs?pageSize=5'),
      (r) => r.status === 200,
      60_000,
      250,
    );
    const states = await closedStates(jobs, [...demos, importId], 180_000);
    expect(fc.cluster.workers.map((w) => w!.pid)).toEqual(workerPids);
    expect(fc.cluster.temporal.running).toBe(true);
    for (const id of demos) await expectDemoDoneOnce(client, states.get(id)!, PARTS);
    expectImportedOnce(states.get(importId)!, data);
  });
});

interface SseEvent {
  event: string;
  id: string | null;
  data: string;
}

/** Reads an SSE response until it ends; returns its events (no EventSource in Node: a minimal reader). */
async function readEvents(
  url: string,
  lastEventId: string | null,
  onEvent: (e: SseEvent) => void,
): Promise<number> {
  const res = await fetch(url, {
    headers: { accept: 'text/event-stream', ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
    signal: AbortSignal.timeout(120_000),
  });
  if (res.status !== 200 || !res.body) return res.status;
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of res.body) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      let at: number;
      while ((at = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, at);
        buffer = buffer.slice(at + 2);
        const ev: SseEvent = { event: 'message', id: null, data: '' };
        let isEvent = false;
        for (const line of block.split('\n')) {
          if (line.startsWith(':') || line === '') continue;
          isEvent = true;
          const i = line.indexOf(':');
          const [field, value] = [line.slice(0, i), line.slice(i + 1).replace(/^ /, '')];
          if (field === 'event') ev.event = value;
          else if (field === 'id') ev.id = value;
          else if (field === 'data') ev.data += value;
        }
        if (isEvent) onEvent(ev);
      }
    }
  } catch {
    // The server went away mid-stream: what arrived so far counts.
  }
  return 200;
}

it('API restarted while a client streams job events: the client reconnects with Last-Event-ID and gets the final state', async () => {
  await withLog(async () => {
    const { jobId } = await jobs.start('demoPipeline', demo(6000, 2));
    const events: SseEvent[] = [];
    const first = readEvents(`${api()}/api/jobs/${jobId}/events`, null, (e) => events.push(e));
    await waitFor(
      async () => events.length,
      (n) => n >= 1,
      30_000,
      100,
    );
    // A deploy: SIGTERM, the API ends its streams and drains, then a new process starts.
    await fc.cluster.api!.stop();
    expect(await first).toBe(200);
    const lastId = events[events.length - 1].id;
    expect(lastId).not.toBeNull();
    expect(events.some((e) => e.event === 'closed')).toBe(false);
    await fc.cluster.startApi();
    // Like EventSource: reconnect with the last id until the stream says the job closed.
    const after: SseEvent[] = [];
    let last = lastId;
    await waitFor(
      async () => {
        const status = await readEvents(`${api()}/api/jobs/${jobId}/events`, last, (e) => {
          after.push(e);
          last = e.id ?? last;
        });
        return { status, closed: after.some((e) => e.event === 'closed') };
      },
      (r) => r.closed || r.status === 204,
      90_000,
      100,
    );
    const closed = after.find((e) => e.event === 'closed');
    expect(closed).toBeDefined();
    const final = JSON.parse(closed!.data) as JobState;
    expect(final).toMatchObject({ jobId, status: 'completed', progress: 100 });
    // Nothing older than what the client had was sent again.
    for (const e of after) expect(Number(e.id)).toBeGreaterThan(Number(lastId));
    await expectDemoDoneOnce(client, final, 2);
  });
});

it('a paused job survives a restart of everything and continues from where it stopped', async () => {
  await withLog(async () => {
    const { jobId } = await jobs.start('demoPipeline', { ...demo(800, 2), durationMs: 800 });
    await waitForState(jobs, jobId, (s) => s.steps[0].status === 'completed', {
      timeoutMs: 60_000,
      intervalMs: 100,
    });
    expect((await http(api(), 'POST', `/api/jobs/${jobId}/pause`, { reason: 'fault test' })).status).toBe(
      200,
    );
    const paused = await waitForState(jobs, jobId, (s) => s.status === 'paused', {
      timeoutMs: 60_000,
      intervalMs: 100,
    });
    const before = paused.steps.map((s) => ({
      key: s.key,
      status: s.status,
      completedAt: s.completedAt,
    }));
    expect(before[3].status).toBe('pending');

    await fc.cluster.stop();
    await fc.cluster.start();

    // The first state read after the restart.
    const again = await waitForState(jobs, jobId, () => true, { timeoutMs: 60_000 });
    expect(again.status).toBe('paused');
    expect(again.steps.map((s) => ({ key: s.key, status: s.status, completedAt: s.completedAt }))).toEqual(
      before,
    );
    expect((await http(api(), 'POST', `/api/jobs/${jobId}/resume`, {})).status).toBe(200);
    const final = await closedJobState(jobs, jobId, 60_000);
    // What had completed before the pause was not run again.
    for (const b of before.filter((s) => s.status === 'completed')) {
      const s = final.steps.find((x) => x.key === b.key)!;
      expect({ completedAt: s.completedAt, attempt: s.attempt }).toEqual({
        completedAt: b.completedAt,
        attempt: 1,
      });
    }
    await expectDemoDoneOnce(client, final, 2);
  });
});

it("PostgreSQL's temporal login: a generated password kept 0600 across the restarts above, never temporal/temporal", async () => {
  const base = join(fc.dataDir, 'cluster');
  const passwordFile = join(base, 'secrets', 'postgres-temporal-password');
  const configFile = join(base, 'config', 'temporal', 'stepwise.yaml');
  const password = readFileSync(passwordFile, 'utf8').trim();
  expect(statSync(passwordFile).mode & 0o777).toBe(0o600);
  expect(statSync(configFile).mode & 0o777).toBe(0o600);
  expect(readFileSync(configFile, 'utf8')).toContain(`password: "${password}"`);
  const psql = (pw: string) =>
    run(
      join(fc.cluster.tools.postgresBin, 'psql'),
      [
        '-h',
        '127.0.0.1',
        '-p',
        String(fc.cluster.postgres.port),
        '-U',
        'temporal',
        '-d',
        'temporal',
        '-tAc',
        'SELECT 1',
      ],
      { env: { ...process.env, PGPASSWORD: pw } },
    );
  await expect(psql('temporal')).rejects.toThrow(/password authentication failed/);
  expect((await psql(password)).trim()).toBe('1');
});
