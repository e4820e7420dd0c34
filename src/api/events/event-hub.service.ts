/**
 * The pollers behind the live streams (SSE): one per watched job, keyed by job id, and one per
 * watched list, keyed by its normalized filters — however many clients watch. A poller reads on a
 * fixed tick (`STEPWISE_STREAM_POLL_MS`), fans each change out to its subscribers, and stops when
 * its last subscriber leaves (a job poller also when the job closed, and even while its first read is
 * still out: a client that leaves before its first event frees its place at once). The `jobState`
 * and `progress` queries add nothing to a job's history, so polling costs Temporal reads only.
 *
 * Bounds: open streams per process (`STEPWISE_STREAM_MAX_SUBSCRIBERS`, 503) and per caller — a
 * key, or a client address in open mode (`STEPWISE_STREAM_MAX_PER_CALLER`, 429) — and distinct
 * pollers, i.e. distinct jobs and list filters watched at once (`STEPWISE_STREAM_MAX_POLLERS`, 503),
 * which is what bounds the read rate to Temporal. `/metrics` shows the open streams and pollers.
 *
 * Versions: a poller bumps its version each time the polled JSON differs from the last one. The
 * first version of a poller starts at the wall clock in milliseconds, or continues the version this
 * process last saw for the key when the state is unchanged, so versions increase across pollers
 * (and across API restarts, with a sane clock: a poller changes at most once a tick, far slower
 * than the clock) and the same state keeps the same version while the process remembers it.
 */
import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { isTerminal, type JobState } from '../../../workflows/contracts';
import type { Config } from '../../config';
import type { StepwiseClient } from '../../client/client';
import { StepwiseError } from '../../client/errors';
import { ApiError } from '../common/errors';
import { APP_CONFIG } from '../config/config.module';
import { STEPWISE_CLIENT } from '../jobs/stepwise-client.provider';
import { HttpMetrics } from '../metrics/http-metrics';
import type { JobSummary, ListJobsQuery } from '../jobs/schemas';

/** One server-sent event. */
export interface StreamEvent {
  event: string;
  id: number;
  data: unknown;
}

/** A subscriber: gets each event, and `end()` when the stream is over (job closed, gone, or shutdown). */
export interface Subscriber {
  send(events: StreamEvent[]): void;
  end(): void;
}

/** What a list stream watches: the `GET /api/jobs` filters but `sort`, and one page of them. */
export type ListFilters = Partial<Omit<ListJobsQuery, 'sort'>>;

/** Jobs a list poll reads at most (one page, in Temporal's order). */
export const LIST_STREAM_PAGE_SIZE = 100;
/** Last versions this process remembers for keys whose poller stopped. */
const REMEMBERED_VERSIONS = 10_000;

const isClosed = (s: JobState): boolean => s.closedAt !== null || isTerminal(s.status);

/** A poller's counters, for tests and diagnostics. */
export interface EventHubStats {
  /** Job polls made (each: the `jobState` query while the job runs; a describe too once it closed). */
  jobPolls: number;
  /** List polls made (each: one visibility list call, plus describes of recoverable runs). */
  listPolls: number;
  jobPollers: number;
  listPollers: number;
  subscribers: number;
}

abstract class Poller<S> {
  readonly subscribers = new Set<Subscriber>();
  version = 0;
  current: S | null = null;
  private json: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly t0 = Date.now();
  /** The first poll: subscribers wait on it (its error — 404, 400 — is theirs). */
  ready: Promise<void> = Promise.resolve();

  constructor(
    readonly key: string,
    protected readonly hub: EventHub,
  ) {}

  /** Starts polling (after construction: `read` uses the subclass's fields). */
  start(remembered: { version: number; json: string } | undefined): this {
    this.ready = this.tracked().then((state) => {
      // Every subscriber left while the read was out: nothing to keep.
      if (this.stopped) return;
      const json = this.fingerprint(state);
      this.version = remembered?.json === json ? remembered.version : this.nextVersion(remembered);
      this.json = json;
      this.current = state;
      if (this.done(state)) this.stop();
      else this.schedule();
    });
    // Handled here too: when every subscriber left before it settled, nobody else awaits it.
    this.ready.catch(() => undefined);
    return this;
  }

  protected abstract read(): Promise<S>;

  /** {@link read}, known to the hub while it is out (see {@link EventHub.onModuleDestroy}). */
  private tracked(): Promise<S> {
    return this.hub.track(this.read());
  }

  /** What a change is judged by: the state as JSON. */
  protected fingerprint(state: S): string {
    return JSON.stringify(state);
  }

  /** The events a change from `before` to `after` makes (the version is bumped already). */
  protected abstract changes(before: S, after: S): StreamEvent[];
  /** Whether polling is over for good (the job closed). */
  protected done(_state: S): boolean {
    return false;
  }

  private nextVersion(remembered?: { version: number }): number {
    return Math.max(Date.now(), (remembered?.version ?? 0) + 1, this.version + 1);
  }

  /** Next poll on the poller's fixed tick, so its rate does not depend on how long a poll takes. */
  private schedule(): void {
    if (this.stopped) return;
    const every = this.hub.pollMs;
    const wait = every - ((Date.now() - this.t0) % every);
    this.timer = setTimeout(() => void this.poll(), wait);
  }

  private async poll(): Promise<void> {
    this.timer = null;
    if (this.stopped) return;
    let state: S;
    try {
      state = await this.tracked();
    } catch (err) {
      // The job vanished (or the filters no longer list): end the streams; anything else is retried.
      if (err instanceof StepwiseError || (err instanceof ApiError && err.statusCode < 500))
        return this.finish();
      if ((err as Error)?.name === 'WorkflowNotFoundError') return this.finish();
      return this.schedule();
    }
    if (this.stopped) return;
    const json = this.fingerprint(state);
    if (json !== this.json && this.current !== null) {
      const before = this.current;
      this.version = this.nextVersion();
      this.json = json;
      this.current = state;
      const events = this.changes(before, state);
      for (const s of [...this.subscribers]) s.send(events);
    }
    if (this.done(state)) return this.finish();
    this.schedule();
  }

  /** Ends every subscriber's stream and stops. */
  finish(): void {
    const subs = [...this.subscribers];
    this.stop();
    for (const s of subs) s.end();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.subscribers.clear();
    if (this.json !== null) this.hub.remember(this.key, this.version, this.json);
    this.hub.forget(this);
  }

  get isStopped(): boolean {
    return this.stopped;
  }
}

class JobPoller extends Poller<JobState> {
  constructor(
    readonly jobId: string,
    hub: EventHub,
  ) {
    super(`job:${jobId}`, hub);
  }

  protected read(): Promise<JobState> {
    return this.hub.readJob(this.jobId);
  }

  /**
   * A job's ETA is recomputed at every read (it is made of the clock): alone it is not a change, so
   * a job that does not move sends nothing; an event carries the estimate made when it was read.
   */
  protected override fingerprint(state: JobState): string {
    return JSON.stringify({ ...state, eta: null });
  }

  protected changes(_before: JobState, after: JobState): StreamEvent[] {
    return [{ event: isClosed(after) ? 'closed' : 'state', id: this.version, data: after }];
  }

  protected override done(state: JobState): boolean {
    return isClosed(state);
  }
}

/** The fields a list's `changed` event is about. */
const summaryKey = (j: JobSummary): string =>
  JSON.stringify([j.runId, j.status, j.progress, j.currentStep, j.stepName, j.closedAt, j.recoverable]);

class ListPoller extends Poller<JobSummary[]> {
  constructor(
    key: string,
    private readonly filters: ListFilters,
    hub: EventHub,
  ) {
    super(key, hub);
  }

  protected read(): Promise<JobSummary[]> {
    return this.hub.readList(this.filters);
  }

  protected changes(before: JobSummary[], after: JobSummary[]): StreamEvent[] {
    const was = new Map(before.map((j) => [j.jobId, j]));
    const events: StreamEvent[] = [];
    for (const j of after) {
      const old = was.get(j.jobId);
      was.delete(j.jobId);
      const closed = isTerminal(j.status);
      if (!old) events.push({ event: closed ? 'closed' : 'started', id: this.version, data: j });
      else if (summaryKey(old) !== summaryKey(j)) {
        const closedNow = closed && (!isTerminal(old.status) || old.runId !== j.runId);
        events.push({
          event: closedNow ? 'closed' : old.runId !== j.runId ? 'started' : 'changed',
          id: this.version,
          data: j,
        });
      }
    }
    // No longer listed: it left the filters (e.g. `status=running` and it completed) or the page.
    for (const j of was.values())
      events.push({ event: 'removed', id: this.version, data: { jobId: j.jobId } });
    return events;
  }
}

/** Who holds a stream, for the per-caller cap: `key:<name>`, or `address:<ip>` in open mode. */
export interface StreamCaller {
  id: string;
  /** For the refusal: "the key "vera"", "the address 127.0.0.1". */
  label: string;
}

/** The stream subscribing and how it may go: `signal` aborts when the client leaves. */
export interface SubscribeOptions {
  caller: StreamCaller;
  signal: AbortSignal;
}

/** Rejects {@link EventHub.subscribeJob} when the client left before the stream started. */
export class StreamAbortedError extends Error {
  override name = 'StreamAbortedError';
  constructor() {
    super('The client left before the stream started');
  }
}

@Injectable()
export class EventHub implements OnModuleDestroy {
  private readonly jobs = new Map<string, JobPoller>();
  private readonly lists = new Map<string, ListPoller>();
  /** Reads still out, by any poller, stopped or not: awaited at shutdown (each has a deadline). */
  private readonly reads = new Set<Promise<void>>();
  private readonly versions = new Map<string, { version: number; json: string }>();
  private subscriberCount = 0;
  private readonly perCaller = new Map<string, number>();
  private counters = { jobPolls: 0, listPolls: 0 };
  private readonly polls: Counter<'kind'>;
  readonly pollMs: number;
  readonly heartbeatMs: number;
  readonly maxSubscribers: number;
  readonly maxPerCaller: number;
  readonly maxPollers: number;
  /** How long a stream's socket may refuse more data before the stream is closed. */
  readonly stallMs: number;

  constructor(
    @Inject(APP_CONFIG) config: Config,
    @Inject(STEPWISE_CLIENT) private readonly client: StepwiseClient,
    metrics: HttpMetrics,
  ) {
    ({
      pollMs: this.pollMs,
      heartbeatMs: this.heartbeatMs,
      maxSubscribers: this.maxSubscribers,
    } = config.streams);
    ({
      maxPerCaller: this.maxPerCaller,
      maxPollers: this.maxPollers,
      stallMs: this.stallMs,
    } = config.edge.streams);
    const registers = [metrics.registry];
    const open: Gauge = new Gauge({
      name: 'stepwise_api_streams_open',
      help: 'Open live streams (SSE subscribers), including those waiting for their first event',
      registers,
      collect: () => open.set(this.subscriberCount),
    });
    const pollers: Gauge<'kind'> = new Gauge({
      name: 'stepwise_api_stream_pollers',
      help: 'Pollers behind the live streams: one per watched job (kind="job") or list filter (kind="list")',
      labelNames: ['kind'] as const,
      registers,
      collect: () => {
        pollers.set({ kind: 'job' }, this.jobs.size);
        pollers.set({ kind: 'list' }, this.lists.size);
      },
    });
    this.polls = new Counter({
      name: 'stepwise_api_stream_polls_total',
      help: 'Reads the stream pollers made from Temporal, by kind (job, list)',
      labelNames: ['kind'] as const,
      registers,
    });
  }

  /** A job's state as `GET /api/jobs/:jobId` reads it (the `jobState` query while it runs; see `StepwiseClient.get`). */
  async readJob(jobId: string): Promise<JobState> {
    this.counters.jobPolls++;
    this.polls.inc({ kind: 'job' });
    return this.client.get(jobId);
  }

  async readList(filters: ListFilters): Promise<JobSummary[]> {
    this.counters.listPolls++;
    this.polls.inc({ kind: 'list' });
    const { jobs } = await this.client.list({
      ...filters,
      pageSize: filters.pageSize ?? LIST_STREAM_PAGE_SIZE,
    });
    return jobs;
  }

  stats(): EventHubStats {
    return {
      ...this.counters,
      jobPollers: this.jobs.size,
      listPollers: this.lists.size,
      subscribers: this.subscriberCount,
    };
  }

  /**
   * Subscribes to a job: resolves once the job's state is known (rejects with the read's error —
   * 404 for an unknown job —, 503 past {@link maxSubscribers} or {@link maxPollers}, 429 past
   * {@link maxPerCaller}, or {@link StreamAbortedError} when `signal` aborts first), with its state
   * and version. The subscriber gets every later change; `unsubscribe` (or the signal) when the
   * client leaves.
   */
  subscribeJob(jobId: string, sub: Subscriber, opts: SubscribeOptions): Promise<Subscription<JobState>> {
    return this.subscribe(this.jobs, `job:${jobId}`, sub, opts, () => new JobPoller(jobId, this));
  }

  /** Subscribes to a filtered list, like {@link subscribeJob}; the snapshot is the first page's jobs. */
  subscribeList(
    filters: ListFilters,
    sub: Subscriber,
    opts: SubscribeOptions,
  ): Promise<Subscription<JobSummary[]>> {
    // One poller per distinct listing, whatever order its parameters came in.
    const norm = Object.fromEntries(
      Object.entries(filters)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => a.localeCompare(b)),
    ) as ListFilters;
    const key = `list:${JSON.stringify(norm)}`;
    return this.subscribe(this.lists, key, sub, opts, (k) => new ListPoller(k, norm, this));
  }

  private async subscribe<S, P extends Poller<S>>(
    pollers: Map<string, P>,
    key: string,
    sub: Subscriber,
    { caller, signal }: SubscribeOptions,
    create: (key: string) => P,
  ): Promise<Subscription<S>> {
    if (signal.aborted) throw new StreamAbortedError();
    if (this.subscriberCount >= this.maxSubscribers) {
      throw new ApiError(
        503,
        `Too many open streams: at most ${this.maxSubscribers} a process (STEPWISE_STREAM_MAX_SUBSCRIBERS)`,
      );
    }
    const held = this.perCaller.get(caller.id) ?? 0;
    if (held >= this.maxPerCaller) {
      throw new ApiError(
        429,
        `Too many open streams for ${caller.label}: at most ${this.maxPerCaller} (STEPWISE_STREAM_MAX_PER_CALLER); close one first`,
      );
    }
    let p = pollers.get(key);
    if (!p || p.isStopped) {
      if (this.jobs.size + this.lists.size >= this.maxPollers) {
        throw new ApiError(
          503,
          `Too many jobs and lists watched at once: at most ${this.maxPollers} distinct streams a process ` +
            '(STEPWISE_STREAM_MAX_POLLERS); watch one already watched, or retry later',
        );
      }
      p = create(key);
      pollers.set(key, p);
      p.start(this.versions.get(key));
    }
    const poller = p;
    this.subscriberCount++;
    this.perCaller.set(caller.id, held + 1);
    // Subscribed before the first poll lands, so no change between the two is missed.
    poller.subscribers.add(sub);
    let released = false;
    // Idempotent; the stream's end, the client leaving (even before the first event) and a failed
    // first read all come here, and the last one out stops the poller.
    const release = (): void => {
      if (released) return;
      released = true;
      signal.removeEventListener('abort', release);
      this.subscriberCount--;
      const left = (this.perCaller.get(caller.id) ?? 1) - 1;
      if (left > 0) this.perCaller.set(caller.id, left);
      else this.perCaller.delete(caller.id);
      poller.subscribers.delete(sub);
      if (poller.subscribers.size === 0) poller.stop();
    };
    signal.addEventListener('abort', release);
    try {
      await poller.ready;
    } catch (err) {
      release();
      poller.stop();
      throw err;
    }
    if (released || signal.aborted) {
      release();
      throw new StreamAbortedError();
    }
    if (poller.current === null) {
      release();
      throw new ApiError(503, 'The API is shutting down');
    }
    return {
      current: poller.current,
      version: poller.version,
      closed: poller.isStopped,
      latest: () => (poller.current === null ? null : { state: poller.current, version: poller.version }),
      unsubscribe: release,
    };
  }

  /** Called by a stopping poller. */
  forget(poller: Poller<unknown>): void {
    if (this.jobs.get(poller.key) === poller) this.jobs.delete(poller.key);
    if (this.lists.get(poller.key) === poller) this.lists.delete(poller.key);
  }

  remember(key: string, version: number, json: string): void {
    this.versions.delete(key);
    this.versions.set(key, { version, json });
    if (this.versions.size > REMEMBERED_VERSIONS) {
      const oldest = this.versions.keys().next().value;
      if (oldest !== undefined) this.versions.delete(oldest);
    }
  }

  /**
   * Ends every stream and waits for the reads still out (each has its own deadline), so that none
   * is retried against a connection the app closes next: a retry timer that fires after the
   * connection closed throws where nobody can catch it.
   */
  async onModuleDestroy(): Promise<void> {
    for (const p of [...this.jobs.values(), ...this.lists.values()]) p.finish();
    await Promise.all([...this.reads]);
  }

  /** A poller's read, kept in {@link reads} until it settles (a stopped poller's too). */
  track<T>(read: Promise<T>): Promise<T> {
    const settled = read.then(
      () => undefined,
      () => undefined,
    );
    this.reads.add(settled);
    void settled.then(() => this.reads.delete(settled));
    return read;
  }
}

export interface Subscription<S> {
  /** The state as of `version`. */
  current: S;
  version: number;
  /** Polling is over (the job had closed): send the final state and end. */
  closed: boolean;
  /** The poller's state now (for a stream that fell behind: it sends this instead of what it missed). */
  latest(): { state: S; version: number } | null;
  unsubscribe(): void;
}
