/**
 * `limit`: what a concurrency limit costs. 200 `benchLimited` jobs (one 200 ms `simulateWork`
 * step, at most {@link BENCH_LIMIT} at once) started at once through the client, queueing in their
 * limiter, against 200 raw workflows doing the same activity (`baselineSteps` with one step) that
 * the client itself keeps {@link BENCH_LIMIT} at a time: it starts that many, and the next one each
 * time one completes.
 *
 * Measured per side, from the server's history timestamps: the wall time and throughput; the
 * handoff — for every job after the first {@link BENCH_LIMIT}, the time from the close of the job
 * whose slot it took to its own work's `ActivityTaskStarted` (p50 / p99; the pairing is below);
 * how many ran at once (more than the limit fails the scenario); each job's history, the same job
 * type's without a limit (`benchUnlimited`), and the limiter's history per job, all its runs.
 *
 * Whose slot a job took: the closes sorted by time and the works' first starts sorted by time, the
 * i-th close is paired with the (i + limit)-th start. With `limit` running, the (i + limit)-th job
 * to start can do so only once i jobs have given their slots back, so the i-th close is the
 * earliest moment its slot was free. Both sides are paired the same way.
 */
import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import type { JobState } from '../../workflows/contracts';
import { limiterId, limiterStateQuery } from '../../workflows/engine/limiter-contracts';
import { initialJobAttributes } from '../../workflows/search-attributes';
import type { BenchEnv } from '../env';
import {
  eventMs,
  goals,
  median,
  metric,
  pairs,
  percentile,
  pool,
  waitUntil,
  type Goal,
  type ScenarioResult,
} from '../lib';
import { BENCH_LIMIT, benchLimitedDefinition, benchUnlimitedDefinition } from '../workflows';

/** Jobs a measurement runs (a warm-up runs {@link WARMUP_JOBS}). */
const JOBS = 200;
const WARMUP_JOBS = 40;
/** The work each job does (one `simulateWork` call). */
const WORK_MS = 200;
/** `benchUnlimited` jobs run per Stepwise measurement, for the history without the limit. */
const UNLIMITED_JOBS = 3;
/** Histories read at once after a measurement. */
const READERS = 16;

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** One job's timeline, from its history (server timestamps, ms since the epoch). */
interface Timeline {
  workflowId: string;
  events: number;
  /** Its `simulateWork` activity's `ActivityTaskStarted` and `ActivityTaskCompleted`. */
  workStarted: number;
  workDone: number;
  /** `WorkflowExecutionCompleted`. */
  closed: number;
}

interface Run {
  jobs: number;
  wallMs: number;
  jobsPerSecond: number;
  /** Holder closed → the next job's work started, every job after the first `limit`. */
  handoffs: number[];
  /** Holder's work done → the next job's work started. */
  workHandoffs: number[];
  /** Most jobs holding a slot at once (see {@link holdIntervals}). */
  mostHolding: number;
  /** Most `simulateWork` activities running at once (server times, both sides alike). */
  mostWorking: number;
  /** Median history length of the jobs. */
  jobEvents: number;
  /** Stepwise only: `benchUnlimited`'s history length (median of a few). */
  unlimitedEvents: number;
  /** Stepwise only: the limiter's history, every run, divided by the jobs it served. */
  limiterEventsPerJob: number;
  limiterRuns: number;
}

async function fetchEvents(client: Client, workflowId: string, runId?: string): Promise<HistoryEvent[]> {
  const h = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  return h.events ?? [];
}

async function timeline(client: Client, workflowId: string): Promise<Timeline> {
  const events = await fetchEvents(client, workflowId);
  const scheduled = new Map<string, string>();
  let workStarted = NaN;
  let workDone = NaN;
  let closed = NaN;
  for (const e of events) {
    const id = String(e.eventId);
    if (e.activityTaskScheduledEventAttributes)
      scheduled.set(id, e.activityTaskScheduledEventAttributes.activityType?.name ?? '');
    const started = e.activityTaskStartedEventAttributes;
    // A limited job's first activity is its request for a slot: the work is `simulateWork`'s.
    if (
      started &&
      Number.isNaN(workStarted) &&
      scheduled.get(String(started.scheduledEventId)) === 'simulateWork'
    )
      workStarted = eventMs(e);
    const done = e.activityTaskCompletedEventAttributes;
    if (done && Number.isNaN(workDone) && scheduled.get(String(done.scheduledEventId)) === 'simulateWork')
      workDone = eventMs(e);
    if (e.workflowExecutionCompletedEventAttributes) closed = eventMs(e);
  }
  if ([workStarted, workDone, closed].some(Number.isNaN))
    throw new Error(`limit: ${workflowId} has no completed simulateWork or did not complete`);
  return { workflowId, events: events.length, workStarted, workDone, closed };
}

async function timelines(client: Client, ids: string[]): Promise<Timeline[]> {
  const out: Timeline[] = [];
  await pool(ids, READERS, async (id) => {
    out.push(await timeline(client, id));
  });
  return out;
}

/** The most intervals open at any moment; an end at the same moment as a start counts first. */
export function mostAtOnce(intervals: [number, number][]): number {
  const edges = intervals.flatMap(([from, to]): [number, number][] => [
    [from, 1],
    [to, -1],
  ]);
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let most = 0;
  for (const [, d] of edges) most = Math.max(most, (now += d));
  return most;
}

/**
 * The i-th of `ends` (sorted) paired with the (i + limit)-th of `starts` (sorted): start − end,
 * for every start after the first `limit`.
 */
export function handoffGaps(ends: number[], starts: number[], limit: number): number[] {
  const e = [...ends].sort((a, b) => a - b);
  const s = [...starts].sort((a, b) => a - b);
  const gaps: number[] = [];
  for (let i = 0; i + limit < s.length && i < e.length; i++) gaps.push(s[i + limit] - e[i]);
  return gaps;
}

/** Every run of a workflow id, newest first, followed back through continue-as-new. */
async function allRuns(client: Client, workflowId: string): Promise<HistoryEvent[][]> {
  const runs: HistoryEvent[][] = [];
  let runId: string | undefined;
  for (;;) {
    const events = await fetchEvents(client, workflowId, runId);
    runs.push(events);
    const prev = events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId;
    if (!prev) return runs;
    runId = prev;
  }
}

function summarizeRun(
  jobs: number,
  wallMs: number,
  t: Timeline[],
  holding: [number, number][],
): Omit<Run, 'unlimitedEvents' | 'limiterEventsPerJob' | 'limiterRuns'> {
  const starts = t.map((x) => x.workStarted);
  return {
    jobs,
    wallMs,
    jobsPerSecond: jobs / (wallMs / 1000),
    handoffs: handoffGaps(
      t.map((x) => x.closed),
      starts,
      BENCH_LIMIT,
    ),
    workHandoffs: handoffGaps(
      t.map((x) => x.workDone),
      starts,
      BENCH_LIMIT,
    ),
    mostHolding: mostAtOnce(holding),
    mostWorking: mostAtOnce(t.map((x) => [x.workStarted, x.workDone])),
    jobEvents: median(t.map((x) => x.events)),
  };
}

/** Never more than the limit: anything else is a broken limiter, not a slow one. */
function checkLimit(side: string, r: Pick<Run, 'mostHolding' | 'mostWorking'>): void {
  if (r.mostHolding > BENCH_LIMIT || r.mostWorking > BENCH_LIMIT)
    throw new Error(
      `limit: the ${side} side ran more than ${BENCH_LIMIT} at once (${r.mostHolding} holding a slot, ${r.mostWorking} working)`,
    );
}

async function rawRun(env: BenchEnv, n: number, prefix: string): Promise<Run> {
  const ids = Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
  const began = performance.now();
  // The client keeps `limit` running: each lane starts the next workflow when its last one completed.
  await pool(ids, BENCH_LIMIT, async (workflowId) => {
    const handle = await env.client.workflow.start('baselineSteps', {
      taskQueue: env.taskQueue,
      workflowId,
      args: [{ steps: 1, durationMs: WORK_MS }],
      typedSearchAttributes: initialJobAttributes('baselineSteps'),
    });
    await handle.result();
  });
  const wallMs = performance.now() - began;
  const t = await timelines(env.client, ids);
  // A raw workflow holds its "slot" from its work's start to its close (the client starts the next
  // only after it saw the close).
  const r = summarizeRun(
    n,
    wallMs,
    t,
    t.map((x) => [x.workStarted, x.closed]),
  );
  checkLimit('raw', r);
  return { ...r, unlimitedEvents: NaN, limiterEventsPerJob: NaN, limiterRuns: NaN };
}

async function stepwiseRun(env: BenchEnv, n: number, batch: string): Promise<Run> {
  const ids = Array.from({ length: n }, (_, i) => `${batch}-${i}`);
  const input = { batch, durationMs: WORK_MS };
  const began = performance.now();
  // All at once: they queue in their batch's limiter, which lets `limit` run.
  await Promise.all(ids.map((jobId) => env.jobs.start(benchLimitedDefinition, input, { jobId })));
  const states = await Promise.all(
    ids.map((id) => env.client.workflow.getHandle(id).result() as Promise<JobState>),
  );
  const wallMs = performance.now() - began;
  const notDone = states.filter((s) => s.status !== 'completed');
  if (notDone.length > 0)
    throw new Error(
      `limit: ${notDone.length} benchLimited jobs did not complete (${notDone[0].jobId}: ${notDone[0].status})`,
    );
  const t = await timelines(env.client, ids);
  // A job holds its slot from its first step's start to its close, as it recorded them (it gives the
  // slot back after it recorded its close, so the next one's first step starts after it).
  const r = summarizeRun(
    n,
    wallMs,
    t,
    states.map((s) => [Date.parse(s.steps[0].startedAt!), Date.parse(s.closedAt!)]),
  );
  checkLimit('stepwise', r);

  const limiter = limiterId(env.taskQueue, benchLimitedDefinition.name, batch);
  // The last jobs' release signals are in its history; wait until it has handled them.
  await waitUntil(
    `${limiter} to be idle`,
    async () => {
      const st = await env.client.workflow.getHandle(limiter).query(limiterStateQuery);
      return st.running.length === 0 && st.queued.length === 0 ? true : undefined;
    },
    { everyMs: 200, timeoutMs: 60_000 },
  );
  const runs = await allRuns(env.client, limiter);
  const limiterEvents = runs.reduce((a, r) => a + r.length, 0);

  const unlimited = Array.from({ length: UNLIMITED_JOBS }, (_, i) => `${batch}-unlimited-${i}`);
  await Promise.all(unlimited.map((jobId) => env.jobs.start(benchUnlimitedDefinition, input, { jobId })));
  const unlimitedEvents = await Promise.all(
    unlimited.map(async (id) => {
      const handle = env.client.workflow.getHandle(id);
      await handle.result();
      return (await handle.describe()).historyLength;
    }),
  );
  return {
    ...r,
    unlimitedEvents: median(unlimitedEvents),
    limiterEventsPerJob: limiterEvents / n,
    limiterRuns: runs.length,
  };
}

export async function limitScenario(env: BenchEnv, reps: number): Promise<ScenarioResult> {
  const t0 = Date.now();
  const runs = await pairs(reps, (side, rep) => {
    const n = rep === 'warmup' ? WARMUP_JOBS : JOBS;
    const prefix = `${env.runId}-limit-${rep}-${side}`;
    return side === 'stepwise' ? stepwiseRun(env, n, prefix) : rawRun(env, n, prefix);
  });
  const pick = (f: (r: Run) => number) => [runs.baseline.map(f), runs.stepwise.map(f)] as const;
  const p = (q: number, f: (r: Run) => number[]) => (r: Run) => percentile(f(r), q);
  const unlimited = median(runs.stepwise.map((r) => r.unlimitedEvents));
  // docs/flow-control.md: "about 10 events in the job's history; the limiter adds about 10 events per
  // job". The goals allow that with a fifth more.
  const jobHistoryGoal: Goal = {
    text: '≤ unlimited + 12 events',
    met: (_b, s) => s <= unlimited + 12,
  };
  const limiterGoal: Goal = { text: '≤ 12 events', met: (_b, s) => s <= 12 };
  const med = (f: (r: Run) => number): string => String(Math.round(median(runs.stepwise.map(f))));
  return {
    name: 'limit',
    description: `${JOBS} jobs of one ${WORK_MS} ms simulateWork step, ${BENCH_LIMIT} at a time: benchLimited (concurrency limit ${BENCH_LIMIT}, all started at once, queued in the limiter) against baselineSteps (1 step) started ${BENCH_LIMIT} at a time by the client`,
    metrics: [
      metric('throughput', 'jobs/s', ...pick((r) => r.jobsPerSecond), goals.ratioAtLeast(0.9)),
      metric('wall (first start → last result)', 'ms', ...pick((r) => r.wallMs)),
      metric(
        'handoff p50 (closed → next work)',
        'ms',
        ...pick(p(50, (r) => r.handoffs)),
        goals.plusAtMost(50, ' ms'),
      ),
      metric('handoff p99 (closed → next work)', 'ms', ...pick(p(99, (r) => r.handoffs))),
      metric('work done → next work p50', 'ms', ...pick(p(50, (r) => r.workHandoffs))),
      metric('work done → next work p99', 'ms', ...pick(p(99, (r) => r.workHandoffs))),
      metric(
        'most holding a slot at once',
        'jobs',
        ...pick((r) => r.mostHolding),
        goals.bothAtMost(BENCH_LIMIT),
      ),
      metric('most working at once', 'jobs', ...pick((r) => r.mostWorking), goals.bothAtMost(BENCH_LIMIT)),
      metric('job history', 'events', ...pick((r) => r.jobEvents), jobHistoryGoal),
      metric('limiter history per job', 'events', ...pick((r) => r.limiterEventsPerJob), limiterGoal),
    ],
    notes: [
      `Handoff: closes and first work starts (ActivityTaskStarted of simulateWork, server times) each sorted; the i-th close paired with the (i+${BENCH_LIMIT})-th start, for the ${JOBS - BENCH_LIMIT} jobs after the first ${BENCH_LIMIT}. "Work done" is the holder's simulateWork ActivityTaskCompleted instead of its close.`,
      `A Stepwise job gives its slot back (a signal to the limiter) in its last workflow task but one, so the next job can start before the holder's close: its handoff can be negative.`,
      `History: raw is baselineSteps with one step; benchUnlimited (the same job without the limit) has ${unlimited} events. The limiter (one per measurement: the batch is its key) ran ${med((r) => r.limiterRuns)} run(s) a measurement (median).`,
      `Holding a slot: Stepwise from its first step's startedAt to its closedAt (as the job recorded them), raw from its work's ActivityTaskStarted to its close. Working: simulateWork's ActivityTaskStarted → ActivityTaskCompleted on both sides.`,
    ],
    wallSeconds: (Date.now() - t0) / 1000,
  };
}
