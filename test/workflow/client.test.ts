/**
 * `StepwiseClient` against the real dev server, as a program uses it (`stepwise/client`): typed and
 * idempotent starts, its refusals with the API's messages and issue paths, reading, listing and the
 * sub-job tree, control, retry, terminate and watch.
 */
import type { Worker } from '@temporalio/worker';
import {
  InvalidArgument,
  InvalidJobInput,
  JobConflict,
  JobInputTooLarge,
  JobNotControllable,
  JobNotFound,
  StepwiseClient,
  StepwiseError,
  UnknownJobType,
  type JobList,
  type JobState,
  type JobSummary,
} from 'stepwise/client';
import exampleApp from '../../workflows/app';
import { demoPipelineDefinition } from '../../workflows/jobs/demo-pipeline';
import { exampleDefinition } from '../../workflows/jobs/example';
import { itemBatchDefinition } from '../../workflows/jobs/item-batch';
import {
  connectTestEnv,
  createTestWorker,
  expectJobStateInvariants,
  uniqueId,
  waitFor,
  type TestEnv,
} from '../helpers';

let env: TestEnv;
let worker: Worker;
let running: Promise<void>;
let jobs: StepwiseClient<typeof exampleApp>;

beforeAll(async () => {
  env = await connectTestEnv();
  let taskQueue: string;
  ({ worker, taskQueue } = await createTestWorker(env));
  running = worker.run();
  jobs = new StepwiseClient({ app: exampleApp, client: env.client, taskQueue });
});
afterAll(async () => {
  worker?.shutdown();
  await running;
  await env?.close();
});

/** The error `promise` rejects with (fails the test when it resolves). */
async function refusal(promise: Promise<unknown>): Promise<StepwiseError> {
  const outcome = await promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected a refusal, got ${JSON.stringify(outcome.value)}`);
  if (!(outcome.error instanceof StepwiseError)) throw outcome.error;
  return outcome.error;
}

/** Every state `watch` yields until the job closes, each checked against the state invariants. */
async function watchToEnd(jobId: string): Promise<JobState[]> {
  const seen: JobState[] = [];
  for await (const state of jobs.watch(jobId, { intervalMs: 50, signal: AbortSignal.timeout(60_000) })) {
    expectJobStateInvariants(state);
    seen.push(state);
  }
  return seen;
}

/** Watches until `done` holds for a state (then stops watching), or fails after 30 s. */
async function watchUntil(jobId: string, done: (s: JobState) => boolean): Promise<JobState> {
  const stop = new AbortController();
  const deadline = AbortSignal.timeout(30_000);
  let last: JobState | undefined;
  for await (const state of jobs.watch(jobId, {
    intervalMs: 50,
    signal: AbortSignal.any([stop.signal, deadline]),
  })) {
    last = state;
    if (done(state)) {
      stop.abort();
      return state;
    }
  }
  throw new Error(`job ${jobId} never reached the state looked for; last: ${JSON.stringify(last?.status)}`);
}

/** The job's summary once `list` shows it (visibility lags a moment behind the job). */
async function summaryOnceListed(
  list: () => Promise<JobList>,
  jobId: string,
): Promise<JobSummary | undefined> {
  const page = await waitFor(list, (l) => l.jobs.some((j) => j.jobId === jobId));
  return page.jobs.find((j) => j.jobId === jobId);
}

describe('start', () => {
  it('starts a job by its definition, returns the same job for the same id and input, and refuses another input or type', async () => {
    const jobId = uniqueId('client-start');
    const first = await jobs.start(exampleDefinition, { durationMs: 10 }, { jobId });
    expect(first).toEqual({
      jobId,
      runId: expect.any(String),
      type: 'example',
      status: 'running',
      created: true,
    });

    // The defaults the schema applies count as given: `{ durationMs: 10, failAttempts: 0 }` is the same input.
    const again = await jobs.start('example', { durationMs: 10, failAttempts: 0 }, { jobId });
    expect(again).toMatchObject({ jobId, runId: first.runId, type: 'example', created: false });

    const other = await refusal(jobs.start(exampleDefinition, { durationMs: 20 }, { jobId }));
    expect(other).toBeInstanceOf(JobConflict);
    expect(other.message).toBe(
      `Job "${jobId}" already exists with a different input (first difference at input.durationMs); use another jobId, or retry the job to run it again`,
    );
    expect(other.issues).toEqual([
      { path: ['input', 'durationMs'], message: 'differs from the existing job’s input' },
    ]);

    const otherType = await refusal(jobs.start(itemBatchDefinition, {}, { jobId }));
    expect(otherType).toBeInstanceOf(JobConflict);
    expect(otherType.message).toBe(`Job "${jobId}" already exists as type "example", not "itemBatch"`);
    expect(otherType.issues).toEqual([{ path: ['type'], message: 'the existing job is of type "example"' }]);

    // Closed, it is still the same job.
    const states = await watchToEnd(jobId);
    expect(states.at(-1)?.status).toBe('completed');
    expect(await jobs.start(exampleDefinition, { durationMs: 10 }, { jobId })).toMatchObject({
      runId: first.runId,
      status: 'completed',
      created: false,
    });
  });

  it('refuses an unknown type, an internal type and a malformed id, and starts nothing', async () => {
    const unknown = await refusal(jobs.start('noSuchType', {}));
    expect(unknown).toBeInstanceOf(UnknownJobType);
    expect(unknown.message).toBe(
      `Unknown job type "noSuchType"; the job types are "example", "sceneProcessing", "itemBatch", "demoPipeline", "demoHold", "demoWait", "demoQueue", "demoApproval", "dataImport", "datasetBuild" (GET /api/job-types)`,
    );

    const internal = await refusal(jobs.start('exampleSubJob', {}));
    expect(internal).toBeInstanceOf(InvalidArgument);
    expect(internal.issues?.[0].path).toEqual(['type']);
    expect(internal.message).toMatch(/"exampleSubJob" is an internal sub-job type/);

    const badId = await refusal(jobs.start(exampleDefinition, {}, { jobId: 'a/b' }));
    expect(badId).toBeInstanceOf(InvalidArgument);
    expect(badId.issues?.[0].path).toEqual(['jobId']);
    await expect(jobs.get('a/b')).rejects.toBeInstanceOf(JobNotFound);
  });

  it('refuses input its schema refuses, too deep or too large, with the issue paths, and starts nothing', async () => {
    const jobId = uniqueId('client-invalid');
    const invalid = await refusal(jobs.start('example', { durationMs: 'slow', extra: 1 }, { jobId }));
    expect(invalid).toBeInstanceOf(InvalidJobInput);
    expect(invalid.message).toBe('Invalid input for job type "example"');
    expect(invalid.issues?.map((i) => i.path)).toEqual(
      expect.arrayContaining([
        ['input', 'durationMs'],
        ['input', 'extra'],
      ]),
    );

    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = [deep];
    const tooDeep = await refusal(jobs.start('example', deep, { jobId }));
    expect(tooDeep).toBeInstanceOf(InvalidJobInput);
    expect(tooDeep.issues).toEqual([
      { path: ['input'], message: expect.stringMatching(/deeper than 64 levels/) },
    ]);

    const small = new StepwiseClient({
      app: exampleApp,
      client: env.client,
      limits: { maxInputBytes: 1024 },
    });
    const tooLarge = await refusal(small.start('example', { pad: 'x'.repeat(2000) }, { jobId }));
    expect(tooLarge).toBeInstanceOf(JobInputTooLarge);
    expect(tooLarge.message).toMatch(
      /^Job input is \d+ bytes of JSON; the limit is 1024 bytes \(STEPWISE_MAX_INPUT_BYTES\)$/,
    );

    const missing = await refusal(jobs.get(jobId));
    expect(missing).toBeInstanceOf(JobNotFound);
    expect(missing.message).toBe(`Job "${jobId}" not found`);
  });
});

describe('reading', () => {
  it('get, list and children of a job with a sub-job; watch yields its states to completion', async () => {
    const { jobId } = await jobs.start(exampleDefinition, { durationMs: 50 });
    const states = await watchToEnd(jobId);
    const last = states.at(-1)!;
    expect(last).toMatchObject({ jobId, type: 'example', status: 'completed', progress: 100 });
    // Each state differs from the one before (watch yields changes only), progress never goes back.
    for (let i = 1; i < states.length; i++) {
      expect(JSON.stringify(states[i])).not.toBe(JSON.stringify(states[i - 1]));
      expect(states[i].progress).toBeGreaterThanOrEqual(states[i - 1].progress);
    }

    expect(await jobs.get(jobId)).toEqual(last);

    const tree = await jobs.children(jobId);
    expect(tree).toEqual([
      expect.objectContaining({ type: 'exampleSubJob', status: 'completed', progress: 100, children: [] }),
    ]);
    const subJobId = tree[0].jobId;
    expect(subJobId.startsWith(`${jobId}/subJob`)).toBe(true);
    expect(await jobs.get(subJobId)).toMatchObject({
      jobId: subJobId,
      parentJobId: jobId,
      status: 'completed',
    });

    // Visibility is eventually consistent: the list shows the closed job's final attributes a moment later.
    const listed = await summaryOnceListed(
      () => jobs.list({ type: 'example', status: 'completed', pageSize: 100 }),
      jobId,
    );
    expect(listed).toMatchObject({
      jobId,
      type: 'example',
      status: 'completed',
      totalSteps: 2,
      recoverable: false,
    });
    const sub = await summaryOnceListed(() => jobs.list({ parentJobId: jobId }), subJobId);
    expect(sub).toMatchObject({ type: 'exampleSubJob', parentJobId: jobId });

    const badType = await refusal(jobs.list({ type: 'noSuchType' }));
    expect(badType).toBeInstanceOf(InvalidArgument);
    expect(badType.issues).toEqual([{ path: ['type'], message: 'Unknown job type "noSuchType"' }]);
    const badToken = await refusal(jobs.list({ pageToken: 'bm90LWEtdG9rZW4' }));
    expect(badToken).toBeInstanceOf(InvalidArgument);
    expect(badToken.issues?.[0].path).toEqual(['pageToken']);

    await expect(jobs.children(uniqueId('nobody'))).rejects.toBeInstanceOf(JobNotFound);
  });

  it('watch ends when its signal aborts, without an error', async () => {
    const { jobId } = await jobs.start(demoPipelineDefinition, { durationMs: 60_000, parts: 1 });
    try {
      const stop = new AbortController();
      const seen: JobState[] = [];
      for await (const state of jobs.watch(jobId, { intervalMs: 50, signal: stop.signal })) {
        seen.push(state);
        stop.abort();
      }
      expect(seen).toHaveLength(1);
      expect(seen[0].status).toBe('running');
    } finally {
      await jobs.terminate(jobId, { reason: 'test over' });
    }
  });
});

describe('control', () => {
  it('pause, resume and cancel answer the acknowledged state; what does not fit is JobNotControllable', async () => {
    const { jobId } = await jobs.start(demoPipelineDefinition, { durationMs: 60_000, parts: 1 });
    await watchUntil(jobId, (s) => s.steps[0].status === 'running');

    const paused = await jobs.pause(jobId, { reason: 'look first', by: 'tester' });
    expect(['pausing', 'paused']).toContain(paused.status);
    const twice = await refusal(jobs.pause(jobId));
    expect(twice).toBeInstanceOf(JobNotControllable);
    expect(twice.message).toMatch(new RegExp(`^Job "${jobId}" is already paused`));

    const resumed = await jobs.resume(jobId, { by: 'tester' });
    expect(resumed.status).toBe('running');
    const notPaused = await refusal(jobs.resume(jobId));
    expect(notPaused).toBeInstanceOf(JobNotControllable);
    expect(notPaused.message).toMatch(/is not paused/);

    const cancelling = await jobs.cancel(jobId, { reason: 'done looking', by: 'tester' });
    expect(cancelling.status).toBe('cancelling');
    const states = await watchToEnd(jobId);
    const last = states.at(-1)!;
    expect(last.status).toBe('cancelled');
    expect(last.control.actions.map((a) => [a.action, a.by])).toEqual([
      ['pause', 'tester'],
      ['resume', 'tester'],
      ['cancel', 'tester'],
    ]);

    const closed = await refusal(jobs.pause(jobId));
    expect(closed).toBeInstanceOf(JobNotControllable);
    expect(closed.message).toBe(`Job "${jobId}" is closed (cancelled); it cannot pause`);
    await expect(jobs.cancel(uniqueId('nobody'))).rejects.toBeInstanceOf(JobNotFound);
  });

  it('retries a failed job from the step that failed, after refusing while it runs and a step out of range', async () => {
    const { jobId } = await jobs.start(demoPipelineDefinition, {
      durationMs: 10,
      parts: 1,
      steps: { load: { failRuns: 1 } },
    });
    const running = await refusal(jobs.retry(jobId));
    expect(running).toBeInstanceOf(JobConflict);
    expect(running.message).toBe(`Job "${jobId}" is still running; only a closed job can be retried`);

    const failed = (await watchToEnd(jobId)).at(-1)!;
    expect(failed.status).toBe('failed');
    expect(failed.steps.find((s) => s.key === 'load')?.status).toBe('failed');

    const outOfRange = await refusal(jobs.retry(jobId, { fromStep: 9 }));
    expect(outOfRange).toBeInstanceOf(InvalidArgument);
    expect(outOfRange.issues?.[0].path).toEqual(['fromStep']);

    const retried = await jobs.retry(jobId);
    expect(retried).toMatchObject({ jobId, type: 'demoPipeline', status: 'running' });
    expect(retried.runId).not.toBe(failed.runId);
    const done = (await watchToEnd(jobId)).at(-1)!;
    expect(done).toMatchObject({
      runId: retried.runId,
      status: 'completed',
      recovery: { attempt: 1, fromStep: 3, previousRunId: failed.runId },
    });
    expect(done.steps.map((s) => s.status)).toEqual(['completed', 'completed', 'completed', 'completed']);
  });

  it('terminates a running job at once; it then reads as failed with the reason, and cannot be terminated again', async () => {
    const { jobId } = await jobs.start(demoPipelineDefinition, { durationMs: 60_000, parts: 1 });
    await watchUntil(jobId, (s) => s.steps[0].status === 'running');
    const terminated = await jobs.terminate(jobId, { reason: 'stuck', by: 'tester' });
    expect(terminated).toEqual({ jobId, runId: expect.any(String), status: 'terminated' });

    const states = await watchToEnd(jobId);
    const last = states.at(-1)!;
    expect(last.status).toBe('failed');
    expect(last.message).toBe('Terminated in Temporal: stuck (by tester through the Stepwise client)');

    const again = await refusal(jobs.terminate(jobId));
    expect(again).toBeInstanceOf(JobNotControllable);
    expect(again.message).toBe(`Job "${jobId}" is closed (failed); it cannot be terminated`);
  });
});
