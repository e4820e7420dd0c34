/**
 * Schedules: Temporal Schedules whose action starts a job of one of the app's types, with the
 * input, search attributes and start fields of an ordinary start (handed in by `StepwiseClient`,
 * so both paths build them the same way). Temporal appends the scheduled time to the action's
 * workflow id, so the runs' job ids are `<type>-<scheduleId>-<time>` (`2026-12-06T02:10:05Z`), and
 * it sets `TemporalScheduledById` on each run, which the job list filters by.
 *
 * A cron expression is kept as the comment of the calendar Temporal compiles it into (`<cron>
 * #<cron>`): Temporal keeps no cron text, and this way an update cannot leave a stale copy anywhere.
 */
import { randomUUID } from 'node:crypto';
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  type Client,
  type RawWorkflowExecutionInfo,
  type ScheduleDescription,
  type ScheduleOptionsStartWorkflowAction,
  type ScheduleOverlapPolicy,
  type ScheduleSpec,
  type Workflow,
} from '@temporalio/client';
import type { Priority, SearchAttributePair, TypedSearchAttributes } from '@temporalio/common';
import type { JobParams } from '../../workflows/contracts';
import type { StepwiseApp } from '../../workflows/engine/app';
import type { JobDefinition } from '../../workflows/engine/definition';
import { JobStartedByKey } from '../../workflows/search-attributes';
import {
  SCHEDULE_MAX_BACKFILL_RUNS,
  SCHEDULE_MAX_PAGE_SIZE,
  scheduleIdSchema,
  type Schedule,
  type ScheduleList,
  type ScheduleOverlap,
  type ScheduleRun,
} from '../api/schedules/schemas';
import { concurrencyLimit, temporalCall, type Deadline } from './deadlines';
import {
  InvalidArgument,
  JobOperationError,
  ScheduleConflict,
  ScheduleNotFound,
  StepwiseError,
  UnknownJobType,
  zodIssues,
} from './errors';
import { decodePageToken, encodePageToken, lit, toSummary, tsMs } from './job-list';
import { namespaceNotFound } from './temporal-errors';

/** The timing and run options of a schedule, as {@link ScheduleOptions} and updates take them. */
export interface ScheduleTiming {
  /** A cron expression (5–7 fields, or `@daily` …), in {@link timeZone}. Not with {@link intervalSeconds}. */
  cron?: string;
  /** Seconds between runs, from the Unix epoch (at least 1). Not with {@link cron}. */
  intervalSeconds?: number;
  /** IANA time zone of the cron expression. @default 'UTC' */
  timeZone?: string;
  /** When a run is due while an earlier one still runs. @default 'skip' */
  overlap?: ScheduleOverlap;
  /** Up to this many seconds of random delay on each run. @default 0 */
  jitterSeconds?: number;
  /** No run before this ISO 8601 time (null: none). */
  startAt?: string | null;
  /** No run after this ISO 8601 time (null: none). */
  endAt?: string | null;
  /** Temporal priority of the runs, 1 (highest) to 5. @default 3 */
  priority?: number;
}

/** Options of {@link StepwiseClient.createSchedule}. */
export interface ScheduleOptions extends ScheduleTiming {
  /** The schedule's id (letters, digits, `. _ : -`, at most 64). @default `sched-<uuid>` */
  scheduleId?: string;
  /** The job type each run starts (a listed, non-internal type of the app). */
  type: string;
  /** Each run's input, checked against the type's schema now. */
  input?: unknown;
  /** Create it paused. @default false */
  paused?: boolean;
  /** A note on the schedule. */
  note?: string;
  /** Who creates it: each run's `startedBy` (`JobStartedBy`). At most 100 characters. */
  createdBy?: string;
}

/** Options of {@link StepwiseClient.updateSchedule}: the fields given replace the schedule's. */
export interface ScheduleUpdate extends ScheduleTiming {
  /** A new input for the runs, checked against the type's schema. */
  input?: unknown;
}

/** What `StepwiseClient` hands the schedules: the checks and fields of an ordinary start. */
export interface JobStarter {
  /** The listed job type a caller may start by this name; refusals as `StepwiseClient.start`'s. */
  startable(type: string): JobDefinition;
  /** The input as a start checks it (depth, size, the type's schema); refusals as a start's. */
  checkedInput(def: JobDefinition, input: unknown): unknown;
  /** The workflow start fields an ordinary start of `def` by `startedBy` gets. */
  startFields(
    def: JobDefinition,
    startedBy: string | undefined,
  ): {
    taskQueue: string;
    typedSearchAttributes: SearchAttributePair[];
    staticSummary: string;
    staticDetails: string;
  };
  /** The workflow argument of a job of `def` with this (checked) input. */
  params(def: JobDefinition, input: unknown): JobParams;
}

const OVERLAP_TO_TEMPORAL: Record<ScheduleOverlap, ScheduleOverlapPolicy> = {
  skip: 'SKIP',
  buffer_one: 'BUFFER_ONE',
  buffer_all: 'BUFFER_ALL',
  cancel_other: 'CANCEL_OTHER',
  terminate_other: 'TERMINATE_OTHER',
  allow_all: 'ALLOW_ALL',
};
const DEFAULT_PRIORITY = 3;
/** Temporal calls one listing has in flight at once. */
const CALLS_IN_FLIGHT = 8;
/** What schedule page tokens are tied to (a job list's token is refused here, and the other way round). */
const TOKEN_SCOPE = 'schedules';
/** Run ids per visibility query when statuses are looked up. */
const STATUS_QUERY_IDS = 100;

/** The merged timing of a schedule, with every default filled in. */
type Timing = Required<Omit<ScheduleTiming, 'cron' | 'intervalSeconds'>> & {
  cron: string | null;
  intervalSeconds: number | null;
};

/** Creates, reads, lists and changes an app's schedules; see the module comment. */
export class JobSchedules {
  private readonly namespace: string;

  constructor(
    private readonly client: Client,
    private readonly app: StepwiseApp,
    private readonly starter: JobStarter,
  ) {
    this.namespace = client.options.namespace;
  }

  async create(options: ScheduleOptions): Promise<Schedule> {
    const def = this.startableType(options.type);
    const scheduleId = options.scheduleId ?? `sched-${randomUUID()}`;
    const id = scheduleIdSchema.safeParse(scheduleId);
    if (!id.success) throw new InvalidArgument('Invalid schedule id', zodIssues(id.error, ['scheduleId']));
    const input = this.starter.checkedInput(def, options.input === undefined ? {} : options.input);
    const timing = withDefaults(options);
    const createdBy = options.createdBy?.slice(0, 100);
    await this.call(scheduleId, 'create', async () => {
      try {
        await this.client.schedule.create({
          scheduleId,
          spec: toSpec(timing),
          action: this.action(def, scheduleId, input, timing.priority, createdBy),
          policies: { overlap: OVERLAP_TO_TEMPORAL[timing.overlap] },
          state: { paused: options.paused ?? false, note: options.note ?? '' },
        });
      } catch (err) {
        throw specRefusal(err, timing) ?? err;
      }
    });
    return this.get(scheduleId);
  }

  /** A schedule of the app, with its latest runs' statuses. */
  async get(scheduleId: string): Promise<Schedule> {
    const desc = await this.describe(scheduleId);
    const [schedule] = await this.withStatuses([toSchedule(scheduleId, desc)]);
    return schedule;
  }

  /** A page of the app's schedules (schedules of other workflow types are left out, so a page may hold fewer). */
  async list(options: { pageSize?: number; pageToken?: string } = {}): Promise<ScheduleList> {
    const pageSize = Math.min(Math.max(1, options.pageSize ?? 20), SCHEDULE_MAX_PAGE_SIZE);
    // Temporal's token with a checksum, as the job list's: an altered token is a clear 400.
    const token =
      options.pageToken === undefined ? undefined : decodePageToken(TOKEN_SCOPE, options.pageToken);
    const res = await this.call(undefined, 'list', async () => {
      try {
        return await this.client.workflowService.listSchedules({
          namespace: this.namespace,
          maximumPageSize: pageSize,
          nextPageToken: token,
        });
      } catch (err) {
        if (token !== undefined && (err as { code?: unknown }).code === 3) throw badPageToken();
        throw err;
      }
    });
    const types = new Set(this.app.listed.filter((d) => !d.internal).map((d) => d.name));
    const ids = (res.schedules ?? [])
      .filter((s) => types.has(s.info?.workflowType?.name ?? ''))
      .map((s) => s.scheduleId ?? '');
    const limit = concurrencyLimit(CALLS_IN_FLIGHT);
    const described = await Promise.all(
      ids.map((id) =>
        limit(() => this.describe(id).then((d) => toSchedule(id, d))).catch((err: unknown) => {
          // Deleted between the listing and its description: not on the page.
          if (err instanceof ScheduleNotFound) return null;
          throw err;
        }),
      ),
    );
    const next = res.nextPageToken && res.nextPageToken.length > 0 ? res.nextPageToken : null;
    return {
      schedules: await this.withStatuses(described.filter((s): s is Schedule => s !== null)),
      nextPageToken: next ? encodePageToken(TOKEN_SCOPE, next) : null,
    };
  }

  async pause(scheduleId: string, note: string): Promise<Schedule> {
    await this.describe(scheduleId);
    await this.call(scheduleId, 'pause', () => this.client.schedule.getHandle(scheduleId).pause(note));
    return this.get(scheduleId);
  }

  async unpause(scheduleId: string, note: string): Promise<Schedule> {
    await this.describe(scheduleId);
    await this.call(scheduleId, 'unpause', () => this.client.schedule.getHandle(scheduleId).unpause(note));
    return this.get(scheduleId);
  }

  /** Starts a run now (by default whatever runs: `allow_all`). */
  async trigger(scheduleId: string, overlap: ScheduleOverlap = 'allow_all'): Promise<Schedule> {
    await this.describe(scheduleId);
    await this.call(scheduleId, 'trigger', () =>
      this.client.schedule.getHandle(scheduleId).trigger(OVERLAP_TO_TEMPORAL[overlap]),
    );
    return this.get(scheduleId);
  }

  /** Runs the schedule's times in `[start, end]` now, refusing more than {@link SCHEDULE_MAX_BACKFILL_RUNS}. */
  async backfill(
    scheduleId: string,
    range: { start: string; end: string; overlap?: ScheduleOverlap },
  ): Promise<Schedule> {
    const desc = await this.describe(scheduleId);
    const current = toSchedule(scheduleId, desc);
    const start = new Date(range.start);
    const end = new Date(range.end);
    const span = end.getTime() - start.getTime();
    if (!(span > 0)) {
      throw new InvalidArgument('Empty backfill range', [
        { path: ['end'], message: 'must be later than start' },
      ]);
    }
    const runs = estimatedRuns(current, desc.info.nextActionTimes, span);
    if (runs !== null && runs > SCHEDULE_MAX_BACKFILL_RUNS) {
      const message = `about ${runs} runs in this range; a backfill starts at most ${SCHEDULE_MAX_BACKFILL_RUNS}`;
      throw new InvalidArgument(`Backfill range too long: ${message}`, [{ path: ['end'], message }]);
    }
    await this.call(scheduleId, 'backfill', () =>
      this.client.schedule
        .getHandle(scheduleId)
        .backfill({ start, end, overlap: OVERLAP_TO_TEMPORAL[range.overlap ?? current.overlap] }),
    );
    return this.get(scheduleId);
  }

  /** Replaces the given fields (a new input is checked against the type's schema); the type stays. */
  async update(scheduleId: string, patch: ScheduleUpdate): Promise<Schedule> {
    const desc = await this.describe(scheduleId);
    const current = toSchedule(scheduleId, desc);
    const def = this.startableType(current.type);
    const input = patch.input === undefined ? current.input : this.starter.checkedInput(def, patch.input);
    const given = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
    const merged: ScheduleTiming = {
      ...current,
      cron: current.cron ?? undefined,
      intervalSeconds: current.intervalSeconds ?? undefined,
      ...given,
    };
    // A cron replaces an interval and the other way round.
    if (patch.cron !== undefined) merged.intervalSeconds = undefined;
    if (patch.intervalSeconds !== undefined) merged.cron = undefined;
    const timing = withDefaults(merged);
    if (timing.cron === null && timing.intervalSeconds === null) {
      // A schedule made outside Stepwise with calendars: an update would drop its times.
      const message = 'give a cron expression or intervalSeconds (this schedule has neither)';
      throw new InvalidArgument(`Invalid update: ${message}`, [{ path: ['cron'], message }]);
    }
    if (timing.startAt && timing.endAt && timing.endAt <= timing.startAt) {
      throw new InvalidArgument('endAt is not later than startAt', [
        { path: ['endAt'], message: 'must be later than startAt' },
      ]);
    }
    const createdBy = current.createdBy ?? undefined;
    await this.call(scheduleId, 'update', async () => {
      try {
        await this.client.schedule.getHandle(scheduleId).update((prev) => ({
          spec: toSpec(timing),
          action: this.action(def, scheduleId, input, timing.priority, createdBy),
          policies: { ...prev.policies, overlap: OVERLAP_TO_TEMPORAL[timing.overlap] },
          state: {
            paused: prev.state.paused,
            note: prev.state.note,
            remainingActions: prev.state.remainingActions,
          },
        }));
      } catch (err) {
        throw specRefusal(err, timing) ?? err;
      }
    });
    return this.get(scheduleId);
  }

  /** Deletes the schedule; runs it started go on as ordinary jobs. */
  async delete(scheduleId: string): Promise<void> {
    await this.describe(scheduleId);
    await this.call(scheduleId, 'delete', () => this.client.schedule.getHandle(scheduleId).delete());
  }

  /** A listed type a schedule may start; an unknown type is a 400 on `type` (the schedule's field). */
  private startableType(type: string): JobDefinition {
    try {
      return this.starter.startable(type);
    } catch (err) {
      if (!(err instanceof UnknownJobType)) throw err;
      throw new InvalidArgument(err.message, [{ path: ['type'], message: `unknown job type "${type}"` }]);
    }
  }

  /** The action: an ordinary start of `def` (its fields from the starter), under `<type>-<scheduleId>`. */
  private action(
    def: JobDefinition,
    scheduleId: string,
    input: unknown,
    priority: number,
    createdBy: string | undefined,
  ): ScheduleOptionsStartWorkflowAction<Workflow> {
    const fields = this.starter.startFields(def, createdBy);
    // The SDK's option type leaves `priority` out of a schedule's action, but sends it (1.24).
    const action: ScheduleOptionsStartWorkflowAction<Workflow> & { priority: Priority } = {
      type: 'startWorkflow',
      workflowType: def.name,
      workflowId: `${def.name}-${scheduleId}`,
      args: [this.starter.params(def, input)],
      ...fields,
      staticSummary: `${fields.staticSummary} · schedule ${scheduleId}`,
      priority: { priorityKey: priority },
    };
    return action;
  }

  /** The schedule's description, if it is one of this app's (its action starts one of its types). */
  private async describe(scheduleId: string): Promise<ScheduleDescription> {
    // Temporal's scheduler workflow answers a description (a query its system worker runs), so it
    // gets a worker's deadline: on a busy server the RPC one cut it short (a 503 in the tests).
    const desc = await this.call(
      scheduleId,
      'describe',
      () => this.client.schedule.getHandle(scheduleId).describe(),
      'worker',
    );
    if (!this.app.find(desc.action.workflowType)) {
      throw new ScheduleNotFound(scheduleId, `Schedule "${scheduleId}" starts no job type of this app`);
    }
    return desc;
  }

  /** The schedules with their recent runs' statuses, from the job list (one query per 100 runs). */
  private async withStatuses(schedules: Schedule[]): Promise<Schedule[]> {
    const ids = [...new Set(schedules.flatMap((s) => s.recentRuns.map((r) => r.jobId)))];
    const latest = new Map<string, RawWorkflowExecutionInfo>();
    for (let i = 0; i < ids.length; i += STATUS_QUERY_IDS) {
      const chunk = ids.slice(i, i + STATUS_QUERY_IDS);
      const res = await this.call(undefined, 'list', () =>
        this.client.workflowService.listWorkflowExecutions({
          namespace: this.namespace,
          query: `WorkflowId IN (${chunk.map(lit).join(', ')})`,
          pageSize: chunk.length * 2,
        }),
      );
      for (const e of res.executions ?? []) {
        const id = e.execution?.workflowId ?? '';
        const seen = latest.get(id);
        if (!seen || (tsMs(e.startTime) ?? 0) > (tsMs(seen.startTime) ?? 0)) latest.set(id, e);
      }
    }
    return schedules.map((s) => ({
      ...s,
      recentRuns: s.recentRuns.map((r): ScheduleRun => {
        const e = latest.get(r.jobId);
        if (!e) return r;
        const summary = toSummary(e, this.app);
        return { ...r, status: summary.status, closedAt: summary.closedAt };
      }),
    }));
  }

  /**
   * One schedule call under the RPC deadline: Temporal's "not found" and "already exists" become
   * refusals, another failure a {@link JobOperationError} (an outage: 503).
   */
  private async call<T>(
    scheduleId: string | undefined,
    action: string,
    fn: () => Promise<T>,
    deadline: Deadline = 'rpc',
  ): Promise<T> {
    try {
      return await temporalCall(this.client, deadline, fn);
    } catch (err) {
      if (err instanceof StepwiseError) throw err;
      if (err instanceof ScheduleNotFoundError && scheduleId !== undefined && !namespaceNotFound(err)) {
        throw new ScheduleNotFound(scheduleId, undefined, { cause: err });
      }
      if (err instanceof ScheduleAlreadyRunning && scheduleId !== undefined) {
        throw new ScheduleConflict(scheduleId, `Schedule "${scheduleId}" already exists`, [
          { path: ['scheduleId'], message: 'taken by an existing schedule' },
        ]);
      }
      throw new JobOperationError({ kind: 'schedule', scheduleId, action }, err);
    }
  }
}

const badPageToken = (): InvalidArgument =>
  new InvalidArgument('Invalid pageToken', [
    { path: ['pageToken'], message: 'not a page token of this listing (pass nextPageToken unchanged)' },
  ]);

function withDefaults(t: ScheduleTiming): Timing {
  return {
    cron: t.cron ?? null,
    intervalSeconds: t.intervalSeconds ?? null,
    timeZone: t.timeZone ?? 'UTC',
    overlap: t.overlap ?? 'skip',
    jitterSeconds: t.jitterSeconds ?? 0,
    startAt: t.startAt ?? null,
    endAt: t.endAt ?? null,
    priority: t.priority ?? DEFAULT_PRIORITY,
  };
}

function toSpec(t: Timing): ScheduleSpec {
  return {
    // The cron text is kept as the comment of the calendar Temporal compiles it into.
    ...(t.cron !== null ? { cronExpressions: [`${t.cron} #${t.cron}`] } : {}),
    ...(t.intervalSeconds !== null ? { intervals: [{ every: t.intervalSeconds * 1000 }] } : {}),
    timezone: t.timeZone,
    jitter: t.jitterSeconds * 1000,
    ...(t.startAt ? { startAt: new Date(t.startAt) } : {}),
    ...(t.endAt ? { endAt: new Date(t.endAt) } : {}),
  };
}

/** Temporal's refusal of a spec (the SDK throws it as a `TypeError`), as a 400 on the field it is about. */
function specRefusal(err: unknown, t: Timing): InvalidArgument | undefined {
  if (!(err instanceof TypeError)) return undefined;
  const field = /time ?zone/i.test(err.message) ? 'timeZone' : t.cron !== null ? 'cron' : 'intervalSeconds';
  return new InvalidArgument(`Invalid schedule: ${err.message}`, [{ path: [field], message: err.message }]);
}

/** Runs a backfill of `spanMs` would start, estimated from the schedule's spacing; null when unknown. */
function estimatedRuns(s: Schedule, next: Date[], spanMs: number): number | null {
  if (s.intervalSeconds !== null) return Math.floor(spanMs / (s.intervalSeconds * 1000)) + 1;
  const times = next.map((t) => t.getTime());
  const gaps = times
    .slice(1)
    .map((t, i) => t - times[i])
    .filter((g) => g > 0);
  return gaps.length > 0 ? Math.floor(spanMs / Math.min(...gaps)) + 1 : null;
}

const iso = (d: Date | undefined | null): string | null => (d ? d.toISOString() : null);
const OVERLAP_FROM_TEMPORAL = Object.fromEntries(
  Object.entries(OVERLAP_TO_TEMPORAL).map(([k, v]) => [v, k as ScheduleOverlap]),
) as Record<string, ScheduleOverlap>;

function startedBy(attrs: SearchAttributePair[] | TypedSearchAttributes | undefined): string | null {
  if (!attrs) return null;
  if (Array.isArray(attrs)) {
    const pair = attrs.find((p) => p.key.name === JobStartedByKey.name);
    return typeof pair?.value === 'string' ? pair.value : null;
  }
  return attrs.get(JobStartedByKey) ?? null;
}

/** The API's view of a schedule's description (run statuses still unknown: see `withStatuses`). */
function toSchedule(scheduleId: string, d: ScheduleDescription): Schedule {
  const args = d.action.args as unknown[] | undefined;
  const params = args?.[0] as Partial<JobParams> | undefined;
  const interval = d.spec.intervals?.[0];
  const calendar = d.spec.calendars?.[0];
  return {
    scheduleId,
    type: d.action.workflowType,
    input: params?.input ?? null,
    cron: calendar?.comment ? calendar.comment : null,
    intervalSeconds: interval ? Math.round(interval.every / 1000) : null,
    timeZone: d.spec.timezone || 'UTC',
    overlap: OVERLAP_FROM_TEMPORAL[d.policies.overlap ?? 'SKIP'] ?? 'skip',
    jitterSeconds: Math.round((d.spec.jitter ?? 0) / 1000),
    startAt: iso(d.spec.startAt),
    endAt: iso(d.spec.endAt),
    priority: d.action.priority?.priorityKey || DEFAULT_PRIORITY,
    paused: d.state.paused,
    note: d.state.note ? d.state.note : null,
    createdBy: startedBy(d.action.typedSearchAttributes),
    createdAt: d.info.createdAt.toISOString(),
    updatedAt: iso(d.info.lastUpdatedAt),
    runsTaken: d.info.numActionsTaken,
    runsSkipped: d.info.numActionsSkippedOverlap,
    runsMissed: d.info.numActionsMissedCatchupWindow,
    // Temporal still computes the times of a paused schedule; none of them is taken.
    nextRuns: d.state.paused ? [] : d.info.nextActionTimes.map((t) => t.toISOString()),
    recentRuns: [...d.info.recentActions].reverse().map((a) => ({
      jobId: a.action.workflow.workflowId,
      runId: a.action.workflow.firstExecutionRunId,
      scheduledAt: a.scheduledAt.toISOString(),
      startedAt: a.takenAt.toISOString(),
      status: null,
      closedAt: null,
    })),
    runningJobIds: d.info.runningActions.map((a) => a.workflow.workflowId),
  };
}
