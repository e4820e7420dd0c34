/**
 * Budgets that keep one careless or hostile caller from growing a job's history or state without
 * bound: control calls, large batches, large inputs. Against the real dev server.
 */
import type { Worker } from '@temporalio/worker';
import { WorkflowFailedError } from '@temporalio/client';
import { pauseJobUpdate, resumeJobUpdate, type JobState } from '../../workflows/contracts';
import { DEFAULT_LIMITS, jsonBytes } from '../../workflows/limits';
import {
  connectTestEnv,
  createTestWorker,
  expectJobStateInvariants,
  queryState,
  startJob,
  startUncheckedJob,
  testClient,
  type TestEnv,
  waitForState,
} from '../helpers';

let env: TestEnv;
let worker: Worker;
let taskQueue: string;
let running: Promise<void>;
let jobs: ReturnType<typeof testClient>;

beforeAll(async () => {
  env = await connectTestEnv();
  ({ worker, taskQueue } = await createTestWorker(env));
  running = worker.run();
  jobs = testClient(env, taskQueue);
});
afterAll(async () => {
  worker?.shutdown();
  await running;
  await env?.close();
});

const historyLength = async (jobId: string): Promise<number> =>
  (await env.client.workflow.getHandle(jobId).describe()).historyLength;

describe('control calls', () => {
  it('1,000 pause/resume updates grow the history by a bounded amount per call and leave the state size unchanged', async () => {
    const handle = await startJob(env, taskQueue, 'demoPipeline', {
      durationMs: 100,
      steps: { extract: { durationMs: 9 * 60_000 } }, // stays in step 1 for the whole test
    });
    const jobId = handle.workflowId;
    await waitForState(jobs, jobId, (s) => s.steps[0].status === 'running');
    const call = async (i: number): Promise<void> => {
      const ack = await handle.executeUpdate(i % 2 === 0 ? pauseJobUpdate : resumeJobUpdate, {
        args: [{ by: 'budget-test', reason: `call ${i}` }],
      });
      expect(JSON.stringify(ack).length).toBeLessThan(400);
    };
    for (let i = 0; i < 400; i++) await call(i);
    const [state400, history400] = [await queryState(env, jobId), await historyLength(jobId)];
    for (let i = 400; i < 1000; i++) await call(i);
    const [state1000, history1000] = [await queryState(env, jobId), await historyLength(jobId)];

    // The control history keeps the last 50 actions and counts the rest; the log ring is full.
    expect(state1000.control.actions).toHaveLength(DEFAULT_LIMITS.maxControlActions);
    expect(state1000.control.droppedActions).toBe(1000 - DEFAULT_LIMITS.maxControlActions);
    expect(state1000.control.actions.at(-1)).toMatchObject({
      action: 'resume',
      by: 'budget-test',
      source: 'update',
    });
    // Same shape after 400 and after 1,000 calls: only the times and the call numbers differ.
    expect(Math.abs(jsonBytes(state1000) - jsonBytes(state400))).toBeLessThanOrEqual(200);
    const perCall = (history1000 - history400) / 600;
    expect(perCall).toBeLessThanOrEqual(8); // measured: 6 (workflow task scheduled/started/completed, update accepted/completed, …)
    console.log(
      `control budget: state ${jsonBytes(state400)} bytes after 400 calls, ${jsonBytes(state1000)} after 1000; ` +
        `history ${history400} → ${history1000} events (${perCall.toFixed(2)} per call)`,
    );
    await handle.terminate('budget test done');
  });
});

describe('large batches', () => {
  it('a 100,000-item itemBatch completes; its coordinator is started with ranges, and its state stays small', async () => {
    const handle = await startJob(env, taskQueue, 'itemBatch', {
      count: 100_000,
      chunkSize: 1000,
      window: 20,
    });
    const result = (await handle.result()) as JobState;
    expectJobStateInvariants(result);
    expect(result.status).toBe('completed');
    expect(result.summary.itemsProcessed).toBe(100_000);
    expect(result.steps[0].batch).toEqual({ total: 100, completed: 100, failed: 0, running: 0 });

    const stateBytes = jsonBytes(await queryState(env, handle.workflowId));
    expect(stateBytes).toBeLessThan(64 * 1024);
    // The coordinator's arguments do not grow with the item count (no list of chunk inputs).
    const coordinator = await env.client.workflow.getHandle(`${handle.workflowId}/count`).fetchHistory();
    const started = coordinator.events?.[0]?.workflowExecutionStartedEventAttributes;
    const argBytes = (started?.input?.payloads ?? []).reduce((n, p) => n + (p.data?.length ?? 0), 0);
    expect(argBytes).toBeGreaterThan(0);
    expect(argBytes).toBeLessThan(4 * 1024);
    console.log(
      `100,000-item itemBatch: job state ${stateBytes} bytes, coordinator arguments ${argBytes} bytes`,
    );
  });
});

describe('input budget', () => {
  it('a job started with an input over the budget fails at once, naming the limit, and does not keep the input', async () => {
    // Started past the client, which refuses it before Temporal: this is about the workflow's own check.
    const handle = await startUncheckedJob(env, taskQueue, 'sceneProcessing', {
      newScenes: 1,
      padding: 'x'.repeat(DEFAULT_LIMITS.maxInputBytes),
    });
    const err = await handle.result().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const state = await queryState(env, handle.workflowId);
    expect(state.status).toBe('failed');
    expect(state.error).toMatchObject({ type: 'InputTooLarge', nonRetryable: true });
    expect(state.error?.message).toMatch(/over the limit of 262144 \(STEPWISE_MAX_INPUT_BYTES\)/);
    expect(state.input).toBeNull();
    expect(state.steps.every((s) => s.status === 'not_run')).toBe(true);
  });
});
