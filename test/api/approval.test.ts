/**
 * Approval steps, on the real dev server through the API with keys: a `demoApproval` job waits at
 * its approval step (`awaiting_approval`, the step's `approval` saying whose role and until when,
 * progress still), a viewer's decision is refused and changes nothing, an operator's approval with
 * a comment is recorded (result, control log, audit) and the job completes; an admin-only step
 * refuses an operator; a rejection fails the job or lets it go on; a timeout does either; a paused
 * job takes no decision until resumed; a cancelled one stops waiting. A loopback receiver gets
 * `job.awaiting_approval` once per wait — also across a pause. Every state read is checked
 * against the invariants; nothing sleeps to wait for state.
 */
import type { AuditPage } from '../../src/api/contracts';
import { decideApprovalUpdate, type ControlAck, type JobState } from '../../workflows/contracts';
import { startTestApi, type TestApi } from '../api-harness';
import { readJob, readJobUntil, testApiKeys, uniqueId, waitFor } from '../helpers';
import { Receiver, verifyStandardWebhook } from '../webhook-receiver';

const { STEPWISE_API_KEYS, keys } = testApiKeys({ vera: 'viewer', ops: 'operator', root: 'admin' });
type Who = keyof typeof keys;

let h: TestApi;
const receiver = new Receiver();
const hookPath = `/${uniqueId('approval')}`;
let secret = '';

beforeAll(async () => {
  await receiver.start();
  h = await startTestApi({
    STEPWISE_API_KEYS,
    STEPWISE_WEBHOOK_ALLOW_PRIVATE: 'true',
    STEPWISE_NOTIFIER_POLL_MS: '200',
    STEPWISE_NOTIFIER_RESCAN_MS: '10000',
  });
  const sub = await call('root', 'POST', '/api/notifications/subscriptions', {
    url: `${receiver.url}${hookPath}`,
    events: ['job.awaiting_approval'],
  });
  expect(sub.statusCode).toBe(201);
  secret = sub.json<{ secret: string }>().secret;
});
afterAll(async () => {
  await h?.close();
  await receiver.close();
});

function call(who: Who, method: 'GET' | 'POST', url: string, payload?: object) {
  return h.app.inject({
    method,
    url,
    ...(method === 'POST' ? { payload: payload ?? {} } : {}),
    headers: { authorization: `Bearer ${keys[who]}`, 'content-type': 'application/json' },
  });
}
const path = (jobId: string, rest = ''): string => `/api/jobs/${encodeURIComponent(jobId)}${rest}`;
const decide = (
  who: Who,
  jobId: string,
  decision: 'approve' | 'reject',
  comment?: string,
  step = 'approve',
) => call(who, 'POST', path(jobId, `/steps/${step}/${decision}`), comment === undefined ? {} : { comment });

const asVera = { authorization: `Bearer ${keys.vera}` };
const read = (jobId: string): Promise<JobState> => readJob(h.app, jobId, asVera);
const until = (jobId: string, done: (s: JobState) => boolean) =>
  readJobUntil(h.app, jobId, done, { headers: asVera });
const awaiting = (s: JobState): boolean => s.status === 'awaiting_approval';

async function start(input: object): Promise<string> {
  const jobId = uniqueId('appr');
  const res = await call('ops', 'POST', '/api/jobs', { type: 'demoApproval', jobId, input });
  expect(res.statusCode).toBe(201);
  return jobId;
}

/** The signed `job.awaiting_approval` events the receiver got about `jobId`. */
const hooksOf = (jobId: string) =>
  receiver
    .ok(hookPath)
    .map((r) => {
      expect(verifyStandardWebhook(secret, r.headers, r.body)).toBe(true);
      return JSON.parse(r.body) as { type: string; data: Record<string, unknown> & { jobId: string } };
    })
    .filter((p) => p.data.jobId === jobId);
const hooksUntil = (jobId: string, n: number) =>
  waitFor(
    async () => hooksOf(jobId),
    (ps) => ps.length >= n,
    30_000,
    100,
  );

describe('an approval step', () => {
  it('waits without moving; a viewer is refused; an operator approves with a comment and the job completes', async () => {
    const jobId = await start({ durationMs: 10 });
    const waiting = await until(jobId, awaiting);
    expect(waiting.status).toBe('awaiting_approval');
    const step = waiting.steps[1];
    expect(step).toMatchObject({ kind: 'approval', status: 'running', progress: 0 });
    expect(step.message).toBe('Awaiting approval by an operator');
    expect(waiting.message).toBe(step.message);
    expect(step.approval).toMatchObject({
      status: 'awaiting',
      role: 'operator',
      message: 'Publish what was prepared?',
      timeoutAt: null,
      onTimeout: 'fail',
      onReject: 'fail',
      by: null,
      comment: null,
      decidedAt: null,
    });
    expect(waiting.steps[2].status).toBe('pending');

    // The webhook names the step and the approval (delivered while it waits).
    const [hook] = await hooksUntil(jobId, 1);
    expect(hook).toMatchObject({
      type: 'job.awaiting_approval',
      data: {
        status: 'awaiting_approval',
        step: 'approve',
        stepName: 'Approve',
        approval: { role: 'operator', since: step.approval!.since, timeoutAt: null },
      },
    });

    // Progress does not move while it waits: read for a while, every read the same.
    let reads = 0;
    await waitFor(
      async () => {
        const s = await read(jobId);
        expect(s.status).toBe('awaiting_approval');
        expect(s.progress).toBe(waiting.progress);
        expect(s.steps[1].progress).toBe(0);
        return ++reads;
      },
      (n) => n >= 10,
      30_000,
      100,
    );

    const refused = await decide('vera', jobId, 'approve', 'I would like to');
    expect(refused.statusCode).toBe(403);
    const still = await read(jobId);
    expect(still.status).toBe('awaiting_approval');
    expect(still.control.actions).toEqual([]);

    const ack = await decide('ops', jobId, 'approve', 'checked the staging output');
    expect(ack.statusCode).toBe(200);
    expect(ack.json<ControlAck>()).toMatchObject({ jobId, action: 'approve' });
    const done = await until(jobId, (s) => s.closedAt !== null);
    expect(done.status).toBe('completed');
    const decided = done.steps[1];
    expect(decided.status).toBe('completed');
    expect(decided.result).toEqual({
      decision: 'approved',
      by: 'ops',
      comment: 'checked the staging output',
      at: expect.any(String),
    });
    expect(decided.message).toBe('Approved by ops');
    expect(decided.approval).toMatchObject({
      status: 'approved',
      by: 'ops',
      comment: 'checked the staging output',
      decidedAt: expect.any(String),
    });
    expect(done.steps[2].status).toBe('completed');
    expect(done.control.actions).toMatchObject([
      { action: 'approve', by: 'ops', reason: 'checked the staging output', source: 'update' },
    ]);

    // Audited: who, what and why.
    const audit = (
      await call('root', 'GET', `/api/audit?jobId=${encodeURIComponent(jobId)}`)
    ).json<AuditPage>();
    const rows = audit.entries.filter((e) => e.action === 'approve');
    expect(rows).toContainEqual(
      expect.objectContaining({
        actor: 'ops',
        outcome: 'accepted',
        reason: 'approve: checked the staging output',
      }),
    );
    expect(rows).toContainEqual(
      expect.objectContaining({ actor: 'vera', outcome: 'refused', statusCode: 403 }),
    );

    // Decided: a second decision is a 409; the job had one wait, so one webhook.
    expect((await decide('ops', jobId, 'reject')).statusCode).toBe(409);
    expect(hooksOf(jobId)).toHaveLength(1);
  });

  it('refuses what does not fit: unknown job or step (404), another kind of step (409), a long comment (400)', async () => {
    const jobId = await start({ durationMs: 10 });
    await until(jobId, awaiting);
    expect((await decide('ops', uniqueId('nojob'), 'approve')).statusCode).toBe(404);
    expect((await decide('ops', jobId, 'approve', undefined, 'noSuchStep')).statusCode).toBe(404);
    const prepare = await decide('ops', jobId, 'approve', undefined, 'prepare');
    expect(prepare.statusCode).toBe(409);
    expect(prepare.json().message).toMatch(/activity step, not an approval/);
    const long = await decide('ops', jobId, 'approve', 'x'.repeat(1001));
    expect(long.statusCode).toBe(400);
    expect((await read(jobId)).status).toBe('awaiting_approval');
    expect((await call('ops', 'POST', path(jobId, '/cancel'))).statusCode).toBe(202);
    await until(jobId, (s) => s.closedAt !== null);
  });

  it('an admin-only step refuses an operator; an admin rejection fails the job under onReject fail', async () => {
    const jobId = await start({ durationMs: 10, role: 'admin' });
    const waiting = await until(jobId, awaiting);
    expect(waiting.steps[1].message).toBe('Awaiting approval by an admin');
    const refused = await decide('ops', jobId, 'approve');
    expect(refused.statusCode).toBe(403);
    expect(refused.json().message).toMatch(/needs an admin/);
    expect((await read(jobId)).status).toBe('awaiting_approval');
    // The workflow guards it too (a step that began waiting after the API's check): an operator's
    // decision sent straight to Temporal is refused by the update's validator, changing nothing.
    const direct = await h.env.client.workflow
      .getHandle(jobId)
      .executeUpdate(decideApprovalUpdate, {
        args: [{ step: 'approve', decision: 'approve', by: 'ops', role: 'operator' }],
      })
      .then(
        () => null,
        (err: unknown) => err as { cause?: { message?: string } },
      );
    expect(direct?.cause?.message).toMatch(
      /needs an admin to approve or reject it; the caller's role is operator/,
    );
    expect((await read(jobId)).status).toBe('awaiting_approval');

    expect((await decide('root', jobId, 'reject', 'not this week')).statusCode).toBe(200);
    const done = await until(jobId, (s) => s.closedAt !== null);
    expect(done.status).toBe('failed');
    expect(done.error).toMatchObject({
      step: 'approve',
      type: 'ApprovalRejected',
      message: 'Rejected by root: not this week',
    });
    expect(done.steps.map((s) => s.status)).toEqual(['completed', 'failed', 'not_run']);
    expect(done.steps[1].approval).toMatchObject({
      status: 'rejected',
      by: 'root',
      comment: 'not this week',
    });
  });

  it('a rejection under onReject continue completes the step with the decision, and the job goes on', async () => {
    const jobId = await start({ durationMs: 10, onReject: 'continue' });
    await until(jobId, awaiting);
    expect((await decide('ops', jobId, 'reject')).statusCode).toBe(200);
    const done = await until(jobId, (s) => s.closedAt !== null);
    expect(done.status).toBe('completed');
    expect(done.steps[1].result).toMatchObject({ decision: 'rejected', by: 'ops', comment: null });
    expect(done.steps[2].status).toBe('completed');
  });

  it('times out: onTimeout fail fails the job, continue goes on with the decision timed_out', async () => {
    const failing = await start({ durationMs: 10, timeoutMs: 1000 });
    const continuing = await start({ durationMs: 10, timeoutMs: 1000, onTimeout: 'continue' });
    const waiting = await until(failing, awaiting);
    const a = waiting.steps[1].approval!;
    expect(Date.parse(a.timeoutAt!) - Date.parse(a.since)).toBe(1000);
    expect(waiting.steps[1].message).toBe(`Awaiting approval by an operator (until ${a.timeoutAt})`);

    const failed = await until(failing, (s) => s.closedAt !== null);
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatchObject({ step: 'approve', type: 'ApprovalTimedOut' });
    expect(failed.steps[1].approval).toMatchObject({ status: 'timed_out', by: null });
    expect(Date.parse(failed.steps[1].approval!.decidedAt!)).toBeGreaterThanOrEqual(Date.parse(a.timeoutAt!));

    const went = await until(continuing, (s) => s.closedAt !== null);
    expect(went.status).toBe('completed');
    expect(went.steps[1].result).toMatchObject({ decision: 'timed_out', by: null, comment: null });
    expect(went.steps[2].status).toBe('completed');
  });

  it('a paused job takes no decision until resumed (the same wait: one webhook); a cancelled job stops waiting', async () => {
    const jobId = await start({ durationMs: 10 });
    await until(jobId, awaiting);
    await hooksUntil(jobId, 1);
    expect((await call('ops', 'POST', path(jobId, '/pause'))).statusCode).toBe(200);
    const paused = await until(jobId, (s) => s.status === 'paused');
    expect(paused.steps[1].approval?.status).toBe('awaiting');
    const refused = await decide('ops', jobId, 'approve');
    expect(refused.statusCode).toBe(409);
    expect(refused.json().message).toMatch(/is paused .*resume it to decide/);
    expect((await call('ops', 'POST', path(jobId, '/resume'))).statusCode).toBe(200);
    await until(jobId, awaiting);
    expect((await decide('ops', jobId, 'approve', 'after the freeze')).statusCode).toBe(200);
    expect((await until(jobId, (s) => s.closedAt !== null)).status).toBe('completed');
    expect(hooksOf(jobId)).toHaveLength(1);

    const other = await start({ durationMs: 10 });
    await until(other, awaiting);
    expect((await call('ops', 'POST', path(other, '/cancel'))).statusCode).toBe(202);
    const cancelled = await until(other, (s) => s.closedAt !== null);
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.steps.map((s) => s.status)).toEqual(['completed', 'cancelled', 'not_run']);
    expect(cancelled.steps[1].approval).toMatchObject({ status: 'cancelled', by: null });
    expect((await decide('ops', other, 'approve')).statusCode).toBe(409);
  });
});
