/**
 * Webhook notifications end to end, on the real dev server: subscriptions through the API, jobs
 * that fail, end `completed_with_errors` or are cancelled, a loopback receiver (with the private
 * address override), signatures checked by this file's own Standard Webhooks verifier, retries,
 * the delivery log, replay, and a restart of the API and the worker in the middle of the retries.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestApi, type TestApi } from '../api-harness';
import type { Delivery } from '../../src/api/notifications/notifications.schemas';
import { uniqueId, waitFor } from '../helpers';
import { Receiver, verifyStandardWebhook } from '../webhook-receiver';
import { initialJobAttributes } from '../../workflows/search-attributes';

const FAST = {
  STEPWISE_WEBHOOK_ALLOW_PRIVATE: 'true',
  STEPWISE_WEBHOOK_RETRY_INITIAL_MS: '300',
  STEPWISE_WEBHOOK_RETRY_MAX_MS: '1000',
  STEPWISE_NOTIFIER_POLL_MS: '200',
  STEPWISE_NOTIFIER_RESCAN_MS: '10000',
};

const receiver = new Receiver();
beforeAll(() => receiver.start());
afterAll(() => receiver.close());

function api(h: TestApi) {
  const json = { 'content-type': 'application/json' };
  return {
    get: (url: string) => h.app.inject({ method: 'GET', url }),
    post: (url: string, payload: object = {}) =>
      h.app.inject({ method: 'POST', url, payload, headers: json }),
    patch: (url: string, payload: object) => h.app.inject({ method: 'PATCH', url, payload, headers: json }),
    del: (url: string) => h.app.inject({ method: 'DELETE', url }),
  };
}

async function startJob(h: TestApi, type: string, input: unknown): Promise<string> {
  const jobId = uniqueId(`n-${type}`);
  const res = await api(h).post('/api/jobs', { type, jobId, input });
  expect(res.statusCode).toBe(201);
  return jobId;
}

const closed = (h: TestApi, jobId: string) =>
  waitFor(
    () => h.jobs.get(jobId),
    (s) => s.closedAt !== null,
    60_000,
    100,
  );

describe('webhook notifications', () => {
  let h: TestApi;
  beforeAll(async () => {
    h = await startTestApi(FAST);
  });
  afterAll(() => h.close());

  it('refuses URLs the address policy forbids, naming the rule', async () => {
    const c = api(h);
    const linkLocal = await c.post('/api/notifications/subscriptions', {
      url: 'http://169.254.169.254/latest',
      events: ['job.failed'],
    });
    expect(linkLocal.statusCode).toBe(400);
    expect(linkLocal.json().message).toMatch(/link-local address, in 169\.254\.0\.0\/16; never allowed/);
    const strict = await startTestApi({ ...FAST, STEPWISE_WEBHOOK_ALLOW_PRIVATE: 'false' });
    try {
      const loop = await api(strict).post('/api/notifications/subscriptions', {
        url: `${receiver.url}/x`,
        events: ['job.failed'],
      });
      expect(loop.statusCode).toBe(400);
      expect(loop.json().message).toMatch(/loopback address.*STEPWISE_WEBHOOK_ALLOW_PRIVATE=true/);
    } finally {
      await strict.close();
    }
  });

  it('delivers failed, completed_with_errors and cancelled jobs once per subscription, signed; a type filter that does not match gets nothing', async () => {
    const c = api(h);
    const events = ['job.failed', 'job.completed_with_errors', 'job.cancelled'];
    const subs: { id: string; secret: string; path: string }[] = [];
    for (const name of ['a', 'b']) {
      const path = `/${uniqueId(name)}`;
      const res = await c.post('/api/notifications/subscriptions', { url: `${receiver.url}${path}`, events });
      expect(res.statusCode).toBe(201);
      const body = res.json();
      expect(body.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
      subs.push({ id: body.id, secret: body.secret, path });
    }
    const otherPath = `/${uniqueId('other')}`;
    const other = await c.post('/api/notifications/subscriptions', {
      url: `${receiver.url}${otherPath}`,
      events,
      jobTypes: ['example'],
    });
    expect(other.statusCode).toBe(201);

    // The secret is shown once: never in a GET.
    const listed = await c.get('/api/notifications/subscriptions');
    expect(listed.body).not.toContain('whsec_');
    expect((await c.get(`/api/notifications/subscriptions/${subs[0].id}`)).body).not.toContain('whsec_');

    const failed = await startJob(h, 'demoPipeline', {
      durationMs: 0,
      parts: 2,
      partsFailing: 1,
      partFailure: 'ECONNRESET from images.example.com',
    });
    const withErrors = await startJob(h, 'sceneProcessing', {
      durationMs: 20,
      newScenes: 2,
      steps: { generateMetadata: { failRuns: 1 } },
    });
    const cancelled = await startJob(h, 'sceneProcessing', { durationMs: 60_000, newScenes: 1 });
    expect((await c.post(`/api/jobs/${cancelled}/cancel`, {})).statusCode).toBeLessThan(300);
    const states = await Promise.all([failed, withErrors, cancelled].map((id) => closed(h, id)));
    expect(states.map((s) => s.status)).toEqual(['failed', 'completed_with_errors', 'cancelled']);

    const byJob = (path: string) =>
      receiver.ok(path).map((r) => JSON.parse(r.body) as { type: string; data: Record<string, unknown> });
    for (const sub of subs) {
      await waitFor(
        async () => byJob(sub.path).length,
        (n) => n >= 3,
        60_000,
        100,
      );
    }
    // A moment for any duplicate to show up: the notifier's next passes rescan these jobs.
    const settled = receiver.received.length;
    await waitFor(
      async () =>
        (await c.get('/api/notifications/deliveries?limit=200')).json().deliveries as { status: string }[],
      (ds) => ds.filter((d) => d.status === 'delivered').length >= 6,
      30_000,
      100,
    );
    expect(receiver.received.length).toBeGreaterThanOrEqual(settled);
    for (const sub of subs) {
      const got = receiver.ok(sub.path);
      expect(got).toHaveLength(3);
      for (const r of got) expect(verifyStandardWebhook(sub.secret, r.headers, r.body)).toBe(true);
      // Another subscription's secret does not verify.
      expect(verifyStandardWebhook(subs.find((s) => s !== sub)!.secret, got[0].headers, got[0].body)).toBe(
        false,
      );
      const payloads = byJob(sub.path);
      const of = (id: string) => payloads.find((p) => p.data.jobId === id)!;
      expect(of(failed)).toMatchObject({
        type: 'job.failed',
        data: {
          jobType: 'demoPipeline',
          status: 'failed',
          step: 'transform',
          startedBy: 'local',
          error: { message: expect.any(String) },
          rootCause: { error: { message: expect.stringContaining('ECONNRESET') } },
          links: { dashboard: expect.stringMatching(new RegExp(`/jobs/${failed}$`)) },
        },
      });
      expect(of(withErrors)).toMatchObject({
        type: 'job.completed_with_errors',
        data: { status: 'completed_with_errors', step: 'generateMetadata' },
      });
      expect(of(cancelled)).toMatchObject({ type: 'job.cancelled', data: { status: 'cancelled' } });
      expect(got.map((r) => r.headers['webhook-id'])).toEqual(
        payloads.map((p) => `webhook:${sub.id}:${String(p.data.runId)}:${p.type}`),
      );
    }
    expect(receiver.received.filter((r) => r.path === otherPath)).toHaveLength(0);
  });

  it('retries a receiver that answers 500 three times: delivered on the 4th attempt, the log shows all four; replay re-sends with the same webhook-id', async () => {
    const c = api(h);
    const path = `/${uniqueId('flaky')}`;
    receiver.failFirst.set(path, 3);
    const created = (
      await c.post('/api/notifications/subscriptions', {
        url: `${receiver.url}${path}`,
        events: ['job.failed'],
      })
    ).json();
    const jobId = await startJob(h, 'demoPipeline', { durationMs: 0, parts: 1, partsFailing: 1 });
    await closed(h, jobId);
    const page = await waitFor(
      async () => (await c.get(`/api/notifications/deliveries?subscriptionId=${created.id}`)).json(),
      (p: { deliveries: Delivery[] }) => p.deliveries[0]?.status === 'delivered',
      60_000,
      100,
    );
    const d = page.deliveries[0];
    expect(d.attempts.map((a) => a.statusCode)).toEqual([500, 500, 500, 200]);
    expect(d.attempts[0]).toMatchObject({ error: 'HTTP 500', nextAttemptAt: expect.any(String) });
    expect(d.attempts[3]).toMatchObject({ error: null, nextAttemptAt: null, latencyMs: expect.any(Number) });
    expect(receiver.received.filter((r) => r.path === path)).toHaveLength(4);
    const ids = new Set(receiver.received.filter((r) => r.path === path).map((r) => r.headers['webhook-id']));
    expect([...ids]).toEqual([d.id]);

    const replay = await c.post(`/api/notifications/deliveries/${encodeURIComponent(d.id)}/replay`);
    expect(replay.statusCode).toBe(202);
    expect(replay.json()).toMatchObject({ webhookId: d.id, replayOf: d.id });
    await waitFor(
      async () => receiver.ok(path).length,
      (n) => n === 2,
      30_000,
      100,
    );
    const [first, again] = receiver.ok(path);
    expect(again.headers['webhook-id']).toBe(first.headers['webhook-id']);
    expect(again.body).toBe(first.body);
    expect(verifyStandardWebhook(created.secret, again.headers, again.body)).toBe(true);
  });

  it('rotates a secret: both secrets sign during the overlap; a test event goes the same path', async () => {
    const c = api(h);
    const path = `/${uniqueId('rot')}`;
    const created = (
      await c.post('/api/notifications/subscriptions', {
        url: `${receiver.url}${path}`,
        events: ['job.failed'],
      })
    ).json();
    const rotated = await c.post(`/api/notifications/subscriptions/${created.id}/rotate-secret`);
    expect(rotated.statusCode).toBe(200);
    const { secret } = rotated.json();
    expect(secret).not.toBe(created.secret);
    const test = await c.post(`/api/notifications/subscriptions/${created.id}/test`);
    expect(test.statusCode).toBe(202);
    const [got] = await waitFor(
      async () => receiver.ok(path),
      (r) => r.length === 1,
      30_000,
      100,
    );
    expect(JSON.parse(got.body)).toMatchObject({ type: 'test', data: { subscriptionId: created.id } });
    expect(String(got.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(verifyStandardWebhook(secret, got.headers, got.body)).toBe(true);
    expect(verifyStandardWebhook(created.secret, got.headers, got.body)).toBe(true);
    expect((await c.get(`/api/notifications/subscriptions/${created.id}`)).body).not.toContain('whsec_');
    expect(
      (await c.patch(`/api/notifications/subscriptions/${created.id}`, { enabled: false })).json(),
    ).toMatchObject({
      enabled: false,
    });
    expect((await c.del(`/api/notifications/subscriptions/${created.id}`)).statusCode).toBe(204);
    expect((await c.get(`/api/notifications/subscriptions/${created.id}`)).statusCode).toBe(404);
  });
});

describe('webhook notifications across a restart', () => {
  it('loses nothing when the API and the worker restart during the retries: the event arrives exactly once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stepwise-notify-'));
    const env = {
      ...FAST,
      STEPWISE_NOTIFICATIONS_DB_PATH: join(dir, 'notifications.sqlite'),
      STEPWISE_NOTIFICATIONS_TASK_QUEUE: uniqueId('notify-restart'),
    };
    const path = `/${uniqueId('restart')}`;
    receiver.failFirst.set(path, 1_000_000);
    let h = await startTestApi(env);
    try {
      const created = (
        await api(h).post('/api/notifications/subscriptions', {
          url: `${receiver.url}${path}`,
          events: ['job.failed'],
        })
      ).json();
      const jobId = await startJob(h, 'demoPipeline', { durationMs: 0, parts: 1, partsFailing: 1 });
      await closed(h, jobId);
      await waitFor(
        async () => receiver.received.filter((r) => r.path === path).length,
        (n) => n >= 2,
        60_000,
        100,
      );
      await h.close();
      // The receiver comes back while nothing runs; the retries resume with the next API.
      receiver.failFirst.set(path, 0);
      h = await startTestApi(env);
      const [got] = await waitFor(
        async () => receiver.ok(path),
        (r) => r.length >= 1,
        60_000,
        100,
      );
      expect(JSON.parse(got.body)).toMatchObject({ type: 'job.failed', data: { jobId } });
      const d = await waitFor(
        async () =>
          (await api(h).get(`/api/notifications/deliveries?subscriptionId=${created.id}`)).json().deliveries,
        (ds: { status: string }[]) => ds[0]?.status === 'delivered',
        30_000,
        100,
      );
      expect(d).toHaveLength(1);
      expect(receiver.ok(path)).toHaveLength(1);
    } finally {
      await h.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the cost to a job', () => {
  it('adds nothing to a failing job’s history: the same length with 0 and with 3 subscriptions', async () => {
    const g = await startTestApi(FAST);
    try {
      const input = { durationMs: 0, parts: 1, partsFailing: 1, partFailure: 'boom' };
      const historyLength = async (jobId: string) =>
        (await g.env.client.workflow.getHandle(jobId).fetchHistory()).events?.length ?? 0;
      const bare = await startJob(g, 'demoPipeline', input);
      await closed(g, bare);
      const paths: string[] = [];
      for (let i = 0; i < 3; i++) {
        const path = `/${uniqueId('cost')}`;
        paths.push(path);
        const res = await api(g).post('/api/notifications/subscriptions', {
          url: `${receiver.url}${path}`,
          events: ['job.failed'],
        });
        expect(res.statusCode).toBe(201);
      }
      const watched = await startJob(g, 'demoPipeline', input);
      await closed(g, watched);
      for (const path of paths)
        await waitFor(
          async () => receiver.ok(path).length,
          (n) => n === 1,
          60_000,
          100,
        );
      const [without, withThree] = [await historyLength(bare), await historyLength(watched)];
      console.log(
        `failing demoPipeline history: ${without} events with 0 subscriptions, ${withThree} with 3`,
      );
      expect(withThree).toBe(without);
    } finally {
      await g.close();
    }
  });
});

describe('events of open jobs: held, stalled, overran', () => {
  let h: TestApi;
  let sub: { id: string; secret: string; path: string };
  beforeAll(async () => {
    h = await startTestApi(FAST);
    const path = `/${uniqueId('open')}`;
    const res = await api(h).post('/api/notifications/subscriptions', {
      url: `${receiver.url}${path}`,
      events: ['job.held', 'job.stalled', 'job.eta_overrun', 'job.cancelled', 'job.completed'],
    });
    expect(res.statusCode).toBe(201);
    sub = { id: res.json().id, secret: res.json().secret, path };
  });
  afterAll(() => h.close());

  type Payload = { type: string; data: Record<string, unknown> & { jobId: string } };
  /** Every event this subscription received about `jobId`, checked for its signature. */
  const eventsOf = (jobId: string): (Payload & { webhookId: string })[] =>
    receiver
      .ok(sub.path)
      .map((r) => {
        expect(verifyStandardWebhook(sub.secret, r.headers, r.body)).toBe(true);
        return { ...(JSON.parse(r.body) as Payload), webhookId: String(r.headers['webhook-id']) };
      })
      .filter((p) => p.data.jobId === jobId);
  const until = (jobId: string, done: (s: Awaited<ReturnType<TestApi['jobs']['get']>>) => boolean) =>
    waitFor(
      () => h.jobs.get(jobId),
      (s) => done(s) || s.closedAt !== null,
      60_000,
      50,
    );
  const eventsUntil = (jobId: string, done: (ps: Payload[]) => boolean) =>
    waitFor(async () => eventsOf(jobId), done, 60_000, 100);

  it('fires job.held once per hold: a retry that fails again is a second episode; the job then completes', async () => {
    const jobId = await startJob(h, 'demoHold', { durationMs: 50, failAttempts: 3 });
    await until(jobId, (s) => s.status === 'held' && s.hold?.attempts === 2);
    const [first] = await eventsUntil(jobId, (ps) => ps.some((p) => p.type === 'job.held'));
    expect(first).toMatchObject({
      type: 'job.held',
      data: {
        status: 'held',
        step: 'sync',
        stepName: 'Sync',
        error: { message: expect.any(String) },
        hold: { attempts: 2, timeoutAt: null },
        stall: null,
        etaOverrun: null,
        startedBy: 'local',
      },
    });
    expect((await api(h).post(`/api/jobs/${jobId}/retry-step`, { step: 'sync' })).statusCode).toBeLessThan(
      300,
    );
    await until(jobId, (s) => s.status === 'held' && s.hold?.attempts === 3);
    const two = await eventsUntil(jobId, (ps) => ps.filter((p) => p.type === 'job.held').length >= 2);
    expect(two.map((p) => p.data.hold)).toMatchObject([{ attempts: 2 }, { attempts: 3 }]);
    expect(new Set(two.map((p) => p.webhookId)).size).toBe(2);
    expect((await api(h).post(`/api/jobs/${jobId}/retry-step`, { step: 'sync' })).statusCode).toBeLessThan(
      300,
    );
    expect((await until(jobId, (s) => s.closedAt !== null)).status).toBe('completed');
    // The completion arrives after both holds, and no hold came twice.
    const all = await eventsUntil(jobId, (ps) => ps.some((p) => p.type === 'job.completed'));
    expect(all.map((p) => p.type)).toEqual(['job.held', 'job.held', 'job.completed']);
  });

  it('fires job.stalled once per stall and nothing while the job is paused', async () => {
    // Sync reports after each of its two items (4 s each); its threshold is 2 s.
    const jobId = await startJob(h, 'demoHold', { durationMs: 8000 });
    const stalled = await until(jobId, (s) => s.status === 'stalled');
    const [event] = await eventsUntil(jobId, (ps) => ps.some((p) => p.type === 'job.stalled'));
    expect(event).toMatchObject({
      type: 'job.stalled',
      data: { status: 'stalled', step: 'sync', stall: { since: stalled.stalled!.since, thresholdMs: 2000 } },
    });
    // It moves again (the first item's report), then cancelled: one stall event, then the cancel.
    await until(jobId, (s) => s.status !== 'stalled' && s.steps[1].progress > 0);
    expect((await api(h).post(`/api/jobs/${jobId}/cancel`, {})).statusCode).toBe(202);
    await until(jobId, (s) => s.closedAt !== null);
    const all = await eventsUntil(jobId, (ps) => ps.some((p) => p.type === 'job.cancelled'));
    const stalls = all.filter((p) => p.type === 'job.stalled');
    // The second item may stall again before the cancel lands: another episode, never the same one twice.
    expect(stalls.length).toBeGreaterThanOrEqual(1);
    expect(new Set(stalls.map((p) => p.webhookId)).size).toBe(stalls.length);
    expect(new Set(stalls.map((p) => (p.data.stall as { since: string }).since)).size).toBe(stalls.length);

    // Paused while sync runs: it reports nothing for 4 s, and nothing stalls.
    const paused = await startJob(h, 'demoHold', { durationMs: 8000 });
    await until(paused, (s) => s.steps[1].status === 'running');
    expect((await api(h).post(`/api/jobs/${paused}/pause`, {})).statusCode).toBeLessThan(300);
    const rested = await until(paused, (s) => s.status === 'paused');
    expect(rested.steps[1].status).toBe('completed');
    expect(rested.logs.map((l) => l.message).filter((m) => /stalled/.test(m))).toEqual([]);
    expect((await api(h).post(`/api/jobs/${paused}/cancel`, {})).statusCode).toBe(202);
    const after = await eventsUntil(paused, (ps) => ps.some((p) => p.type === 'job.cancelled'));
    expect(after.map((p) => p.type)).toEqual(['job.cancelled']);
  }, 90_000);

  it('fires job.eta_overrun once when a job runs past what its ETA allowed', async () => {
    // What StepwiseClient.start passes for a type with history: here set by hand, 1.5 s.
    const jobId = uniqueId('overrun');
    await h.env.client.workflow.start('demoHold', {
      taskQueue: h.taskQueue,
      workflowId: jobId,
      args: [{ input: { durationMs: 2000 }, overrunAfterMs: 1500 }],
      typedSearchAttributes: initialJobAttributes('demoHold'),
    });
    const over = await until(jobId, (s) => s.etaOverrun !== null);
    const [event] = await eventsUntil(jobId, (ps) => ps.some((p) => p.type === 'job.eta_overrun'));
    expect(event).toMatchObject({
      type: 'job.eta_overrun',
      data: { etaOverrun: { overrunAfterMs: 1500, at: over.etaOverrun!.at }, hold: null },
    });
    expect((await until(jobId, (s) => s.closedAt !== null)).status).toBe('completed');
    const all = await eventsUntil(jobId, (ps) => ps.some((p) => p.type === 'job.completed'));
    expect(all.map((p) => p.type)).toEqual(['job.eta_overrun', 'job.completed']);
    expect(event.webhookId).toBe(`webhook:${sub.id}:${over.runId}:job.eta_overrun`);
  });
});
