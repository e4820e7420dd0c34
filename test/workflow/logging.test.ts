/**
 * Every log line of a job's workflows and activities carries jobId, jobType, parentJobId and step,
 * the SDK's own lifecycle lines included (added by workflows/interceptors.ts and the activity
 * interceptor in activities/log.ts). The worker's Runtime logger is teed into the project's
 * JsonLogger here, so the assertions read the JSON lines a real worker writes.
 */
import { JsonLogger } from '../../src/logger';
import { connectTestEnv, createTestWorker, startJob, waitFor, type TestEnv } from '../helpers';
import { runtimeLogger } from '../log-capture';

type Line = Record<string, unknown>;

let env: TestEnv;
let lines: Line[] = [];
let detach: () => void = () => undefined;

beforeAll(async () => {
  env = await connectTestEnv();
  detach = runtimeLogger.attach(new JsonLogger('worker', 'debug', (l) => lines.push(JSON.parse(l) as Line)));
});
afterAll(async () => {
  detach();
  await env?.close();
});
beforeEach(() => {
  lines = [];
});

const JOB_FIELDS = ['jobId', 'jobType', 'parentJobId', 'step'] as const;
const jobFields = (l: Line): Line => Object.fromEntries(JOB_FIELDS.map((k) => [k, l[k]]));

/** The first line with this message from this workflow (and activity type), waiting for it: sinks run after the task. */
async function line(message: string, workflowId: string, activityType?: string): Promise<Line> {
  const match = (l: Line): boolean =>
    l.message === message &&
    l.workflowId === workflowId &&
    (activityType === undefined || l.activityType === activityType);
  await waitFor(
    async () => lines.filter(match).length,
    (n) => n > 0,
    10_000,
  );
  return lines.find(match)!;
}

describe('job context on log lines', () => {
  it('SDK workflow and activity lifecycle lines of a job and its sub-job carry the job fields', async () => {
    const { worker, taskQueue } = await createTestWorker(env);
    await worker.runUntil(async () => {
      const handle = await startJob(env, taskQueue, 'example', { durationMs: 20, failAttempts: 1 });
      await handle.result();
      const jobId = handle.workflowId;
      const childId = `${jobId}/subJob`;
      const job = { jobId, jobType: 'example', parentJobId: null };
      const child = { jobId: childId, jobType: 'exampleSubJob', parentJobId: jobId };

      for (const wfId of [jobId, childId]) {
        const expected = wfId === jobId ? job : child;
        expect(jobFields(await line('Workflow started', wfId))).toEqual({ ...expected, step: null });
        expect(jobFields(await line('Workflow completed', wfId))).toEqual({ ...expected, step: null });
      }
      // The first attempt of "prepare" fails, the second completes: both lines name the step.
      expect(jobFields(await line('Activity failed', jobId, 'simulateWork'))).toEqual({
        ...job,
        step: 'prepare',
      });
      expect(jobFields(await line('Activity completed', jobId, 'simulateWork'))).toEqual({
        ...job,
        step: 'prepare',
      });
      expect(jobFields(await line('Activity completed', childId, 'simulateWork'))).toEqual({
        ...child,
        step: 'work',
      });

      // Every other line of these workflows and their activities has the fields too, "Activity
      // started" included (the SDK's copy, written before the arguments are known, is dropped).
      const ours = lines.filter((l) => l.workflowId === jobId || l.workflowId === childId);
      expect(ours.filter((l) => l.message === 'Activity started')).toHaveLength(3);
      expect(ours.length).toBeGreaterThan(10);
      expect(ours.filter((l) => JOB_FIELDS.some((k) => !(k in l))).map((l) => l.message)).toEqual([]);
      expect(ours.filter((l) => l.jobId !== l.workflowId).map((l) => l.message)).toEqual([]);
    });
  });

  it('a batch coordinator names its job as parent and the step it runs; its chunk activities name the job', async () => {
    const { worker, taskQueue } = await createTestWorker(env);
    await worker.runUntil(async () => {
      const handle = await startJob(env, taskQueue, 'itemBatch', { count: 4, chunkSize: 2, window: 2 });
      await handle.result();
      const jobId = handle.workflowId;
      const coordinatorId = `${jobId}/count`;
      expect(jobFields(await line('Workflow completed', coordinatorId))).toEqual({
        jobId: coordinatorId,
        jobType: 'batchCoordinator',
        parentJobId: jobId,
        step: 'count',
      });
      // Its first line comes before the workflow sees its argument; the parent is known from the start.
      expect(jobFields(await line('Workflow started', coordinatorId))).toMatchObject({
        jobId: coordinatorId,
        jobType: 'batchCoordinator',
        parentJobId: jobId,
      });
      expect(jobFields(await line('Activity completed', coordinatorId, 'countItems'))).toMatchObject({
        jobId,
        jobType: 'itemBatch',
        step: 'count',
      });
    });
  });
});
