/**
 * Hold instead of fail: a step with `onFailure: 'hold'` that runs out of attempts leaves the job
 * `held` — nothing new starts, the error is in the state — until an operator retries the step (one
 * more attempt), skips it or fails the job, each through the API, audited, refused when no step is
 * held. Real dev server; the state is checked against its invariants on every read.
 */
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { ControlAck, JobState } from '../../workflows/contracts';
import type { AuditPage } from '../../src/api/contracts';
import { expectJobStateInvariants, uniqueId, waitFor } from '../helpers';
import { startTestApi, type TestApi } from '../api-harness';

let harness: TestApi;
let app: NestFastifyApplication;

beforeAll(async () => {
  harness = await startTestApi();
  app = harness.app;
});

afterAll(async () => {
  await harness?.close();
});

const path = (jobId: string, rest = ''): string => `/api/jobs/${encodeURIComponent(jobId)}${rest}`;
const json = { 'content-type': 'application/json' };
const get = (url: string) => app.inject({ method: 'GET', url });
const post = (url: string, payload: object = {}) =>
  app.inject({ method: 'POST', url, payload, headers: json });

async function start(input: object): Promise<string> {
  const jobId = uniqueId('hold');
  const res = await post('/api/jobs', { type: 'demoHold', jobId, input });
  expect(res.statusCode).toBe(201);
  return jobId;
}

/** Reads until `done`, checking every state read against the invariants. */
const until = (jobId: string, done: (s: JobState) => boolean): Promise<JobState> =>
  waitFor(
    async () => {
      const res = await get(path(jobId));
      expect(res.statusCode).toBe(200);
      const s = res.json<JobState>();
      expectJobStateInvariants(s);
      return s;
    },
    (s) => done(s) || s.closedAt !== null,
    60_000,
    50,
  );

const held = (attempts: number) => (s: JobState) => s.status === 'held' && s.hold?.attempts === attempts;

describe('a held job', () => {
  it('waits for the operator: retry runs one more attempt (held again if it fails), then the job goes on', async () => {
    const jobId = await start({ durationMs: 50, failAttempts: 3 });
    const first = await until(jobId, held(2));
    expect(first.status).toBe('held');
    expect(first.hold).toMatchObject({ step: 'sync', stepName: 'Sync', attempts: 2, timeoutAt: null });
    expect(first.hold?.error.message).toBe('sync failed on attempt 2 (simulated)');
    // Nothing after the held step has started.
    expect(first.steps.map((s) => s.status)).toEqual(['completed', 'held', 'pending']);
    expect(first.closedAt).toBeNull();

    const ack = await post(path(jobId, '/retry-step'), { reason: 'fixed the credentials' });
    expect(ack.statusCode).toBe(200);
    expect(ack.json<ControlAck>()).toMatchObject({ action: 'retry_step', jobId });
    // Attempt 3 fails too (failAttempts: 3): held again.
    const again = await until(jobId, held(3));
    expect(again.status).toBe('held');
    expect((await post(path(jobId, '/retry-step'), {})).statusCode).toBe(200);
    const done = await until(jobId, (s) => s.closedAt !== null);
    expect(done.status).toBe('completed');
    expect(done.steps.find((s) => s.key === 'sync')?.attempts.map((a) => a.outcome)).toEqual([
      'failed',
      'failed',
      'failed',
      'completed',
    ]);
    expect(done.control.actions.map((a) => [a.action, a.by])).toEqual([
      ['retry_step', 'local'],
      ['retry_step', 'local'],
    ]);
    const audit = (await get(`/api/audit?jobId=${encodeURIComponent(jobId)}`)).json<AuditPage>();
    expect(audit.entries.filter((e) => e.action === 'retry-step').map((e) => e.outcome)).toEqual([
      'accepted',
      'accepted',
    ]);
  });

  it('skip ends the held step skipped and the steps after it run', async () => {
    const jobId = await start({ durationMs: 50, failAttempts: 10 });
    await until(jobId, held(2));
    // Listed as held.
    const listed = await get(`/api/jobs?status=held&jobIdPrefix=${jobId}`);
    expect(listed.json<{ jobs: { jobId: string; status: string }[] }>().jobs).toEqual([
      expect.objectContaining({ jobId, status: 'held' }),
    ]);
    expect(
      (await post(path(jobId, '/skip-step'), { step: 'sync', reason: 'not needed today' })).statusCode,
    ).toBe(200);
    const done = await until(jobId, (s) => s.closedAt !== null);
    expect(done.status).toBe('completed');
    expect(done.steps.map((s) => s.status)).toEqual(['completed', 'skipped', 'completed']);
    expect(done.steps[1].message).toBe('Skipped after it was held by local: not needed today');
  });

  it('fail fails the job with the step’s error', async () => {
    const jobId = await start({ durationMs: 50, failAttempts: 10 });
    await until(jobId, held(2));
    expect((await post(path(jobId, '/fail-step'), {})).statusCode).toBe(200);
    const done = await until(jobId, (s) => s.closedAt !== null);
    expect(done.status).toBe('failed');
    expect(done.error).toMatchObject({ step: 'sync', message: 'sync failed on attempt 2 (simulated)' });
    expect(done.steps.map((s) => s.status)).toEqual(['completed', 'failed', 'not_run']);
  });

  it('can be cancelled while held', async () => {
    const jobId = await start({ durationMs: 50, failAttempts: 10 });
    await until(jobId, held(2));
    expect((await post(path(jobId, '/cancel'), {})).statusCode).toBe(202);
    const done = await until(jobId, (s) => s.closedAt !== null);
    expect(done.status).toBe('cancelled');
    expect(done.hold).toBeNull();
    expect(done.steps.map((s) => s.status)).toEqual(['completed', 'cancelled', 'not_run']);
  });

  it('refuses a decision when no step is held, and a malformed one, changing nothing', async () => {
    const jobId = await start({ durationMs: 3000, failAttempts: 0 });
    await until(jobId, (s) => s.status === 'running');
    const refused = await post(path(jobId, '/retry-step'), {});
    expect(refused.statusCode).toBe(409);
    expect(refused.json<{ message: string }>().message).toMatch(/has no held step/);
    const wrong = await post(path(jobId, '/skip-step'), { step: 'publish' });
    expect(wrong.statusCode).toBe(409);
    expect(wrong.json<{ message: string }>().message).toMatch(
      /Step "publish" of job .* is not held \(pending\)/,
    );
    expect((await post(path(jobId, '/fail-step'), { nope: 1 })).statusCode).toBe(400);
    const after = await until(jobId, (s) => s.status === 'running');
    expect(after.control.actions).toEqual([]);
    expect((await post(path(jobId, '/cancel'), {})).statusCode).toBe(202);
    const done = await until(jobId, (s) => s.closedAt !== null);
    expect((await post(path(jobId, '/retry-step'), {})).statusCode).toBe(409);
    expect(done.status).toBe('cancelled');
  });
});

describe('a stalled step', () => {
  it('marks the job stalled when it stops reporting for its threshold, and running again when it reports', async () => {
    // Sync reports after each of its 2 items (4 s each); its threshold is 2 s.
    const jobId = await start({ durationMs: 8000 });
    const stalled = await until(jobId, (s) => s.status === 'stalled');
    expect(stalled.stalled).toMatchObject({ step: 'sync', stepName: 'Sync', thresholdMs: 2000 });
    expect(stalled.steps[1].status).toBe('running');
    // Marked no sooner than its threshold after the last report, and within the threshold plus one
    // look (the watch looks once a threshold) — times the workflow recorded, with 1 s for a loaded
    // machine's workflow task.
    // The mark of the episode read (a loaded machine may first read the second one, after the
    // first item's report cleared the first): the last stall line, not the first.
    const marked = [...stalled.logs].reverse().find((l) => l.message.startsWith('Step "Sync" stalled'))!;
    const quietFor = Date.parse(marked.at) - Date.parse(stalled.stalled!.since);
    expect(quietFor).toBeGreaterThanOrEqual(2000);
    expect(quietFor).toBeLessThanOrEqual(2 * 2000 + 1000);
    // Listed as stalled.
    const listed = await get(`/api/jobs?status=stalled&jobIdPrefix=${jobId}`);
    expect(listed.json<{ jobs: { jobId: string }[] }>().jobs.map((j) => j.jobId)).toEqual([jobId]);
    // The first item's report clears it.
    const moving = await until(jobId, (s) => s.status !== 'stalled' && s.steps[1].progress > 0);
    expect(moving.stalled).toBeNull();
    expect(moving.logs.map((l) => l.message)).toEqual(
      expect.arrayContaining([
        'Step "Sync" stalled: no progress for 2000 ms (attempt 1)',
        'Step "Sync" moves again',
      ]),
    );
    expect((await post(path(jobId, '/cancel'), {})).statusCode).toBe(202);
    const done = await until(jobId, (s) => s.closedAt !== null);
    expect(done.stalled).toBeNull();
  });
});
