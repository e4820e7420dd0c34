/**
 * The dashboard (deploy/grafana/stepwise.json) and the alert rules (deploy/prometheus/alerts.yml)
 * read only series Stepwise exports. The real system — `npm start` (the compiled launcher) with
 * its worker and API against the test run's dev server, worker metrics and health on — runs jobs
 * that move every job series (a retried step, a failed job and its recovery, a stall, a cancel),
 * then both `/metrics` endpoints are scraped and every metric name in every dashboard and rule
 * expression must be among the samples served (histograms as `_bucket`/`_sum`/`_count`), or be a
 * series Prometheus makes itself for each target (`up`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobState } from '../../workflows/contracts';
import { initialJobAttributes } from '../../workflows/search-attributes';
import { connectTestEnv, freePort, uniqueId, waitFor, type TestEnv } from '../helpers';
import { Launcher, NPM_START } from '../launcher';
import { exposedSeries, exposedTypes, referencedSeries, sampleSum, SCRAPE_SERIES } from './series';

let launcher: Launcher;
let env: TestEnv;
let dataDir: string;
let api: string;
let workerMetrics: string;
let taskQueue: string;

beforeAll(async () => {
  env = await connectTestEnv();
  dataDir = mkdtempSync(join(tmpdir(), 'stepwise-series-'));
  taskQueue = uniqueId('series');
  const [port, metricsPort, healthPort] = [await freePort(), await freePort(), await freePort()];
  api = `http://127.0.0.1:${port}`;
  workerMetrics = `http://127.0.0.1:${metricsPort}/metrics`;
  launcher = new Launcher(NPM_START.entry, NPM_START.args, {
    ...process.env,
    TEMPORAL_ADDRESS: env.address,
    TEMPORAL_TASK_QUEUE: taskQueue,
    PORT: String(port),
    STEPWISE_DATA_DIR: dataDir,
    NODE_ENV: 'production',
    WORKFLOW_BUNDLE_PATH: process.env.STEPWISE_TEST_BUNDLE!,
    STEPWISE_WORKER_METRICS_ADDRESS: `127.0.0.1:${metricsPort}`,
    STEPWISE_WORKER_HEALTH_ADDRESS: `127.0.0.1:${healthPort}`,
    LOG_LEVEL: 'warn',
  });
  await launcher.waitForLine(/Stepwise is up/, 90_000);
});

afterAll(async () => {
  await launcher?.cleanup();
  await env?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function post(path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${api}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const stateOf = async (jobId: string): Promise<JobState> =>
  (await (await fetch(`${api}/api/jobs/${jobId}`)).json()) as JobState;

const closed = (jobId: string): Promise<JobState> =>
  waitFor(
    () => stateOf(jobId),
    (s) => s.closedAt !== null,
    60_000,
    100,
  );

async function start(type: string, input: unknown): Promise<string> {
  const res = await post('/api/jobs', { type, input });
  if (res.status !== 201)
    throw new Error(`POST /api/jobs ${type}: ${res.status} ${JSON.stringify(res.json)}`);
  return res.json.jobId as string;
}

/** A line of series `name` whose labels include `labels` (in any order). */
function labelled(name: string, labels: Record<string, string>): RegExp {
  const has = Object.entries(labels).map(([k, v]) => `(?=[^}]*\\b${k}="${v}")`);
  return new RegExp(`^${name}\\{${has.join('')}`, 'm');
}

it('every series the dashboard and the alert rules read is one a running Stepwise exports', async () => {
  // A step retried once, then completed (and its sub-job).
  const retried = await start('example', { durationMs: 20, failAttempts: 1 });
  // A run that fails, then its recovery, which completes.
  const recovered = await start('demoPipeline', {
    durationMs: 20,
    parts: 1,
    steps: { extract: { failRuns: 1 } },
  });
  // A stall, then a cancel: the stall threshold a client learns from a type's history, given by
  // hand (as test/api/sleep.test.ts does): 1 s (the least) for a step that reports every 2 s.
  const stalled = uniqueId('series-stall');
  await env.client.workflow.start('demoPipeline', {
    taskQueue,
    workflowId: stalled,
    args: [
      {
        input: { durationMs: 20, parts: 1, steps: { extract: { durationMs: 10_000 } } },
        stallAfterMs: { extract: 1_000 },
      },
    ],
    typedSearchAttributes: initialJobAttributes('demoPipeline'),
  });
  expect((await closed(retried)).status).toBe('completed');
  expect((await closed(recovered)).status).toBe('failed');
  expect((await post(`/api/jobs/${recovered}/retry`, {})).status).toBeLessThan(300);
  await waitFor(
    () => stateOf(stalled),
    (s) => s.status === 'stalled',
    30_000,
    100,
  );
  expect((await post(`/api/jobs/${stalled}/cancel`, { reason: 'series test' })).status).toBeLessThan(300);
  expect((await closed(stalled)).status).toBe('cancelled');
  await waitFor(
    () => stateOf(recovered),
    (s) => s.recovery.attempt === 1 && s.closedAt !== null,
    60_000,
    100,
  );
  expect((await stateOf(recovered)).status).toBe('completed');

  // The worker's Runtime exports what it collected on its own schedule: polled, not assumed. The
  // job series by their labels: a run's duration by type and status (the failed run, its
  // recovery, the cancelled one), the recovery by its outcome, the stall by its step.
  const pipeline = (labels: Record<string, string>) => ({ job_type: 'demoPipeline', ...labels });
  const expected: [string, Record<string, string>][] = [
    ['stepwise_job_duration_seconds_count', pipeline({ status: 'failed' })],
    ['stepwise_job_duration_seconds_count', pipeline({ status: 'completed' })],
    ['stepwise_job_duration_seconds_count', pipeline({ status: 'cancelled' })],
    ['stepwise_job_duration_seconds_count', { job_type: 'example', status: 'completed' }],
    ['stepwise_job_recoveries_total', pipeline({ outcome: 'completed' })],
    ['stepwise_job_stalls_total', pipeline({ step: 'extract' })],
    ['stepwise_step_retries_total', { job_type: 'example' }],
  ];
  const worker = await waitFor(
    async () => (await fetch(workerMetrics)).text(),
    (t) => expected.every(([name, labels]) => sampleSum(t, name, labels) >= 1),
    30_000,
    250,
  );
  expect(sampleSum(worker, 'stepwise_job_recoveries_total', pipeline({ outcome: 'completed' }))).toBe(1);
  expect(sampleSum(worker, 'stepwise_job_recoveries_total', pipeline({ outcome: 'failed' }))).toBe(0);
  // The label values the worker rules select on (StepwiseNoWorkerPolling, StepwiseTaskSlotsExhausted).
  const queue = { task_queue: taskQueue };
  expect(worker).toMatch(labelled('temporal_num_pollers', { ...queue, poller_type: 'workflow_task' }));
  for (const worker_type of ['WorkflowWorker', 'ActivityWorker']) {
    expect(worker).toMatch(labelled('temporal_worker_task_slots_available', { ...queue, worker_type }));
  }
  const apiText = await (await fetch(`${api}/metrics`)).text();
  const served = new Set([...exposedSeries(worker), ...exposedSeries(apiText), ...SCRAPE_SERIES]);
  const missing = [...referencedSeries()].filter(([name]) => !served.has(name));
  expect(missing).toEqual([]);
  // Durations in seconds: the renamed histograms, with their buckets.
  const types = exposedTypes(worker);
  expect(types.get('stepwise_step_duration_seconds')).toBe('histogram');
  expect(types.get('stepwise_job_duration_seconds')).toBe('histogram');
  expect(worker).not.toContain('stepwise_step_duration_milliseconds');
  // Buckets in seconds: the smallest step bucket is 10 ms, and a job's run took well under a minute.
  expect(worker).toMatch(/^stepwise_step_duration_seconds_bucket\{[^}]*le="0\.01"/m);
  const sum = sampleSum(worker, 'stepwise_job_duration_seconds_sum', { job_type: 'example' });
  const count = sampleSum(worker, 'stepwise_job_duration_seconds_count', { job_type: 'example' });
  expect(sum / count).toBeGreaterThan(0);
  expect(sum / count).toBeLessThan(60);
});
