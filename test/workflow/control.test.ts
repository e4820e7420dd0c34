/**
 * Operator control against the real dev server, through the demoPipeline demo type:
 * cancellation that waits for sub-jobs, pause/resume (also across a worker restart).
 */
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import {
  cancelSignal,
  pauseJobUpdate,
  pauseSignal,
  resumeJobUpdate,
  resumeSignal,
  type JobParams,
  type JobState,
} from '../../workflows/contracts';
import { initialJobAttributes } from '../../workflows/search-attributes';
import {
  connectTestEnv,
  createTestWorker,
  expectJobStateInvariants,
  queryState,
  recordingActivities,
  type SimulateCall,
  startJob,
  testClient,
  type TestEnv,
  waitFor,
  waitForState,
} from '../helpers';

let env: TestEnv;
let worker: Worker;
let taskQueue: string;
let running: Promise<void>;
let jobs: ReturnType<typeof testClient>;
/** Every simulateWork call the worker ran: which job, which step, which label. */
let calls: SimulateCall[] = [];

beforeAll(async () => {
  env = await connectTestEnv();
  const recorded = recordingActivities(env);
  calls = recorded.calls;
  ({ worker, taskQueue } = await createTestWorker(env, { activities: recorded.activities }));
  running = worker.run();
  jobs = testClient(env, taskQueue);
});
afterAll(async () => {
  worker?.shutdown();
  await running;
  await env?.close();
});

const partIds = (jobId: string, parts: number) =>
  Array.from({ length: parts }, (_, i) => `${jobId}/transform/${i}`);

/** Waits until every part sub-job is inside its work step (a part not started yet counts as not). */
const partsWorking = (parts: string[]) =>
  waitFor(
    () =>
      Promise.all(
        parts.map((id) =>
          queryState(env, id).then(
            (s) => s.steps[0].status,
            () => 'not started',
          ),
        ),
      ),
    (st) => st.every((s) => s === 'running'),
  );

/** Resolves when the workflow closes, whatever the outcome. */
const closed = (h: WorkflowHandle) =>
  h.result().then(
    () => 'ok',
    (e: unknown) => e,
  );

describe('cancel', () => {
  type How = 'signal' | 'native';
  const outcomes: Partial<Record<How, { state: JobState; temporalStatus: string }>> = {};

  it.each<How>(['signal', 'native'])(
    'via %s: cancelling while 3 sub-jobs run their cleanup, cancelled only after all closed; cleanup once; progress < 100',
    async (how) => {
      const handle = await startJob(env, taskQueue, 'demoPipeline', {
        durationMs: 100,
        parts: 3,
        cleanupMs: 1500,
        steps: { transform: { durationMs: 60_000 } },
      });
      const jobId = handle.workflowId;
      const parts = partIds(jobId, 3);
      // All three sub-jobs are inside their work step.
      await partsWorking(parts);
      if (how === 'signal') await handle.signal(cancelSignal, { reason: 'test', by: 'jest' });
      else await handle.cancel();

      const samples: JobState[] = [];
      await waitFor(
        async () => {
          const s = await queryState(env, jobId);
          samples.push(s);
          return s;
        },
        (s) => s.closedAt !== null,
        30_000,
        50,
      );
      await closed(handle);
      // While the sub-jobs ran their 1.5 s cleanup the job said `cancelling` and showed them running.
      const cancelling = samples.filter((s) => s.status === 'cancelling');
      expect(cancelling.length).toBeGreaterThan(3);
      expect(cancelling[0].activeSubJobs.length).toBeGreaterThan(0);
      expect(cancelling[0].activeSubJobs[0].status).toBe('cancelling');

      const desc = await handle.describe();
      expect(desc.status.name).toBe('CANCELLED');
      for (const id of parts) {
        const child = await env.client.workflow.getHandle(id).describe();
        expect(child.status.name).toBe('CANCELLED');
        expect(child.closeTime!.getTime()).toBeLessThanOrEqual(desc.closeTime!.getTime());
      }
      // Cleanup ran exactly once in the job and once in each sub-job.
      expect(calls.filter((c) => c.jobId === jobId && c.step === 'onCancel')).toHaveLength(1);
      for (const id of parts) {
        expect(calls.filter((c) => c.jobId === id && c.step === 'onCancel')).toHaveLength(1);
      }
      const state = await queryState(env, jobId);
      expect(state.status).toBe('cancelled');
      expect(state.progress).toBeLessThan(100);
      expect(state.cancellation).toMatchObject({ leftRunning: [], cleanup: 'completed' });
      expect(state.steps.map((s) => s.status)).toEqual(['completed', 'cancelled', 'not_run', 'not_run']);
      outcomes[how] = { state, temporalStatus: desc.status.name };
    },
  );

  it('the native request and the signal give the same outcome', () => {
    const pick = (o: { state: JobState; temporalStatus: string } | undefined) =>
      o && {
        temporal: o.temporalStatus,
        status: o.state.status,
        steps: o.state.steps.map((s) => s.status),
        cleanup: o.state.cancellation?.cleanup,
        leftRunning: o.state.cancellation?.leftRunning,
        actions: o.state.control.actions.map((a) => a.action),
      };
    expect(outcomes.signal).toBeDefined();
    expect(pick(outcomes.native)).toEqual(pick(outcomes.signal));
    expect(outcomes.signal!.state.cancellation).toMatchObject({
      source: 'signal',
      by: 'jest',
      reason: 'test',
    });
    expect(outcomes.native!.state.cancellation).toMatchObject({ source: 'native', by: null });
  });
});

describe('cancel with a bounded wait', () => {
  it('stops waiting after cancelWaitMs, records what was still running, and still closes as Canceled', async () => {
    const handle = await startJob(env, taskQueue, 'demoPipeline', {
      durationMs: 100,
      parts: 2,
      partCleanupMs: 4000,
      cancelWaitMs: 500,
      steps: { transform: { durationMs: 60_000 } },
    });
    const jobId = handle.workflowId;
    const parts = partIds(jobId, 2);
    await partsWorking(parts);
    await handle.cancel();
    await closed(handle);
    const desc = await handle.describe();
    expect(desc.status.name).toBe('CANCELLED');
    const state = await queryState(env, jobId);
    expect(state.status).toBe('cancelled');
    expect(state.cancellation?.leftRunning).toEqual([`${jobId}/transform`]);
    expect(state.logs.map((l) => l.message).join('\n')).toMatch(
      /Stopped waiting after 500 ms; still running/,
    );
    // The parts were still cleaning up when the job closed; they finish on their own.
    for (const id of parts) {
      const h = env.client.workflow.getHandle(id);
      await closed(h);
      const child = await h.describe();
      expect(child.status.name).toBe('CANCELLED');
      expect(child.closeTime!.getTime()).toBeGreaterThan(desc.closeTime!.getTime());
    }
  });
});

describe('pause and resume', () => {
  it('pausing during step 2 of 4 pauses the sub-jobs at their boundary; step 3 does not start until resumed', async () => {
    const handle = await startJob(env, taskQueue, 'demoPipeline', {
      durationMs: 100,
      parts: 2,
      steps: { transform: { durationMs: 1500 } },
    });
    const jobId = handle.workflowId;
    await waitForState(jobs, jobId, (s) => s.steps[1].status === 'running' && s.activeSubJobs.length > 0);
    const ack = await handle.executeUpdate(pauseJobUpdate, { args: [{ reason: 'maintenance', by: 'jest' }] });
    expect(ack.paused).toBe(true);
    expect(ack).toMatchObject({ jobId, action: 'pause' });
    expect(JSON.stringify(ack).length).toBeLessThan(400); // an acknowledgement, not the whole state
    expect(['pausing', 'paused']).toContain(ack.status);

    const paused = await waitForState(jobs, jobId, (s) => s.status === 'paused', { timeoutMs: 30_000 });
    // The sub-jobs stopped between their steps: work done, verify not started.
    for (const id of partIds(jobId, 2)) {
      const sub = await queryState(env, id);
      expect(sub.status).toBe('paused');
      expect(sub.steps.map((s) => s.status)).toEqual(['completed', 'pending']);
    }
    expect(paused.steps[1].status).toBe('running');
    expect(paused.control.actions.at(-1)).toMatchObject({
      action: 'pause',
      by: 'jest',
      reason: 'maintenance',
    });

    // Observed over a period: nothing new starts while paused.
    const seen = new Set<string>();
    const until = Date.now() + 2000;
    while (Date.now() < until) {
      const s = await queryState(env, jobId);
      seen.add(`${s.status}|${s.steps[2].status}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect([...seen]).toEqual(['paused|pending']);

    // Pausing again says so and changes nothing.
    const err = await handle.executeUpdate(pauseJobUpdate, { args: [{}] }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
    expect(String((err as WorkflowUpdateFailedError).cause)).toMatch(/already paused/);
    expect((await queryState(env, jobId)).control.actions).toHaveLength(paused.control.actions.length);
    // The pause signal (Web UI, CLI) cannot answer: it says so in the job's log and changes nothing.
    await handle.signal(pauseSignal, { by: 'cli' });
    const afterSignal = await waitForState(jobs, jobId, (s) =>
      s.logs.some((l) => /Ignored pause signal: .*already paused/.test(l.message)),
    );
    expect(afterSignal.control.actions).toHaveLength(paused.control.actions.length);

    const resumed = await handle.executeUpdate(resumeJobUpdate, { args: [{ by: 'jest' }] });
    expect(resumed).toMatchObject({ action: 'resume', paused: false });
    const done = (await handle.result()) as JobState;
    expectJobStateInvariants(done);
    expect(done.status).toBe('completed');
    expect(done.control.actions.map((a) => a.action)).toEqual(['pause', 'resume']);
  });

  it('a pause survives a worker restart: resumed on a new worker, the job completes', async () => {
    const own = await createTestWorker(env);
    let ownRun = own.worker.run();
    const handle = await startJob(env, own.taskQueue, 'demoPipeline', {
      durationMs: 300,
      parts: 1,
    });
    await waitForState(jobs, handle.workflowId, (s) => s.steps[0].status === 'running');
    await handle.executeUpdate(pauseJobUpdate, { args: [{ by: 'jest' }] });
    await waitForState(jobs, handle.workflowId, (s) => s.status === 'paused');
    own.worker.shutdown();
    await ownRun;

    // No worker now: the signal is stored by the server and delivered to the next worker.
    await handle.signal(resumeSignal, { by: 'jest', reason: 'after restart' });
    const again = await createTestWorker(env, { taskQueue: own.taskQueue });
    ownRun = again.worker.run();
    try {
      const done = (await handle.result()) as JobState;
      expectJobStateInvariants(done);
      expect(done.status).toBe('completed');
      expect(done.steps.map((s) => s.status)).toEqual(['completed', 'completed', 'completed', 'completed']);
      expect(done.control.actions.map((a) => a.action)).toEqual(['pause', 'resume']);
    } finally {
      again.worker.shutdown();
      await ownRun;
    }
  });

  it('a hold survives a worker restart: decided on a new worker, the job goes on', async () => {
    const own = await createTestWorker(env);
    let ownRun = own.worker.run();
    const handle = await startJob(env, own.taskQueue, 'demoHold', { durationMs: 50, failAttempts: 2 });
    const held = await waitForState(jobs, handle.workflowId, (s) => s.status === 'held');
    expect(held.hold).toMatchObject({ step: 'sync', attempts: 2 });
    own.worker.shutdown();
    await ownRun;

    // A new worker replays the held job from its history and takes the operator's decision.
    const again = await createTestWorker(env, { taskQueue: own.taskQueue });
    ownRun = again.worker.run();
    try {
      const replayed = await waitForState(jobs, handle.workflowId, (s) => s.status === 'held');
      expect(replayed.hold).toEqual(held.hold);
      const ack = await jobs.retryStep(handle.workflowId, { by: 'jest', reason: 'after restart' });
      expect(ack.action).toBe('retry_step');
      const done = (await handle.result()) as JobState;
      expectJobStateInvariants(done);
      expect(done.status).toBe('completed');
      expect(done.steps.map((s) => s.status)).toEqual(['completed', 'completed', 'completed']);
    } finally {
      again.worker.shutdown();
      await ownRun;
    }
  });

  it('a job that runs past the time its ETA allowed is marked overrun once, and says so in its log', async () => {
    // What StepwiseClient.start passes for a type with history: here set by hand, 1.5 s.
    const params: JobParams = { input: { durationMs: 3000 }, overrunAfterMs: 1500 };
    const jobId = `overrun-${Date.now()}`;
    const handle = await env.client.workflow.start('demoHold', {
      taskQueue,
      workflowId: jobId,
      args: [params],
      typedSearchAttributes: initialJobAttributes('demoHold'),
    });
    const over = await waitForState(jobs, jobId, (s) => s.etaOverrun !== null);
    expect(over.closedAt).toBeNull();
    expect(over.etaOverrun?.overrunAfterMs).toBe(1500);
    expect(Date.parse(over.etaOverrun!.at) - Date.parse(over.startedAt)).toBeGreaterThanOrEqual(1500);
    expect(over.logs.map((l) => l.message)).toContain(
      'Running longer than expected: over 1500 ms (its learned ETA and margin)',
    );
    await handle.signal(cancelSignal, { by: 'jest' });
    const done = (await handle.result().catch(() => null)) ?? (await queryState(env, jobId));
    expect(done.etaOverrun).toEqual(over.etaOverrun);
  });
});
