/**
 * `StepwiseClient`: the one way programs act on an app's jobs — start, read, list, control, retry,
 * terminate, watch — over a Temporal client. The API's routes, the tests, the bench and the fault
 * tests all go through it, so a job is validated, started and read the same way whoever asks.
 * Refusals are {@link StepwiseError}s (the API maps each to its HTTP status); a Temporal call that
 * fails for another reason is a {@link JobOperationError}.
 */
import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { WorkflowNotFoundError, type Client, type WorkflowExecutionDescription } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  approvalDecisionPayloadSchema,
  cancelJobUpdate,
  controlPayloadSchema,
  decideApprovalUpdate,
  failStepUpdate,
  holdDecisionPayloadSchema,
  retryStepUpdate,
  skipStepUpdate,
  type HoldDecisionPayload,
  isTerminal,
  pauseJobUpdate,
  resumeJobUpdate,
  TASK_QUEUE,
  type ControlAck,
  type ControlPayload,
  type JobParams,
  type JobState,
  type JobStatus,
} from '../../workflows/contracts';
import type { JobInputOf, JobNameOf, StepwiseApp } from '../../workflows/engine/app';
import type { JobDefinition } from '../../workflows/engine/definition';
import { BULK_JOB_TYPE, type BulkInput } from '../../workflows/engine/bulk-contracts';
import { planRecovery } from '../../workflows/engine/recovery';
import {
  clampLimits,
  jsonBytes,
  jsonDepthExceeds,
  MAX_JSON_DEPTH,
  type JobLimits,
} from '../../workflows/limits';
import { initialJobAttributes, JobParentIdKey } from '../../workflows/search-attributes';
import {
  IDEMPOTENCY_KEY_PATTERN,
  newJobIdSchema,
  type JobList,
  type JobSort,
  type JobTreeNode,
  type StartJobResponse,
  type TerminateResponse,
} from '../api/jobs/schemas';
import { ABORTED, temporalCall, untilAborted, WORKER_DEADLINE_MS } from './deadlines';
import { limiterStateQuery } from '../../workflows/engine/limiter-contracts';
import {
  ApprovalForbidden,
  InvalidArgument,
  InvalidJobInput,
  JobConflict,
  JobInputTooLarge,
  JobNotControllable,
  JobNotFound,
  UnknownJobType,
  zodIssues,
} from './errors';
import { JobLister, SORT_MAX_JOBS } from './job-list';
import {
  cannotRunMessage,
  canonicalJson,
  describedJobStatus,
  failingWorkflowTask,
  firstDifference,
  isOpenStatus,
  normalizedInput,
  runStartParams,
} from './job-runs';
import { JobStateReader } from './job-state';
import { EtaLearner } from './job-eta';
import { RootCauseFinder } from './root-cause';
import type { JobRuns, RootCause, Stats } from '../api/contracts';
import {
  JobStats,
  STATS_MAX_RUNS,
  STATS_MAX_STATES,
  STATS_STATES_BUDGET_MS,
  type StatsOptions,
} from './job-stats';
import { closedStatus, describeStepwiseJob } from './stepwise-job';
import { during } from './temporal-errors';
import { JobSchedules, type ScheduleOptions, type ScheduleUpdate } from './schedules';
import type { Schedule, ScheduleList, ScheduleOverlap } from '../api/schedules/schemas';

export type { ScheduleOptions, ScheduleTiming, ScheduleUpdate } from './schedules';

/** Options of {@link StepwiseClient}. */
export interface StepwiseClientOptions<App extends StepwiseApp = StepwiseApp> {
  /** The app whose jobs this client acts on (the same value the worker runs). */
  app: App;
  /** A connected Temporal client; its namespace is the jobs' namespace. The caller closes its connection. */
  client: Client;
  /**
   * The task queue the app's workers poll: where {@link StepwiseClient.start} and
   * {@link StepwiseClient.retry} start jobs.
   * @default 'stepwise'
   */
  taskQueue?: string;
  /**
   * Job budgets: checked before a job starts (input size) and passed to every job started
   * (`JobParams.limits`), clamped into the bounds the workflows accept.
   * @default the workflows' defaults (`DEFAULT_LIMITS`)
   */
  limits?: Partial<JobLimits>;
  /**
   * Bytes of closed jobs' final states kept in memory, so that reading a closed job again does not
   * replay its history on a worker (0: none).
   * @default 33554432 (32 MiB)
   */
  closedStateCacheBytes?: number;
  /**
   * Jobs a sorted {@link StepwiseClient.list} reads at most (the visibility store cannot sort, so
   * every matching job is read); more matching is an {@link InvalidArgument} that says to narrow
   * the filters.
   * @default 5000
   */
  listSortMax?: number;
  /**
   * How far past its learned ETA (the median durations of its type's completed runs along its
   * steps) a job started here may run before its state says it overran (`etaOverrun`): 0.5 is 50 %
   * longer. Only jobs of types with history expected to take at least 5 s are watched.
   * @default 0.5
   */
  etaOverrunMargin?: number;
  /**
   * Runs one {@link StepwiseClient.stats} call scans at most (the visibility store cannot group, so
   * every run in the range is read); past it the figures cover the runs scanned, and say so
   * (`source.truncated`).
   * @default 5000
   */
  statsMax?: number;
  /**
   * Closed runs' final states one {@link StepwiseClient.stats} call reads at most (the most
   * recently closed first); the step, retry and recovery figures cover those.
   * @default 500
   */
  statsStatesMax?: number;
  /**
   * How long {@link StepwiseClient.stats} starts final-state reads for; past it the rest are left
   * out (`source.statesSkipped`), so runs no worker can answer for cannot hold a request for minutes.
   * @default 10000
   */
  statsStatesBudgetMs?: number;
  /**
   * Concurrency limits of this deployment by job type (`STEPWISE_CONCURRENCY_LIMITS`), over the
   * types' own `concurrency`: passed to every job started or retried here (`JobParams.concurrency`).
   * `perKey`: the limit counts per the type's concurrency key (the type must declare one).
   * @default {} (the types' own limits)
   */
  concurrencyLimits?: Readonly<Record<string, { limit: number; perKey: boolean }>>;
  /**
   * How terminate reasons recorded in Temporal name this client:
   * `<reason> (by <by> through <via>)`.
   * @default 'the Stepwise client'
   */
  via?: string;
}

/** A job type of `App` a caller may pass to {@link StepwiseClient.start}: one of its listed definitions. */
export type StartableJob<App> = App extends StepwiseApp<infer J> ? J[number] : JobDefinition;

/** Options of {@link StepwiseClient.start}. */
export interface StartOptions {
  /**
   * The job's id (the workflow id): letters, digits and `. _ : -`, at most 200 characters, no `/`.
   * Starting again with the same id, type and input returns the existing job (`created: false`);
   * another type or input is a {@link JobConflict}.
   * @default `<type>-<uuid>`
   */
  jobId?: string;
  /**
   * Who starts it, as the job list shows and filters it (`startedBy`); the API passes the caller's
   * key name. At most 100 characters.
   */
  startedBy?: string;
  /**
   * Makes the start idempotent without choosing an id (the API's `Idempotency-Key` header): 1–255
   * visible ASCII characters. The job's id is then derived from the key and `startedBy` (keys of
   * different callers never meet): `idem-<22 characters>`. The same key with the same type and
   * input returns the job it started (`created: false`) for as long as Temporal keeps it (running,
   * or closed within the namespace's retention); with another type or input it is a
   * {@link JobConflict}. Not together with `jobId`.
   */
  idempotencyKey?: string;
  /**
   * 1 (highest) … 5 (lowest): Temporal's task-queue priority of the job's workflow, its activities
   * and sub-jobs (on a busy queue their tasks go first), and its order in a concurrency queue.
   * @default 3
   */
  priority?: number;
}

export { IDEMPOTENCY_KEY_PATTERN };

/** The job id an idempotency key of `startedBy` stands for: a hash, so the key is not readable in it. */
export function idempotentJobId(key: string, startedBy: string | undefined): string {
  const digest = createHash('sha256')
    .update(`${startedBy ?? ''}\n${key}`)
    .digest('base64url');
  return `idem-${digest.slice(0, 22)}`;
}

/** What {@link StepwiseClient.start} answers. */
export interface StartedJob extends StartJobResponse {
  /** False when a job with this id, type and input existed already (running or closed). */
  created: boolean;
}

/** Filters and paging of {@link StepwiseClient.list}. */
export interface ListJobsOptions {
  /** Only jobs of this type (a job type of the app, else {@link InvalidArgument}). */
  type?: string;
  /** Only jobs with this status (a job closed outside Stepwise reads as `failed` or `cancelled`). */
  status?: JobStatus;
  /** Only jobs that can (true) or cannot (false) be retried. */
  recoverable?: boolean;
  /** Only the sub-jobs of this job. */
  parentJobId?: string;
  /** `true`: only top-level jobs; `false`: only sub-jobs. */
  topLevel?: boolean;
  /** Only jobs whose id starts with this. */
  jobIdPrefix?: string;
  /** Only top-level jobs started by this name ({@link StartOptions.startedBy}). */
  startedBy?: string;
  /** Only the runs of this schedule (Temporal's `TemporalScheduledById`). */
  scheduleId?: string;
  /** Only jobs started at or after this ISO 8601 time (UTC, as `Date#toISOString` writes it). */
  startedAfter?: string;
  /** Only jobs started before this ISO 8601 time (UTC). */
  startedBefore?: string;
  /** Only jobs closed at or after this ISO 8601 time (UTC). */
  closedAfter?: string;
  /** Only jobs closed before this ISO 8601 time (UTC). */
  closedBefore?: string;
  /**
   * Sort by start, close or duration (`-` first: descending); open jobs have no close and come last
   * when sorted by it. Without it, Temporal's order: open jobs first, then the most recently closed.
   * A sorted listing reads every matching job (at most 5,000, else {@link InvalidArgument}).
   */
  sort?: JobSort;
  /**
   * Jobs per page, at most (a page may hold fewer: a retried job's earlier runs are left out).
   * @default 20
   */
  pageSize?: number;
  /** `nextPageToken` of the previous page, unchanged, with the same filters. */
  pageToken?: string;
}

/** Options of {@link StepwiseClient.retry}. */
export interface GetJobOptions {
  /** One run of the job (an earlier run of a retried job): its state, without an ETA. */
  runId?: string;
}

export interface RetryOptions {
  /** 1-based step to run from. @default the first step that did not complete */
  fromStep?: number;
  /** Who starts the new run ({@link StartOptions.startedBy}). */
  startedBy?: string;
}

/** Options of {@link StepwiseClient.terminate}. */
export interface TerminateOptions {
  /** Why, as Temporal records it (the Web UI shows it). @default 'terminated' */
  reason?: string;
  /** Who, as Temporal records it. */
  by?: string;
}

/** Options of {@link StepwiseClient.watch}. */
export interface WatchOptions {
  /**
   * How often the job's state is read.
   * @default 500
   */
  intervalMs?: number;
  /** Ends the watch (the iteration ends without an error). */
  signal?: AbortSignal;
}

/** The default page size of {@link StepwiseClient.list}. */
const DEFAULT_PAGE_SIZE = 20;
/** @see StepwiseClientOptions.closedStateCacheBytes */
const DEFAULT_CLOSED_STATE_CACHE_BYTES = 32 * 1024 * 1024;

type ControlAction = 'pause' | 'resume' | 'cancel' | 'retry_step' | 'skip_step' | 'fail_step';
const UPDATES = {
  pause: pauseJobUpdate,
  resume: resumeJobUpdate,
  cancel: cancelJobUpdate,
  retry_step: retryStepUpdate,
  skip_step: skipStepUpdate,
  fail_step: failStepUpdate,
} as const;

/** The API's roles, lowest first: what {@link ApprovalOptions.role} is compared by. */
const ROLE_ORDER = ['viewer', 'operator', 'admin'] as const;
const roleRank = (role: (typeof ROLE_ORDER)[number]): number => ROLE_ORDER.indexOf(role);

/** Options of {@link StepwiseClient.approve} and {@link StepwiseClient.reject}. */
export interface ApprovalOptions {
  /** Why (at most 1000 characters); recorded in the step's result and the job's control log. */
  comment?: string;
  /** Who decides (the API passes the caller's key name); recorded as the decision's `by`. */
  by?: string;
  /**
   * The caller's role: when given, a role below the step's (an operator on an admin-only step) is
   * refused with {@link ApprovalForbidden}. The API always passes it; a program with direct
   * Temporal access may leave it out.
   */
  role?: 'viewer' | 'operator' | 'admin';
}

/** A state after which nothing changes: the run closed, or the job reached a terminal status. */
const isClosed = (s: JobState): boolean => s.closedAt !== null || isTerminal(s.status);

/**
 * Acts on the jobs of one app through Temporal, with the app's job types and their schemas.
 *
 * @typeParam App - the app (`typeof app`): {@link start} then takes only its listed job types,
 *   each with its own input type.
 *
 * @example
 * const jobs = new StepwiseClient({ app, client, taskQueue: 'stepwise' });
 * const { jobId } = await jobs.start(dataImportDefinition, { sourceDir: 'incoming' });
 * for await (const state of jobs.watch(jobId)) console.log(state.status, state.progress);
 */
export class StepwiseClient<App extends StepwiseApp = StepwiseApp> {
  /** The app this client acts on. */
  readonly app: App;
  /** The Temporal client it calls through. */
  readonly temporal: Client;
  /** The task queue jobs are started on. */
  readonly taskQueue: string;
  /** The budgets checked and passed to every job started. */
  readonly limits: JobLimits;
  private readonly via: string;
  private readonly states: JobStateReader;
  private readonly lister: JobLister;
  private readonly etas: EtaLearner;
  private readonly concurrencyLimits: Readonly<Record<string, { limit: number; perKey: boolean }>>;
  private readonly etaOverrunMargin: number;
  private readonly causes: RootCauseFinder;
  private readonly statistics: JobStats;
  private readonly schedules: JobSchedules;

  /** @param options - see {@link StepwiseClientOptions} */
  constructor(options: StepwiseClientOptions<App>) {
    this.app = options.app;
    this.temporal = options.client;
    this.taskQueue = options.taskQueue ?? TASK_QUEUE;
    this.limits = clampLimits(options.limits ?? {});
    this.via = options.via ?? 'the Stepwise client';
    this.concurrencyLimits = options.concurrencyLimits ?? {};
    for (const [type, c] of Object.entries(this.concurrencyLimits)) {
      const def = this.app.find(type);
      if (!def) {
        throw new Error(
          `Concurrency limits (STEPWISE_CONCURRENCY_LIMITS) name job type "${type}", which the app does not have (it has ${this.app.jobs.map((d) => d.name).join(', ')})`,
        );
      }
      if (c.perKey && !def.concurrency?.key) {
        throw new Error(
          `Concurrency limits (STEPWISE_CONCURRENCY_LIMITS) set "${type}:key=${c.limit}", but job type "${type}" declares no concurrency key: use "${type}=${c.limit}", or declare concurrency.key on the type`,
        );
      }
    }
    this.states = new JobStateReader(
      options.client,
      options.app,
      options.closedStateCacheBytes ?? DEFAULT_CLOSED_STATE_CACHE_BYTES,
    );
    this.lister = new JobLister(options.client, options.app, options.listSortMax ?? SORT_MAX_JOBS);
    this.etas = new EtaLearner(options.client);
    this.etaOverrunMargin = options.etaOverrunMargin ?? 0.5;
    this.causes = new RootCauseFinder(options.client, (id) => this.states.readLatest(id));
    this.statistics = new JobStats(
      options.client,
      options.app,
      this.states,
      options.statsMax ?? STATS_MAX_RUNS,
      options.statsStatesMax ?? STATS_MAX_STATES,
      options.statsStatesBudgetMs ?? STATS_STATES_BUDGET_MS,
    );
    this.schedules = new JobSchedules(options.client, options.app, {
      startable: (type) => this.startable(type),
      checkedInput: (def, input) => this.checkedInput(def, input),
      startFields: (def, startedBy) => this.startFields(def, startedBy),
      params: (def, input) => this.jobParams(def, input, false),
    });
  }

  /**
   * Starts a job of one of the app's listed types; `input` is checked against the type's schema by
   * the compiler and again here. Nothing is sent to Temporal when the input is refused.
   *
   * @param job - the job type's definition (or its name, see the other overload)
   * @param input - the job's input, before the schema's defaults
   * @returns the job, `created: false` when `options.jobId` named an existing job of the same
   *   type and input (running or closed)
   * @throws {@link UnknownJobType} the app has no such type
   * @throws {@link InvalidArgument} an internal sub-job type, or a malformed `jobId`
   * @throws {@link InvalidJobInput} the schema refuses the input (issue paths start with `input`),
   *   or it nests deeper than 64 levels
   * @throws {@link JobInputTooLarge} over the `maxInputBytes` budget
   * @throws {@link JobConflict} `jobId` exists with another type or input
   */
  start<D extends StartableJob<App>>(
    job: D,
    input: JobInputOf<D>,
    options?: StartOptions,
  ): Promise<StartedJob>;
  /**
   * Starts a job of the type of that name; `input` is checked against its schema here only.
   * Refusals as in the definition overload.
   */
  start(job: JobNameOf<App>, input?: unknown, options?: StartOptions): Promise<StartedJob>;
  async start(job: JobDefinition | string, input?: unknown, options: StartOptions = {}): Promise<StartedJob> {
    return this.startJob(this.startable(typeof job === 'string' ? job : job.name), input, options);
  }

  /** The listed job type of this name that callers may start (not bulk, not internal). */
  private startable(name: string): JobDefinition {
    const def = this.app.find(name);
    if (!def)
      throw new UnknownJobType(
        name,
        this.app.listed.map((d) => d.name),
      );
    if (def.name === BULK_JOB_TYPE) {
      const message = `"${def.name}" is the framework's bulk-action job type: start it with POST /api/bulk (StepwiseClient.bulk)`;
      throw new InvalidArgument(message, [{ path: ['type'], message }]);
    }
    if (def.internal) {
      const message = `"${def.name}" is an internal sub-job type, started only by its parent job (see GET /api/job-types)`;
      throw new InvalidArgument(message, [{ path: ['type'], message }]);
    }
    return def;
  }

  /**
   * Starts a bulk job (`stepwiseBulk`): `input.action` on every job of `input.jobIds`, as `input.actor`
   * (whose role each item is checked against — the caller vouches for it, as the API does with the
   * caller's key). A job of its own, with progress, pause and cancel; each item's outcome is in its
   * `results` step and in the audit trail.
   *
   * @throws {@link InvalidJobInput} the input does not fit `bulkInputSchema` (at most
   *   `BULK_MAX_ITEMS_LIMIT` ids, each once)
   */
  async bulk(input: BulkInput, options: StartOptions = {}): Promise<StartedJob> {
    const def = this.app.find(BULK_JOB_TYPE);
    if (!def) throw new UnknownJobType(BULK_JOB_TYPE, [BULK_JOB_TYPE]);
    return this.startJob(def, input, { startedBy: input.actor.name, ...options });
  }

  private async startJob(def: JobDefinition, input: unknown, options: StartOptions): Promise<StartedJob> {
    if (options.jobId !== undefined) {
      const id = newJobIdSchema.safeParse(options.jobId);
      if (!id.success) throw new InvalidArgument('Invalid job id', zodIssues(id.error, ['jobId']));
    }
    const key = options.idempotencyKey;
    if (key !== undefined) {
      if (options.jobId !== undefined) {
        const message =
          'Give a jobId or an idempotency key, not both: a jobId already makes the start idempotent';
        throw new InvalidArgument(message, [{ path: ['idempotencyKey'], message }]);
      }
      if (!IDEMPOTENCY_KEY_PATTERN.test(key)) {
        const message = 'An idempotency key is 1–255 visible ASCII characters (no spaces)';
        throw new InvalidArgument(message, [{ path: ['idempotencyKey'], message }]);
      }
      try {
        return await this.startJob(def, input, {
          ...options,
          idempotencyKey: undefined,
          jobId: idempotentJobId(key, options.startedBy),
        });
      } catch (err) {
        if (!(err instanceof JobConflict)) throw err;
        const what = err.issues?.[0]?.path[0] === 'type' ? 'a job of another type' : 'another input';
        throw new JobConflict(
          err.jobId,
          `This idempotency key was used before with ${what} (job "${err.jobId}"); use a new key for a new request`,
          err.issues,
          { cause: err },
        );
      }
    }
    const checked = this.checkedInput(def, input);
    const priority = options.priority;
    if (priority !== undefined && !(Number.isInteger(priority) && priority >= 1 && priority <= 5)) {
      const message = 'A priority is an integer from 1 (highest) to 5 (lowest)';
      throw new InvalidArgument(message, [{ path: ['priority'], message }]);
    }
    const jobId = options.jobId ?? `${def.name}-${randomUUID()}`;
    const overrunAfterMs = this.etas.overrunAfterMs(def, this.etaOverrunMargin);
    const params: JobParams = {
      ...(overrunAfterMs ? { overrunAfterMs } : {}),
      ...this.jobParams(def, checked),
    };
    try {
      const handle = await temporalCall(this.temporal, 'rpc', () =>
        this.temporal.workflow.start(def.name, {
          workflowId: jobId,
          args: [params],
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          ...this.startFields(def, options.startedBy),
          ...(priority !== undefined ? { priority: { priorityKey: priority } } : {}),
        }),
      );
      // A job under a concurrency limit starts by asking its limiter for a slot.
      const status = params.concurrency || def.concurrency ? 'queued' : 'running';
      return { jobId, runId: handle.firstExecutionRunId, type: def.name, status, created: true };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        // The id is taken (REJECT_DUPLICATE: by a running or a closed run): the same type and input
        // return that job, anything else is a conflict. Starting first and describing only on a
        // conflict costs a new job one call to Temporal instead of two.
        const existing = await this.existing(jobId, def, checked);
        if (existing) return { ...existing, created: false };
        // Taken a moment ago, gone now (its retention ended): the id was still not free to start.
        throw new JobConflict(jobId, `Job "${jobId}" already exists`, undefined, { cause: err });
      }
      throw err;
    }
  }

  /**
   * The workflow argument of a new job or run of `def` with its checked input (a start, a retry,
   * a schedule's runs): the budgets, the deployment's concurrency limit and (`learned`) the stall
   * thresholds learned so far — left out of a schedule's runs, whose arguments are fixed when the
   * schedule is created or updated.
   */
  private jobParams(def: JobDefinition, input: unknown, learned = true): JobParams {
    const stallAfterMs = learned ? this.etas.stallThresholds(def.name) : undefined;
    const concurrency = this.concurrencyLimits[def.name];
    return {
      input,
      limits: this.limits,
      ...(stallAfterMs ? { stallAfterMs } : {}),
      ...(concurrency ? { concurrency } : {}),
    };
  }

  /**
   * The input a start of `def` runs with: `input` (`{}` when undefined) checked for depth, size and
   * against the type's schema, after its defaults. Shared by starts and schedules.
   */
  private checkedInput(def: JobDefinition, input: unknown): unknown {
    const given = input === undefined ? {} : input;
    // Checked before anything serialises the input: a deeply nested one would overflow the stack.
    if (jsonDepthExceeds(given)) {
      const message = `Job input nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels`;
      throw new InvalidJobInput(message, [{ path: ['input'], message }]);
    }
    const inputBytes = jsonBytes(given);
    if (inputBytes > this.limits.maxInputBytes)
      throw new JobInputTooLarge(inputBytes, this.limits.maxInputBytes);
    const parsed = def.input.safeParse(given);
    if (!parsed.success) {
      throw new InvalidJobInput(
        `Invalid input for job type "${def.name}"`,
        zodIssues(parsed.error, ['input']),
      );
    }
    return parsed.data;
  }

  /**
   * The workflow start fields of a new top-level job of `def` (its queue, its initial search
   * attributes with who started it, the Web UI's summary): the same for a start and a schedule's runs.
   */
  private startFields(def: JobDefinition, startedBy: string | undefined) {
    return {
      taskQueue: this.taskQueue,
      typedSearchAttributes: initialJobAttributes(def.name, null, startedBy?.slice(0, 100)),
      staticSummary: `${def.name} job`,
      staticDetails: def.description,
    };
  }

  /**
   * The job with this id, if there is one, as its start answered (idempotent start), with its
   * latest run and current status: same type and same input (compared after parsing, as canonical
   * JSON, with the input the latest run was started with), running or closed. Another type or
   * another input is a {@link JobConflict} naming the difference; null when the id is free.
   */
  private async existing(
    jobId: string,
    def: JobDefinition,
    input: unknown,
  ): Promise<StartJobResponse | null> {
    const type = def.name;
    let desc: WorkflowExecutionDescription;
    try {
      desc = await temporalCall(this.temporal, 'rpc', () =>
        this.temporal.workflow.getHandle(jobId).describe(),
      );
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return null;
      throw err;
    }
    if (desc.type !== type) {
      throw new JobConflict(jobId, `Job "${jobId}" already exists as type "${desc.type}", not "${type}"`, [
        { path: ['type'], message: `the existing job is of type "${desc.type}"` },
      ]);
    }
    const run = { workflowId: jobId, runId: desc.runId };
    const params = await temporalCall(this.temporal, 'rpc', () =>
      runStartParams(this.temporal, this.temporal.options.namespace, run),
    );
    const stored = normalizedInput(def, params?.input);
    if (canonicalJson(stored) !== canonicalJson(input)) {
      const at = firstDifference(stored, input) ?? [];
      const where = at.length > 0 ? ` at input.${at.join('.')}` : '';
      throw new JobConflict(
        jobId,
        `Job "${jobId}" already exists with a different input (first difference${where}); use another jobId, or retry the job to run it again`,
        [{ path: ['input', ...at], message: 'differs from the existing job’s input' }],
      );
    }
    return { jobId, runId: desc.runId, type, status: describedJobStatus(desc) };
  }

  /**
   * The job's state, of its latest run: the `jobState` query while it runs, its final state once it
   * closed (kept in memory after the first read). A run terminated or timed out in Temporal reads as
   * `failed` (a native cancellation that never reached the job as `cancelled`); an open run whose
   * workflow cannot run reads as such, with the worker's reason, instead of a query that times out.
   * An open job's `eta` is filled in from its type's completed runs (see `job-eta.ts`).
   *
   * @throws {@link JobNotFound} no job with this id in the app
   * @throws {@link JobOperationError} Temporal unreachable, or no worker answered in time
   */
  async get(jobId: string, options: GetJobOptions = {}): Promise<JobState> {
    if (options.runId) return this.states.readRun(jobId, options.runId);
    const read = await this.states.readLatest(jobId);
    const state = await this.withQueuePlace(read);
    // The estimate is an extra: a job's state is never refused for want of one.
    return this.etas.withEta(state).catch(() => state);
  }

  /**
   * A `queued` job's place in its limiter's queue and how many hold a slot (the job's own query
   * cannot know them): one query of the limiter. Left null when the limiter does not answer.
   */
  private async withQueuePlace(state: JobState): Promise<JobState> {
    const q = state.queue;
    if (!q) return state;
    try {
      const limiter = await temporalCall(this.temporal, 'worker', () =>
        this.temporal.workflow.getHandle(q.limiterId).query(limiterStateQuery),
      );
      const at = limiter.queued.findIndex((w) => w.jobId === state.jobId && w.runId === state.runId);
      return {
        ...state,
        queue: { ...q, position: at < 0 ? null : at + 1, running: limiter.running.length },
      };
    } catch {
      return state;
    }
  }

  /**
   * The job's runs, newest first: its first run and each retry from a step (the recovery chain),
   * with where each retry started from. At most 50.
   *
   * @throws {@link JobNotFound} no job with this id in the app
   */
  async runs(jobId: string): Promise<JobRuns> {
    await describeStepwiseJob(this.temporal, this.app, jobId);
    return { runs: await this.lister.runs(jobId) };
  }

  /**
   * Why the job failed or ended `completed_with_errors`: the deepest failing step under it (through
   * its sub-jobs and batch chunks), the chunk errors grouped by message, and the steps that did not
   * run because of it. `cause` is null for a job that did neither.
   *
   * @throws {@link JobNotFound} no job with this id in the app
   */
  async rootCause(jobId: string): Promise<RootCause> {
    return this.causes.find(jobId);
  }

  /**
   * A page of the app's jobs, newest first, by their search attributes (progress as of the last
   * step boundary); a retried job's earlier runs are left out.
   *
   * @throws {@link InvalidArgument} a `type` the app does not have, or a `pageToken` of another listing
   */
  async list(options: ListJobsOptions = {}): Promise<JobList> {
    return this.lister.list({ ...options, pageSize: options.pageSize ?? DEFAULT_PAGE_SIZE });
  }

  /**
   * The sub-job tree under a job, breadth first (at most 6 levels, 200 children a job, 1000 nodes;
   * `truncated` on the last node of a list that shows fewer than there are), with live progress
   * for running sub-jobs.
   *
   * @throws {@link JobNotFound} no job with this id in the app
   */
  async children(jobId: string): Promise<JobTreeNode[]> {
    return this.lister.children(jobId);
  }

  /**
   * Figures over the runs that started or closed in `[from, to)` (default: the last 24 hours):
   * starts and closes by status per interval, per type counts, failure rate, run duration p50/p95,
   * retry rate and recovery success rate, per step runs, failures, retries and duration p50/p95,
   * and the slowest and most failing steps. A bounded scan of the visibility store (at most
   * `statsMax` runs) plus at most `statsStatesMax` closed runs' final states (cached per run);
   * `source` says what was read. See docs/api.md `GET /api/stats`.
   *
   * @throws {@link InvalidArgument} a time without its zone, `to` not after `from`, a range over 31
   *   days, a malformed interval or more than 500 buckets, a `type` the app does not have
   */
  async stats(options: StatsOptions = {}): Promise<Stats> {
    return this.statistics.stats(options);
  }

  /**
   * Pauses a running job through its `pauseJob` update: `pausing`, then `paused` once nothing runs.
   *
   * @param payload - why and who, as the job's control log records it
   * @returns the state the job acknowledged
   * @throws {@link JobNotControllable} closed, stuck, or the job's validator refused (already
   *   paused, cancelling, over its control budget)
   * @throws {@link JobNotFound} no job with this id in the app
   */
  pause(jobId: string, payload: ControlPayload = {}): Promise<ControlAck> {
    return this.control(jobId, 'pause', payload);
  }

  /** Resumes a paused job through its `resumeJob` update; refusals as in {@link pause}. */
  resume(jobId: string, payload: ControlPayload = {}): Promise<ControlAck> {
    return this.control(jobId, 'resume', payload);
  }

  /**
   * Cancels a running job through its `cancelJob` update: `cancelling` while its sub-jobs stop and
   * its cleanup runs, then `cancelled`. Refusals as in {@link pause}.
   */
  cancel(jobId: string, payload: ControlPayload = {}): Promise<ControlAck> {
    return this.control(jobId, 'cancel', payload);
  }

  /**
   * Retries the held step of a `held` job (its `retryStep` update): one more attempt; if it fails,
   * the job is held again.
   *
   * @param payload - which held step (default: the first), why and who
   * @throws {@link JobNotControllable} closed, cancelling, or no such step held
   * @throws {@link JobNotFound} no job with this id in the app
   */
  retryStep(jobId: string, payload: HoldDecisionPayload = {}): Promise<ControlAck> {
    return this.control(jobId, 'retry_step', payload);
  }

  /**
   * Skips the held step of a `held` job (its `skipStep` update): the step ends `skipped`, the
   * steps after it run by their own `when`. Refusals as in {@link retryStep}.
   */
  skipStep(jobId: string, payload: HoldDecisionPayload = {}): Promise<ControlAck> {
    return this.control(jobId, 'skip_step', payload);
  }

  /** Fails the held step of a `held` job, and so the job (its `failStep` update). Refusals as in {@link retryStep}. */
  failStep(jobId: string, payload: HoldDecisionPayload = {}): Promise<ControlAck> {
    return this.control(jobId, 'fail_step', payload);
  }

  /**
   * Approves an `approval` step that awaits a decision (the job's `decideApproval` update): the
   * step completes with `{decision: 'approved', by, comment, at}` and the job goes on.
   *
   * @param step - the approval step's key
   * @param options - the comment (at most 1000 characters), who decides (recorded as the step's
   *   `by`), and the caller's role: when given, a role below the step's is refused
   * @throws {@link ApprovalForbidden} `options.role` is below the step's role
   * @throws {@link JobNotControllable} closed, paused, cancelling, not an approval step, or it does
   *   not await a decision (already decided, timed out, or not started)
   * @throws {@link JobNotFound} no job with this id in the app, or no step with this key
   * @throws {@link InvalidArgument} a comment that is too long
   */
  approve(jobId: string, step: string, options: ApprovalOptions = {}): Promise<ControlAck> {
    return this.decideApproval(jobId, step, 'approve', options);
  }

  /**
   * Rejects an `approval` step that awaits a decision: the step fails (and so the job) under the
   * step's `onReject: 'fail'`, or completes with the decision `rejected` under `continue`. Refusals
   * as in {@link approve}.
   */
  reject(jobId: string, step: string, options: ApprovalOptions = {}): Promise<ControlAck> {
    return this.decideApproval(jobId, step, 'reject', options);
  }

  private async decideApproval(
    jobId: string,
    step: string,
    decision: 'approve' | 'reject',
    { role, ...options }: ApprovalOptions,
  ): Promise<ControlAck> {
    const checked = approvalDecisionPayloadSchema.safeParse({
      ...options,
      step,
      decision,
      ...(role !== undefined ? { role } : {}),
    });
    if (!checked.success) throw new InvalidArgument(`Invalid ${decision} payload`, zodIssues(checked.error));
    const { desc, def } = await describeStepwiseJob(this.temporal, this.app, jobId);
    const stepDef = def.steps.find((s) => s.key === step);
    if (!stepDef) throw new JobNotFound(jobId, `Job "${jobId}" (${def.name}) has no step "${step}"`);
    if (stepDef.kind !== 'approval') {
      throw new JobNotControllable(
        jobId,
        decision,
        `Step "${step}" of job "${jobId}" is a ${stepDef.kind} step, not an approval`,
      );
    }
    if (role !== undefined) {
      // The step's role is fixed when it starts waiting: read it from the state.
      const state = await this.states.readLatest(jobId);
      const approval = state.steps.find((s) => s.key === step)?.approval;
      if (
        state.closedAt === null &&
        approval?.status === 'awaiting' &&
        roleRank(role) < roleRank(approval.role)
      ) {
        throw new ApprovalForbidden(jobId, step, approval.role, role);
      }
    }
    return this.sendUpdate(desc, decision, () =>
      this.temporal.workflow.getHandle(jobId).executeUpdate(decideApprovalUpdate, { args: [checked.data] }),
    );
  }

  /**
   * Pause, resume, cancel or a hold's decision through the job's update: the workflow's validator
   * refuses what does not fit its state without changing anything; the answer is the acknowledged
   * new state.
   */
  private async control(
    jobId: string,
    action: ControlAction,
    payload: ControlPayload | HoldDecisionPayload,
  ): Promise<ControlAck> {
    const schema = action.endsWith('_step') ? holdDecisionPayloadSchema : controlPayloadSchema;
    const checked = schema.safeParse(payload);
    if (!checked.success) throw new InvalidArgument(`Invalid ${action} payload`, zodIssues(checked.error));
    const { desc } = await describeStepwiseJob(this.temporal, this.app, jobId);
    const handle = this.temporal.workflow.getHandle(jobId);
    return this.sendUpdate(desc, action, () =>
      handle.executeUpdate(UPDATES[action], { args: [checked.data] }),
    );
  }

  /**
   * Sends an update to a job's open run: a closed run, or one whose workflow task keeps failing
   * (it would answer no update), is refused first; the update is bounded by the worker deadline.
   */
  private async sendUpdate(
    desc: WorkflowExecutionDescription,
    action: string,
    send: () => Promise<ControlAck>,
  ): Promise<ControlAck> {
    const jobId = desc.workflowId;
    if (desc.status.name !== 'RUNNING') {
      throw new JobNotControllable(
        jobId,
        action,
        `Job "${jobId}" is closed (${closedStatus(desc)}); it cannot ${action}`,
      );
    }
    const failure = await temporalCall(this.temporal, 'rpc', () =>
      failingWorkflowTask(this.temporal, this.temporal.options.namespace, desc),
    );
    if (failure)
      throw new JobNotControllable(jobId, action, cannotRunMessage(jobId, action, failure.message));
    return during({ kind: 'control', jobId, action, deadlineMs: WORKER_DEADLINE_MS }, () =>
      temporalCall(this.temporal, 'worker', send),
    );
  }

  /**
   * Runs a failed, cancelled or partly failed job again as a new run with the same id, from
   * `fromStep` (default: the first step that did not complete), carrying the earlier steps' results.
   *
   * @returns the new run
   * @throws {@link InvalidArgument} `fromStep` out of range
   * @throws {@link JobConflict} still running, a sub-job (retry its parent), not retryable, its
   *   recovery limit reached, an earlier step did not complete, or another retry won
   * @throws {@link JobNotFound} no job with this id in the app
   */
  async retry(jobId: string, options: RetryOptions = {}): Promise<StartJobResponse> {
    const { desc, def } = await describeStepwiseJob(this.temporal, this.app, jobId);
    if (isOpenStatus(desc.status.name)) {
      throw new JobConflict(jobId, `Job "${jobId}" is still running; only a closed job can be retried`);
    }
    // A sub-job's new run would report to nobody: its parent closed, or runs its own retries. The
    // parent's recovery runs the step (and so this sub-job) again, with its results carried.
    const parentJobId = desc.typedSearchAttributes.get(JobParentIdKey);
    if (parentJobId) {
      throw new JobConflict(
        jobId,
        `Job "${jobId}" is a sub-job of "${parentJobId}"; retry "${parentJobId}" (a sub-job is run again by its parent's recovery, from the step that ran it)`,
      );
    }
    // The closed run's state (the query replays its history on a worker), as the run really ended:
    // a run terminated or timed out in Temporal is failed, its running steps with it.
    const state = await this.states.read(desc, def, { exact: true });
    const plan = planRecovery(def, state, options.fromStep);
    if (!plan.ok) {
      if (plan.kind === 'invalid')
        throw new InvalidArgument(plan.message, [{ path: ['fromStep'], message: plan.message }]);
      throw new JobConflict(jobId, plan.message);
    }
    const params: JobParams = { ...this.jobParams(def, state.input), recovery: plan.params };
    const handle = await during({ kind: 'retry', jobId }, () =>
      temporalCall(this.temporal, 'rpc', () =>
        this.temporal.workflow.start(def.name, {
          taskQueue: this.taskQueue,
          workflowId: jobId,
          args: [params],
          workflowIdReusePolicy: 'ALLOW_DUPLICATE',
          typedSearchAttributes: initialJobAttributes(def.name, null, options.startedBy?.slice(0, 100)),
          staticSummary: `${def.name} job · recovery ${plan.params.attempt}/${def.recoveryLimit} from step ${plan.params.fromStep}`,
          staticDetails: def.description,
          // A retry keeps the priority the job was started with.
          priority: { priorityKey: state.priority },
        }),
      ),
    );
    return { jobId, runId: handle.firstExecutionRunId, type: def.name, status: 'running' };
  }

  /**
   * Terminates the job's running run at once (Temporal's terminate: no cleanup step, no waiting;
   * sub-jobs are terminated by their parent-close policy). The reason Temporal records names
   * `by`, so the Web UI shows who did it.
   *
   * @throws {@link JobNotControllable} the job is already closed
   * @throws {@link JobNotFound} no job with this id in the app
   */
  async terminate(jobId: string, options: TerminateOptions = {}): Promise<TerminateResponse> {
    const { desc } = await describeStepwiseJob(this.temporal, this.app, jobId);
    if (desc.status.name !== 'RUNNING') {
      throw new JobNotControllable(
        jobId,
        'terminate',
        `Job "${jobId}" is closed (${closedStatus(desc)}); it cannot be terminated`,
      );
    }
    const who = options.by === undefined ? '' : `by ${options.by} `;
    const handle = this.temporal.workflow.getHandle(jobId, desc.runId);
    await during({ kind: 'terminate', jobId }, () =>
      temporalCall(this.temporal, 'rpc', () =>
        handle.terminate(`${options.reason ?? 'terminated'} (${who}through ${this.via})`),
      ),
    );
    return { jobId, runId: desc.runId, status: 'terminated' };
  }

  /**
   * The job's state as it changes: reads it (as {@link get}) every `intervalMs` and yields each
   * state that differs from the last one yielded, the first one always. Ends after yielding a
   * closed job's final state, or when `signal` aborts; an error of a read ends it with that error.
   *
   * @example
   * for await (const state of jobs.watch(jobId, { signal: AbortSignal.timeout(60_000) })) {
   *   console.log(`${state.status} ${state.progress}%`);
   * }
   */
  async *watch(jobId: string, options: WatchOptions = {}): AsyncGenerator<JobState, void, undefined> {
    const { intervalMs = 500, signal } = options;
    let last: string | null = null;
    while (!signal?.aborted) {
      const state = await untilAborted(this.get(jobId), signal);
      if (state === ABORTED) return;
      const json = JSON.stringify(state);
      if (json !== last) {
        last = json;
        yield state;
      }
      if (isClosed(state)) return;
      try {
        await delay(intervalMs, undefined, { signal });
      } catch (err) {
        if (signal?.aborted) return;
        throw err;
      }
    }
  }

  /**
   * Creates a schedule (a Temporal Schedule) that starts a job of `options.type` by a cron
   * expression or an interval. The input is checked as {@link start} checks it, once, now; each run
   * is an ordinary job (id `<type>-<scheduleId>-<time>`, `startedBy` = `options.createdBy`).
   *
   * @returns the schedule, with its next run times
   * @throws {@link InvalidArgument} an unknown or internal type (`type`), a malformed id, a cron
   *   expression or time zone Temporal refuses (`cron`, `timeZone`)
   * @throws {@link InvalidJobInput} the type's schema refuses the input (paths start with `input`)
   * @throws {@link JobInputTooLarge} over the `maxInputBytes` budget
   * @throws {@link ScheduleConflict} a schedule with this id exists
   */
  async createSchedule(options: ScheduleOptions): Promise<Schedule> {
    return this.schedules.create(options);
  }

  /**
   * A schedule: its timing, state, next run times and latest runs (with their jobs' statuses).
   *
   * @throws {@link ScheduleNotFound} no such schedule, or it starts no job type of this app
   */
  async getSchedule(scheduleId: string): Promise<Schedule> {
    return this.schedules.get(scheduleId);
  }

  /**
   * A page of the app's schedules (at most 50; a page may hold fewer when the namespace has
   * schedules of other workflows). Temporal's schedule list is eventually consistent: a schedule
   * created a moment ago may not be listed yet.
   *
   * @throws {@link InvalidArgument} a `pageToken` of another listing
   */
  async listSchedules(options: { pageSize?: number; pageToken?: string } = {}): Promise<ScheduleList> {
    return this.schedules.list(options);
  }

  /**
   * Pauses a schedule: no run starts until it is unpaused (runs already started go on). `note` is
   * kept on the schedule. Pausing a paused schedule changes only its note.
   *
   * @throws {@link ScheduleNotFound} no such schedule of this app
   */
  async pauseSchedule(scheduleId: string, note: string): Promise<Schedule> {
    return this.schedules.pause(scheduleId, note);
  }

  /** Unpauses a schedule; `note` replaces its note. Refusals as in {@link pauseSchedule}. */
  async unpauseSchedule(scheduleId: string, note: string): Promise<Schedule> {
    return this.schedules.unpause(scheduleId, note);
  }

  /**
   * Starts a run of the schedule now (also while paused), whatever runs unless `overlap` says
   * otherwise. Temporal starts it a moment later: it shows in `recentRuns` then.
   *
   * @throws {@link ScheduleNotFound} no such schedule of this app
   */
  async triggerSchedule(scheduleId: string, overlap?: ScheduleOverlap): Promise<Schedule> {
    return this.schedules.trigger(scheduleId, overlap);
  }

  /**
   * Runs the schedule's times in `[start, end]` now, as if that time passed again (by the
   * schedule's overlap policy unless `overlap` says otherwise).
   *
   * @throws {@link InvalidArgument} an empty range, or one with more than 1,000 runs
   * @throws {@link ScheduleNotFound} no such schedule of this app
   */
  async backfillSchedule(
    scheduleId: string,
    range: { start: string; end: string; overlap?: ScheduleOverlap },
  ): Promise<Schedule> {
    return this.schedules.backfill(scheduleId, range);
  }

  /**
   * Changes a schedule: the fields given replace its own (a `cron` replaces an interval and the
   * other way round); a new input is checked as {@link start} checks it. Its type, state and note
   * stay.
   *
   * @throws {@link ScheduleNotFound} no such schedule of this app
   * @throws {@link InvalidArgument} a spec Temporal refuses; {@link InvalidJobInput} an input refused
   */
  async updateSchedule(scheduleId: string, patch: ScheduleUpdate): Promise<Schedule> {
    return this.schedules.update(scheduleId, patch);
  }

  /**
   * Deletes a schedule. The runs it started are ordinary jobs and go on.
   *
   * @throws {@link ScheduleNotFound} no such schedule of this app
   */
  async deleteSchedule(scheduleId: string): Promise<void> {
    return this.schedules.delete(scheduleId);
  }

  /**
   * Stops the reads this client starts by itself (learning a type's durations in the background)
   * and waits for those in flight, so that the caller can then close the Temporal connection
   * without a call still running on it. Calls made after it still work; they start no background
   * read. The connection itself stays the caller's to close.
   */
  async close(): Promise<void> {
    await this.etas.close();
  }
}
