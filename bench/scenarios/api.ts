/**
 * `api-start`: jobs started per second through `POST /api/jobs` at concurrency 32, against
 * `client.workflow.start` at the same concurrency; both on a task queue no worker polls, so only
 * the start path is measured (the jobs never run).
 * `api-get`: `GET /api/jobs/:id` latency on running jobs, against the direct `jobState` query.
 */
import { jobStateQuery } from '../../workflows/contracts';
import { initialJobAttributes } from '../../workflows/search-attributes';
import type { BenchEnv } from '../env';
import { goals, metric, pairs, percentile, pool, waitUntil, type ScenarioResult } from '../lib';

const START_CONCURRENCY = 32;

export async function apiStartScenario(env: BenchEnv, reps: number, perRep = 256): Promise<ScenarioResult> {
  const t0 = Date.now();
  const idleQueue = `${env.runId}-idle`;
  const api = await env.startApi(idleQueue);
  const input = { durationMs: 0 };
  let failures = 0;
  try {
    const runs = await pairs(reps, async (side, rep) => {
      const n = rep === 'warmup' ? START_CONCURRENCY : perRep;
      const ids = Array.from({ length: n }, (_, i) => `${env.runId}-start-${rep}-${side}-${i}`);
      const started = performance.now();
      await pool(ids, START_CONCURRENCY, async (jobId) => {
        if (side === 'stepwise') {
          const res = await fetch(`${api.base}/api/jobs`, {
            method: 'POST',
            headers: { ...api.headers, 'content-type': 'application/json' },
            body: JSON.stringify({ type: 'example', input, jobId }),
          });
          await res.arrayBuffer();
          if (res.status !== 201) failures++;
        } else {
          await env.client.workflow.start('example', {
            taskQueue: idleQueue,
            workflowId: jobId,
            args: [{ input }],
          });
        }
      });
      return n / ((performance.now() - started) / 1000);
    });
    if (failures > 0) throw new Error(`api-start: ${failures} POST /api/jobs did not answer 201`);
    return {
      name: 'api-start',
      description: `${perRep} starts of an \`example\` job per repetition at concurrency ${START_CONCURRENCY}: POST /api/jobs (operator key, audit trail on) against client.workflow.start`,
      metrics: [
        metric('starts per second', 'jobs/s', runs.baseline, runs.stepwise, goals.ratioAtLeast(0.85)),
      ],
      notes: ['Started on a task queue no worker polls: only the start path is measured.'],
      wallSeconds: (Date.now() - t0) / 1000,
    };
  } finally {
    await api.close();
  }
}

const RUNNING_JOBS = 8;

export async function apiGetScenario(env: BenchEnv, reps: number, perRep = 200): Promise<ScenarioResult> {
  const t0 = Date.now();
  // Running jobs: an `example` whose first step works for minutes (an activity in flight).
  const ids = Array.from({ length: RUNNING_JOBS }, (_, i) => `${env.runId}-get-${i}`);
  const handles = await Promise.all(
    ids.map((workflowId) =>
      env.client.workflow.start('example', {
        taskQueue: env.taskQueue,
        workflowId,
        args: [{ input: { durationMs: 540_000 } }],
        typedSearchAttributes: initialJobAttributes('example'),
      }),
    ),
  );
  try {
    for (const h of handles) {
      await waitUntil(`${h.workflowId} running`, async () => {
        const s = await h.query(jobStateQuery);
        return s.steps[0].status === 'running' ? true : undefined;
      });
    }
    const runs = await pairs(reps, async (side, rep) => {
      const n = rep === 'warmup' ? 40 : perRep;
      const lat: number[] = [];
      for (let i = 0; i < n; i++) {
        const jobId = ids[i % ids.length];
        const t = performance.now();
        if (side === 'stepwise') {
          const res = await fetch(`${env.api.base}/api/jobs/${encodeURIComponent(jobId)}`, {
            headers: env.api.headers,
          });
          await res.arrayBuffer();
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
    await Promise.all(handles.map((h) => h.terminate('bench done').catch(() => undefined)));
  }
}
