/**
 * `GET /api/stats` over a known set of jobs, every figure checked exactly: six runs of
 * `demoPipeline` under this file's own id prefix (other test files share the dev server) — two
 * completed (one after a retried attempt of `load`), one failed at `load`, one failed at `load`
 * and recovered from step 3 (a second run that completes), one cancelled. The expected values are
 * computed here from the runs' visibility times and the runs' own states. Real dev server, keys on.
 */
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Stats, StepStats } from '../../src/api/contracts';
import { jobStateQuery, type JobState, type JobStatus } from '../../workflows/contracts';
import { StepwiseClient, type StepwiseClientOptions } from '../../src/client/client';
import exampleApp from '../../workflows/app';
import { startTestApi, type TestApi } from '../api-harness';
import { WORKER_DEADLINE_MS } from '../../src/client/deadlines';
import { closedJobState, createTestWorker, testApiKeys, testClient, uniqueId, waitFor } from '../helpers';

const { STEPWISE_API_KEYS, keys } = testApiKeys({ vera: 'viewer', ops: 'operator' });
const as = (who: 'vera' | 'ops') => ({ authorization: `Bearer ${keys[who]}` });

let harness: TestApi;
let app: NestFastifyApplication;
const prefix = uniqueId('stats');
const MIN = 60_000;
let fromMs: number;
let toMs: number;

interface Run {
  jobId: string;
  runId: string;
  status: JobStatus;
  startedMs: number;
  closedMs: number;
  state: JobState;
}
const runs: Run[] = [];

const post = async (url: string, payload: object, status: number) => {
  const res = await app.inject({
    method: 'POST',
    url,
    headers: { ...as('ops'), 'content-type': 'application/json' },
    payload,
  });
  expect(res.statusCode).toBe(status);
  return res.json<{ runId: string }>();
};
const getState = async (jobId: string): Promise<JobState> =>
  (await app.inject({ method: 'GET', url: `/api/jobs/${jobId}`, headers: as('vera') })).json<JobState>();
const closed = (jobId: string, runId?: string) =>
  waitFor(
    () => getState(jobId),
    (s) => s.closedAt !== null && (runId === undefined || s.runId === runId),
    60_000,
    100,
  );
const stats = async (query: string, who: 'vera' | 'ops' = 'vera') =>
  app.inject({ method: 'GET', url: `/api/stats?${query}`, headers: as(who) });
const ourStats = async (): Promise<Stats> => {
  const res = await stats(
    `jobIdPrefix=${encodeURIComponent(prefix)}&from=${new Date(fromMs).toISOString()}&to=${new Date(toMs).toISOString()}&interval=1m`,
  );
  expect(res.statusCode).toBe(200);
  return res.json<Stats>();
};

/** Nearest-rank percentile, written out again here so the test does not lean on the code it checks. */
const nearestRank = (values: number[], p: number): number | null => {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.ceil((p / 100) * sorted.length) - 1];
};

beforeAll(async () => {
  harness = await startTestApi({ STEPWISE_API_KEYS });
  app = harness.app;
  fromMs = Math.floor(Date.now() / MIN) * MIN;
  const demo = (steps: object, extra: object = {}) => ({ durationMs: 20, parts: 1, steps, ...extra });
  const jobs: [string, object][] = [
    ['ok', demo({})],
    ['retried', demo({ load: { failAttempts: 1 } })],
    ['failed', demo({ load: { failPermanently: true } })],
    ['recovered', demo({ load: { failRuns: 1 } })],
    ['cancelled', demo({ extract: { durationMs: 60_000 } })],
  ];
  for (const [name, input] of jobs) {
    await post('/api/jobs', { type: 'demoPipeline', jobId: `${prefix}-${name}`, input }, 201);
  }
  await waitFor(
    () => getState(`${prefix}-cancelled`),
    (s) => s.steps[0].status === 'running',
    30_000,
    50,
  );
  await post(`/api/jobs/${prefix}-cancelled/cancel`, { reason: 'stats test' }, 202);
  const first = await closed(`${prefix}-recovered`);
  expect(first.status).toBe('failed');
  const second = await post(`/api/jobs/${prefix}-recovered/retry`, { fromStep: 3 }, 201);
  const finals = new Map<string, JobState>();
  for (const [name] of jobs) {
    finals.set(name, await closed(`${prefix}-${name}`, name === 'recovered' ? second.runId : undefined));
  }
  expect([...finals.values()].map((s) => s.status)).toEqual([
    'completed',
    'completed',
    'failed',
    'completed',
    'cancelled',
  ]);
  // Every run (a retried job's earlier run too), with its visibility times, once all are listed closed.
  const { client } = harness.env;
  const listed = await waitFor(
    () =>
      client.workflowService.listWorkflowExecutions({
        namespace: client.options.namespace,
        query: `WorkflowId STARTS_WITH '${prefix}' AND JobParentId IS NULL`,
        pageSize: 100,
      }),
    (res) => res.executions.length === 6 && res.executions.every((e) => e.closeTime),
    30_000,
    100,
  );
  const ms = (ts: { seconds?: unknown; nanos?: number | null } | null | undefined): number =>
    Number(ts?.seconds) * 1000 + Math.floor((ts?.nanos ?? 0) / 1e6);
  for (const e of listed.executions) {
    const jobId = e.execution!.workflowId!;
    const runId = e.execution!.runId!;
    const state =
      runId === first.runId ? first : await client.workflow.getHandle(jobId, runId).query(jobStateQuery);
    runs.push({
      jobId,
      runId,
      status: state.status,
      startedMs: ms(e.startTime),
      closedMs: ms(e.closeTime),
      state,
    });
  }
  toMs = (Math.floor(Math.max(...runs.map((r) => r.closedMs)) / MIN) + 1) * MIN;
  // The visibility store is eventually consistent: wait until the route sees every close too.
  await waitFor(ourStats, (s) => s.types[0]?.closed === 6, 30_000, 200);
}, 180_000);

afterAll(async () => {
  await harness?.close();
});

/** A client of its own (an empty closed-state cache) on the harness's worker, with `options`. */
const ownClient = (options: Partial<StepwiseClientOptions<typeof exampleApp>> = {}) =>
  new StepwiseClient({
    app: exampleApp,
    client: harness.env.client,
    taskQueue: harness.taskQueue,
    ...options,
  });
/** `c`'s stats of this file's jobs, over their range, by minute. */
const statsOfOurs = (c: StepwiseClient<typeof exampleApp>): Promise<Stats> =>
  c.stats({
    jobIdPrefix: prefix,
    from: new Date(fromMs).toISOString(),
    to: new Date(toMs).toISOString(),
    interval: '1m',
  });

describe('GET /api/stats', () => {
  it('counts starts and closes per interval by status, from the runs’ visibility times', async () => {
    const s = await ourStats();
    expect(s.from).toBe(new Date(fromMs).toISOString());
    expect(s.to).toBe(new Date(toMs).toISOString());
    expect(s.intervalMs).toBe(MIN);
    expect(s.series).toHaveLength((toMs - fromMs) / MIN);
    const expected = s.series.map((b, i) => {
      const start = fromMs + i * MIN;
      const inBucket = (t: number) => t >= start && t < start + MIN;
      const closedAs = (status: JobStatus) =>
        runs.filter((r) => r.status === status && inBucket(r.closedMs)).length;
      return {
        start: new Date(start).toISOString(),
        started: runs.filter((r) => inBucket(r.startedMs)).length,
        closed: {
          completed: closedAs('completed'),
          completed_with_errors: closedAs('completed_with_errors'),
          failed: closedAs('failed'),
          cancelled: closedAs('cancelled'),
        },
      };
    });
    expect(s.series).toEqual(expected);
    const total = (f: (b: Stats['series'][number]) => number) => s.series.reduce((n, b) => n + f(b), 0);
    expect(total((b) => b.started)).toBe(6);
    expect(total((b) => b.closed.completed)).toBe(3);
    expect(total((b) => b.closed.failed)).toBe(2);
    expect(total((b) => b.closed.cancelled)).toBe(1);
  });

  it('per type: failure rate, run durations p50/p95, retry rate and recovery success rate', async () => {
    const s = await ourStats();
    const attempts = runs.flatMap((r) =>
      r.state.steps.filter((st) => st.attempt > 0 && st.carriedFrom === null).map((st) => st.attempt),
    );
    const retries = attempts.reduce((n, a) => n + a - 1, 0);
    expect(retries).toBe(1); // the `retried` job's load
    const durations = runs.map((r) => r.closedMs - r.startedMs);
    expect(s.types).toEqual([
      {
        type: 'demoPipeline',
        started: 6,
        closed: 6,
        completed: 3,
        failed: 2,
        cancelled: 1,
        failureRate: 2 / 6,
        durationP50Ms: nearestRank(durations, 50),
        durationP95Ms: nearestRank(durations, 95),
        statesRead: 6,
        stepAttempts: attempts.reduce((n, a) => n + a, 0),
        retries,
        retryRate: retries / attempts.reduce((n, a) => n + a, 0),
        recoveryRuns: 1,
        recoverySucceeded: 1,
        recoverySuccessRate: 1,
      },
    ]);
  });

  it('per step: runs, failures, retries and completed durations from the runs’ own states; the slowest and most failing', async () => {
    const s = await ourStats();
    const expected: StepStats[] = runs[0].state.steps.map((def) => {
      const ran = runs
        .map((r) => r.state.steps.find((st) => st.key === def.key)!)
        .filter((st) => st.attempt > 0 && st.carriedFrom === null);
      const failures = ran.filter((st) => st.status === 'failed').length;
      const attempts = ran.reduce((n, st) => n + st.attempt, 0);
      const durations = ran.filter((st) => st.status === 'completed').map((st) => st.durationMs!);
      return {
        type: 'demoPipeline',
        step: def.key,
        index: def.index,
        name: def.name,
        runs: ran.length,
        failures,
        failureRate: failures / ran.length,
        attempts,
        retries: attempts - ran.length,
        retryRate: (attempts - ran.length) / attempts,
        durationP50Ms: nearestRank(durations, 50),
        durationP95Ms: nearestRank(durations, 95),
      };
    });
    expect(s.steps).toEqual(expected);
    const by = Object.fromEntries(s.steps.map((st) => [st.step, st]));
    // By construction: extract ran in the five first runs (the recovery carried it), load in all six.
    expect([by.extract.runs, by.load.runs, by.load.failures, by.load.retries]).toEqual([5, 5, 2, 1]);
    expect(by.load.failureRate).toBe(2 / 5);
    expect(s.mostFailingSteps.map((st) => st.step)).toEqual(['load']);
    expect(s.slowestSteps.map((st) => st.step)).toEqual(
      [...expected]
        .filter((st) => st.durationP95Ms !== null)
        .sort((a, b) => b.durationP95Ms! - a.durationP95Ms! || a.index - b.index)
        .map((st) => st.step),
    );
  });

  it('says what it read: visibility, close events for completed runs, queries for the others; then the cache', async () => {
    const s = await ourStats();
    expect(s.source).toMatchObject({
      executionsScanned: 6,
      truncated: false,
      statesWanted: 6,
      statesRead: 6,
      statesSkipped: 0,
      statesUnreadable: 0,
    });
    // Closed runs never change: read once, they are kept (this process read them in beforeAll).
    expect(s.source.fromCache).toBe(6);
    expect(s.source.closeEvents + s.source.queries).toBe(0);
  });

  it('reads a completed run’s state from its close event, and queries only failed and cancelled runs', async () => {
    // A client with an empty cache, on the same worker: what a first request costs.
    const fresh = ownClient();
    const s = await statsOfOurs(fresh);
    expect(s.source).toMatchObject({
      statesRead: 6,
      fromCache: 0,
      closeEvents: 3,
      queries: 3,
      visibilityPages: 1,
    });
    const api = await ourStats();
    expect({ ...s, source: null }).toEqual({ ...api, source: null });
    const again = await fresh.stats({ jobIdPrefix: prefix, from: s.from, to: s.to, interval: '1m' });
    expect(again.source).toMatchObject({ fromCache: 6, closeEvents: 0, queries: 0 });
  });

  it('stops at the bounds and says so: STEPWISE_STATS_MAX runs scanned, STEPWISE_STATS_STATES_MAX states read', async () => {
    const s = await statsOfOurs(ownClient({ statsMax: 4, statsStatesMax: 2 }));
    expect(s.source).toMatchObject({
      executionsScanned: 4,
      truncated: true,
      statesWanted: 4,
      statesRead: 2,
      statesSkipped: 2,
    });
    expect(s.series.reduce((n, b) => n + b.started, 0)).toBe(4);
    expect(s.types[0]).toMatchObject({ closed: 4, statesRead: 2 });
  });

  it('starts no state read past its time budget, and counts what it left out', async () => {
    const s = await statsOfOurs(ownClient({ statsStatesBudgetMs: 0 }));
    expect(s.source.statesWanted).toBeGreaterThan(0);
    expect(s.source).toMatchObject({ statesRead: 0, statesSkipped: s.source.statesWanted, queries: 0 });
  });

  it('gives up a state no worker answers for when its budget ends, and does not wait for it again', async () => {
    // A failed run on a task queue whose only worker then stops: its `jobState` query waits for a
    // worker that never comes (as for the runs of a queue a deploy retired).
    const gonePrefix = uniqueId('stats-gone');
    const { worker, taskQueue } = await createTestWorker(harness.env);
    const running = worker.run();
    const jobs = testClient(harness.env, taskQueue);
    try {
      const { jobId } = await jobs.start(
        'demoPipeline',
        { durationMs: 20, parts: 1, steps: { load: { failPermanently: true } } },
        { jobId: `${gonePrefix}-failed` },
      );
      expect((await closedJobState(jobs, jobId)).status).toBe('failed');
    } finally {
      worker.shutdown();
      await running;
    }
    const range = { jobIdPrefix: gonePrefix, from: new Date(fromMs).toISOString(), interval: '1m' };
    // Listed closed first (the visibility store is eventually consistent), so the first stats call wants it.
    await waitFor(
      () => jobs.list({ jobIdPrefix: gonePrefix, status: 'failed' }),
      (l) => l.jobs.length === 1,
      30_000,
      100,
    );
    const c = ownClient({ statsStatesBudgetMs: 1_000 });
    const first = await c.stats(range);
    expect(first.source).toMatchObject({
      statesWanted: 1,
      statesRead: 0,
      statesUnreadable: 1,
      statesRemembered: 0,
    });
    // The request ended with its budget, not with the query's 15 s deadline.
    expect(first.source.elapsedMs).toBeLessThan(WORKER_DEADLINE_MS / 2);
    const again = await c.stats(range);
    expect(again.source).toMatchObject({
      statesWanted: 1,
      statesRead: 0,
      statesUnreadable: 1,
      statesRemembered: 1,
      queries: 0,
    });
    expect(again.types[0]).toMatchObject({ type: 'demoPipeline', closed: 1, failed: 1, statesRead: 0 });
  });

  it('filters by type and leaves other types out; an unknown type is a 400', async () => {
    const range = `jobIdPrefix=${encodeURIComponent(prefix)}&from=${new Date(fromMs).toISOString()}&to=${new Date(toMs).toISOString()}`;
    const other = await stats(`${range}&type=example`);
    expect(other.statusCode).toBe(200);
    expect(other.json<Stats>().types).toEqual([]);
    expect(other.json<Stats>().series.every((b) => b.started === 0)).toBe(true);
    const unknown = await stats(`${range}&type=nope`);
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json<{ issues: { path: string[] }[] }>().issues[0].path).toEqual(['type']);
  });

  it('refuses bad input with the issue paths, and defaults to the last 24 hours', async () => {
    const issue = async (query: string): Promise<string[]> => {
      const res = await stats(query);
      expect(res.statusCode).toBe(400);
      return res.json<{ issues: { path: string[] }[] }>().issues[0].path;
    };
    expect(await issue('interval=5x')).toEqual(['interval']);
    expect(await issue('interval=0m')).toEqual(['interval']);
    expect(await issue('from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z')).toEqual(['to']);
    expect(await issue('from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z&interval=1d')).toEqual(['from']);
    // A day in minutes: 1440 buckets, over 500.
    expect(await issue('from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z&interval=1m')).toEqual([
      'interval',
    ]);
    expect(await issue('from=2026-01-01T00:00:00')).toEqual(['from']);
    expect(await issue('bogus=1')).toEqual(['bogus']);
    const day = await stats(`jobIdPrefix=${encodeURIComponent(prefix)}`, 'ops');
    expect(day.statusCode).toBe(200);
    const d = day.json<Stats>();
    expect(Date.parse(d.to) - Date.parse(d.from)).toBe(86_400_000);
    expect(d.intervalMs).toBe(3_600_000);
    expect(d.series).toHaveLength(24);
  });
});
