/**
 * What a job's state says is true on every transition, against the real dev server: each symptom
 * of a state that contradicted itself, as an operator saw it on a card, followed on a real job.
 * Every state read here also passes the `JobState` invariants (`queryState` checks them).
 */
import type { Worker } from '@temporalio/worker';
import { cancelSignal, type JobState, type StepState } from '../../workflows/contracts';
import { connectTestEnv, createTestWorker, queryState, startJob, type TestEnv, waitFor } from '../helpers';

let env: TestEnv;
let worker: Worker;
let taskQueue: string;
let running: Promise<void>;

beforeAll(async () => {
  env = await connectTestEnv();
  ({ worker, taskQueue } = await createTestWorker(env));
  running = worker.run();
});
afterAll(async () => {
  worker?.shutdown();
  await running;
  await env?.close();
});

const stepOf = (s: JobState, key: string): StepState => s.steps.find((x) => x.key === key)!;

/** Every state of the job the query shows until it closes, sampled as fast as the server answers. */
async function follow(jobId: string, until: (s: JobState) => boolean = (s) => s.closedAt !== null) {
  const samples: JobState[] = [];
  await waitFor(
    async () => {
      const s = await queryState(env, jobId);
      samples.push(s);
      return s;
    },
    until,
    60_000,
    30,
  );
  return samples;
}

/** "9/10" with 9 < 10 anywhere in the text. */
const partWay = (text: string | null): boolean =>
  [...(text ?? '').matchAll(/(\d+)\/(\d+)/g)].some(([, a, b]) => Number(a) < Number(b));

describe('the state tells the truth', () => {
  it("the headline is the running step's own message, never an earlier step's", async () => {
    // Extract reports "extract: 2/5 items"… while it runs; transform's sub-jobs take a while.
    const handle = await startJob(env, taskQueue, 'demoPipeline', {
      durationMs: 100,
      parts: 2,
      steps: { extract: { durationMs: 2000 }, transform: { durationMs: 2500 } },
    });
    const samples = await follow(handle.workflowId);
    const onExtract = samples.filter((s) => s.currentStep === 1 && s.status === 'running');
    expect(onExtract.some((s) => /^extract: [1-4]\/5 items$/.test(s.message ?? ''))).toBe(true);
    const onTransform = samples.filter((s) => s.currentStep === 2 && s.closedAt === null);
    expect(onTransform.length).toBeGreaterThan(0);
    for (const s of onTransform) {
      expect(s.message === null || /^\d+\/2 chunks done/.test(s.message)).toBe(true);
    }
  });

  it('completed steps keep no part-way message, and a completed batch says its final counts', async () => {
    const handle = await startJob(env, taskQueue, 'demoPipeline', {
      durationMs: 100,
      parts: 8,
      steps: { transform: { durationMs: 600 } },
    });
    await follow(handle.workflowId);
    const done = await queryState(env, handle.workflowId);
    expect(done.status).toBe('completed');
    for (const s of done.steps) expect(partWay(s.message)).toBe(false);
    expect(stepOf(done, 'transform')).toMatchObject({
      message: '8/8 chunks done',
      batch: { total: 8, completed: 8, failed: 0, running: 0 },
    });
  });

  it("a sub-job step's message on completion is the sub-job's last word, not its last progress report", async () => {
    // The sub-job's only step reports "sub-job work: 2/5 items"… to its job while it runs.
    const handle = await startJob(env, taskQueue, 'example', { durationMs: 2000 });
    const samples = await follow(handle.workflowId);
    expect(
      samples.some((s) => /^sub-job work: [1-4]\/5 items$/.test(stepOf(s, 'subJob').message ?? '')),
    ).toBe(true);
    const done = samples.at(-1)!;
    expect(done.status).toBe('completed');
    expect(stepOf(done, 'subJob')).toMatchObject({ status: 'completed', message: 'Completed' });
  });

  it('counts the chunk sub-jobs of a batch as running sub-jobs; a cancelled batch step no longer says cancelling', async () => {
    const handle = await startJob(env, taskQueue, 'demoPipeline', {
      durationMs: 100,
      parts: 5,
      partCleanupMs: 800,
      steps: { transform: { durationMs: 60_000 } },
    });
    const jobId = handle.workflowId;
    // Five chunk sub-jobs run under one batch coordinator: the state counts five, not one.
    const busy = (
      await follow(jobId, (s) => stepOf(s, 'transform').status === 'running' && s.runningSubJobs === 5)
    ).at(-1)!;
    expect(busy.activeSubJobs.map((j) => j.type)).toEqual(['batchCoordinator']);
    expect(stepOf(busy, 'transform').batch).toMatchObject({ total: 5, running: 5 });

    await handle.signal(cancelSignal, { by: 'jest', reason: 'truth test' });
    const samples = await follow(jobId);
    const cancelling = samples.filter((s) => s.status === 'cancelling');
    expect(cancelling.length).toBeGreaterThan(0);
    expect(cancelling[0].runningSubJobs).toBeGreaterThan(0);
    const last = samples.at(-1)!;
    expect(last.status).toBe('cancelled');
    expect(last.runningSubJobs).toBe(0);
    expect(last.steps.map((s) => s.status)).toEqual(['completed', 'cancelled', 'not_run', 'not_run']);
    // Nothing on the closed job still says it is cancelling.
    expect(JSON.stringify(last.steps)).not.toContain('cancelling');
    expect(stepOf(last, 'transform')).toMatchObject({ message: null, batch: { running: 0 } });
  });

  it('the steps that never ran after a failure read as not run, not pending', async () => {
    const handle = await startJob(env, taskQueue, 'demoPipeline', {
      durationMs: 50,
      parts: 1,
      steps: { load: { failPermanently: true } },
    });
    await follow(handle.workflowId);
    const s = await queryState(env, handle.workflowId);
    expect(s.status).toBe('failed');
    expect(s.steps.map((x) => x.status)).toEqual(['completed', 'completed', 'failed', 'not_run']);
    expect(stepOf(s, 'report')).toMatchObject({ attempt: 0, startedAt: null, message: null });
  });
});
