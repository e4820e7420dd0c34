/**
 * `StepwiseClient.stats()`: figures over the runs that started or closed in a time range — a
 * bounded scan, because Temporal's SQL visibility stores (the dev server's SQLite, PostgreSQL) have
 * no `GROUP BY` or `ORDER BY` on custom search attributes. Counts, run durations and failures come
 * from the visibility records (`StartTime`, `CloseTime`, `JobType`, `JobStatus`); per-step
 * durations, attempts and recoveries from the closed runs' own final states (a completed run's
 * close event, or the `jobState` query of a failed or cancelled one), bounded and cached per run.
 * The arithmetic is in `stats-aggregate.ts`.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { Client } from '@temporalio/client';
import type { JobState } from '../../workflows/contracts';
import type { StepwiseApp } from '../../workflows/engine/app';
import { JobParentIdKey, JobTypeKey } from '../../workflows/search-attributes';
import type { Stats, StatsSource } from '../api/contracts';
import { ABORTED, concurrencyLimit, temporalCall, untilAborted } from './deadlines';
import { InvalidArgument } from './errors';
import { lit, toSummary, tsMs } from './job-list';
import type { JobStateReader } from './job-state';
import { grpcCode } from './temporal-errors';
import {
  defaultInterval,
  mostFailingSteps,
  parseInterval,
  series,
  slowestSteps,
  stepStats,
  typeStats,
  type StatsRun,
} from './stats-aggregate';

/** Options of {@link StepwiseClient.stats}. */
export interface StatsOptions {
  /**
   * Start of the range, ISO 8601 with its zone.
   * @default 24 hours before `to`
   */
  from?: string;
  /**
   * End of the range (exclusive), ISO 8601 with its zone.
   * @default now
   */
  to?: string;
  /**
   * Bucket width of `series`: `<n>m`, `<n>h` or `<n>d`; at most {@link STATS_MAX_BUCKETS} buckets.
   * @default the shortest of 1m, 5m, 15m, 1h, 6h, 1d giving at most 60 buckets
   */
  interval?: string;
  /** Only runs of this job type (a type of the app). */
  type?: string;
  /**
   * `true`: top-level jobs only; `false`: sub-jobs too.
   * @default true
   */
  topLevel?: boolean;
  /** Only jobs whose id starts with this. */
  jobIdPrefix?: string;
}

/** Longest range {@link StepwiseClient.stats} covers. */
export const STATS_MAX_SPAN_MS = 31 * 86_400_000;
/** Most buckets a `series` has. */
export const STATS_MAX_BUCKETS = 500;
/** Runs one stats request scans at most, by default (`STEPWISE_STATS_MAX`). */
export const STATS_MAX_RUNS = 5_000;
/** Final states one stats request reads at most, by default (`STEPWISE_STATS_STATES_MAX`). */
export const STATS_MAX_STATES = 500;
/** Executions per visibility read. */
const STATS_READ_PAGE = 1_000;
/** State reads in flight at once. */
const STATES_IN_FLIGHT = 8;
/**
 * How long one request reads states for: past it the reads not begun are left out
 * (`statesSkipped`) and those still waiting are given up (`statesUnreadable`), so failed runs whose
 * workers are gone (each query waits its 15 s deadline) cannot hold a request for longer.
 */
export const STATS_STATES_BUDGET_MS = 10_000;
/**
 * How long a run whose state could not be read is not asked again: its query waited for a worker
 * that did not answer, and each later request would wait as long again (a fleet with failed runs
 * of a task queue no worker polls any more made every `GET /api/stats` take its whole budget).
 */
export const STATS_UNREADABLE_TTL_MS = 120_000;
/** Runs remembered as unreadable at most (the oldest are forgotten first). */
const UNREADABLE_MAX = 10_000;

const issue = (path: string, message: string): InvalidArgument =>
  new InvalidArgument(`Invalid ${path}: ${message}`, [{ path: [path], message }]);

function parseTime(path: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const ms = /([zZ]|[+-]\d\d:?\d\d)$/.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(ms)) throw issue(path, 'an ISO 8601 time with its zone (`Z` or an offset)');
  return ms;
}

/** A call that missed its deadline (gRPC `DEADLINE_EXCEEDED`), however wrapped. */
function timedOut(err: unknown): boolean {
  for (let e = err, depth = 0; e !== undefined && e !== null && depth < 4; depth++) {
    if (grpcCode(e) === GrpcStatus.DEADLINE_EXCEEDED) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

export class JobStats {
  private readonly namespace: string;
  /** Run id → until when its state is not asked again ({@link STATS_UNREADABLE_TTL_MS}); insertion order is age. */
  private readonly unreadable = new Map<string, number>();

  constructor(
    private readonly client: Client,
    private readonly app: StepwiseApp,
    private readonly states: JobStateReader,
    private readonly maxRuns: number = STATS_MAX_RUNS,
    private readonly maxStates: number = STATS_MAX_STATES,
    private readonly statesBudgetMs: number = STATS_STATES_BUDGET_MS,
  ) {
    this.namespace = client.options.namespace;
  }

  /** The range, its buckets and the visibility query, checked; an {@link InvalidArgument} per bad option. */
  private plan(o: StatsOptions): { fromMs: number; toMs: number; intervalMs: number; query: string } {
    const toMs = parseTime('to', o.to, Date.now());
    const fromMs = parseTime('from', o.from, toMs - 86_400_000);
    if (toMs <= fromMs) throw issue('to', 'must be later than from');
    if (toMs - fromMs > STATS_MAX_SPAN_MS) throw issue('from', 'the range spans at most 31 days');
    const interval = o.interval ?? defaultInterval(toMs - fromMs);
    const intervalMs = parseInterval(interval);
    if (intervalMs === null) throw issue('interval', '`<n>m`, `<n>h` or `<n>d`, e.g. 5m, 1h, 1d');
    const buckets = Math.ceil((toMs - fromMs) / intervalMs);
    if (buckets > STATS_MAX_BUCKETS) {
      throw issue(
        'interval',
        `${buckets} buckets; at most ${STATS_MAX_BUCKETS}: choose a longer interval or a shorter range`,
      );
    }
    const types = o.type === undefined ? this.app.jobs.map((d) => d.name) : [o.type];
    if (o.type !== undefined && !this.app.find(o.type)) throw issue('type', `Unknown job type "${o.type}"`);
    const from = lit(new Date(fromMs).toISOString());
    const to = lit(new Date(toMs).toISOString());
    const clauses = [
      `${JobTypeKey.name} IN (${types.map(lit).join(', ')})`,
      `((StartTime >= ${from} AND StartTime < ${to}) OR (CloseTime >= ${from} AND CloseTime < ${to}))`,
    ];
    if (o.topLevel ?? true) clauses.push(`${JobParentIdKey.name} IS NULL`);
    if (o.jobIdPrefix !== undefined) clauses.push(`WorkflowId STARTS_WITH ${lit(o.jobIdPrefix)}`);
    return { fromMs, toMs, intervalMs, query: clauses.join(' AND ') };
  }

  async stats(options: StatsOptions): Promise<Stats> {
    const began = Date.now();
    const { fromMs, toMs, intervalMs, query } = this.plan(options);
    const source: StatsSource = {
      executionsScanned: 0,
      visibilityPages: 0,
      truncated: false,
      statesWanted: 0,
      statesRead: 0,
      statesSkipped: 0,
      statesUnreadable: 0,
      statesRemembered: 0,
      fromCache: 0,
      closeEvents: 0,
      queries: 0,
      elapsedMs: 0,
    };
    const runs = await this.scan(query, source);
    const states = await this.readStates(runs, fromMs, toMs, source);
    const steps = stepStats(states.values());
    source.elapsedMs = Date.now() - began;
    return {
      from: new Date(fromMs).toISOString(),
      to: new Date(toMs).toISOString(),
      intervalMs,
      series: series(runs, fromMs, toMs, intervalMs),
      types: typeStats(runs, states, fromMs, toMs),
      steps,
      slowestSteps: slowestSteps(steps),
      mostFailingSteps: mostFailingSteps(steps),
      source,
    };
  }

  /** Every matching run, at most `maxRuns` (then `truncated`): Temporal's order, open runs first, then the latest closed. */
  private async scan(query: string, source: StatsSource): Promise<StatsRun[]> {
    const runs: StatsRun[] = [];
    let token: Uint8Array | undefined;
    do {
      const res = await temporalCall(this.client, 'rpc', () =>
        this.client.workflowService.listWorkflowExecutions({
          namespace: this.namespace,
          query,
          pageSize: Math.min(STATS_READ_PAGE, this.maxRuns - runs.length + 1),
          nextPageToken: token,
        }),
      );
      source.visibilityPages++;
      for (const e of res.executions ?? []) {
        if (runs.length >= this.maxRuns) {
          source.truncated = true;
          break;
        }
        const s = toSummary(e, this.app);
        runs.push({
          jobId: s.jobId,
          runId: s.runId,
          type: s.type,
          status: s.status,
          startedMs: tsMs(e.startTime) ?? 0,
          closedMs: tsMs(e.closeTime),
        });
      }
      token = res.nextPageToken && res.nextPageToken.length > 0 ? res.nextPageToken : undefined;
    } while (token && !source.truncated);
    source.executionsScanned = runs.length;
    return runs;
  }

  /**
   * The final states of the runs closed in the range, the latest `maxStates` closes, keyed by run id;
   * none started after `statesBudgetMs`.
   */
  private async readStates(
    runs: readonly StatsRun[],
    fromMs: number,
    toMs: number,
    source: StatsSource,
  ): Promise<Map<string, JobState>> {
    const closed = runs
      .filter((r) => r.closedMs !== null && r.closedMs >= fromMs && r.closedMs < toMs)
      .sort((a, b) => b.closedMs! - a.closedMs!);
    const wanted = closed.slice(0, this.maxStates);
    source.statesWanted = closed.length;
    source.statesSkipped = closed.length - wanted.length;
    const limit = concurrencyLimit(STATES_IN_FLIGHT);
    const states = new Map<string, JobState>();
    const until = Date.now() + this.statesBudgetMs;
    const budget = AbortSignal.timeout(this.statesBudgetMs);
    await Promise.all(
      wanted.map((r) =>
        limit(async () => {
          if (Date.now() >= until) {
            source.statesSkipped++;
            return;
          }
          if (this.stillUnreadable(r.runId)) {
            source.statesUnreadable++;
            source.statesRemembered++;
            return;
          }
          const read = this.states
            .readClosedRun({ workflowId: r.jobId, runId: r.runId }, r.status)
            .catch((error: unknown) => ({ error }));
          // A read still waiting when the budget ends is given up here; it ends by its own deadline.
          const got = await untilAborted(read, budget);
          if (got === ABORTED || 'error' in got) {
            // No worker answered in time, or the run is gone: its figures are left out, and counted.
            // One no worker answered is not asked again for a while: each request would wait as long.
            source.statesUnreadable++;
            if (got === ABORTED || timedOut(got.error)) this.markUnreadable(r.runId);
            // A read given up that answers after all is in the closed-state cache: ask again next time.
            if (got === ABORTED) {
              void read.then((late) => {
                if (!('error' in late)) this.unreadable.delete(r.runId);
              });
            }
            return;
          }
          states.set(r.runId, got.state);
          source.statesRead++;
          source[got.via === 'cache' ? 'fromCache' : got.via === 'closeEvent' ? 'closeEvents' : 'queries']++;
        }),
      ),
    );
    return states;
  }

  private stillUnreadable(runId: string): boolean {
    const until = this.unreadable.get(runId);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.unreadable.delete(runId);
    return false;
  }

  private markUnreadable(runId: string): void {
    this.unreadable.delete(runId);
    this.unreadable.set(runId, Date.now() + STATS_UNREADABLE_TTL_MS);
    if (this.unreadable.size > UNREADABLE_MAX) {
      const oldest = this.unreadable.keys().next();
      if (!oldest.done) this.unreadable.delete(oldest.value);
    }
  }
}
