/**
 * Sleep steps, on the real dev server through the API: a step that waits shows when it wakes,
 * wakes no sooner, does not wake while the job is paused (and wakes at the resume once its time
 * passed), wakes at once for a time already passed, and is cancelled with its job. Every state read
 * is checked against the invariants.
 */
import type { JobState } from '../../workflows/contracts';
import { readJob, readJobUntil, uniqueId, waitFor } from '../helpers';
import { startTestApi, type TestApi } from '../api-harness';
import { initialJobAttributes } from '../../workflows/search-attributes';

let h: TestApi;
beforeAll(async () => {
  h = await startTestApi();
});
afterAll(() => h?.close());

const json = { 'content-type': 'application/json' };
const post = (url: string, payload: object = {}) =>
  h.app.inject({ method: 'POST', url, payload, headers: json });
const read = (jobId: string): Promise<JobState> => readJob(h.app, jobId);
const until = (jobId: string, done: (s: JobState) => boolean) => readJobUntil(h.app, jobId, done);
async function start(input: object): Promise<string> {
  const jobId = uniqueId('wait');
  expect((await post('/api/jobs', { type: 'demoWait', jobId, input })).statusCode).toBe(201);
  return jobId;
}
const wakeOf = (s: JobState): string => /^Sleeps until (\S+)$/.exec(s.steps[1].message ?? '')![1];

it('a sleeping step says when it wakes, and wakes no sooner', async () => {
  const jobId = await start({ durationMs: 10, waitMs: 1500 });
  const sleeping = await until(jobId, (s) => s.steps[1].status === 'running');
  expect(sleeping.steps[1]).toMatchObject({ kind: 'sleep', name: 'Wait', status: 'running', progress: 0 });
  expect(sleeping.status).toBe('running');
  const wakeAt = wakeOf(sleeping);
  expect(sleeping.steps[1].wakeAt).toBe(wakeAt);
  expect(Date.parse(wakeAt) - Date.parse(sleeping.steps[1].startedAt!)).toBeGreaterThanOrEqual(1400);
  const done = await until(jobId, (s) => s.closedAt !== null);
  expect(done.status).toBe('completed');
  const result = done.steps[1].result as { wakeAt: string; wokeAt: string };
  expect(result.wakeAt).toBe(wakeAt);
  expect(Date.parse(result.wokeAt)).toBeGreaterThanOrEqual(Date.parse(wakeAt));
  expect(done.steps[1].message).toBe(`Woke at ${result.wokeAt} (due ${wakeAt})`);
  // The next step had the result.
  expect(done.steps[2].status).toBe('completed');
});

it('a paused job does not wake: past its time it stays asleep, and wakes when resumed', async () => {
  const jobId = await start({ durationMs: 10, waitMs: 1000 });
  const sleeping = await until(jobId, (s) => s.steps[1].status === 'running');
  const wakeAt = Date.parse(wakeOf(sleeping));
  expect((await post(`/api/jobs/${jobId}/pause`)).statusCode).toBe(200);
  // Read until well past the wake-up time: every read still paused, the step still asleep.
  await waitFor(
    async () => {
      const s = await read(jobId);
      expect(s.status).toBe('paused');
      expect(s.steps[1].status).toBe('running');
      return s;
    },
    () => Date.now() > wakeAt + 1500,
    30_000,
    100,
  );
  expect((await post(`/api/jobs/${jobId}/resume`)).statusCode).toBe(200);
  const done = await until(jobId, (s) => s.closedAt !== null);
  expect(done.status).toBe('completed');
  const resumedAt = Date.parse(done.control.actions.find((a) => a.action === 'resume')!.at);
  const wokeAt = Date.parse((done.steps[1].result as { wokeAt: string }).wokeAt);
  expect(wokeAt).toBeGreaterThanOrEqual(resumedAt);
  expect(wokeAt).toBeGreaterThan(wakeAt + 1500);
});

it('a time already passed wakes at once; a sleeping job is cancelled without waiting for its time', async () => {
  const past = await start({ durationMs: 10, wakeAt: '2020-01-01T00:00:00Z' });
  const done = await until(past, (s) => s.closedAt !== null);
  expect(done.status).toBe('completed');
  expect((done.steps[1].result as { wakeAt: string }).wakeAt).toBe('2020-01-01T00:00:00.000Z');

  const long = await start({ durationMs: 10, waitMs: 3_600_000 });
  await until(long, (s) => s.steps[1].status === 'running');
  expect((await post(`/api/jobs/${long}/cancel`)).statusCode).toBe(202);
  const cancelled = await until(long, (s) => s.closedAt !== null);
  expect(cancelled.status).toBe('cancelled');
  expect(cancelled.steps.map((s) => s.status)).toEqual(['completed', 'cancelled', 'not_run']);
});

it('a sleep longer than 366 days fails its step at once, saying so', async () => {
  const jobId = await start({ durationMs: 10, wakeAt: '2099-01-01T00:00:00Z' });
  const done = await until(jobId, (s) => s.closedAt !== null);
  expect(done.status).toBe('failed');
  expect(done.error).toMatchObject({ step: 'wait', type: 'SleepTooLong', nonRetryable: true });
  expect(done.error?.message).toMatch(/longer than 366 days/);
  expect(done.steps.map((s) => s.status)).toEqual(['completed', 'failed', 'not_run']);
});

it('a sleep is never stalled, even with a learned stall threshold for its step', async () => {
  // What StepwiseClient.start passes once the type has history: here set by hand, 1 s for the sleep.
  const jobId = uniqueId('wait-stall');
  await h.env.client.workflow.start('demoWait', {
    taskQueue: h.taskQueue,
    workflowId: jobId,
    args: [{ input: { durationMs: 10, waitMs: 2500 }, stallAfterMs: { wait: 1000 } }],
    typedSearchAttributes: initialJobAttributes('demoWait'),
  });
  const done = await waitFor(
    async () => {
      const s = await read(jobId);
      expect(s.status).not.toBe('stalled');
      return s;
    },
    (s) => s.closedAt !== null,
    60_000,
    50,
  );
  expect(done.status).toBe('completed');
  expect(done.logs.map((l) => l.message).filter((m) => m.includes('stalled'))).toEqual([]);
});
