/**
 * The notifier: turns jobs that closed into deliveries, without touching the jobs. It reads
 * visibility for top-level jobs of the app on the jobs' task queue that closed after its cursor
 * (less a rescan margin, for visibility's lag), and for each (run, event) × matching subscription
 * starts a delivery workflow with the id `webhook:<subscriptionId>:<runId>:<event>` and
 * `REJECT_DUPLICATE`: a rescan, a restart or a second API process cannot deliver an event twice.
 * The cursor is kept in the notifications store and moves past a job only once its deliveries
 * have started.
 *
 * Open jobs fire `job.held`, `job.stalled`, `job.awaiting_approval` and `job.eta_overrun`: the
 * job's own timers, failures and approval steps set its `JobStatus` (`held`, `stalled`,
 * `awaiting_approval`) or `JobEtaOverrun`, and a second query finds them; a hold, stall or approval
 * wait is delivered once per episode (its step and since when), an overrun once.
 *
 * A job's history gains nothing from this: the job never signals, waits for or knows about it.
 */
import {
  WorkflowExecutionAlreadyStartedError,
  type Client,
  type WorkflowExecutionInfo,
} from '@temporalio/client';
import type { StepwiseApp } from '../../workflows/engine/app';
import { isTerminal, type JobStatus } from '../../workflows/contracts';
import type { JobState } from '../../workflows/job-state';
import {
  JobEtaOverrunKey,
  JobParentIdKey,
  JobStatusKey,
  JobTypeKey,
} from '../../workflows/search-attributes';
import {
  WEBHOOK_DELIVERY_TYPE,
  type DeliveryParams,
  type NotificationEvent,
} from '../../workflows/notifications/contracts';
import type { StepwiseClient } from '../client/client';
import { runEnd } from '../client/job-runs';
import type { NotificationsConfig } from './config';
import { eventForStatus, jobEventBody, jobEventData, type PayloadLinks } from './payload';
import type { NotificationStore, StoredSubscription } from './store';

/** Closed jobs read per tick; the rest wait for the next one (the cursor stops before them). */
const MAX_PER_TICK = 500;
/** An open held, stalled or overrun job is read again at least this long after its last read. */
const OPEN_REREAD_MIN_MS = 5_000;
/** Delivery ids already started, remembered so that rescans need no start call. */
const REMEMBERED = 10_000;

const lit = (v: string): string => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/**
 * The event id of a run's event for one subscription: the delivery workflow's id and `webhook-id`.
 * An event a run can fire more than once (`job.held`, `job.stalled`: once per episode) names its
 * episode, so that each episode is delivered once.
 */
export const deliveryId = (
  subscriptionId: string,
  runId: string,
  event: NotificationEvent,
  episode?: string,
): string => `webhook:${subscriptionId}:${runId}:${event}${episode ? `:${episode}` : ''}`;

/** The events an open job fires, found by {@link Notifier.tick}'s second query. */
const OPEN_EVENTS: readonly NotificationEvent[] = [
  'job.held',
  'job.stalled',
  'job.eta_overrun',
  'job.awaiting_approval',
];

/** Does `sub` want `event` of a job of `jobType` that happened (closed, held, …) at `at`? */
export function wants(
  sub: StoredSubscription,
  event: NotificationEvent,
  jobType: string,
  at: string,
): boolean {
  return (
    sub.enabled &&
    sub.events.includes(event) &&
    (sub.jobTypes === null || sub.jobTypes.includes(jobType)) &&
    at >= sub.createdAt
  );
}

/** An open job's events due now, each with its episode and time, from its state. */
export function openEvents(
  state: JobState,
): { event: NotificationEvent; episode: string | undefined; at: string }[] {
  const due: { event: NotificationEvent; episode: string | undefined; at: string }[] = [];
  if (state.closedAt !== null) return due;
  // A hold is an episode per step and failed attempt; a stall per step and last report.
  if (state.hold) {
    due.push({
      event: 'job.held',
      episode: `${state.hold.step}@${Date.parse(state.hold.since)}`,
      at: state.hold.since,
    });
  }
  if (state.stalled && state.status === 'stalled') {
    const at = new Date(Date.parse(state.stalled.since) + state.stalled.thresholdMs).toISOString();
    due.push({
      event: 'job.stalled',
      episode: `${state.stalled.step}@${Date.parse(state.stalled.since)}`,
      at,
    });
  }
  if (state.etaOverrun) due.push({ event: 'job.eta_overrun', episode: undefined, at: state.etaOverrun.at });
  // An approval wait is an episode per step and since when; a paused or cancelling job, which
  // takes no decision, owes none until it runs again (the same episode then).
  const decidable = !state.control.paused && state.cancellation === null;
  for (const s of state.steps) {
    if (decidable && s.status === 'running' && s.approval?.status === 'awaiting') {
      due.push({
        event: 'job.awaiting_approval',
        episode: `${s.key}@${Date.parse(s.approval.since)}`,
        at: s.approval.since,
      });
    }
  }
  return due;
}

/** A closed run's job status: its `JobStatus`, or how Temporal closed it when that still says open. */
function closedStatus(info: WorkflowExecutionInfo): JobStatus | null {
  const attr = info.typedSearchAttributes.get(JobStatusKey) as JobStatus | undefined;
  if (attr !== undefined && isTerminal(attr)) return attr;
  const name = info.status.name;
  if (name === 'CONTINUED_AS_NEW' || name === 'RUNNING') return null;
  if (name === 'COMPLETED') return attr ?? null;
  return runEnd(name).status;
}

export class Notifier {
  private readonly started = new Set<string>();
  /** Open runs read, with the history length visibility listed and when: see {@link tickOpen}. */
  private readonly readAt = new Map<string, { historyLength: number; at: number }>();
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly temporal: Client,
    private readonly jobs: StepwiseClient,
    private readonly app: StepwiseApp,
    private readonly store: NotificationStore,
    private readonly cfg: NotificationsConfig,
    private readonly log: { warn(message: string): void },
  ) {}

  private get cursorKey(): string {
    return `cursor:${this.cfg.namespace}:${this.cfg.jobsTaskQueue}`;
  }

  /** Ticks every `pollMs` until {@link stop}. */
  start(): void {
    if (this.store.getState(this.cursorKey) === undefined) {
      // First start: events from now on, not the whole past.
      this.store.setState(this.cursorKey, new Date().toISOString());
    }
    const loop = (): void => {
      if (this.stopped) return;
      this.ticking = this.tick()
        .catch((err: unknown) => this.log.warn(`Notifier: ${(err as Error).message}`))
        .finally(() => {
          this.ticking = null;
          if (!this.stopped) this.timer = setTimeout(loop, this.cfg.pollMs);
        });
    };
    this.timer = setTimeout(loop, 0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.ticking;
  }

  /** One pass: start the deliveries of the jobs that closed since the cursor (less the margin). */
  async tick(): Promise<void> {
    const subs = this.store.list().filter((s) => s.enabled);
    const cursor = this.store.getState(this.cursorKey) ?? new Date().toISOString();
    if (subs.length === 0) {
      // Nothing wants events: a subscription made later starts from its own creation anyway.
      this.store.setState(this.cursorKey, new Date().toISOString());
      return;
    }
    const since = new Date(Date.parse(cursor) - this.cfg.rescanMs).toISOString();
    const query = [
      `TaskQueue = ${lit(this.cfg.jobsTaskQueue)}`,
      `ExecutionStatus != 'Running'`,
      `CloseTime >= ${lit(since)}`,
      `${JobTypeKey.name} IN (${this.app.jobs.map((d) => lit(d.name)).join(', ')})`,
      `${JobParentIdKey.name} IS NULL`,
    ].join(' AND ');
    let newest = cursor;
    let oldestFailed: string | null = null;
    let seen = 0;
    for await (const info of this.temporal.workflow.list({ query, pageSize: 100 })) {
      if (++seen > MAX_PER_TICK) {
        // Listed newest first: what is left is older; do not move the cursor past it.
        oldestFailed = since;
        break;
      }
      const closedAt = info.closeTime?.toISOString();
      if (!closedAt) continue;
      try {
        await this.handle(info, closedAt, subs);
        if (closedAt > newest) newest = closedAt;
      } catch (err) {
        this.log.warn(
          `Notifier: the events of ${info.workflowId} (run ${info.runId}) wait for the next pass: ${(err as Error).message}`,
        );
        if (oldestFailed === null || closedAt < oldestFailed) oldestFailed = closedAt;
      }
    }
    const next = oldestFailed !== null && oldestFailed <= newest ? oldestFailed : newest;
    if (next > cursor) this.store.setState(this.cursorKey, next);
    await this.tickOpen(subs);
  }

  /**
   * The open jobs' events: top-level jobs whose `JobStatus` is `held`, `stalled` or
   * `awaiting_approval`, or that set
   * `JobEtaOverrun`. A job is read (one query) when it is newly listed, when visibility's history
   * length for it changed, and otherwise at most every 5 passes (at least
   * {@link OPEN_REREAD_MIN_MS}): a held step retried that fails again is a new episode that
   * visibility need not show (the status can be `held` at both passes), so a job that stays held
   * costs a visibility row per pass and a query every few.
   */
  private async tickOpen(subs: StoredSubscription[]): Promise<void> {
    if (!subs.some((s) => s.events.some((e) => OPEN_EVENTS.includes(e)))) return;
    const query = [
      `TaskQueue = ${lit(this.cfg.jobsTaskQueue)}`,
      `ExecutionStatus = 'Running'`,
      `${JobTypeKey.name} IN (${this.app.jobs.map((d) => lit(d.name)).join(', ')})`,
      `${JobParentIdKey.name} IS NULL`,
      `(${JobStatusKey.name} IN ('held', 'stalled', 'awaiting_approval') OR ${JobEtaOverrunKey.name} = true)`,
    ].join(' AND ');
    const listed = new Map<string, number>();
    for await (const info of this.temporal.workflow.list({ query, pageSize: 100 })) {
      if (listed.size >= MAX_PER_TICK) break;
      listed.set(info.runId, info.historyLength);
      const last = this.readAt.get(info.runId);
      const reread = Math.max(5 * this.cfg.pollMs, OPEN_REREAD_MIN_MS);
      if (last && last.historyLength === info.historyLength && Date.now() - last.at < reread) continue;
      try {
        await this.handleOpen(info, subs);
        this.readAt.set(info.runId, { historyLength: info.historyLength, at: Date.now() });
      } catch (err) {
        this.log.warn(
          `Notifier: the events of ${info.workflowId} (run ${info.runId}) wait for the next pass: ${(err as Error).message}`,
        );
      }
    }
    // Runs no longer listed (closed, or no longer held or stalled) are read again when they are.
    for (const runId of this.readAt.keys()) if (!listed.has(runId)) this.readAt.delete(runId);
  }

  private async handleOpen(info: WorkflowExecutionInfo, subs: StoredSubscription[]): Promise<void> {
    const state = await this.jobs.get(info.workflowId, { runId: info.runId });
    const jobType = state.type;
    for (const { event, episode, at } of openEvents(state)) {
      const todo = subs.filter(
        (s) =>
          wants(s, event, jobType, at) && !this.started.has(deliveryId(s.id, info.runId, event, episode)),
      );
      if (todo.length === 0) continue;
      const body = jobEventBody(event, at, jobEventData(state, null, this.links, event));
      await this.deliver(info, todo, event, episode, body);
    }
  }

  private async handle(
    info: WorkflowExecutionInfo,
    closedAt: string,
    subs: StoredSubscription[],
  ): Promise<void> {
    const status = closedStatus(info);
    const event = status === null ? null : eventForStatus(status);
    if (event === null) return;
    const jobType = info.typedSearchAttributes.get(JobTypeKey) ?? info.type;
    const todo = subs.filter(
      (s) => wants(s, event, jobType, closedAt) && !this.started.has(deliveryId(s.id, info.runId, event)),
    );
    if (todo.length === 0) return;
    const state = await this.jobs.get(info.workflowId, { runId: info.runId });
    const failedish = state.status === 'failed' || state.status === 'completed_with_errors';
    const cause = failedish ? await this.jobs.rootCause(info.workflowId).catch(() => null) : null;
    const data = jobEventData(
      state,
      cause?.cause && cause.status === state.status ? cause : null,
      this.links,
    );
    await this.deliver(info, todo, event, undefined, jobEventBody(event, closedAt, data));
  }

  /** The links a payload carries, from the configuration. */
  private get links(): PayloadLinks {
    return {
      dashboardUrl: this.cfg.dashboardUrl,
      temporalUiUrl: this.cfg.temporalUiUrl,
      namespace: this.cfg.namespace,
    };
  }

  /** Starts the delivery of `body` (a run's `event`, of `episode` if any) to each of `subs`. */
  private async deliver(
    info: WorkflowExecutionInfo,
    subs: StoredSubscription[],
    event: NotificationEvent,
    episode: string | undefined,
    body: string,
  ): Promise<void> {
    for (const sub of subs) {
      const id = deliveryId(sub.id, info.runId, event, episode);
      await startDelivery(this.temporal, this.store, this.cfg, {
        id,
        webhookId: id,
        subscriptionId: sub.id,
        event,
        jobId: info.workflowId,
        runId: info.runId,
        replayOf: null,
        body,
      });
      this.remember(id);
    }
  }

  private remember(id: string): void {
    this.started.add(id);
    if (this.started.size > REMEMBERED) this.started.delete(this.started.values().next().value!);
  }
}

/**
 * Records a delivery in the log, then starts its workflow (`REJECT_DUPLICATE`: an id that ran
 * before is not run again). Returns false when it had been started already.
 */
export async function startDelivery(
  temporal: Client,
  store: NotificationStore,
  cfg: NotificationsConfig,
  d: {
    id: string;
    webhookId: string;
    subscriptionId: string;
    event: DeliveryParams['event'];
    jobId: string | null;
    runId: string | null;
    replayOf: string | null;
    body: string;
  },
): Promise<boolean> {
  // Recorded first: the first attempt may report before `start` returns.
  store.recordDelivery({ ...d, createdAt: new Date().toISOString() });
  const params: DeliveryParams = {
    subscriptionId: d.subscriptionId,
    webhookId: d.webhookId,
    event: d.event,
    body: d.body,
    schedule: cfg.schedule,
  };
  try {
    await temporal.workflow.start(WEBHOOK_DELIVERY_TYPE, {
      taskQueue: cfg.taskQueue,
      workflowId: d.id,
      args: [params],
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      staticSummary: `${d.event} → subscription ${d.subscriptionId}`,
    });
    return true;
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return false;
    throw err;
  }
}
