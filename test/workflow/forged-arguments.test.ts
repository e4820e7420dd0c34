/**
 * Forged step results and run arguments through the real Temporal client against the dev server
 * (issue 18, item 5): what anyone who can reach Temporal can do — complete a running activity with
 * a result of their own (`temporal activity complete`), start a run with forged `recovery.carried`
 * or `limits` — must not make the worker read or write outside its roots, nor lift a budget.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CompleteAsyncError } from '@temporalio/activity';
import { WorkflowFailedError } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { jobWorkDir } from '../../activities/paths';
import type { JobParams, JobState } from '../../workflows/contracts';
import { initialJobAttributes } from '../../workflows/search-attributes';
import { LIMIT_BOUNDS } from '../../workflows/limits';
import {
  connectTestEnv,
  createTestWorker,
  queryState,
  testPipelineConfig,
  uniqueId,
  waitFor,
  type TestEnv,
} from '../helpers';
import { pngImage } from '../pipeline-fixtures';

let env: TestEnv;
let worker: Worker;
let taskQueue: string;
let running: Promise<void>;
const cfg = testPipelineConfig();
/** A valid image outside every root: what a forged result would have the worker copy. */
const outsideImage = join(dirname(cfg.workDir), 'outside', 'private.png');

beforeAll(async () => {
  env = await connectTestEnv();
  mkdirSync(dirname(outsideImage), { recursive: true });
  writeFileSync(outsideImage, pngImage(8, 8, 5));
  const real = createActivities({ client: env.client, pipelines: cfg });
  ({ worker, taskQueue } = await createTestWorker(env, {
    pipelines: cfg,
    activities: {
      ...real,
      // The download never finishes by itself: the attacker completes it (async completion).
      datasetDownload: () => {
        throw new CompleteAsyncError();
      },
    },
  }));
  running = worker.run();
});
afterAll(async () => {
  worker?.shutdown();
  await running;
  await env?.close();
});

function start(type: string, params: JobParams, jobId = uniqueId(`forged-${type}`)) {
  return env.client.workflow.start(type, {
    taskQueue,
    workflowId: jobId,
    args: [params],
    typedSearchAttributes: initialJobAttributes(type),
  });
}

async function failedState(handle: { result(): Promise<unknown>; workflowId: string }): Promise<JobState> {
  await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
  return queryState(env, handle.workflowId);
}

describe('forged step results', () => {
  it('a download result completed from outside naming a file outside the scratch folder: refused, nothing read', async () => {
    const outputDir = `sets/${uniqueId('async')}`;
    const handle = await start('datasetBuild', {
      input: { sources: ['https://images.test/a.png'], outputDir },
    });
    // The attacker finds the running download activity and completes it with a result of their own.
    const activityId = await waitFor(
      async () => (await handle.describe()).raw.pendingActivities?.[0]?.activityId ?? null,
      (id) => id !== null,
    );
    const relative = join('..', '..', '..', '..', 'outside', 'private.png');
    await env.client.activity.complete(
      { workflowId: handle.workflowId, activityId: activityId! },
      {
        downloaded: [
          { index: 0, source: 'https://images.test/a.png', file: relative, bytes: 1, contentType: null },
        ],
        rejected: [],
      },
    );
    const state = await failedState(handle);
    const validate = state.steps.find((s) => s.key === 'validate')!;
    expect(validate.status).toBe('failed');
    expect(validate.error).toMatchObject({ type: 'PathRefused', nonRetryable: true });
    expect(validate.error!.message).toMatch(/is not a file name the download step writes/);
    expect(existsSync(join(cfg.datasetRoot, outputDir))).toBe(false);
  });

  it('a recovery run with forged carried results: a label that climbs out of the dataset root writes nothing outside', async () => {
    const jobId = uniqueId('forged-carried');
    const png = pngImage(6, 4, 2);
    const downloads = join(jobWorkDir(cfg.workDir, 'dataset', jobId), 'downloads');
    mkdirSync(downloads, { recursive: true });
    writeFileSync(join(downloads, 'item-00000'), png);
    const { createHash } = await import('node:crypto');
    const sha256 = createHash('sha256').update(png).digest('hex');
    const escape = uniqueId('escape');
    const image = {
      index: 0,
      source: 'https://images.test/a.png',
      file: 'item-00000',
      bytes: png.length,
      contentType: 'image/png',
      format: 'png',
      mimeType: 'image/png',
      width: 6,
      height: 4,
    };
    const carried = {
      download: { result: { downloaded: [image], rejected: [] }, stats: null },
      validate: { result: { images: [image], rejected: [] }, stats: null },
      dedupe: { result: { unique: [{ index: 0, sha256 }], duplicates: [] }, stats: null },
      metadata: { result: { metadata: [{ index: 0, meta: {} }] }, stats: null },
      label: { result: { labels: [{ index: 0, label: `../../../../${escape}` }], counts: {} }, stats: null },
    };
    const outputDir = `sets/${uniqueId('carried')}`;
    const handle = await start(
      'datasetBuild',
      {
        input: { sources: ['https://images.test/a.png'], outputDir },
        recovery: { attempt: 1, fromStep: 6, previousRunId: 'forged', carried },
      },
      jobId,
    );
    const state = await failedState(handle);
    const store = state.steps.find((s) => s.key === 'store')!;
    expect(store.error).toMatchObject({ type: 'PathRefused', nonRetryable: true });
    expect(store.error!.message).toMatch(/is not a label/);
    const everything = readdirSync(dirname(cfg.datasetRoot), { recursive: true }).map(String);
    expect(everything.some((p) => p.includes(escape))).toBe(false);
    expect(existsSync(join(cfg.datasetRoot, outputDir))).toBe(false);
  });

  it('a recovery whose carried results name steps the job does not have is refused before any step', async () => {
    const handle = await start('datasetBuild', {
      input: { sources: ['https://images.test/a.png'], outputDir: 'sets/x' },
      recovery: {
        attempt: 1,
        fromStep: 2,
        previousRunId: 'forged',
        carried: { nope: { result: 1, stats: null } },
      },
    });
    const state = await failedState(handle);
    expect(state.error).toMatchObject({ type: 'InvalidRecovery', step: null });
    expect(state.error!.message).toMatch(
      /recovery.carried\["nope"\] is not a step of job type "datasetBuild"/,
    );
    // Refused before any step: none ran (the engine says not_run for a closed job's unstarted steps).
    expect(state.steps.map((s) => s.status)).toEqual(state.steps.map(() => 'not_run'));
  });
});

describe('forged limits', () => {
  it('limits in the start arguments cannot lift the input budget past LIMIT_BOUNDS', async () => {
    const input = { durationMs: 0, pad: 'x'.repeat(LIMIT_BOUNDS.maxInputBytes.max + 1024) };
    const handle = await start('example', {
      input,
      limits: { maxInputBytes: 100 * 1024 * 1024, maxControlActions: 1e9 },
    });
    const state = await failedState(handle);
    expect(state.error).toMatchObject({ type: 'InputTooLarge' });
    expect(state.error!.message).toMatch(new RegExp(`over the limit of ${LIMIT_BOUNDS.maxInputBytes.max} `));
  });
});
