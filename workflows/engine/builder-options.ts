/**
 * The option types of the typed job builders (`builder.ts`): what each step kind takes, with the
 * activity's argument and result types, the sub-job's zod input and the earlier steps' results
 * (`R`, by key) worked out from the builder's type parameters.
 */
import type { z } from 'zod';
import type { JobStatus, JobSummaryStats, Json } from '../contracts';
import type { ConcurrencySpec, JobDefinition, JobVersioning, RetrySpec, StepContext } from './definition';
import type { ActivityJobRef, BatchChunkArgs, StepActivityFn, StepResultOf } from './step-io';

/** An activity interface: every member takes the job reference and one argument. */
export type ActivityInterface<A> = { [K in keyof A]: StepActivityFn };

/** The argument type of activity `F`. */
export type ActivityArgs<F> = F extends (job: ActivityJobRef, args: infer X) => Promise<unknown> ? X : never;

/** The result of activity `F` as a step keeps it. */
export type ActivityResult<F> = F extends (job: ActivityJobRef, args: never) => Promise<infer Y>
  ? StepResultOf<Y>
  : never;

/** The result a `subJob` step keeps: the sub-job's id, how it ended, its output and its summary. */
export type SubJobResult = {
  jobId: string;
  status: JobStatus;
  output: Json | null;
  summary: JobSummaryStats;
};

/** The result a `batch` step keeps. */
export type BatchResult = { chunks: number; completed: number };

/** The results before the first step. */
export type NoResults = Record<never, never>;

/** A key not used by an earlier step (a reused key is a compile error). */
export type NewKey<K extends string, R> = K extends keyof R ? never : K;

/** An argument function that may be left out when every field of its type is optional. */
type ArgFn<X, Ctx extends unknown[], Name extends string> = NoResults extends X
  ? { [P in Name]?: (...ctx: Ctx) => X }
  : { [P in Name]: (...ctx: Ctx) => X };

/** Options every step kind takes. */
export interface StepOptions<I, R extends object, Out> {
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
   * Keys of earlier steps this one waits for.
   * @default the previous step (none for the first)
   */
  dependsOn?: (keyof R & string)[];
  /**
   * `fail` fails the job; `continue` ends it `completed_with_errors` and skips the steps that
   * depend on this one; `hold` holds the job (`held`) for an operator to retry the step, skip it or
   * fail the job.
   * @default the job type's `onStepFailure`, else 'fail'
   */
  onFailure?: 'fail' | 'continue' | 'hold';
  /** With `onFailure: 'hold'`: how long the job waits for a decision before it fails (ms; default no limit). */
  holdTimeoutMs?: number;
  /**
   * A running attempt that reports no progress for this long marks the job `stalled` until it
   * reports again (ms). Default: learned from the type's completed runs; none without history.
   */
  stallAfterMs?: number;
  /** Pure condition; a step whose condition is false is `skipped` and counts as satisfied. */
  when?: (ctx: StepContext<I, R>) => boolean;
  /** Pure check on the step's result; a message ends the job early (completed, remaining steps skipped). */
  endJob?: (result: Out, ctx: StepContext<I, R>) => string | null | undefined;
}

/** An activity step: `activity` names a member of the builder's activity interface. */
export type ActivityStepOptions<A, N extends keyof A, I, R extends object> = StepOptions<
  I,
  R,
  ActivityResult<A[N]>
> & {
  activity: N;
  /** Set for activities that heartbeat, so a lost worker is noticed quickly. */
  heartbeatTimeoutMs?: number;
} & ArgFn<ActivityArgs<A[N]>, [ctx: StepContext<I, R>, attempt: number], 'args'>;

/** A sub-job step: `job` is the sub-job type's definition; `input` returns its zod input. */
export type SubJobStepOptions<CS extends z.ZodType, CA extends object, I, R extends object> = StepOptions<
  I,
  R,
  SubJobResult
> & {
  job: JobDefinition<CS, CA>;
} & ArgFn<z.input<CS>, [ctx: StepContext<I, R>, attempt: number], 'input'>;

export interface BatchCommon<I, R extends object, T> extends StepOptions<I, R, BatchResult> {
  /** The items; split into chunks of `chunkSize`. */
  items: (ctx: StepContext<I, R>) => T[];
  /**
   * Items per activity call or sub-job.
   * @default 1
   */
  chunkSize?: number | ((ctx: StepContext<I, R>) => number);
  /**
   * Most chunks in flight at once.
   * @default 10
   */
  window?: number | ((ctx: StepContext<I, R>) => number);
}

export type ChunkFn<I, R extends object, T, X> = (
  chunk: { items: T[]; offset: number },
  ctx: StepContext<I, R>,
  attempt: number,
) => X;

/** Activities whose argument the default chunk argument `{items, offset}` ({@link BatchChunkArgs}) fits. */
export type ChunkActivityName<A> = {
  [K in keyof A]: BatchChunkArgs extends ActivityArgs<A[K]> ? K : never;
}[keyof A] &
  string;

/** A batch whose chunks each run activity `activity` with the default argument `{items, offset}`. */
export type BatchDefaultActivityOptions<N, I, R extends object, T> = BatchCommon<I, R, T> & {
  run: { activity: N };
  chunkInput?: undefined;
};

/** A batch whose chunks each run activity `activity` with the argument `chunkInput` returns. */
export type BatchActivityOptions<A, N extends keyof A, I, R extends object, T> = BatchCommon<I, R, T> & {
  run: { activity: N };
  chunkInput: ChunkFn<I, R, T, ActivityArgs<A[N]>>;
};

/** A batch whose chunks each run a sub-job of type `job`, with the input `chunkInput` returns. */
export type BatchJobOptions<CS extends z.ZodType, CA extends object, I, R extends object, T> = BatchCommon<
  I,
  R,
  T
> & {
  run: { job: JobDefinition<CS, CA> };
  chunkInput: ChunkFn<I, R, T, z.input<CS>>;
};

/** The job type's own fields (its steps come from the builder's methods). */
export interface JobTypeOptions<S extends z.ZodType> {
  /** camelCase; also the workflow type in Temporal. */
  name: string;
  description: string;
  /**
   * A sub-job type that only its parent job starts: the API refuses to start it and the catalog
   * marks it internal.
   * @default false
   */
  internal?: boolean;
  /** Validates the input at the API and again at the workflow entry. */
  input: S;
  /**
   * The `onFailure` of the steps that do not set their own (`'hold'`: every step holds the job for
   * an operator when it runs out of attempts).
   * @default 'fail'
   */
  onStepFailure?: 'fail' | 'continue' | 'hold';
  /**
   * How many times a failed or cancelled job may be recovered.
   * @default 3
   */
  recoveryLimit?: number;
  /**
   * How long a cancelled job waits for its running steps and sub-jobs to stop, in milliseconds.
   * @default 300000 (5 minutes)
   */
  cancelWaitMs?: number | ((ctx: StepContext<z.infer<S>, NoResults>) => number);
  /**
   * How many jobs of this type run at once, in all (`{ limit }`) or per key (`{ limit, key }`, the
   * key a pure function of the input). Jobs over it wait `queued` and start in order of priority,
   * then arrival; `STEPWISE_CONCURRENCY_LIMITS` overrides it per deployment.
   * @default no limit
   */
  concurrency?: ConcurrencySpec<z.infer<S>>;
  /**
   * Its behaviour across versioned worker deploys (`STEPWISE_WORKER_VERSIONING=true`): `pinned`
   * jobs finish on the build they started on; `auto_upgrade` jobs move to the new build at their
   * next workflow task, so it must replay them (changes guarded by `patched()`). See
   * docs/defining-jobs.md, "Versioning".
   * @default 'pinned'
   */
  versioning?: JobVersioning;
}

/**
 * What a cleanup's `args` sees: the results of the steps that completed before the cancellation.
 * Any of them may be missing (a job can be cancelled before any step completed), so each is typed
 * as possibly absent.
 */
export type CancelResults<R> = { readonly [K in keyof R]?: R[K] };

/**
 * Per-type cleanup: an activity run once when the job is cancelled, after its work has stopped.
 * `args` sees the results of the steps declared before `.onCancel(...)` that completed, each
 * possibly absent.
 */
export type CleanupOptions<A, N extends keyof A, I, R extends object = NoResults> = {
  activity: N;
  /**
   * The cleanup activity's start-to-close timeout, in milliseconds.
   * @default 60000
   */
  timeoutMs?: number;
} & ArgFn<ActivityArgs<A[N]>, [ctx: StepContext<I, CancelResults<R>>], 'args'>;

/** What a sleep step completes with. */
export interface SleepResult {
  /** When it was to wake (ISO 8601). */
  wakeAt: string;
  /** When it woke: later than `wakeAt` when the job was paused past it. */
  wokeAt: string;
}

/** A sleep step: exactly one of `durationMs` and `until`. */
export type SleepStepOptions<I, R extends object> = Omit<
  StepOptions<I, R, SleepResult>,
  'retry' | 'timeoutMs' | 'stallAfterMs' | 'onFailure' | 'holdTimeoutMs'
> &
  (
    | { durationMs: number | ((ctx: StepContext<I, R>) => number); until?: undefined }
    | { until: (ctx: StepContext<I, R>) => Date | string; durationMs?: undefined }
  );

/** What an approval step completes with. */
export interface ApprovalResult {
  /** `approved`; or `rejected` / `timed_out` when the step's `onReject` / `onTimeout` is `continue`. */
  decision: 'approved' | 'rejected' | 'timed_out';
  /** Who decided (the API key's name); null when it timed out. */
  by: string | null;
  /** The decider's comment; null without one, or when it timed out. */
  comment: string | null;
  /** When it was decided or timed out (ISO 8601). */
  at: string;
}

/**
 * An approval step: the job waits for a person's decision. Retries, the attempt timeout, stall and
 * hold options and `onFailure` do not apply (a rejection or timeout does what `onReject` /
 * `onTimeout` say).
 */
export type ApprovalStepOptions<I, R extends object> = Omit<
  StepOptions<I, R, ApprovalResult>,
  'retry' | 'timeoutMs' | 'stallAfterMs' | 'onFailure' | 'holdTimeoutMs'
> & {
  /**
   * The lowest API role that may approve or reject (`viewer` never may), or a function of the
   * context (the input and earlier results).
   * @default 'operator'
   */
  role?: 'operator' | 'admin' | ((ctx: StepContext<I, R>) => 'operator' | 'admin');
  /**
   * How long the job waits for a decision, in milliseconds (1000 to 366 days), or a function of the
   * context (undefined: no limit). Time the job spends paused does not end the wait: past it, the
   * wait ends at the resume.
   * @default no limit
   */
  timeoutMs?: number | ((ctx: StepContext<I, R>) => number | undefined);
  /**
   * What a timeout does: `fail` fails the job; `continue` completes the step with the decision
   * `timed_out` and the job goes on. Or a function of the context.
   * @default 'fail'
   */
  onTimeout?: 'fail' | 'continue' | ((ctx: StepContext<I, R>) => 'fail' | 'continue');
  /**
   * What a rejection does: `fail` fails the job; `continue` completes the step with the decision
   * `rejected` and the job goes on (a later step's `when` can read `results[key].decision`). Or a
   * function of the context.
   * @default 'fail'
   */
  onReject?: 'fail' | 'continue' | ((ctx: StepContext<I, R>) => 'fail' | 'continue');
  /**
   * What the approver is asked, shown on the card and in the `job.awaiting_approval` webhook (at
   * most 500 characters).
   * @example 'Publish the nightly build to production?'
   */
  message?: string;
};
