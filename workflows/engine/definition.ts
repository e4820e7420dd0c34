/**
 * Declaring job types: data plus pure functions. `defineJob` validates the definition when the
 * module loads (in the worker, the API and the workflow sandbox alike), so a bad definition
 * never reaches a running job.
 */
import type { z } from 'zod';
import type { ActivityName } from '../activity-contracts';
import type { Json } from '../contracts';
import { JobDefinitionError, validateDag } from './dag';

export interface RetrySpec {
  /** Attempts including the first. Default 3. */
  maxAttempts?: number;
  /** Default 1000 ms. */
  initialIntervalMs?: number;
  /** Default 2. */
  backoffCoefficient?: number;
  /** Default 60 000 ms. */
  maxIntervalMs?: number;
}

/** What pure step functions (`when`, `args`, `input`, `items`, `endJob`) see. */
export interface StepContext<I> {
  input: I;
  jobId: string;
  /** Results of the steps that completed so far, by key. */
  results: Readonly<Record<string, Json>>;
  /** 0 on the first run, n on the n-th recovery run. */
  recoveryAttempt: number;
}

interface StepBase<I> {
  key: string;
  name: string;
  /** Share of overall progress, relative to the other steps. Default 1. */
  weight?: number;
  retry?: RetrySpec;
  /** Per attempt. Default 10 minutes. */
  timeoutMs?: number;
  /** Keys of the steps this one waits for. Default: the previous step (none for the first). */
  dependsOn?: string[];
  /** `fail` (default) fails the job; `continue` ends it `completed_with_errors` and skips dependents. */
  onFailure?: 'fail' | 'continue';
  /** Pure condition; a step whose condition is false is `skipped` and counts as satisfied. */
  when?(ctx: StepContext<I>): boolean;
  /** Pure check on the step's result; a message ends the job early (completed, remaining steps skipped). */
  endJob?(result: Json, ctx: StepContext<I>): string | null | undefined;
}

export interface ActivityStepDef<I> extends StepBase<I> {
  kind: 'activity';
  activity: ActivityName;
  /** The activity's argument; `attempt` is the step attempt it is for (from 1). */
  args?(ctx: StepContext<I>, attempt: number): Json;
  /** Set for activities that heartbeat, so a lost worker is noticed quickly. */
  heartbeatTimeoutMs?: number;
}

export interface JobStepDef<I> extends StepBase<I> {
  kind: 'job';
  /** Another job type's name; it runs as a child workflow. */
  jobType: string;
  /** The sub-job's input; `attempt` is the step attempt it is for (from 1). */
  input?(ctx: StepContext<I>, attempt: number): Json;
}

export interface BatchStepDef<I> extends StepBase<I> {
  kind: 'batch';
  items(ctx: StepContext<I>): Json[];
  /** Items per activity call or child job. Default 1. */
  chunkSize?: number | ((ctx: StepContext<I>) => number);
  /** Most chunks in flight at once. Default 10. */
  window?: number | ((ctx: StepContext<I>) => number);
  /** What runs per chunk: an activity or a job type. */
  run: { activity: ActivityName } | { jobType: string };
  /** The chunk's activity argument or sub-job input. Default `{items, offset}`. */
  chunkInput?(chunk: { items: Json[]; offset: number }, ctx: StepContext<I>, attempt: number): Json;
}

export type StepDef<I> = ActivityStepDef<I> | JobStepDef<I> | BatchStepDef<I>;

/**
 * Per-type cleanup: an activity the engine runs exactly once when the job is cancelled, in a
 * scope that cannot itself be cancelled, after its running steps and sub-jobs have stopped.
 */
export interface CleanupDef<I> {
  activity: ActivityName;
  args?(ctx: StepContext<I>): Json;
  /** Default 60 000 ms. */
  timeoutMs?: number;
}

export interface JobTypeSpec<S extends z.ZodType> {
  name: string;
  description: string;
  input: S;
  steps: StepDef<z.infer<S>>[];
  /** How many times a failed or cancelled job may be recovered. Default 3. */
  recoveryLimit?: number;
  /** Runs once when the job is cancelled. */
  onCancel?: CleanupDef<z.infer<S>>;
  /** How long a cancelled job waits for its running steps and sub-jobs to stop. Default 5 minutes. */
  cancelWaitMs?: number | ((ctx: StepContext<z.infer<S>>) => number);
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
  onFailure: 'fail' | 'continue';
  timeoutMs: number;
  retryPolicy: NormalizedRetry;
};

export interface JobDefinition<S extends z.ZodType = z.ZodType> {
  name: string;
  description: string;
  input: S;
  steps: NormalizedStep<z.infer<S>>[];
  /** Keys in a valid execution order. */
  order: string[];
  recoveryLimit: number;
  onCancel: CleanupDef<z.infer<S>> | null;
  cancelWaitMs: number | ((ctx: StepContext<z.infer<S>>) => number);
}

export const DEFAULT_RETRY: NormalizedRetry = {
  maxAttempts: 3,
  initialIntervalMs: 1000,
  backoffCoefficient: 2,
  maxIntervalMs: 60_000,
};

/** Declares a job type; throws {@link JobDefinitionError} on a cycle, unknown dependency or duplicate key. */
export function defineJob<S extends z.ZodType>(spec: JobTypeSpec<S>): JobDefinition<S> {
  if (!/^[a-z][A-Za-z0-9]*$/.test(spec.name)) {
    throw new JobDefinitionError(spec.name, 'the name must be camelCase letters and digits');
  }
  const steps = spec.steps.map((s, i): NormalizedStep<z.infer<S>> => {
    const retryPolicy = { ...DEFAULT_RETRY, ...s.retry };
    if (!Number.isInteger(retryPolicy.maxAttempts) || retryPolicy.maxAttempts < 1) {
      throw new JobDefinitionError(spec.name, `step "${s.key}": retry.maxAttempts must be an integer >= 1`);
    }
    if (retryPolicy.backoffCoefficient < 1) {
      throw new JobDefinitionError(spec.name, `step "${s.key}": retry.backoffCoefficient must be >= 1`);
    }
    const weight = s.weight ?? 1;
    if (!(weight >= 0)) throw new JobDefinitionError(spec.name, `step "${s.key}": weight must be >= 0`);
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
      onFailure: s.onFailure ?? 'fail',
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
  return {
    name: spec.name,
    description: spec.description,
    input: spec.input,
    steps,
    order,
    recoveryLimit,
    onCancel: spec.onCancel ?? null,
    cancelWaitMs: spec.cancelWaitMs ?? 5 * 60_000,
  };
}
