/**
 * The worker factory: a Temporal worker for one app, its activities and a connection the caller
 * owns. The worker process (`stepwise worker`), the test environment and the bench all build
 * their workers here, so they run the same wiring.
 */
import type { Client } from '@temporalio/client';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createEngineActivities } from './activity/engine';
import { AuditStore } from './api/audit/audit.store';
import { jobLogInterceptor } from './activity/log';
import { TASK_QUEUE } from '../workflows/contracts';
import { limiterWatchQueue } from '../workflows/engine/limiter-contracts';
import type { ActivitiesOf, StepwiseApp } from '../workflows/engine/app';
import { BULK_JOB_TYPE } from '../workflows/engine/bulk-contracts';
import { bundledJobTypes, checkRegistration, findAppModule, loadApp } from './registration';
import { toDeploymentVersion, type WorkerVersioning } from './worker-versioning';
import { untracedSinks, type Tracing } from './tracing';

/**
 * Workflow interceptor modules, in every bundle: the job context on every workflow log line, and
 * traces for executions whose start carries a trace context (a no-op for the others).
 */
export const WORKFLOW_INTERCEPTOR_MODULES = [
  require.resolve('../workflows/interceptors'),
  require.resolve('../workflows/tracing'),
];

/** What a worker needs besides the app and its activities. */
export interface WorkerDeps {
  /** A client the activities may use (the framework's own report progress and cancel with it). */
  client: Client;
}

/**
 * An activities module: what `stepwise worker --activities <module>` loads (its default export).
 * Made by {@link defineActivities}, which checks the factory's result against the app.
 */
export interface ActivitiesModule<App extends StepwiseApp = StepwiseApp> {
  /** The app these activities are for (used for its types; the worker checks the names too). */
  readonly app: App;
  /** Builds the activities; called once per worker. */
  create(deps: WorkerDeps): ActivitiesOf<App> | Promise<ActivitiesOf<App>>;
}

/**
 * Declares an app's activities as a module the `stepwise` command can load. A missing activity,
 * or one whose argument or result does not fit what a step passes and expects, is a compile error
 * here.
 *
 * @example
 * export default defineActivities(app, ({ client }) => ({ resizeImages: async (job, args) => ... }));
 */
export function defineActivities<App extends StepwiseApp>(
  app: App,
  create: (deps: WorkerDeps) => ActivitiesOf<App> | Promise<ActivitiesOf<App>>,
): ActivitiesModule<App> {
  return { app, create };
}

/** Options of {@link createWorker}. */
export interface CreateWorkerOptions<App extends StepwiseApp> {
  /** The app: its job types are the workflows this worker runs. */
  app: App;
  /** The activities its job types call; checked against the app at compile time and when the worker starts. */
  activities: ActivitiesOf<App>;
  /** The worker's connection to Temporal (the caller owns and closes it). */
  connection: NativeConnection;
  /** A client on the same namespace: the framework's own activities use it. */
  client: Client;
  /** @default 'default' */
  namespace?: string;
  /** @default 'stepwise' */
  taskQueue?: string;
  /**
   * The module whose default export is `app`, which the worker bundles for the workflow sandbox.
   * Default: the module this process loaded `app` from (CommonJS); give it under ESM or jest.
   */
  workflowsPath?: string;
  /** A bundle built by `stepwise bundle` from the same app (production): nothing is bundled at start. */
  workflowBundlePath?: string;
  /**
   * The API's audit trail (its `STEPWISE_AUDIT_DB_PATH`): bulk jobs (`POST /api/bulk`) record each
   * job they act on there, exactly once. Without it, a bulk job this worker runs fails at its first
   * chunk, saying so. The worker opens the file and closes it when the worker stops.
   */
  auditDbPath?: string;
  /**
   * Worker Deployment Versioning: the deployment and build this worker is (its `workerDeploymentOptions`;
   * see src/worker-versioning.ts). Each job type then runs with its `versioning` behaviour
   * (`pinned` by default) and its state names the build that ran it. Unset: an unversioned worker.
   */
  versioning?: WorkerVersioning | null;
  /**
   * Traces (`startTracing` from the `OTEL_*` variables, `src/tracing.ts`): activities run in spans, and the
   * workflows' spans are exported. The caller owns it (shut it down after the worker stopped) and
   * should give `client` its {@link Tracing.clientInterceptors}. Null or absent: tracing is off,
   * and nothing is installed.
   */
  tracing?: Tracing | null;
  /**
   * Where the worker says, once, that a workflow made spans while its own tracing is off (its start
   * came from a traced API, but this worker has no `OTEL_*` endpoint).
   */
  warn?: (message: string) => void;
  /** Any other Temporal worker option (e.g. `shutdownGraceTime`, `identity`). */
  overrides?: Partial<WorkerOptions>;
}

/** Thrown when the activities a worker is given miss some its app's steps call. */
export class MissingActivitiesError extends Error {
  constructor(readonly missing: string[]) {
    super(
      `The worker's activities lack ${missing.map((m) => `"${m}"`).join(', ')}, which the app's steps call: ` +
        'add them to the activities given to the worker',
    );
    this.name = 'MissingActivitiesError';
  }
}

/** The activity names the app's steps and cleanups call (the framework's own job types' are the engine's). */
export function activityNames(app: StepwiseApp): string[] {
  const names = new Set<string>();
  for (const def of app.jobs) {
    if (def.name === BULK_JOB_TYPE) continue;
    for (const step of def.steps) {
      if (step.kind === 'activity') names.add(step.activity);
      if (step.kind === 'batch' && 'activity' in step.run) names.add(step.run.activity);
    }
    if (def.onCancel) names.add(def.onCancel.activity);
  }
  return [...names].sort();
}

/**
 * Creates the worker, after checking that its workflow code holds the same app (a
 * `RegistrationError` names the types that differ) and that every activity the app calls is
 * given (a {@link MissingActivitiesError} names the missing ones).
 */
export async function createWorker<App extends StepwiseApp>(opts: CreateWorkerOptions<App>): Promise<Worker> {
  const given = opts.activities as Record<string, unknown>;
  const taskQueue = opts.taskQueue ?? TASK_QUEUE;
  const audit = opts.auditDbPath ? new AuditStore(opts.auditDbPath) : null;
  const engine = createEngineActivities(opts.client, { app: opts.app, taskQueue, audit });
  const missing = activityNames(opts.app).filter((n) => typeof given[n] !== 'function');
  if (missing.length > 0) throw new MissingActivitiesError(missing);
  let workflowSource: Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'>;
  if (opts.workflowBundlePath) {
    checkRegistration(opts.app, bundledJobTypes(opts.workflowBundlePath), opts.workflowBundlePath);
    workflowSource = { workflowBundle: { codePath: opts.workflowBundlePath } };
  } else {
    const workflowsPath = opts.workflowsPath ?? findAppModule(opts.app);
    if (!workflowsPath) {
      throw new Error(
        'createWorker: give `workflowsPath`, the module whose default export is the app (it could not be found among the loaded modules)',
      );
    }
    checkRegistration(
      opts.app,
      loadApp(workflowsPath).jobs.map((d) => d.name),
      workflowsPath,
    );
    workflowSource = { workflowsPath };
  }
  const { stepwiseLimiterWatch, ...jobActivities } = engine;
  // Both workers are the same version: a deployment version holds every task queue its workers
  // poll, so the limiter watches move from build to build with the jobs. The default behaviour only
  // applies to a workflow that sets none; every Stepwise workflow sets its own (workflows/engine/app.ts).
  const deployment: Pick<WorkerOptions, 'workerDeploymentOptions'> = opts.versioning
    ? {
        workerDeploymentOptions: {
          version: toDeploymentVersion(opts.versioning),
          useWorkerVersioning: true,
          defaultVersioningBehavior: 'PINNED',
        },
      }
    : {};
  const worker = await Worker.create({
    connection: opts.connection,
    namespace: opts.namespace ?? 'default',
    taskQueue,
    ...workflowSource,
    ...deployment,
    activities: { ...given, ...jobActivities },
    // Cancellation reaches an activity with the answer to a heartbeat: send them at least every
    // second, so a cancelled job's activities stop within about a second.
    defaultHeartbeatThrottleInterval: '1s',
    maxHeartbeatThrottleInterval: '1s',
    // With tracing off, the `exporter` sink drops what a workflow started by a traced client sends.
    sinks: opts.tracing
      ? opts.tracing.sinks()
      : untracedSinks(() =>
          opts.warn?.(
            'a workflow sent trace spans, but tracing is off in this worker: they are dropped (set OTEL_EXPORTER_OTLP_ENDPOINT on the workers as on the API)',
          ),
        ),
    interceptors: {
      // Traces first: the activity runs inside its span, which the log lines then name.
      activity: [...(opts.tracing?.activityInterceptors() ?? []), jobLogInterceptor],
      // A prebuilt bundle already holds the workflow interceptors (src/bundle.ts).
      ...(opts.workflowBundlePath ? {} : { workflowModules: WORKFLOW_INTERCEPTOR_MODULES }),
    },
    ...opts.overrides,
  });
  // The concurrency limiters' watches, on a queue of their own (limiterWatchQueue): mostly asleep,
  // one per limiter with active jobs, so many slots. Run and shut down with the worker.
  const watches = await Worker.create({
    connection: opts.connection,
    namespace: opts.namespace ?? 'default',
    taskQueue: limiterWatchQueue(taskQueue),
    ...deployment,
    activities: { stepwiseLimiterWatch },
    maxConcurrentActivityTaskExecutions: LIMITER_WATCH_SLOTS,
    // Watches start once per limiter run: one poll at a time is plenty.
    maxConcurrentActivityTaskPolls: 1,
    defaultHeartbeatThrottleInterval: '1s',
    maxHeartbeatThrottleInterval: '1s',
    ...(opts.overrides?.identity ? { identity: opts.overrides.identity } : {}),
    ...(opts.overrides?.shutdownGraceTime !== undefined
      ? { shutdownGraceTime: opts.overrides.shutdownGraceTime }
      : {}),
  });
  const run = worker.run.bind(worker);
  const shutdown = worker.shutdown.bind(worker);
  const stop = (w: Worker, halt: () => void) => () => {
    if (w.getState() === 'RUNNING') halt();
  };
  worker.shutdown = () => {
    stop(watches, () => watches.shutdown())();
    shutdown();
  };
  // Resolves once both have stopped; either stopping (or failing) stops the other. The audit trail
  // is closed once the worker's tasks are done.
  worker.run = async () => {
    const both = [
      run().finally(stop(watches, () => watches.shutdown())),
      watches.run().finally(stop(worker, shutdown)),
    ];
    try {
      await Promise.all(both);
    } finally {
      await Promise.allSettled(both);
      audit?.close();
    }
  };
  return worker;
}

/**
 * Activity slots of a worker's limiter-watch worker: one per limiter (job type and key) with active
 * jobs. Past it more watches wait, which only delays finding holders that died without a word.
 */
export const LIMITER_WATCH_SLOTS = 10_000;

export { NativeConnection };
