/**
 * `api-start`: jobs started per second through `POST /api/jobs` at concurrency 32, against
 * `client.workflow.start` at the same concurrency; both on a task queue no worker polls, so only
 * the start path is measured (the jobs never run).
 * `api-get`: `GET /api/jobs/:id` latency on running jobs, against the direct `jobState` query.
 */
import exampleApp from '../../workflows/app';
import { jobStateQuery } from '../../workflows/contracts';
import { DEFAULT_LIMITS } from '../../workflows/limits';
import { initialJobAttributes } from '../../workflows/search-attributes';
import type { BenchEnv } from '../env';
import { goals, HttpClient, metric, pairs, percentile, pool, waitForJob, type ScenarioResult } from '../lib';

const START_CONCURRENCY = 32;
const limits = DEFAULT_LIMITS;
const exampleDef = exampleApp.find('example')!;

export async function apiStartScenario(env: BenchEnv, reps: number, perRep = 256): Promise<ScenarioResult> {
  const t0 = Date.now();
  const idleQueue = `${env.runId}-idle`;
  const api = await env.startApi(idleQueue);
  const http = new HttpClient(api.base, api.headers);
  const input = { durationMs: 0 };
  let failures = 0;
  let batches = 0;
  /** One timed batch of starts: POST /api/jobs, or the client's start, plain or as the API sends it. */
  const batch = async (kind: 'api' | 'plain' | 'same', rep: number | 'warmup'): Promise<number> => {
    const n = rep === 'warmup' ? START_CONCURRENCY : perRep;
    const b = batches++;
    const ids = Array.from({ length: n }, (_, i) => `${env.runId}-start-${b}-${kind}-${i}`);
    const started = performance.now();
    await pool(ids, START_CONCURRENCY, async (jobId) => {
      if (kind === 'api') {
        const res = await http.send('POST', '/api/jobs', { type: 'example', input, jobId });
        if (res.status !== 201) failures++;
        return;
      }
      await env.client.workflow.start('example', {
        taskQueue: idleQueue,
        workflowId: jobId,
        args: [kind === 'plain' ? { input } : { input, limits }],
        ...(kind === 'same' && {
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          typedSearchAttributes: initialJobAttributes('example'),
          staticSummary: 'example job',
          staticDetails: exampleDef.description,
        }),
      });
    });
    return n / ((performance.now() - started) / 1000);
  };
  try {
    // The goal's baseline: a plain start. Then, to split the ratio, the same start the API sends
    // (the job's search attributes, summary and limits), against the API again.
    const runs = await pairs(reps, (side, rep) => batch(side === 'stepwise' ? 'api' : 'plain', rep));
    const same = await pairs(reps, (side, rep) => batch(side === 'stepwise' ? 'api' : 'same', rep), null);
    if (failures > 0) throw new Error(`api-start: ${failures} POST /api/jobs did not answer 201`);
    return {
      name: 'api-start',
      description: `${perRep} starts of an \`example\` job per repetition at concurrency ${START_CONCURRENCY}: POST /api/jobs (operator key, audit trail on) against client.workflow.start`,
      metrics: [
        metric('starts per second', 'jobs/s', runs.baseline, runs.stepwise, goals.ratioAtLeast(0.85)),
        metric('… against the start the API sends', 'jobs/s', same.baseline, same.stepwise),
      ],
      notes: [
        'Started on a task queue no worker polls: only the start path is measured.',
        'Second row: the raw side starts with what POST /api/jobs sends (JobType and JobStatus search attributes, summary, details, limits, REJECT_DUPLICATE), so the ratio is the API layer alone.',
      ],
      wallSeconds: (Date.now() - t0) / 1000,
    };
  } finally {
    http.close();
    await api.close();
  }
}

const RUNNING_JOBS = 8;

export async function apiGetScenario(env: BenchEnv, reps: number, perRep = 200): Promise<ScenarioResult> {
  const t0 = Date.now();
  // Running jobs: an `example` whose first step works for minutes (an activity in flight).
  const ids = Array.from({ length: RUNNING_JOBS }, (_, i) => `${env.runId}-get-${i}`);
  const http = new HttpClient(env.api.base, env.api.headers);
  await Promise.all(ids.map((jobId) => env.jobs.start('example', { durationMs: 540_000 }, { jobId })));
  try {
    for (const jobId of ids) {
      await waitForJob(env.jobs, jobId, `${jobId} running`, (s) => s.steps[0].status === 'running');
    }
    const runs = await pairs(reps, async (side, rep) => {
      const n = rep === 'warmup' ? 40 : perRep;
      const lat: number[] = [];
      for (let i = 0; i < n; i++) {
        const jobId = ids[i % ids.length];
        const t = performance.now();
        if (side === 'stepwise') {
          const res = await http.send('GET', `/api/jobs/${encodeURIComponent(jobId)}`);
          if (res.status !== 200) throw new Error(`GET /api/jobs/${jobId}: ${res.status}`);
        } else {
          await env.client.workflow.getHandle(jobId).query(jobStateQuery);
        }
        lat.push(performance.now() - t);
      }
      return { p50: percentile(lat, 50), p99: percentile(lat, 99) };
    });
    return {
      name: 'api-get',
      description: `${perRep} sequential reads per repetition over ${RUNNING_JOBS} running \`example\` jobs: GET /api/jobs/:id (describe + jobState query, over HTTP) against the jobState query`,
      metrics: [
        metric(
          'latency p50',
          'ms',
          runs.baseline.map((r) => r.p50),
          runs.stepwise.map((r) => r.p50),
        ),
        metric(
          'latency p99',
          'ms',
          runs.baseline.map((r) => r.p99),
          runs.stepwise.map((r) => r.p99),
          goals.linear(1.5, 5, ' ms'),
        ),
      ],
      notes: [],
      wallSeconds: (Date.now() - t0) / 1000,
    };
  } finally {
    http.close();
    await Promise.all(
      ids.map((id) => env.jobs.terminate(id, { reason: 'bench done' }).catch(() => undefined)),
    );
  }
}
