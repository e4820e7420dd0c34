/**
 * Job types as data plus pure functions: the shape the engine runs. `defineJob` validates a
 * definition when the module loads (in the worker, the API and the workflow sandbox alike), so a
 * bad definition never reaches a running job.
 *
 * Job types are written with the typed builders of `builder.ts`, which check activity names,
 * arguments, sub-job inputs and earlier results at compile time and produce this data. At this
 * level activities and sub-job types are names, and what a step passes on is `unknown`: the
 * engine forwards it without looking inside.
 */
import type { z } from 'zod';
import { APPROVAL_ROLES, type ApprovalRole } from '../job-state';
import { JobDefinitionError, validateDag } from './dag';

/** How a step's attempts are retried by the engine (each attempt is visible in the job state). */
export interface RetrySpec {
  /**
   * Attempts including the first.
   * @default 3
   */
  maxAttempts?: number;
  /**
   * Delay before the second attempt, in milliseconds.
   * @default 1000
   */
  initialIntervalMs?: number;
  /**
   * Each further delay is the previous one times this.
   * @default 2
   */
  backoffCoefficient?: number;
  /**
   * Longest delay between attempts, in milliseconds.
   * @default 60000
   */
  maxIntervalMs?: number;
}

/** What pure step functions (`when`, `args`, `input`, `items`, `endJob`) see. */
export interface StepContext<I, R extends object = Readonly<Record<string, unknown>>> {
  /** The job's input, parsed by its zod schema (defaults applied). */
  input: I;
  jobId: string;
  /**
   * Results of the steps that completed so far, by key (without their `stats` and `logs`). A step
   * can rely on the results of the steps it depends on, directly or through others.
   */
  results: Readonly<R>;
  /** 0 on the first run, n on the n-th recovery run. */
  recoveryAttempt: number;
}

interface StepBase<I> {
  /** Unique within the job type; names the step in results, sub-job ids and logs. */
  key: string;
  /** Shown to operators ("Step 3/7 · Index rows"). */
  name: string;
  /**
   * Share of overall progress, relative to the other steps' weights.
   * @default 1
   */
  weight?: number;
  /** How the engine retries the step's attempts. */
  retry?: RetrySpec;
  /**
   * Per attempt, in milliseconds: an activity's start-to-close timeout, a sub-job's execution
   * timeout, a batch chunk's timeout.
   * @default 600000 (10 minutes)
   */
  timeoutMs?: number;
  /**
   * Keys of the steps this one waits for.
   * @default the previous step (none for the first)
   */
  dependsOn?: string[];
  /**
   * `fail` fails the job; `continue` ends it `completed_with_errors` and skips the steps that
   * depend on this one; `hold` holds the job (`held`) for an operator to retry the step, skip it
   * or fail the job.
   * @default the job type's `onStepFailure`, else 'fail'
   */
  onFailure?: StepFailurePolicy;
  /**
   * With `onFailure: 'hold'`: how long the job waits for an operator's decision before it fails,
   * in milliseconds.
   * @default no limit
   */
  holdTimeoutMs?: number;
  /**
   * A running attempt that reports no progress for this long marks the job `stalled` until it
   * reports again (ms; at least 1000).
   * @default learned from the type's completed runs (3 × the step's median duration, at least
   *   10 s), none without history
   */
  stallAfterMs?: number;
  /** Pure condition; a step whose condition is false is `skipped` and counts as satisfied. */
  when?(ctx: StepContext<I>): boolean;
  /** Pure check on the step's result; a message ends the job early (completed, remaining steps skipped). */
  endJob?(result: unknown, ctx: StepContext<I>): string | null | undefined;
}

export interface ActivityStepDef<I> extends StepBase<I> {
  kind: 'activity';
  /** The activity's name in the worker's activity interface. */
  activity: string;
  /** The activity's argument; `attempt` is the step attempt it is for (from 1). Default `{}`. */
  args?(ctx: StepContext<I>, attempt: number): unknown;
  /** Set for activities that heartbeat, so a lost worker is noticed quickly. */
  heartbeatTimeoutMs?: number;
}

export interface JobStepDef<I> extends StepBase<I> {
  kind: 'job';
  /** Another job type's name; it runs as a child workflow. */
  jobType: string;
  /** The sub-job's input; `attempt` is the step attempt it is for (from 1). Default `{}`. */
  input?(ctx: StepContext<I>, attempt: number): unknown;
}

export interface BatchStepDef<I> extends StepBase<I> {
  kind: 'batch';
  items(ctx: StepContext<I>): unknown[];
  /**
   * Items per activity call or child job.
   * @default 1
   */
  chunkSize?: number | ((ctx: StepContext<I>) => number);
  /**
   * Most chunks in flight at once.
   * @default 10
   */
  window?: number | ((ctx: StepContext<I>) => number);
  /** What runs per chunk: an activity or a job type. */
  run: { activity: string } | { jobType: string };
  /** The chunk's activity argument or sub-job input. Default `{items, offset}`. */
  chunkInput?(chunk: { items: unknown[]; offset: number }, ctx: StepContext<I>, attempt: number): unknown;
}

/**
 * A durable timer as a step: it waits until its wake-up time — `durationMs` after the attempt
 * started, or the time `until` computes from the input and earlier results — and completes with
 * `{wakeAt, wokeAt}`. Pause-aware: a paused job's sleep does not end; once resumed, a sleep whose
 * time has passed ends at once. Its message says when it wakes.
 */
export interface SleepStepDef<I> extends StepBase<I> {
  kind: 'sleep';
  /** How long to sleep (ms, at least 0), or a function of the input and earlier results. */
  durationMs?: number | ((ctx: StepContext<I>) => number);
  /** When to wake (a `Date` or an ISO 8601 time); a time already passed wakes at once. */
  until?(ctx: StepContext<I>): Date | string;
}

/**
 * A person's decision as a step: the step waits until a caller with at least `role` approves or
 * rejects it (with a comment), or until `timeoutMs` passes. It completes with `{decision, by,
 * comment, at}`; a rejection or timeout fails it instead when `onReject` / `onTimeout` is `fail`.
 * Pause-aware like a sleep: a paused job takes no decision and does not time out until resumed.
 */
export interface ApprovalStepDef<I> extends StepBase<I> {
  kind: 'approval';
  /**
   * The lowest API role that may decide it, or a function of the context.
   * @default 'operator'
   */
  role?: ApprovalRole | ((ctx: StepContext<I>) => ApprovalRole);
  /**
   * How long it waits for a decision (ms, 1000 to 366 days), or a function of the context (which
   * may return undefined: no limit); no limit without it. (The builder's `.approval()` takes it as
   * `timeoutMs`; a step's `timeoutMs` is an attempt's, which does not apply to an approval.)
   */
  decisionTimeoutMs?: number | ((ctx: StepContext<I>) => number | undefined);
  /**
   * What a timeout does: `fail` fails the step (and so the job); `continue` completes it with the
   * decision `timed_out`, and the steps after it run. Or a function of the context.
   * @default 'fail'
   */
  onTimeout?: ApprovalOutcomePolicy | ((ctx: StepContext<I>) => ApprovalOutcomePolicy);
  /**
   * What a rejection does: `fail` fails the step (and so the job); `continue` completes it with the
   * decision `rejected`, and the steps after it run (a `when` can read it). Or a function of the
   * context.
   * @default 'fail'
   */
  onReject?: ApprovalOutcomePolicy | ((ctx: StepContext<I>) => ApprovalOutcomePolicy);
  /** What the approver is asked (shown on the card and in the webhook), at most 500 characters. */
  message?: string;
}

/** What an approval step does on a rejection or a timeout. */
export type ApprovalOutcomePolicy = 'fail' | 'continue';

export type StepDef<I> =
  ActivityStepDef<I> | JobStepDef<I> | BatchStepDef<I> | SleepStepDef<I> | ApprovalStepDef<I>;

/**
 * Per-type cleanup: an activity the engine runs exactly once when the job is cancelled, in a
 * scope that cannot itself be cancelled, after its running steps and sub-jobs have stopped.
 */
export interface CleanupDef<I> {
  activity: string;
  args?(ctx: StepContext<I>): unknown;
  /**
   * The cleanup activity's start-to-close timeout, in milliseconds.
   * @default 60000
   */
  timeoutMs?: number;
}

/**
 * How many jobs of a type run at once. A job over the limit is accepted and waits, `queued`,
 * until a slot frees; queued jobs start in order of priority, then of arrival. The bookkeeping is
 * a workflow of its own per type and key (`stepwiseLimiter`), so the limit holds across API
 * instances and workers and survives restarts.
 */
export interface ConcurrencySpec<I = unknown> {
  /** How many may run at once (per key when `key` is given): 1 … {@link MAX_CONCURRENCY_LIMIT}. */
  limit: number;
  /**
   * Limits per key instead of per type: a pure function of the input (e.g. the tenant or the
   * source), at most {@link MAX_CONCURRENCY_KEY_LENGTH} characters. Jobs with different keys never
   * wait for each other.
   */
  key?: (ctx: { input: I }) => string;
}

/** The highest concurrency limit a type or a deployment may set. */
export const MAX_CONCURRENCY_LIMIT = 10_000;
/** The longest concurrency key (a longer one fails the job at its entry, saying so). */
export const MAX_CONCURRENCY_KEY_LENGTH = 200;

/** What a step's failure (no attempt left) does to its job. */
export type StepFailurePolicy = 'fail' | 'continue' | 'hold';

/**
 * How a job of a type behaves across worker deploys when Worker Deployment Versioning is on
 * (`STEPWISE_WORKER_VERSIONING=true`; docs/production.md, "Versioned deploys"):
 *
 * - `pinned`: the job runs to its end on the build (worker deployment version) it started on, its
 *   sub-jobs with it; a new build takes only new jobs. Safe whatever the new build changed.
 * - `auto_upgrade`: at its next workflow task after a new build becomes current, the job moves to
 *   it and replays its history there, so the new build must replay it (any change to the commands
 *   the type's workflow issues guarded by `patched()`). For short job types that must not hold an
 *   old build up, and for types whose definition changes only compatibly.
 *
 * Without versioning it changes nothing (every job runs on whatever worker polls its queue, and
 * `patched()` is what keeps a changed definition safe).
 */
export type JobVersioning = 'pinned' | 'auto_upgrade';

/** The versioning behaviours a job type may declare. */
export const JOB_VERSIONINGS: readonly JobVersioning[] = ['pinned', 'auto_upgrade'];

export interface JobTypeSpec<S extends z.ZodType> {
  name: string;
  description: string;
  /**
   * The `onFailure` of the steps that do not set their own.
   * @default 'fail'
   */
  onStepFailure?: StepFailurePolicy;
  /**
   * A sub-job type that only its parent job starts (its input comes from the parent, never from a
   * caller): the API refuses to start it and the catalog marks it internal.
   * @default false
   */
  internal?: boolean;
  input: S;
  steps: StepDef<z.infer<S>>[];
  /**
   * How many times a failed or cancelled job may be recovered.
   * @default 3
   */
  recoveryLimit?: number;
  /** Runs once when the job is cancelled. */
  onCancel?: CleanupDef<z.infer<S>>;
  /**
   * How long a cancelled job waits for its running steps and sub-jobs to stop, in milliseconds.
   * @default 300000 (5 minutes)
   */
  cancelWaitMs?: number | ((ctx: StepContext<z.infer<S>>) => number);
  /**
   * How many jobs of this type run at once (see {@link ConcurrencySpec});
   * `STEPWISE_CONCURRENCY_LIMITS` overrides it per deployment.
   * @default no limit
   */
  concurrency?: ConcurrencySpec<z.infer<S>>;
  /**
   * Its behaviour across versioned worker deploys (see {@link JobVersioning}); only used with
   * `STEPWISE_WORKER_VERSIONING=true`.
   * @default 'pinned'
   */
  versioning?: JobVersioning;
  /**
   * The definitions of the job types its steps run as sub-jobs (the typed builder fills it in), so
   * an app that lists this type knows them without listing them too.
   * @default []
   */
  subJobs?: readonly JobDefinition[];
}

export interface NormalizedRetry {
  maxAttempts: number;
  initialIntervalMs: number;
  backoffCoefficient: number;
  maxIntervalMs: number;
}

export type NormalizedStep<I> = StepDef<I> & {
  index: number;
  weight: number;
  dependsOn: string[];
  onFailure: StepFailurePolicy;
  timeoutMs: number;
  retryPolicy: NormalizedRetry;
};

/**
 * A job type as data: what `defineJob` and the typed builders produce, what `defineApp` lists.
 *
 * @typeParam S - the zod schema of its input.
 * @typeParam A - the activities its steps call (its sub-jobs' included), as an interface: a
 *   type-only record the worker's activities are checked against (see `ActivitiesOf`).
 */
export interface JobDefinition<S extends z.ZodType = z.ZodType, A extends object = object> {
  name: string;
  description: string;
  /** Started only by its parent job, never through the API. */
  internal: boolean;
  input: S;
  steps: NormalizedStep<z.infer<S>>[];
  /** Keys in a valid execution order. */
  order: string[];
  recoveryLimit: number;
  onCancel: CleanupDef<z.infer<S>> | null;
  cancelWaitMs: number | ((ctx: StepContext<z.infer<S>>) => number);
  /** How many run at once; null: no limit (unless a deployment sets one). */
  concurrency: ConcurrencySpec<z.infer<S>> | null;
  /** Its behaviour across versioned worker deploys (`pinned` unless the type said otherwise). */
  versioning: JobVersioning;
  /** The job types its steps run as sub-jobs, when it was built with their definitions. */
  subJobs: readonly JobDefinition[];
  /**
   * Type only, never set: the activities this job type's steps call.
   * @internal
   */
  readonly __activities?: A;
}

export const DEFAULT_RETRY: NormalizedRetry = {
  maxAttempts: 3,
  initialIntervalMs: 1000,
  backoffCoefficient: 2,
  maxIntervalMs: 60_000,
};

const STEP_KEY = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

/** Declares a job type; throws {@link JobDefinitionError} on a cycle, unknown dependency or duplicate key. */
export function defineJob<S extends z.ZodType>(spec: JobTypeSpec<S>): JobDefinition<S> {
  if (!/^[a-z][A-Za-z0-9]*$/.test(spec.name)) {
    throw new JobDefinitionError(spec.name, 'the name must be camelCase letters and digits');
  }
  const steps = spec.steps.map((s, i): NormalizedStep<z.infer<S>> => {
    // A step key is part of its sub-jobs' ids (`<jobId>/<key>[-r<n>][/<chunk>][-a<k>]`): letters,
    // digits and `_` only, so no two steps, recoveries, chunks or attempts can make the same id.
    if (!STEP_KEY.test(s.key)) {
      throw new JobDefinitionError(
        spec.name,
        `step "${s.key}": the key must start with a letter and use letters, digits and _ (at most 64)`,
      );
    }
    const retryPolicy = { ...DEFAULT_RETRY, ...s.retry };
    if (!Number.isInteger(retryPolicy.maxAttempts) || retryPolicy.maxAttempts < 1) {
      throw new JobDefinitionError(spec.name, `step "${s.key}": retry.maxAttempts must be an integer >= 1`);
    }
    if (retryPolicy.backoffCoefficient < 1) {
      throw new JobDefinitionError(spec.name, `step "${s.key}": retry.backoffCoefficient must be >= 1`);
    }
    const weight = s.weight ?? 1;
    if (!(weight >= 0)) throw new JobDefinitionError(spec.name, `step "${s.key}": weight must be >= 0`);
    if (s.kind === 'sleep') {
      if ((s.durationMs === undefined) === (s.until === undefined)) {
        throw new JobDefinitionError(
          spec.name,
          `step "${s.key}": a sleep step takes exactly one of durationMs and until`,
        );
      }
      if (typeof s.durationMs === 'number' && !(s.durationMs >= 0 && s.durationMs <= MAX_WAIT_MS)) {
        throw new JobDefinitionError(
          spec.name,
          `step "${s.key}": durationMs must be from 0 to ${MAX_WAIT_MS} (366 days)`,
        );
      }
    }
    if (s.kind === 'approval') checkApproval(spec.name, s as ApprovalStepDef<unknown>);
    if (s.kind === 'batch') {
      // Values computed from the input are clamped to >= 1 when the step runs.
      for (const [name, v] of [
        ['window', s.window],
        ['chunkSize', s.chunkSize],
      ] as const) {
        if (typeof v === 'number' && !(Number.isInteger(v) && v >= 1)) {
          throw new JobDefinitionError(spec.name, `step "${s.key}": ${name} must be an integer >= 1`);
        }
      }
    }
    return {
      ...s,
      index: i + 1,
      weight,
      dependsOn: s.dependsOn ?? (i === 0 ? [] : [spec.steps[i - 1].key]),
      // A rejection or timeout that fails an approval step fails the job, as `onReject` promises.
      onFailure: s.kind === 'approval' ? 'fail' : (s.onFailure ?? spec.onStepFailure ?? 'fail'),
      timeoutMs: s.timeoutMs ?? 10 * 60_000,
      retryPolicy,
    };
  });
  const order = validateDag(spec.name, steps);
  const recoveryLimit = spec.recoveryLimit ?? 3;
  if (!Number.isInteger(recoveryLimit) || recoveryLimit < 0) {
    throw new JobDefinitionError(spec.name, 'recoveryLimit must be an integer >= 0');
  }
  if (typeof spec.cancelWaitMs === 'number' && !(spec.cancelWaitMs >= 0)) {
    throw new JobDefinitionError(spec.name, 'cancelWaitMs must be >= 0');
  }
  const limit = spec.concurrency?.limit;
  if (spec.concurrency && !(Number.isInteger(limit) && limit! >= 1 && limit! <= MAX_CONCURRENCY_LIMIT)) {
    throw new JobDefinitionError(
      spec.name,
      `concurrency.limit must be an integer from 1 to ${MAX_CONCURRENCY_LIMIT}`,
    );
  }
  const versioning = spec.versioning ?? 'pinned';
  if (!JOB_VERSIONINGS.includes(versioning)) {
    throw new JobDefinitionError(
      spec.name,
      `versioning must be ${JOB_VERSIONINGS.map((v) => `'${v}'`).join(' or ')}, not ${String(versioning)}`,
    );
  }
  return {
    name: spec.name,
    description: spec.description,
    internal: spec.internal ?? false,
    input: spec.input,
    steps,
    order,
    recoveryLimit,
    onCancel: spec.onCancel ?? null,
    cancelWaitMs: spec.cancelWaitMs ?? 5 * 60_000,
    concurrency: spec.concurrency ?? null,
    versioning,
    subJobs: [...new Set(spec.subJobs ?? [])],
  };
}

/** The longest approval wait (and sleep) a step may declare: a year and a day. */
export const MAX_WAIT_MS = 366 * 24 * 60 * 60 * 1000;

/** Checks an approval step's fixed options (those computed from the context are checked when it runs). */
function checkApproval(type: string, s: ApprovalStepDef<unknown>): void {
  const problem = approvalOptionProblem({
    role: typeof s.role === 'function' ? undefined : s.role,
    timeoutMs: typeof s.decisionTimeoutMs === 'function' ? undefined : s.decisionTimeoutMs,
    onTimeout: typeof s.onTimeout === 'function' ? undefined : s.onTimeout,
    onReject: typeof s.onReject === 'function' ? undefined : s.onReject,
  });
  if (problem) throw new JobDefinitionError(type, `step "${s.key}": ${problem}`);
  if (s.message !== undefined && s.message.length > 500) {
    throw new JobDefinitionError(type, `step "${s.key}": message must be at most 500 characters`);
  }
}

/** What is wrong with an approval step's options (undefined ones are defaults), or null. */
export function approvalOptionProblem(o: {
  role?: unknown;
  timeoutMs?: unknown;
  onTimeout?: unknown;
  onReject?: unknown;
}): string | null {
  if (o.role !== undefined && !(APPROVAL_ROLES as readonly unknown[]).includes(o.role)) {
    return `role must be one of ${APPROVAL_ROLES.join(', ')}, not ${String(o.role)}`;
  }
  const t = o.timeoutMs;
  if (t !== undefined && !(typeof t === 'number' && Number.isInteger(t) && t >= 1000 && t <= MAX_WAIT_MS)) {
    return `the approval's timeoutMs must be an integer from 1000 to ${MAX_WAIT_MS} (366 days), not ${String(t)}`;
  }
  for (const [name, v] of [
    ['onTimeout', o.onTimeout],
    ['onReject', o.onReject],
  ] as const) {
    if (v !== undefined && v !== 'fail' && v !== 'continue')
      return `${name} must be 'fail' or 'continue', not ${String(v)}`;
  }
  return null;
}
