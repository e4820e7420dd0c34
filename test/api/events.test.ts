/**
 * Live streams (SSE) against the real dev server, read over real HTTP (inject does not stream):
 * a job followed to completion, Last-Event-ID, 404/401/access_token, the list stream, and one
 * poller per job however many subscribers.
 */
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { EventHub } from '../../src/api/events/event-hub.service';
import { createApp } from '../../src/app';
import exampleApp from '../../workflows/app';
import { loadConfig } from '../../src/config';
import type { JobState } from '../../workflows/contracts';
import { testApiKeys, uniqueId, waitFor, type TestEnv } from '../helpers';
import { startTestApi, type TestApi } from '../api-harness';
import { openSse, SseClient, type SseEvent } from '../sse-client';

const POLL_MS = 100;
const { STEPWISE_API_KEYS, keys } = testApiKeys({ viewer: 'viewer', operator: 'operator' });

let harness: TestApi;
let env: TestEnv;
let app: NestFastifyApplication;
let base: string;

beforeAll(async () => {
  harness = await startTestApi(
    {
      STEPWISE_API_KEYS,
      STEPWISE_STREAM_POLL_MS: String(POLL_MS),
      STEPWISE_STREAM_HEARTBEAT_MS: '300',
      // 50 streams of one key below (the per-key cap has its own tests: streams-bounds.test.ts).
      STEPWISE_STREAM_MAX_PER_CALLER: '100',
    },
    { listen: true },
  );
  ({ env, app } = harness);
  base = harness.base!;
});

afterAll(async () => {
  await harness?.close();
});

const open = (path: string, headers: Record<string, string> = {}): Promise<SseClient> =>
  openSse(`${base}${path}`, headers);

const auth = (key: string) => ({ authorization: `Bearer ${key}` });

async function startDemo(input: unknown): Promise<string> {
  const jobId = uniqueId('sse');
  const res = await app.inject({
    method: 'POST',
    url: '/api/jobs',
    headers: auth(keys.operator),
    payload: { type: 'demoPipeline', input, jobId },
  });
  expect(res.statusCode).toBe(201);
  return jobId;
}

const hub = (): EventHub => app.get(EventHub);

describe('GET /api/jobs/:jobId/events', () => {
  it('streams the current state, every change with increasing versions, then closed, then ends', async () => {
    const jobId = await startDemo({ durationMs: 1500, parts: 2 });
    const a = await open(`/api/jobs/${jobId}/events`, auth(keys.viewer));
    expect(a.res.statusCode).toBe(200);
    expect(a.res.headers['content-type']).toMatch(/^text\/event-stream/);
    await a.until(() => a.events.length > 0, 30_000, 'the first event');
    const first = a.events[0];
    expect(['state', 'closed']).toContain(first.event);
    expect((JSON.parse(first.data) as JobState).jobId).toBe(jobId);

    // A second client that already has the first version gets nothing twice.
    const b = await open(`/api/jobs/${jobId}/events`, { ...auth(keys.viewer), 'last-event-id': first.id! });
    expect(b.res.statusCode).toBe(200);

    await a.until(() => a.ended, 60_000, 'the end of the stream');
    await b.until(() => b.ended, 60_000, 'the end of the second stream');
    const versions = a.events.map((e) => Number(e.id));
    for (let i = 1; i < versions.length; i++) expect(versions[i]).toBeGreaterThan(versions[i - 1]);
    const states = a.events.map((e) => JSON.parse(e.data) as JobState);
    for (let i = 1; i < states.length; i++)
      expect(states[i].progress).toBeGreaterThanOrEqual(states[i - 1].progress);
    const last = a.events[a.events.length - 1];
    expect(last.event).toBe('closed');
    expect(states[states.length - 1].status).toBe('completed');
    expect(a.events.slice(0, -1).every((e) => e.event === 'state')).toBe(true);
    expect(a.events.length).toBeGreaterThan(1);

    // b: no repeat of the version it sent; it still gets the changes and the closing state.
    expect(b.events.map((e) => e.id)).not.toContain(first.id);
    expect(b.events[b.events.length - 1].event).toBe('closed');
    for (const e of b.events) expect(Number(e.id)).toBeGreaterThan(Number(first.id));

    // After the close: the same final version again (remembered), and 204 for a client that has it.
    const again = await open(`/api/jobs/${jobId}/events`, auth(keys.viewer));
    await again.until(() => again.ended, 30_000, 'the closed stream');
    expect(again.events).toHaveLength(1);
    expect(again.events[0]).toMatchObject({ event: 'closed', id: last.id });
    const done = await open(`/api/jobs/${jobId}/events`, { ...auth(keys.viewer), 'last-event-id': last.id! });
    expect(done.res.statusCode).toBe(204);
    expect(hub().stats().jobPollers).toBe(0);
  });

  it('answers 404 with a JSON error for an unknown job, before any stream', async () => {
    const res = await open(`/api/jobs/${uniqueId('nope')}/events`, auth(keys.viewer));
    await res.until(() => res.ended, 15_000, 'the 404 body');
    expect(res.res.statusCode).toBe(404);
    expect(res.res.headers['content-type']).toMatch(/json/);
    expect(JSON.parse(res.body)).toMatchObject({ statusCode: 404 });
  });

  it('needs a key: 401 without, and ?access_token= works on the SSE routes only', async () => {
    const jobId = await startDemo({ durationMs: 100, parts: 1 });
    const none = await app.inject({ method: 'GET', url: `/api/jobs/${jobId}/events` });
    expect(none.statusCode).toBe(401);
    const wrong = await app.inject({
      method: 'GET',
      url: `/api/jobs/${jobId}/events?access_token=nope-nope-nope`,
    });
    expect(wrong.statusCode).toBe(401);
    // Not on the other routes.
    const plain = await app.inject({ method: 'GET', url: `/api/jobs/${jobId}?access_token=${keys.viewer}` });
    expect(plain.statusCode).toBe(401);

    const viaQuery = await open(`/api/jobs/${jobId}/events?access_token=${encodeURIComponent(keys.viewer)}`);
    expect(viaQuery.res.statusCode).toBe(200);
    await viaQuery.until(() => viaQuery.ended, 60_000, 'the job to close');
    expect(viaQuery.events[viaQuery.events.length - 1].event).toBe('closed');

    const list = await open(`/api/events?type=demoPipeline&access_token=${encodeURIComponent(keys.viewer)}`);
    expect(list.res.statusCode).toBe(200);
    await list.until(() => list.events.length > 0, 30_000, 'the snapshot');
    list.close();
  });

  it('50 subscribers to one job cause the same query rate to Temporal as one', async () => {
    const jobId = await startDemo({ durationMs: 100, parts: 1, steps: { extract: { durationMs: 30_000 } } });
    const path = `/api/jobs/${jobId}/events`;
    const one = await open(path, auth(keys.viewer));
    await one.until(() => one.events.length > 0, 30_000, 'the first event');
    const windowMs = 10 * POLL_MS;

    const polls = async (): Promise<number> => {
      const before = hub().stats().jobPolls;
      await new Promise((r) => setTimeout(r, windowMs)); // a measuring window, not a wait for state
      return hub().stats().jobPolls - before;
    };
    const withOne = await polls();

    const more = await Promise.all(Array.from({ length: 49 }, () => open(path, auth(keys.viewer))));
    await Promise.all(more.map((c) => c.until(() => c.events.length > 0, 30_000, 'a first event')));
    expect(hub().stats()).toMatchObject({ jobPollers: 1, subscribers: 50 });
    const withFifty = await polls();

    // One poller's tick bounds both windows; fifty pollers would make about fifty times as many
    // polls. Below, only "it still polls": a poll that runs long under load lowers a count (a
    // loaded CI run made 2 in a window of 10 ticks).
    const ticks = windowMs / POLL_MS;
    expect(withOne).toBeGreaterThanOrEqual(1);
    expect(withOne).toBeLessThanOrEqual(ticks + 1);
    expect(withFifty).toBeLessThanOrEqual(ticks + 1);
    expect(withFifty).toBeGreaterThanOrEqual(1);

    // Heartbeats while idle, and polling stops once the last client leaves.
    await one.until(() => one.comments.includes('heartbeat'), 10_000, 'a heartbeat');
    for (const c of [one, ...more]) c.close();
    await one.until(() => hub().stats().subscribers === 0, 10_000, 'the subscribers to leave');
    expect(hub().stats().jobPollers).toBe(0);
    await env.client.workflow.getHandle(jobId).terminate('test over');
  });
});

describe('GET /api/events', () => {
  it('sends a snapshot, then started, changed and closed for jobs matching the filters', async () => {
    const type = 'demoPipeline';
    const list = await open(`/api/events?type=${type}&status=running`, auth(keys.viewer));
    expect(list.res.statusCode).toBe(200);
    await list.until(() => list.events.length > 0, 30_000, 'the snapshot');
    expect(list.events[0].event).toBe('snapshot');

    const jobId = await startDemo({ durationMs: 1000, parts: 1 });
    const about = (e: SseEvent) => (JSON.parse(e.data) as { jobId?: string }).jobId === jobId;
    await list.until(() => list.events.some((e) => e.event === 'started' && about(e)), 60_000, 'started');
    // With status=running, the job leaves the list when it closes.
    await list.until(() => list.events.some((e) => e.event === 'removed' && about(e)), 60_000, 'removed');
    list.close();

    const all = await open(`/api/events?type=${type}`, auth(keys.viewer));
    await all.until(() => all.events.length > 0, 30_000, 'the snapshot');
    const second = await startDemo({ durationMs: 500, parts: 1 });
    const of2 = (e: SseEvent) => (JSON.parse(e.data) as { jobId?: string }).jobId === second;
    await all.until(() => all.events.some((e) => e.event === 'closed' && of2(e)), 60_000, 'closed');
    all.close();

    const bad = await app.inject({
      method: 'GET',
      url: '/api/events?status=nope',
      headers: auth(keys.viewer),
    });
    expect(bad.statusCode).toBe(400);
  });
});

describe('the open-stream limit', () => {
  it('answers 503 with the reason past STEPWISE_STREAM_MAX_SUBSCRIBERS, and frees the place when a client leaves', async () => {
    const limited = await createApp(
      loadConfig({
        STEPWISE_AUDIT_DB_PATH: ':memory:',
        TEMPORAL_ADDRESS: env.address,
        STEPWISE_API_KEYS,
        STEPWISE_STREAM_POLL_MS: String(POLL_MS),
        STEPWISE_STREAM_MAX_SUBSCRIBERS: '1',
      }),
      { app: exampleApp, client: env.client },
    );
    try {
      await limited.listen(0, '127.0.0.1');
      const url = `http://127.0.0.1:${(limited.getHttpServer().address() as AddressInfo).port}/api/events`;
      const first = await new Promise<SseClient>((resolve, reject) => {
        const req = httpRequest(url, { headers: auth(keys.viewer) }, (res) =>
          resolve(new SseClient(res, () => req.destroy())),
        );
        req.on('error', (err) =>
          (err as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(err),
        );
        req.end();
      });
      expect(first.res.statusCode).toBe(200);
      await first.until(() => first.events.length > 0, 30_000, 'the snapshot');

      const refused = await fetch(url, { headers: auth(keys.viewer) });
      expect(refused.status).toBe(503);
      expect(((await refused.json()) as { message: string }).message).toMatch(
        /STEPWISE_STREAM_MAX_SUBSCRIBERS/,
      );
      expect(limited.get(EventHub).stats().subscribers).toBe(1);

      first.close();
      await waitFor(
        async () => limited.get(EventHub).stats().subscribers,
        (n) => n === 0,
      );
      const ctrl = new AbortController();
      const next = await fetch(url, { headers: auth(keys.viewer), signal: ctrl.signal });
      expect(next.status).toBe(200);
      ctrl.abort();
    } finally {
      await limited.close();
    }
  });
});
