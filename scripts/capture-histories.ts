/**
 * Captures the replay fixtures in test/fixtures/histories from real runs: starts an in-memory dev
 * server (the installed Temporal CLI), a worker with the current workflow code, runs a fixed set
 * of small fixture jobs to the end and writes the histories of the chosen workflows, named after
 * their workflow id ("/" written as "__").
 *
 *   npm run fixtures:capture                      # writes fixtures that do not exist yet
 *   npm run fixtures:capture -- --overwrite       # re-captures all of them
 *   npm run fixtures:capture -- fixture-scene     # only these fixture jobs
 *   npm run fixtures:capture -- --verbose         # with the worker's log lines
 *
 * Existing fixtures are kept by default: a history captured from older code is what makes the
 * replay test catch a non-deterministic change, so re-capture only on purpose.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { DevServer, freePort, resolveCliPath } from '../src/dev-server';
import { createActivities } from '../activities';
import { loadPipelineConfig } from '../activities/pipeline-config';
import { createWorker } from '../src/worker-factory';
import app from '../workflows/app';
import { initialJobAttributes } from '../workflows/search-attributes';
import {
  cancelSignal,
  jobStateQuery,
  pauseJobUpdate,
  resumeJobUpdate,
  type JobParams,
  type JobState,
} from '../workflows/contracts';
import { planRecovery } from '../workflows/engine/recovery';

interface FixtureJob {
  /** Workflow id of the job; child ids, and so fixture names, derive from it. */
  jobId: string;
  type: string;
  input: unknown;
  /** Workflows whose histories become fixtures: '' is the job, others are child ids below it. */
  keep: string[];
  /** Operator actions while the job runs; the capture then waits for the job's latest run to close. */
  drive?: (ctx: DriveContext) => Promise<void>;
}

interface DriveContext {
  client: Client;
  handle: WorkflowHandle;
  taskQueue: string;
}

/** Polls the job's state until `done` holds (fixture driving only; tests use test/helpers.ts). */
async function until(handle: WorkflowHandle, done: (s: JobState) => boolean): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (done(await handle.query(jobStateQuery))) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${handle.workflowId}: state not reached in 30 s`);
}
const transformRunning = (s: JobState): boolean =>
  s.steps[1].status === 'running' && s.activeSubJobs.length > 0;

/** Small, quick jobs that still take every engine path worth replaying. */
export const FIXTURE_JOBS: FixtureJob[] = [
  // An activity step, then a sub-job step.
  { jobId: 'fixture-example', type: 'example', input: { durationMs: 100 }, keep: ['', 'subJob'] },
  // An activity step retried by the engine after one failed attempt.
  {
    jobId: 'fixture-example-retry',
    type: 'example',
    input: { durationMs: 100, failAttempts: 1 },
    keep: [''],
  },
  // The DAG with parallel branches, a sub-job step retried once (attempt 1's sceneTask fails), a
  // batch step of sceneTask sub-jobs run by a batchCoordinator, and a `continue` failure that
  // skips its dependent: the job ends completed_with_errors.
  {
    jobId: 'fixture-scene',
    type: 'sceneProcessing',
    input: {
      newScenes: 4,
      durationMs: 20,
      analyze: { chunkSize: 2, window: 2 },
      steps: { scanMetadata: { failAttempts: 1 }, generateMetadata: { failPermanently: true } },
    },
    keep: ['', 'scanMetadata', 'scanMetadata-a2', 'analyze', 'analyze/0'],
  },
  // A batch of cheap activities through the coordinator's window.
  {
    jobId: 'fixture-itemBatch',
    type: 'itemBatch',
    input: { count: 24, chunkSize: 4, window: 3 },
    keep: ['', 'count'],
  },
  // Cancelled by the signal while the batch's sub-jobs run: they and the coordinator are
  // cancelled and waited for, cleanups run, the job asks Temporal to cancel its own run.
  {
    jobId: 'fixture-demo-cancel',
    type: 'demoPipeline',
    input: { durationMs: 50, parts: 2, cleanupMs: 200, steps: { transform: { durationMs: 3000 } } },
    keep: ['', 'transform', 'transform/0'],
    drive: async ({ handle }) => {
      await until(handle, transformRunning);
      await handle.signal(cancelSignal, { by: 'fixture', reason: 'capture' });
    },
  },
  // Since the sub-job deadline stopped counting paused time (patch
  // 'sub-job-deadline-excludes-pause'): a sub-job step paused and resumed through the updates
  // while its sub-job runs, so the deadline's timer stops and restarts.
  {
    jobId: 'fixture-scene-paused-deadline',
    type: 'sceneProcessing',
    input: { newScenes: 1, durationMs: 20, steps: { processDownloads: { durationMs: 1500 } } },
    keep: [''],
    drive: async ({ handle }) => {
      await until(handle, (s) => s.activeSubJobs.length > 0);
      await handle.executeUpdate(pauseJobUpdate, { args: [{ by: 'fixture' }] });
      await until(handle, (s) => s.status === 'paused');
      await handle.executeUpdate(resumeJobUpdate, { args: [{ by: 'fixture' }] });
    },
  },
  // Since batch coordinators carry their step's context instead of every chunk's input.
  {
    jobId: 'fixture-itemBatch-ranges',
    type: 'itemBatch',
    input: { count: 30, chunkSize: 4, window: 3 },
    keep: ['', 'count'],
  },
  // Paused and resumed through the updates while the batch's sub-jobs run.
  {
    jobId: 'fixture-demo-pause',
    type: 'demoPipeline',
    input: { durationMs: 50, parts: 1, steps: { transform: { durationMs: 600 } } },
    keep: ['', 'transform', 'transform/0'],
    drive: async ({ handle }) => {
      await until(handle, transformRunning);
      await handle.executeUpdate(pauseJobUpdate, { args: [{ by: 'fixture' }] });
      await until(handle, (s) => s.status === 'paused');
      await handle.executeUpdate(resumeJobUpdate, { args: [{ by: 'fixture' }] });
    },
  },
  // A recovery run from step 3 after a failure there, carrying steps 1-2 (the fixture is the
  // latest run: the recovery).
  {
    jobId: 'fixture-demo-recovery',
    type: 'demoPipeline',
    input: { durationMs: 20, parts: 1, steps: { load: { failRuns: 1 } } },
    keep: [''],
    drive: async ({ client, handle, taskQueue }) => {
      await handle.result().catch(() => undefined);
      const state = await handle.query(jobStateQuery);
      const plan = planRecovery(app.find(state.type)!, state);
      if (!plan.ok) throw new Error(plan.message);
      const params: JobParams = { input: state.input, recovery: plan.params };
      await client.workflow.start(state.type, {
        taskQueue,
        workflowId: handle.workflowId,
        args: [params],
        typedSearchAttributes: initialJobAttributes(state.type),
      });
    },
  },
];

const fixtureFile = (dir: string, workflowId: string): string =>
  join(dir, `${workflowId.replaceAll('/', '__')}.json`);

export async function captureHistories(opts: {
  outDir: string;
  overwrite: boolean;
  only: string[];
  log: (line: string) => void;
}): Promise<string[]> {
  const unknown = opts.only.filter((id) => !FIXTURE_JOBS.some((j) => j.jobId === id));
  if (unknown.length > 0) {
    throw new Error(
      `unknown fixture job ${unknown.join(', ')}; known: ${FIXTURE_JOBS.map((j) => j.jobId).join(', ')}`,
    );
  }
  const jobs = FIXTURE_JOBS.filter((j) => opts.only.length === 0 || opts.only.includes(j.jobId)).filter(
    (j) => opts.overwrite || j.keep.some((k) => !existsSync(fixtureFile(opts.outDir, childId(j, k)))),
  );
  if (jobs.length === 0) {
    opts.log('every fixture exists; pass --overwrite to capture them again');
    return [];
  }
  const port = await freePort();
  const server = await DevServer.start({ port, uiPort: port, headless: true, startTimeoutMs: 90_000 });
  const written: string[] = [];
  try {
    const connection = await Connection.connect({ address: server.address });
    const nativeConnection = await NativeConnection.connect({ address: server.address });
    const client = new Client({ connection, namespace: 'default' });
    try {
      const taskQueue = 'stepwise';
      // No prebuilt bundle: the workflows are bundled now, from this checkout's code.
      const worker = await createWorker({
        app,
        // The fixture jobs do not touch the pipelines' folders.
        activities: createActivities({ client, pipelines: loadPipelineConfig() }),
        connection: nativeConnection,
        namespace: 'default',
        client,
        taskQueue,
        workflowsPath: require.resolve('../workflows/app'),
      });
      await worker.runUntil(async () => {
        await Promise.all(
          jobs.map(async (job) => {
            const def = app.find(job.type);
            if (!def) throw new Error(`unknown job type ${job.type}`);
            const params: JobParams = { input: def.input.parse(job.input) };
            // Started like the API starts jobs.
            const handle = await client.workflow.start(def.name, {
              taskQueue,
              workflowId: job.jobId,
              args: [params],
              typedSearchAttributes: initialJobAttributes(def.name),
              staticSummary: `${def.name} job`,
              staticDetails: def.description,
            });
            // A workflow task that keeps failing (e.g. a non-deterministic change) never returns.
            let timer: NodeJS.Timeout | undefined;
            const deadline = new Promise<never>((_, rej) => {
              timer = setTimeout(() => rej(new Error(`${job.jobId} did not finish in 120 s`)), 120_000);
            });
            // Cancelled and failed runs are fixtures too: wait for the close, whatever it is.
            const closed = async (): Promise<void> => {
              await job.drive?.({ client, handle, taskQueue });
              await client.workflow
                .getHandle(job.jobId)
                .result()
                .catch(() => undefined);
            };
            try {
              await Promise.race([closed(), deadline]);
            } finally {
              clearTimeout(timer);
            }
            opts.log(`${job.jobId}: ${job.type} closed`);
          }),
        );
      });
      mkdirSync(opts.outDir, { recursive: true });
      for (const job of jobs) {
        for (const k of job.keep) {
          const id = childId(job, k);
          const file = fixtureFile(opts.outDir, id);
          if (existsSync(file) && !opts.overwrite) continue;
          // The CLI writes the history JSON format the replayer reads (the SDK's converter is internal).
          const json = execFileSync(
            resolveCliPath(),
            ['workflow', 'show', '--workflow-id', id, '--output', 'json', '--address', server.address],
            { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
          );
          const history = JSON.parse(json) as { events?: unknown[] };
          writeFileSync(file, JSON.stringify(history, null, 2) + '\n');
          written.push(file);
          opts.log(`wrote ${file} (${history.events?.length ?? 0} events)`);
        }
      }
    } finally {
      await connection.close();
      await nativeConnection.close();
    }
  } finally {
    await server.stop();
  }
  return written;
}

function childId(job: FixtureJob, key: string): string {
  return key === '' ? job.jobId : `${job.jobId}/${key}`;
}

if (require.main === module) {
  const args = process.argv.slice(2);
  // Some fixture jobs fail steps on purpose: the worker's lines only with --verbose.
  Runtime.install({
    logger: new DefaultLogger('WARN', args.includes('--verbose') ? undefined : () => undefined),
  });
  captureHistories({
    outDir: resolve(process.cwd(), 'test/fixtures/histories'),
    overwrite: args.includes('--overwrite'),
    only: args.filter((a) => !a.startsWith('--')),
    log: (line) => console.log(line),
  }).then(
    () => process.exit(0),
    (err: unknown) => {
      console.error('capturing histories failed:', err);
      process.exit(1);
    },
  );
}
