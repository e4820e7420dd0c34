/**
 * The app: the one list of job types a team hands to Stepwise. From it come the catalog the API
 * serves (`app.jobs`), the workflows a worker runs (the app is itself the workflow bundle's
 * default export: one workflow function that dispatches on the workflow type) and the activity
 * interface the worker must implement (`ActivitiesOf<typeof app>`).
 *
 * Workflow-safe: it imports only the engine, `@temporalio/workflow` and `zod` types.
 */
import * as wf from '@temporalio/workflow';
import type { z } from 'zod';
import type { JobParams } from '../contracts';
import { batchCoordinator } from './batch';
import { BATCH_COORDINATOR_TYPE, type BatchCoordinatorParams } from './batch-contracts';
import { bulkJobDefinition } from './bulk';
import { BULK_JOB_TYPE } from './bulk-contracts';
import type { JobDefinition } from './definition';
import { limiterWorkflow } from './limiter';
import { LIMITER_TYPE, type LimiterParams } from './limiter-contracts';
import { jobWorkflow } from './workflow';

/** Marks an app, across copies of the package (a symbol from the global registry). */
const APP_BRAND: unique symbol = Symbol.for('stepwise.app') as never;

/** What `defineApp` takes. */
export interface AppSpec<J extends readonly JobDefinition[]> {
  /**
   * The job types a caller may start, in the order the catalog lists them. The sub-job types
   * their steps run come with them (a definition built with the typed builder knows them), so
   * they may be left out.
   */
  jobs: J;
}

/**
 * A Stepwise app: the job types of one team, as a value. Export it as the default export of the
 * module a worker bundles (`export default defineApp({ jobs: [...] })`); hand the same value to
 * the API (`StepwiseModule.forRoot({ app })`), the client (`new StepwiseClient({ app })`) and
 * the test environment.
 *
 * It is a function because Temporal runs a bundle's default export for every workflow type the
 * bundle does not export by name: the app dispatches on the workflow type, so the type names in
 * histories are the job types' names.
 */
export interface StepwiseApp<J extends readonly JobDefinition[] = readonly JobDefinition[]> {
  /** The workflow function the worker runs for every workflow type (do not call it yourself). */
  (params: unknown): Promise<unknown>;
  /**
   * Every job type of the app: the listed ones, then the sub-job types they reach, then the
   * framework's own bulk-action type (`stepwiseBulk`, started by `POST /api/bulk`).
   */
  readonly jobs: readonly JobDefinition[];
  /** The list given to `defineApp`, with its types. */
  readonly listed: J;
  /** The job type of that name, if the app has it. */
  find(name: string): JobDefinition | undefined;
  /** @internal */
  readonly [APP_BRAND]: true;
}

/** Thrown by `defineApp` when the list is not a consistent app; the message says what to change. */
export class AppDefinitionError extends Error {
  constructor(detail: string) {
    super(`Invalid Stepwise app: ${detail}`);
    this.name = 'AppDefinitionError';
  }
}

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void
  ? I
  : never;

/**
 * The activities a worker of `App` must be given: every activity its job types' steps call (the
 * sub-jobs' included), with the argument and result types the definitions expect. The framework's
 * own activities are not part of it: `createWorker` adds them.
 */
export type ActivitiesOf<App> =
  App extends StepwiseApp<infer J> ? UnionToIntersection<NonNullable<J[number]['__activities']>> : never;

/** The input a job type takes from a caller (before defaults are applied). */
export type JobInputOf<D> = D extends JobDefinition<infer S> ? z.input<S> : never;

/** The names of the job types a caller may start in `App`. */
export type JobNameOf<App> = App extends StepwiseApp<infer J> ? J[number]['name'] : never;

/** True for a value `defineApp` made (in any copy of the package). */
export function isStepwiseApp(value: unknown): value is StepwiseApp {
  return typeof value === 'function' && (value as Partial<StepwiseApp>)[APP_BRAND] === true;
}

/**
 * Declares the app (adding the framework's bulk-action job type, `stepwiseBulk`). Throws an
 * {@link AppDefinitionError} when two job types share a name, a name is reserved, or a step runs a job type the app does not have.
 *
 * @example
 * export default defineApp({ jobs: [dataImportDefinition, datasetBuildDefinition] });
 */
export function defineApp<const J extends readonly JobDefinition[]>(spec: AppSpec<J>): StepwiseApp<J> {
  if (!Array.isArray(spec?.jobs) || spec.jobs.length === 0) {
    throw new AppDefinitionError('`jobs` must list at least one job type');
  }
  const byName = new Map<string, JobDefinition>();
  const add = (def: JobDefinition, via: string | null): void => {
    if (!def || typeof def.name !== 'string' || !Array.isArray(def.steps)) {
      throw new AppDefinitionError(
        `${via ? `a sub-job of "${via}"` : 'an entry of `jobs`'} is not a job definition (use defineJob or a job builder's build())`,
      );
    }
    const seen = byName.get(def.name);
    if (seen === def) return;
    if (seen) throw new AppDefinitionError(`two different job types are named "${def.name}"`);
    if (def.name === BATCH_COORDINATOR_TYPE) {
      throw new AppDefinitionError(`"${BATCH_COORDINATOR_TYPE}" is the engine's own workflow type`);
    }
    if (def.name === LIMITER_TYPE) {
      throw new AppDefinitionError(`"${LIMITER_TYPE}" is the engine's own workflow type`);
    }
    if (def.name === BULK_JOB_TYPE && def !== bulkJobDefinition) {
      throw new AppDefinitionError(`"${BULK_JOB_TYPE}" is the framework's own bulk-action job type`);
    }
    byName.set(def.name, def);
    for (const sub of def.subJobs ?? []) add(sub, def.name);
  };
  for (const def of spec.jobs) add(def, null);
  // Every app can act on its jobs in bulk (POST /api/bulk): the engine eats its own cooking.
  add(bulkJobDefinition, null);
  for (const def of byName.values()) {
    for (const step of def.steps) {
      const jobType =
        step.kind === 'job'
          ? step.jobType
          : step.kind === 'batch' && 'jobType' in step.run
            ? step.run.jobType
            : null;
      if (jobType !== null && !byName.has(jobType)) {
        throw new AppDefinitionError(
          `step "${step.key}" of "${def.name}" runs job type "${jobType}", which is not in the app: ` +
            'add its definition to `jobs` (or build the step with the definition, not its name)',
        );
      }
    }
  }
  const find = (name: string): JobDefinition | undefined => byName.get(name);
  const workflows = new Map<string, (params: JobParams) => Promise<unknown>>();
  const dispatch = async (params: unknown): Promise<unknown> => {
    const type = wf.workflowInfo().workflowType;
    if (type === BATCH_COORDINATOR_TYPE) return batchCoordinator(params as BatchCoordinatorParams, find);
    if (type === LIMITER_TYPE) return limiterWorkflow(params as LimiterParams);
    const def = byName.get(type);
    if (!def) {
      throw wf.ApplicationFailure.create({
        type: 'UnknownJobType',
        message: `Job type "${type}" is not in this worker's app (known: ${[...byName.keys()].join(', ')})`,
        nonRetryable: true,
      });
    }
    let run = workflows.get(type);
    if (!run) {
      run = jobWorkflow(def);
      workflows.set(type, run);
    }
    return run(params as JobParams);
  };
  // Worker Deployment Versioning: each workflow type's behaviour, read by the SDK once per run before
  // the workflow starts (it then goes with every workflow task completion). Set only on a versioned
  // worker (one with a deployment version): an unversioned one sends none, as before.
  wf.setWorkflowOptions(() => {
    const info = wf.workflowInfo();
    if (!info.currentDeploymentVersion?.deploymentName) return {};
    return { versioningBehavior: versioningBehaviorOf(info.workflowType, find) };
  }, dispatch);
  Object.defineProperties(dispatch, {
    name: { value: 'stepwiseApp' },
    jobs: { value: Object.freeze([...byName.values()]), enumerable: true },
    listed: { value: spec.jobs, enumerable: true },
    find: { value: find, enumerable: true },
    [APP_BRAND]: { value: true },
  });
  return dispatch as unknown as StepwiseApp<J>;
}

/**
 * The versioning behaviour of a run of `type`: a job type's own (`versioning`, `pinned` by default);
 * a batch coordinator is pinned (it inherits its pinned parent's build, and its step ends with it);
 * a concurrency limiter auto-upgrades, because jobs of every build share it and a limiter pinned
 * to an old build would stop granting slots once that build's workers are gone (its code is the
 * framework's, which guards its changes with `patched()`).
 */
export function versioningBehaviorOf(
  type: string,
  find: (name: string) => JobDefinition | undefined,
): 'PINNED' | 'AUTO_UPGRADE' {
  if (type === LIMITER_TYPE) return 'AUTO_UPGRADE';
  if (type === BATCH_COORDINATOR_TYPE) return 'PINNED';
  return find(type)?.versioning === 'auto_upgrade' ? 'AUTO_UPGRADE' : 'PINNED';
}
