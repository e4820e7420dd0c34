/**
 * Typed job-type builders. A job type is declared step by step; the compiler checks what the
 * engine can only check at run time:
 *
 * - an activity step names an activity of the interface the builder was made for, and its `args`
 *   return that activity's argument type;
 * - a sub-job step names the sub-job's definition (not a string), and its `input` returns that
 *   type's zod input;
 * - `results` in every step function is typed by key: each earlier step's result, as the job
 *   keeps it (without `stats` and `logs`), and `dependsOn` names earlier steps only.
 *
 * `build()` produces the same {@link JobDefinition} data `defineJob` always produced, so the
 * catalog, the JSON Schemas and the runner see no difference.
 *
 * @example
 * const job = jobBuilder<DemoActivities>();
 * export const exampleDefinition = job({ name: 'example', description: '…', input })
 *   .activity('prepare', { name: 'Prepare', activity: 'simulateWork', args: ({ input }) => ({ items: 5 }) })
 *   .subJob('subJob', { name: 'Run sub-job', job: exampleSubJobDefinition })
 *   .build();
 */
import type { z } from 'zod';
import type { Json } from '../contracts';
import type {
  ActivityInterface,
  ActivityResult,
  ActivityStepOptions,
  ApprovalResult,
  ApprovalStepOptions,
  BatchActivityOptions,
  BatchCommon,
  BatchDefaultActivityOptions,
  BatchJobOptions,
  BatchResult,
  CancelResults,
  ChunkActivityName,
  ChunkFn,
  CleanupOptions,
  JobTypeOptions,
  NewKey,
  NoResults,
  SleepResult,
  SleepStepOptions,
  StepOptions,
  SubJobResult,
  SubJobStepOptions,
} from './builder-options';
import { defineJob, type CleanupDef, type JobDefinition, type StepContext, type StepDef } from './definition';

export type * from './builder-options';

/**
 * The engine's step functions see every completed result by key; the builder's types say which
 * key holds what. This is the one place the two views meet.
 */
const typed = <I, R extends object>(ctx: StepContext<I>): StepContext<I, R> => ctx as StepContext<I, R>;

/** An option that is a value or a function of the typed context, as the engine's untyped one. */
const ctxFn = <I, R extends object, T>(
  v: T | ((ctx: StepContext<I, R>) => T) | undefined,
): T | ((ctx: StepContext<I>) => T) | undefined =>
  typeof v === 'function' ? (ctx: StepContext<I>) => (v as (c: StepContext<I, R>) => T)(typed(ctx)) : v;

/**
 * Builds one job type; each step method returns a builder that knows that step's result type.
 *
 * @typeParam A - the activity interface the steps may call.
 * @typeParam S - the input's zod schema.
 * @typeParam R - the results of the steps declared so far, by key.
 * @typeParam U - the activities the steps declared so far call (their sub-jobs' included): what
 *   the built definition asks of a worker (see `ActivitiesOf`).
 */
export class JobBuilder<
  A extends ActivityInterface<A>,
  S extends z.ZodType,
  R extends object,
  U extends object = NoResults,
> {
  constructor(
    private readonly options: JobTypeOptions<S>,
    private readonly steps: readonly StepDef<z.infer<S>>[],
    private readonly cleanup: CleanupDef<z.infer<S>> | null,
    private readonly subJobs: readonly JobDefinition[] = [],
  ) {}

  /** Adds a step that runs one activity. */
  activity<K extends string, N extends keyof A & string>(
    key: NewKey<K, R>,
    opts: ActivityStepOptions<A, N, z.infer<S>, R>,
  ): JobBuilder<A, S, R & { [P in K]: ActivityResult<A[N]> }, U & Pick<A, N>> {
    const { args } = opts as { args?: (ctx: StepContext<z.infer<S>, R>, attempt: number) => unknown };
    return this.add({
      ...this.common(key, opts),
      kind: 'activity',
      activity: opts.activity,
      heartbeatTimeoutMs: opts.heartbeatTimeoutMs,
      args: args ? (ctx, attempt) => args(typed(ctx), attempt) : undefined,
    });
  }

  /** Adds a step that runs another job type as a sub-job (a child workflow). */
  subJob<K extends string, CS extends z.ZodType, CA extends object>(
    key: NewKey<K, R>,
    opts: SubJobStepOptions<CS, CA, z.infer<S>, R>,
  ): JobBuilder<A, S, R & { [P in K]: SubJobResult }, U & CA> {
    const { input } = opts as { input?: (ctx: StepContext<z.infer<S>, R>, attempt: number) => unknown };
    return this.add(
      {
        ...this.common(key, opts),
        kind: 'job',
        jobType: opts.job.name,
        input: input ? (ctx, attempt) => input(typed(ctx), attempt) : undefined,
      },
      opts.job,
    );
  }

  /** Adds a step that runs an activity per chunk of items (argument `{items, offset}`), `window` chunks at a time. */
  batch<K extends string, T extends Json, N extends ChunkActivityName<A>>(
    key: NewKey<K, R>,
    opts: BatchDefaultActivityOptions<N, z.infer<S>, R, T>,
  ): JobBuilder<A, S, R & { [P in K]: BatchResult }, U & Pick<A, N>>;
  /** Adds a step that runs an activity per chunk of items, `window` chunks at a time. */
  batch<K extends string, T extends Json, N extends keyof A & string>(
    key: NewKey<K, R>,
    opts: BatchActivityOptions<A, N, z.infer<S>, R, T>,
  ): JobBuilder<A, S, R & { [P in K]: BatchResult }, U & Pick<A, N>>;
  /** Adds a step that runs a sub-job per chunk of items, `window` sub-jobs at a time. */
  batch<K extends string, T extends Json, CS extends z.ZodType, CA extends object>(
    key: NewKey<K, R>,
    opts: BatchJobOptions<CS, CA, z.infer<S>, R, T>,
  ): JobBuilder<A, S, R & { [P in K]: BatchResult }, U & CA>;
  batch<K extends string, T extends Json>(
    key: NewKey<K, R>,
    opts: BatchCommon<z.infer<S>, R, T> & {
      run: { activity: string } | { job: JobDefinition };
      chunkInput?: ChunkFn<z.infer<S>, R, T, unknown>;
    },
  ): JobBuilder<A, S, R & { [P in K]: BatchResult }, object> {
    const { items, chunkSize, window, chunkInput, run } = opts;
    const resolve = (v: number | ((ctx: StepContext<z.infer<S>, R>) => number) | undefined) =>
      typeof v === 'function' ? (ctx: StepContext<z.infer<S>>) => v(typed(ctx)) : v;
    return this.add(
      {
        ...this.common(key, opts),
        kind: 'batch',
        items: (ctx) => items(typed(ctx)),
        chunkSize: resolve(chunkSize),
        window: resolve(window),
        run: 'job' in run ? { jobType: run.job.name } : { activity: run.activity },
        // The engine's chunks hold the items `items` returned, so they are `T`s.
        chunkInput: chunkInput
          ? (chunk, ctx, attempt) => chunkInput(chunk as { items: T[]; offset: number }, typed(ctx), attempt)
          : undefined,
      },
      'job' in run ? run.job : undefined,
    );
  }

  /**
   * Adds a durable timer as a step: it sleeps `durationMs` (or until the time `until` computes)
   * and completes with `{wakeAt, wokeAt}`; a paused job's sleep does not end until it is resumed.
   */
  sleep<K extends string>(
    key: NewKey<K, R>,
    opts: SleepStepOptions<z.infer<S>, R>,
  ): JobBuilder<A, S, R & { [P in K]: SleepResult }, U> {
    const { durationMs, until } = opts;
    return this.add({
      ...this.common(key, opts),
      kind: 'sleep',
      durationMs: typeof durationMs === 'function' ? (ctx) => durationMs(typed(ctx)) : durationMs,
      until: until ? (ctx) => until(typed(ctx)) : undefined,
    });
  }

  /**
   * Adds a step that waits for a person's decision: a caller with at least `role` approves or
   * rejects it (with a comment) through `POST /api/jobs/:id/steps/:key/approve` or `/reject`, the
   * card or `StepwiseClient.approve/reject`. It completes with `{decision, by, comment, at}`; a
   * rejection or a timeout fails the job unless `onReject` / `onTimeout` is `continue`.
   *
   * @example
   * .approval('signOff', { name: 'Sign-off', role: 'admin', timeoutMs: 86_400_000, onTimeout: 'continue' })
   */
  approval<K extends string>(
    key: NewKey<K, R>,
    opts: ApprovalStepOptions<z.infer<S>, R>,
  ): JobBuilder<A, S, R & { [P in K]: ApprovalResult }, U> {
    // `timeoutMs` here is the wait's, not an attempt's.
    const { timeoutMs, ...common } = opts;
    return this.add({
      ...this.common(key, common),
      kind: 'approval',
      // One attempt: a decision is not retried.
      retry: { maxAttempts: 1 },
      role: ctxFn(opts.role),
      decisionTimeoutMs: ctxFn(timeoutMs),
      onTimeout: ctxFn(opts.onTimeout),
      onReject: ctxFn(opts.onReject),
      message: opts.message,
    });
  }

  /**
   * The activity the engine runs once when a job of this type is cancelled. Its `args` sees the
   * results of the steps declared so far that completed before the cancellation, each possibly
   * absent: declare the cleanup after the steps whose results it reads.
   */
  onCancel<N extends keyof A & string>(
    opts: CleanupOptions<A, N, z.infer<S>, R>,
  ): JobBuilder<A, S, R, U & Pick<A, N>> {
    const { args } = opts as { args?: (ctx: StepContext<z.infer<S>, CancelResults<R>>) => unknown };
    return new JobBuilder(
      this.options,
      this.steps,
      {
        activity: opts.activity,
        timeoutMs: opts.timeoutMs,
        args: args ? (ctx) => args(typed(ctx)) : undefined,
      },
      this.subJobs,
    );
  }

  /** The job type as data; throws `JobDefinitionError` on a cycle, unknown dependency or bad option. */
  build(): JobDefinition<S, U> {
    const { cancelWaitMs } = this.options;
    // `U` is type-only (the activities the steps call): the data is the same for every `U`.
    return defineJob({
      name: this.options.name,
      description: this.options.description,
      internal: this.options.internal,
      input: this.options.input,
      steps: [...this.steps],
      recoveryLimit: this.options.recoveryLimit,
      onStepFailure: this.options.onStepFailure,
      cancelWaitMs: typeof cancelWaitMs === 'function' ? (ctx) => cancelWaitMs(typed(ctx)) : cancelWaitMs,
      subJobs: this.subJobs,
      ...(this.options.concurrency ? { concurrency: this.options.concurrency } : {}),
      ...(this.options.versioning ? { versioning: this.options.versioning } : {}),
      ...(this.cleanup ? { onCancel: this.cleanup } : {}),
    }) as JobDefinition<S, U>;
  }

  private add<R2 extends object, U2 extends object>(
    step: StepDef<z.infer<S>>,
    subJob?: JobDefinition,
  ): JobBuilder<A, S, R2, U2> {
    const subJobs = subJob ? [...this.subJobs, subJob] : this.subJobs;
    return new JobBuilder(this.options, [...this.steps, step], this.cleanup, subJobs);
  }

  private common<Out>(key: string, opts: StepOptions<z.infer<S>, R, Out>) {
    const { when, endJob } = opts;
    return {
      key,
      name: opts.name,
      weight: opts.weight,
      retry: opts.retry,
      timeoutMs: opts.timeoutMs,
      dependsOn: opts.dependsOn,
      onFailure: opts.onFailure,
      holdTimeoutMs: opts.holdTimeoutMs,
      stallAfterMs: opts.stallAfterMs,
      when: when ? (ctx: StepContext<z.infer<S>>) => when(typed(ctx)) : undefined,
      endJob: endJob
        ? (result: unknown, ctx: StepContext<z.infer<S>>) => endJob(result as Out, typed(ctx))
        : undefined,
    };
  }
}

/**
 * A builder factory for job types whose activities come from interface `A` (one or more activity
 * slices, e.g. `DataImportActivities & WorkspaceActivities`).
 */
export function jobBuilder<A extends ActivityInterface<A>>() {
  return <S extends z.ZodType>(options: JobTypeOptions<S>): JobBuilder<A, S, NoResults> =>
    new JobBuilder<A, S, NoResults>(options, [], null);
}
