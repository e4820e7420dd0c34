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
import { temporal } from '@temporalio/proto';
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
/** A handoff (work done → next work) longer than this is listed in the notes. */
const SLOW_MS = 1_000;
/** Histories read at once after a measurement. */
const READERS = 16;

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** One job's timeline, from its history (server timestamps, ms since the epoch). */
interface Timeline {
  workflowId: string;
  events: number;
  /** `WorkflowExecutionStarted`. */
  started: number;
  /** Stepwise: its request for a slot reached the limiter (`stepwiseEnterQueue`'s marker, or completion). */
  enteredQueue: number;
  /** Stepwise: the limiter's answer arrived (`WorkflowExecutionSignaled`, `stepwiseSlotAnswer`). */
  granted: number;
  /** Its `simulateWork` activity's `ActivityTaskScheduled`, `ActivityTaskStarted`, `ActivityTaskCompleted`. */
  workScheduled: number;
  workStarted: number;
  workDone: number;
  /** Stepwise: it gave its slot back (`SignalExternalWorkflowExecutionInitiated`). */
  released: number;
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
  /**
   * Stepwise: the handoffs (closed → next work) whose next work started after the start burst —
   * once every job's request had reached the limiter; raw (no burst): all of them.
   */
  steadyHandoffs: number[];
  /** Stepwise: the first job's start → the last job's request in the limiter (raw: NaN). */
  burstMs: number;
  /** Jobs closed per second after the burst (raw: first start → last close, server times). */
  steadyJobsPerSecond: number;
  /** Where that time went, leg by leg (p50 / p99 of each over the handoffs). */
  legs: { name: string; p50: number; p99: number }[];
  /** The slowest handoff (work done → next work): its place among the handoffs and its legs. */
  slowest: { index: number; legs: { name: string; ms: number }[] };
  /** Places of the handoffs (work done → next work) longer than {@link SLOW_MS}. */
  slow: number[];
  /** Most jobs holding a slot at once (see the callers of {@link summarizeRun}). */
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
  /** Stepwise only: the events a limited job has that an unlimited one has not, by type. */
  extraEvents?: string;
}

async function fetchEvents(client: Client, workflowId: string, runId?: string): Promise<HistoryEvent[]> {
  const h = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  return h.events ?? [];
}

async function timeline(client: Client, workflowId: string): Promise<Timeline> {
  const events = await fetchEvents(client, workflowId);
  const scheduled = new Map<string, string>();
  const t: Timeline = {
    workflowId,
    events: events.length,
    started: NaN,
    enteredQueue: NaN,
    granted: NaN,
    workScheduled: NaN,
    workStarted: NaN,
    workDone: NaN,
    released: NaN,
    closed: NaN,
  };
  const first = (k: keyof Omit<Timeline, 'workflowId' | 'events'>, e: HistoryEvent): void => {
    if (Number.isNaN(t[k])) t[k] = eventMs(e);
  };
  // A limited job's first activity is its request for a slot: the work is `simulateWork`'s.
  const isWork = (scheduledId: unknown): boolean => scheduled.get(String(scheduledId)) === 'simulateWork';
  const isRequest = (scheduledId: unknown): boolean =>
    scheduled.get(String(scheduledId)) === 'stepwiseEnterQueue';
  for (const e of events) {
    const sched = e.activityTaskScheduledEventAttributes;
    if (sched) {
      scheduled.set(String(e.eventId), sched.activityType?.name ?? '');
      if (sched.activityType?.name === 'simulateWork') first('workScheduled', e);
    }
    if (e.workflowExecutionStartedEventAttributes) first('started', e);
    if (e.workflowExecutionSignaledEventAttributes?.signalName === 'stepwiseSlotAnswer') first('granted', e);
    if (isWork(e.activityTaskStartedEventAttributes?.scheduledEventId)) first('workStarted', e);
    if (isWork(e.activityTaskCompletedEventAttributes?.scheduledEventId)) first('workDone', e);
    if (isRequest(e.activityTaskCompletedEventAttributes?.scheduledEventId)) first('enteredQueue', e);
    // The request is a local activity now: its marker is recorded when the job's task completes.
    if (e.markerRecordedEventAttributes?.markerName === 'core_local_activity') first('enteredQueue', e);
    if (e.signalExternalWorkflowExecutionInitiatedEventAttributes) first('released', e);
    if (e.workflowExecutionCompletedEventAttributes) first('closed', e);
  }
  if ([t.workStarted, t.workDone, t.closed].some(Number.isNaN))
    throw new Error(`limit: ${workflowId} has no completed simulateWork or did not complete`);
  return t;
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
 * Who took whose slot: the jobs sorted by close and sorted by their work's start; the i-th to close
 * is paired with the (i + limit)-th to start, for every job after the first `limit`.
 */
export function handoffPairs<T>(
  jobs: T[],
  closed: (j: T) => number,
  started: (j: T) => number,
  limit: number,
): { holder: T; next: T; index: number }[] {
  const byClose = [...jobs].sort((a, b) => closed(a) - closed(b));
  const byStart = [...jobs].sort((a, b) => started(a) - started(b));
  return byStart.slice(limit).map((next, i) => ({ holder: byClose[i], next, index: i }));
}

/** The legs of a handoff, holder's work done → next work started, in order (they add up). */
const LEGS: Record<'raw' | 'stepwise', [string, (h: Timeline, n: Timeline) => number][]> = {
  raw: [
    ['holder work done → closed', (h) => h.closed - h.workDone],
    ['closed → next started (the client)', (h, n) => n.started - h.closed],
    ['next started → work scheduled', (_h, n) => n.workScheduled - n.started],
    ['work scheduled → started', (_h, n) => n.workStarted - n.workScheduled],
  ],
  stepwise: [
    ['holder work done → slot released', (h) => h.released - h.workDone],
    ['released → next granted (the limiter)', (h, n) => n.granted - h.released],
    ['granted → work scheduled', (_h, n) => n.workScheduled - n.granted],
    ['work scheduled → started', (_h, n) => n.workStarted - n.workScheduled],
  ],
};

/** "+2 ActivityTaskScheduled, …": event types `a` has more of than `b`, and fewer ("−1 …"). */
function eventTypeDiff(a: HistoryEvent[], b: HistoryEvent[]): string {
  const counts = new Map<string, number>();
  const name = (e: HistoryEvent): string =>
    (temporal.api.enums.v1.EventType[e.eventType ?? 0] ?? String(e.eventType))
      .replace(/^EVENT_TYPE_/, '')
      .toLowerCase()
      .replace(/(^|_)([a-z])/g, (_m, _u, c: string) => c.toUpperCase());
  for (const e of a) counts.set(name(e), (counts.get(name(e)) ?? 0) + 1);
  for (const e of b) counts.set(name(e), (counts.get(name(e)) ?? 0) - 1);
  return [...counts]
    .filter(([, n]) => n !== 0)
    .map(([type, n]) => `${n > 0 ? '+' : '−'}${Math.abs(n)} ${type}`)
    .join(', ');
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
  side: 'raw' | 'stepwise',
  jobs: number,
  wallMs: number,
  t: Timeline[],
  holding: [number, number][],
): Omit<Run, 'unlimitedEvents' | 'limiterEventsPerJob' | 'limiterRuns'> {
  const paired = handoffPairs(
    t,
    (x) => x.closed,
    (x) => x.workStarted,
    BENCH_LIMIT,
  );
  const legs = LEGS[side].map(([name, f]) => ({ name, values: paired.map((p) => f(p.holder, p.next)) }));
  const workHandoffs = paired.map((p) => p.next.workStarted - p.holder.workDone);
  const slowest = paired[workHandoffs.indexOf(Math.max(...workHandoffs))];
  const slow = paired.filter((_p, i) => workHandoffs[i] > SLOW_MS).map((p) => p.index);
  // The start burst ends when the last job's request reached the limiter (raw: no burst, the run's
  // first start).
  const burstEnd =
    side === 'stepwise' ? Math.max(...t.map((x) => x.enteredQueue)) : Math.min(...t.map((x) => x.started));
  const steady = paired.filter((p) => p.next.workStarted > burstEnd);
  const lastClose = Math.max(...t.map((x) => x.closed));
  const closedAfter = t.filter((x) => x.closed > burstEnd).length;
  return {
    jobs,
    wallMs,
    jobsPerSecond: jobs / (wallMs / 1000),
    handoffs: paired.map((p) => p.next.workStarted - p.holder.closed),
    steadyHandoffs: steady.map((p) => p.next.workStarted - p.holder.closed),
    burstMs: side === 'stepwise' ? burstEnd - Math.min(...t.map((x) => x.started)) : NaN,
    steadyJobsPerSecond: closedAfter / ((lastClose - burstEnd) / 1000),
    workHandoffs,
    legs: legs.map((l) => ({ name: l.name, p50: percentile(l.values, 50), p99: percentile(l.values, 99) })),
    slowest: {
      index: slowest.index,
      legs: LEGS[side].map(([name, f]) => ({ name, ms: f(slowest.holder, slowest.next) })),
    },
    slow,
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
    'raw',
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
    'stepwise',
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
  const [limitedHistory, unlimitedHistory] = await Promise.all([
    fetchEvents(env.client, ids[ids.length - 1]),
    fetchEvents(env.client, unlimited[0]),
  ]);
  return {
    ...r,
    extraEvents: eventTypeDiff(limitedHistory, unlimitedHistory),
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
  // The cost the feature was built to (docs/flow-control.md as it came in: "about 10 events in the
  // job's history; the limiter adds about 10 events per job"), with a fifth more.
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
      metric('start burst (all requests in the limiter)', 'ms', ...pick((r) => r.burstMs)),
      metric('throughput after the start burst', 'jobs/s', ...pick((r) => r.steadyJobsPerSecond)),
      metric('wall (first start → last result)', 'ms', ...pick((r) => r.wallMs)),
      metric(
        'handoff p50 (closed → next work)',
        'ms',
        ...pick(p(50, (r) => r.handoffs)),
        goals.plusAtMost(50, ' ms'),
      ),
      metric('handoff p99 (closed → next work)', 'ms', ...pick(p(99, (r) => r.handoffs))),
      metric('handoff p50 after the burst', 'ms', ...pick(p(50, (r) => r.steadyHandoffs))),
      metric('handoff p99 after the burst', 'ms', ...pick(p(99, (r) => r.steadyHandoffs))),
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
      `The start burst (Stepwise): until the last job's request reached the limiter (its stepwiseEnterQueue local activity's marker); "after the burst" rows count the handoffs whose next work started later (${runs.stepwise.map((r) => r.steadyHandoffs.length).join(', ')} of ${JOBS - BENCH_LIMIT} per rep) and the jobs that closed later. Raw has no burst: those rows are its whole run (throughput from its first WorkflowExecutionStarted to its last close).`,
      `Events a benchLimited job has beyond benchUnlimited's: ${runs.stepwise[0]?.extraEvents ?? '—'}.`,
      ...(['baseline', 'stepwise'] as const).map((side) => {
        const rs = runs[side];
        const legs = rs[0].legs.map(
          (l, i) =>
            `${l.name} ${Math.round(median(rs.map((r) => r.legs[i].p50)))} / ${Math.round(median(rs.map((r) => r.legs[i].p99)))}`,
        );
        return `${side === 'baseline' ? 'Raw' : 'Stepwise'}: work done → next work, leg by leg, p50 / p99 ms (medians over reps): ${legs.join('; ')}.`;
      }),
      ...(['baseline', 'stepwise'] as const).flatMap((side) =>
        runs[side].map((r, rep) => {
          const legs = r.slowest.legs.map((l) => `${l.name} ${Math.round(l.ms)}`).join(', ');
          const slow = r.slow.length === 0 ? 'none' : `${r.slow.length} (places ${r.slow.join(', ')})`;
          return `${side === 'baseline' ? 'Raw' : 'Stepwise'} rep ${rep}: handoffs over ${SLOW_MS} ms (work done → next work, of ${r.workHandoffs.length}): ${slow}; the slowest (place ${r.slowest.index}): ${legs} ms.`;
        }),
      ),
      `Holding a slot: Stepwise from its first step's startedAt to its closedAt (as the job recorded them), raw from its work's ActivityTaskStarted to its close. Working: simulateWork's ActivityTaskStarted → ActivityTaskCompleted on both sides.`,
    ],
    wallSeconds: (Date.now() - t0) / 1000,
  };
}
