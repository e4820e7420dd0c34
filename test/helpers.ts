/** Shared test wiring: a real client and worker against the run's dev server. */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Client, type WorkflowHandle } from '@temporalio/client';
import { NativeConnection, type Worker, type WorkerOptions } from '@temporalio/worker';
import type { PipelineConfig } from '../activities/pipeline-config';
import { createActivities, type ExampleActivities } from '../activities';
import { StepwiseClient } from '../src/client/client';
import { JobOperationError } from '../src/client/errors';
import { connectTemporal } from '../src/temporal';
import { createWorker } from '../src/worker-factory';
import type { WorkerVersioning } from '../src/worker-versioning';
import type { StepwiseApp } from '../workflows/engine/app';
import exampleApp from '../workflows/app';
import type { ActivityJobRef } from '../workflows/engine/step-io';
import type { SimulateWorkArgs } from '../workflows/jobs/demo-contracts';
import { jobStateQuery, type JobParams, type JobState } from '../workflows/contracts';
import { jobStateViolations, transitionViolations } from '../workflows/engine/invariants';
import { initialJobAttributes } from '../workflows/search-attributes';

export interface TestEnv {
  client: Client;
  nativeConnection: NativeConnection;
  address: string;
  close(): Promise<void>;
}

export async function connectTestEnv(): Promise<TestEnv> {
  const address = process.env.STEPWISE_TEST_TEMPORAL_ADDRESS;
  if (!address)
    throw new Error(
      'STEPWISE_TEST_TEMPORAL_ADDRESS unset: run through jest (global setup starts the dev server)',
    );
  const connection = await connectTemporal({ address });
  const nativeConnection = await NativeConnection.connect({ address });
  const client = new Client({ connection, namespace: 'default' });
  return {
    client,
    nativeConnection,
    address,
    close: async () => {
      await connection.close();
      await nativeConnection.close();
    },
  };
}

/**
 * Pipeline folders under a fresh temporary folder (in test/.tmp, removed by nobody but cheap):
 * `import/` (the import root), `index.sqlite`, `work/`, `datasets/`; limits as given.
 */
export function testPipelineConfig(overrides: Partial<PipelineConfig> = {}): PipelineConfig {
  const base = resolve(__dirname, '.tmp', 'pipelines', uniqueId('p'));
  const importRoot = join(base, 'import');
  mkdirSync(importRoot, { recursive: true });
  return {
    importRoot,
    importMaxFileBytes: 1024 * 1024,
    indexDbPath: join(base, 'index.sqlite'),
    workDir: join(base, 'work'),
    datasetRoot: join(base, 'datasets'),
    download: {
      maxBytes: 1024 * 1024,
      concurrency: 4,
      attempts: 3,
      timeoutMs: 10_000,
      contentTypes: ['image/*', 'application/octet-stream'],
    },
    imageMaxPixels: 100_000_000,
    ...overrides,
  };
}

/** The example app's module: what the test bundle (test/global-setup.ts) is built from. */
export const EXAMPLE_APP_MODULE = require.resolve('../workflows/app');

export interface TestWorkerOptions {
  taskQueue?: string;
  /** Folders of the pipelines' real activities (default: fresh temporary ones). */
  pipelines?: PipelineConfig;
  /** Activities instead of the example app's real ones. */
  activities?: ExampleActivities | Record<string, unknown>;
  /** Another app, bundled from `workflowsPath` (its module's default export). */
  app?: StepwiseApp;
  workflowsPath?: string;
  /** Default: the example app's prebuilt test bundle; `undefined` bundles from source. */
  workflowBundlePath?: string;
  overrides?: Partial<WorkerOptions>;
  /** Worker Deployment Versioning: the deployment and build the worker is (default: unversioned). */
  versioning?: WorkerVersioning;
}

/** A worker of the example app (or `opts.app`) on a task queue of its own, so tests never pick up each other's tasks. */
export async function createTestWorker(
  env: TestEnv,
  opts: TestWorkerOptions = {},
): Promise<{ worker: Worker; taskQueue: string }> {
  const taskQueue = opts.taskQueue ?? uniqueId('test-queue');
  const app = opts.app ?? exampleApp;
  const activities =
    opts.activities ??
    createActivities({ client: env.client, pipelines: opts.pipelines ?? testPipelineConfig() });
  const worker = await createWorker({
    app: app as typeof exampleApp,
    activities: activities as ExampleActivities,
    connection: env.nativeConnection,
    namespace: 'default',
    client: env.client,
    workflowsPath: opts.workflowsPath ?? EXAMPLE_APP_MODULE,
    workflowBundlePath:
      'workflowBundlePath' in opts ? opts.workflowBundlePath : process.env.STEPWISE_TEST_BUNDLE,
    overrides: opts.overrides,
    versioning: opts.versioning,
    taskQueue,
  });
  return { worker, taskQueue };
}

export const uniqueId = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;

/** A {@link StepwiseClient} of the example app (or `app`) starting jobs on a test worker's queue. */
export function testClient(env: TestEnv, taskQueue: string): StepwiseClient<typeof exampleApp>;
export function testClient<App extends StepwiseApp>(
  env: TestEnv,
  taskQueue: string,
  app: App,
): StepwiseClient<App>;
export function testClient(env: TestEnv, taskQueue: string, app: StepwiseApp = exampleApp): StepwiseClient {
  return new StepwiseClient({ app, client: env.client, taskQueue });
}

/**
 * Starts a job through {@link StepwiseClient.start} (its input checked as the API checks it) and
 * returns the Temporal handle of its run, for tests that wait on its result or send it signals.
 * `app`: another app, when the worker on `taskQueue` runs one.
 */
export async function startJob(
  env: TestEnv,
  taskQueue: string,
  type: string,
  input: unknown,
  jobId = uniqueId(`test-${type}`),
  app: StepwiseApp = exampleApp,
): Promise<WorkflowHandle> {
  const { runId } = await testClient(env, taskQueue, app).start(type, input, { jobId });
  return env.client.workflow.getHandle(jobId, undefined, { firstExecutionRunId: runId });
}

/**
 * Starts a job type by name with the raw SDK, skipping every check the client makes: only for
 * tests of what the workflow itself does with input no client would send (invalid, over budget).
 */
export async function startUncheckedJob(
  env: TestEnv,
  taskQueue: string,
  type: string,
  input: unknown,
  jobId = uniqueId(`test-${type}`),
): Promise<WorkflowHandle> {
  const params: JobParams = { input };
  return env.client.workflow.start(type, {
    taskQueue,
    workflowId: jobId,
    args: [params],
    typedSearchAttributes: initialJobAttributes(type),
  });
}

/**
 * The job's state (as {@link StepwiseClient.get} reads it) once `done` holds for it, watched with
 * {@link StepwiseClient.watch}; every state seen is checked against the `JobState` invariants. A
 * read that fails on the way to Temporal ({@link JobOperationError}: the server or a worker away
 * for a moment, as the fault tests make them) is tried again at the next interval, as a poll
 * would; a refusal (no such job) ends the wait. Throws with the last state when the job closes
 * first or `timeoutMs` passes.
 */
export async function waitForState(
  jobs: StepwiseClient,
  jobId: string,
  done: (s: JobState) => boolean,
  { timeoutMs = 30_000, intervalMs = 50 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<JobState> {
  const deadline = AbortSignal.timeout(timeoutMs);
  let last: JobState | undefined;
  let lastError: unknown = null;
  while (!deadline.aborted) {
    const stop = new AbortController();
    try {
      for await (const state of jobs.watch(jobId, {
        intervalMs,
        signal: AbortSignal.any([stop.signal, deadline]),
      })) {
        expectJobStateInvariants(state);
        last = state;
        if (done(state)) return state;
      }
      break; // the job closed (or the deadline passed) without `done`
    } catch (err) {
      if (!(err instanceof JobOperationError)) throw err;
      lastError = err;
      await new Promise((r) => setTimeout(r, intervalMs));
    } finally {
      // Ends the deadline's hold on the watch when `done` returned early (or the read threw).
      stop.abort();
    }
  }
  const why = deadline.aborted ? `within ${timeoutMs} ms` : 'before the job closed';
  const cause = lastError instanceof Error ? `; last read error: ${lastError.message}` : '';
  throw new Error(`job ${jobId}: condition not met ${why}; last state: ${JSON.stringify(last)}${cause}`);
}

/** The job's final state: {@link waitForState} until it is closed. */
export const closedJobState = (jobs: StepwiseClient, jobId: string, timeoutMs = 60_000): Promise<JobState> =>
  waitForState(jobs, jobId, (s) => s.closedAt !== null, { timeoutMs });

/**
 * Polls `read` until `done` holds or the deadline passes (then throws with the last value).
 * For waiting on state through queries: never a fixed sleep.
 */
export async function waitFor<T>(
  read: () => Promise<T>,
  done: (v: T) => boolean,
  timeoutMs = 30_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await read();
    if (done(last)) return last;
    if (Date.now() > deadline)
      throw new Error(`condition not met within ${timeoutMs} ms; last value: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** The `Authorization` header of an API key (for `app.inject`). */
export const bearer = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });

/**
 * `STEPWISE_API_KEYS` for tests, and the key of each name: pass the string in the config's source
 * (`loadConfig({ STEPWISE_API_KEYS, ... })`) and send `bearer(keys[name])`.
 */
export function testApiKeys<N extends string>(
  roles: Record<N, 'viewer' | 'operator' | 'admin'>,
): { STEPWISE_API_KEYS: string; keys: Record<N, string> } {
  const keys = {} as Record<N, string>;
  const entries: string[] = [];
  for (const [name, role] of Object.entries(roles) as [N, string][]) {
    keys[name] = `test-key-${randomUUID()}`;
    entries.push(`${name}:${role}:${keys[name]}`);
  }
  return { STEPWISE_API_KEYS: entries.join(','), keys };
}

/**
 * The job's state from its `jobState` query, checked against the `JobState` invariants
 * (`workflows/engine/invariants.ts`) and against the last state this test process read of the same
 * run: a state that contradicts itself fails the test that read it, whatever that test checks.
 */
export async function queryState(env: TestEnv, jobId: string): Promise<JobState> {
  const state = await env.client.workflow.getHandle(jobId).query(jobStateQuery);
  expectJobStateInvariants(state);
  return state;
}

/** The last state read of each run (`jobId#runId`), for the transition rules. */
const lastSeen = new Map<string, JobState>();

/** Throws naming every invariant `state` breaks, alone or as the successor of the last one seen. */
export function expectJobStateInvariants(state: JobState): void {
  const run = `${state.jobId}#${state.runId}`;
  const prev = lastSeen.get(run);
  lastSeen.set(run, state);
  const broken = [...jobStateViolations(state), ...(prev ? transitionViolations(prev, state) : [])];
  if (broken.length > 0) {
    throw new Error(`The state of job ${state.jobId} breaks its invariants: ${broken.join('; ')}`);
  }
}

/** What {@link readJob} needs of the API: Nest's Fastify application (its `inject`). */
type InjectingApp = Pick<NestFastifyApplication, 'inject'>;

/**
 * A job's state as the API answers `GET /api/jobs/:jobId` (which must be a 200), checked against
 * the `JobState` invariants and the transition from the last state read of the run.
 */
export async function readJob(
  app: InjectingApp,
  jobId: string,
  headers: Record<string, string> = {},
): Promise<JobState> {
  const res = await app.inject({ method: 'GET', url: `/api/jobs/${encodeURIComponent(jobId)}`, headers });
  expect(res.statusCode).toBe(200);
  const s = res.json<JobState>();
  expectJobStateInvariants(s);
  return s;
}

/** Reads the job through the API ({@link readJob}) until `done` holds or it closed. */
export function readJobUntil(
  app: InjectingApp | (() => InjectingApp),
  jobId: string,
  done: (s: JobState) => boolean,
  {
    timeoutMs = 60_000,
    everyMs = 50,
    headers = {},
  }: { timeoutMs?: number; everyMs?: number; headers?: Record<string, string> } = {},
): Promise<JobState> {
  return waitFor(
    () => readJob(typeof app === 'function' ? app() : app, jobId, headers),
    (s) => done(s) || s.closedAt !== null,
    timeoutMs,
    everyMs,
  );
}

/** A TCP port free on 127.0.0.1 right now. */
export { freePort } from '../src/dev-server';

/** One `simulateWork` call a worker ran: for which job and step, with which label. */
export interface SimulateCall {
  jobId: string;
  step: string;
  label: string | undefined;
}

/** The real activities, with every `simulateWork` call recorded, so tests can count what ran. */
export function recordingActivities(env: TestEnv): { activities: ExampleActivities; calls: SimulateCall[] } {
  const real = createActivities({ client: env.client, pipelines: testPipelineConfig() });
  const calls: SimulateCall[] = [];
  return {
    calls,
    activities: {
      ...real,
      simulateWork: (job: ActivityJobRef, args: SimulateWorkArgs) => {
        calls.push({ jobId: job.jobId, step: job.stepKey, label: args.label });
        return real.simulateWork(job, args);
      },
    },
  };
}
