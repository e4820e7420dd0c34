/**
 * The live streams' bounds, by the attack, over real HTTP against the real dev server: clients that
 * leave before their first event free everything (read from `/metrics`), one key cannot hold every
 * stream, distinct filters cannot multiply pollers without bound, reads are rate-limited per key,
 * and a long key works on the list stream.
 */
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../src/app';
import exampleApp from '../../workflows/app';
import { loadConfig } from '../../src/config';
import type { JobState } from '../../workflows/contracts';
import { connectTestEnv, createTestWorker, testApiKeys, uniqueId, waitFor, type TestEnv } from '../helpers';
import { openSse, startSse } from '../sse-client';

const POLL_MS = 100;
const { STEPWISE_API_KEYS, keys } = testApiKeys({
  vera: 'viewer',
  victor: 'viewer',
  ops: 'operator',
  root: 'admin',
});
const auth = (key: string) => ({ authorization: `Bearer ${key}` });

let env: TestEnv;
beforeAll(async () => {
  env = await connectTestEnv();
});
afterAll(async () => {
  await env?.close();
});

interface Api {
  app: NestFastifyApplication;
  base: string;
}

/** An API on `taskQueue`, listening on a port of its own. */
async function startApi(taskQueue: string, extra: NodeJS.ProcessEnv = {}): Promise<Api> {
  const app = await createApp(
    loadConfig({
      TEMPORAL_ADDRESS: env.address,
      TEMPORAL_TASK_QUEUE: taskQueue,
      STEPWISE_AUDIT_DB_PATH: ':memory:',
      STEPWISE_STREAM_POLL_MS: String(POLL_MS),
      STEPWISE_API_KEYS,
      // The tests read /metrics often; the read limit has its own test below.
      STEPWISE_READ_RATE_LIMIT_PER_MINUTE: '100000',
      STEPWISE_READ_RATE_LIMIT_BURST: '10000',
      ...extra,
    }),
    { app: exampleApp, client: env.client },
  );
  await app.listen(0, '127.0.0.1');
  return { app, base: `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}` };
}

/** `name{labels}` from `GET /metrics` (as a viewer would scrape it); undefined when absent. */
async function metric(api: Api, name: string, labels = ''): Promise<number | undefined> {
  const res = await fetch(`${api.base}/metrics`, { headers: auth(keys.root) });
  expect(res.status).toBe(200);
  const line = (await res.text()).split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

const streamsAndPollers = async (api: Api) => ({
  streams: await metric(api, 'stepwise_api_streams_open'),
  jobPollers: await metric(api, 'stepwise_api_stream_pollers', '{kind="job"}'),
  listPollers: await metric(api, 'stepwise_api_stream_pollers', '{kind="list"}'),
});

describe('clients that leave before their first event', () => {
  it('100 streams aborted before their first event leave 0 subscribers and 0 pollers (read from /metrics)', async () => {
    const first = await createTestWorker(env);
    const running = first.worker.run();
    const api = await startApi(first.taskQueue, { STEPWISE_STREAM_MAX_PER_CALLER: '200' });
    try {
      const jobIds: string[] = [];
      for (let i = 0; i < 4; i++) {
        const jobId = uniqueId('leave');
        const res = await fetch(`${api.base}/api/jobs`, {
          method: 'POST',
          headers: { ...auth(keys.ops), 'content-type': 'application/json' },
          body: JSON.stringify({
            type: 'demoPipeline',
            jobId,
            input: { steps: { extract: { durationMs: 120_000 } } },
          }),
        });
        expect(res.status).toBe(201);
        jobIds.push(jobId);
      }
      for (const jobId of jobIds)
        await waitFor(
          async () =>
            (
              await fetch(`${api.base}/api/jobs/${jobId}`, { headers: auth(keys.vera) })
            ).json() as Promise<JobState>,
          (s) => s.steps[0]?.status === 'running',
        );
      // No worker answers the first read (the jobState query) until the clients are gone.
      first.worker.shutdown();
      await running;

      const requests = Array.from({ length: 100 }, (_, i) =>
        startSse(`${api.base}/api/jobs/${jobIds[i % jobIds.length]}/events`, auth(keys.vera)),
      );
      await waitFor(
        () => streamsAndPollers(api),
        (m) => m.streams === 100 && m.jobPollers === 4,
      );
      for (const req of requests) req.destroy();

      // The first reads now get their answers: a late answer must not bring a stream back.
      const second = await createTestWorker(env, { taskQueue: first.taskQueue });
      const again = second.worker.run();
      try {
        const read = await fetch(`${api.base}/api/jobs/${jobIds[0]}`, { headers: auth(keys.vera) });
        expect(read.status).toBe(200);
        expect(
          await waitFor(
            () => streamsAndPollers(api),
            (m) => m.streams === 0 && m.jobPollers === 0,
          ),
        ).toEqual({
          streams: 0,
          jobPollers: 0,
          listPollers: 0,
        });
        // And nothing polls Temporal for them any more.
        const polls = await metric(api, 'stepwise_api_stream_polls_total', '{kind="job"}');
        await new Promise((r) => setTimeout(r, 10 * POLL_MS)); // a measuring window, not a wait for state
        expect(await metric(api, 'stepwise_api_stream_polls_total', '{kind="job"}')).toBe(polls);
        expect(await streamsAndPollers(api)).toEqual({ streams: 0, jobPollers: 0, listPollers: 0 });
      } finally {
        for (const jobId of jobIds) await env.client.workflow.getHandle(jobId).terminate('test over');
        second.worker.shutdown();
        await again;
      }
    } finally {
      await api.app.close();
    }
  });
});

describe('stream caps', () => {
  it('one key cannot take every stream: 429 past STEPWISE_STREAM_MAX_PER_CALLER, while another key still gets one', async () => {
    const api = await startApi(uniqueId('no-worker'), { STEPWISE_STREAM_MAX_PER_CALLER: '2' });
    try {
      const held = [
        await openSse(`${api.base}/api/events?type=demoPipeline`, auth(keys.vera)),
        await openSse(`${api.base}/api/events?type=example`, auth(keys.vera)),
      ];
      for (const s of held) await s.until(() => s.events.length > 0, 30_000, 'the snapshot');
      const refused = await fetch(`${api.base}/api/events?type=demoPipeline`, { headers: auth(keys.vera) });
      expect(refused.status).toBe(429);
      expect(((await refused.json()) as { message: string }).message).toMatch(
        /the key "vera".*at most 2.*STEPWISE_STREAM_MAX_PER_CALLER/,
      );
      const other = await openSse(`${api.base}/api/events?type=demoPipeline`, auth(keys.root));
      expect(other.res.statusCode).toBe(200);
      await other.until(() => other.events.length > 0, 30_000, 'the snapshot');
      other.close();
      // A place freed is a place again.
      held[0].close();
      await waitFor(
        () => metric(api, 'stepwise_api_streams_open'),
        (n) => n === 1,
      );
      const next = await openSse(`${api.base}/api/events?type=demoPipeline`, auth(keys.vera));
      expect(next.res.statusCode).toBe(200);
      next.close();
      held[1].close();
    } finally {
      await api.app.close();
    }
  });

  it('in open mode the cap is per client address', async () => {
    const api = await startApi(uniqueId('no-worker'), {
      STEPWISE_API_KEYS: undefined,
      STEPWISE_STREAM_MAX_PER_CALLER: '1',
    });
    try {
      const held = await openSse(`${api.base}/api/events`);
      await held.until(() => held.events.length > 0, 30_000, 'the snapshot');
      const refused = await fetch(`${api.base}/api/events?type=example`);
      expect(refused.status).toBe(429);
      expect(((await refused.json()) as { message: string }).message).toMatch(/the address 127\.0\.0\.1/);
      held.close();
    } finally {
      await api.app.close();
    }
  });

  it('distinct filters cannot multiply pollers: 503 past STEPWISE_STREAM_MAX_POLLERS; an already watched list still streams', async () => {
    const api = await startApi(uniqueId('no-worker'), { STEPWISE_STREAM_MAX_POLLERS: '2' });
    try {
      const a = await openSse(`${api.base}/api/events?parentJobId=any-a`, auth(keys.vera));
      const b = await openSse(`${api.base}/api/events?parentJobId=any-b`, auth(keys.victor));
      for (const s of [a, b]) await s.until(() => s.events.length > 0, 30_000, 'the snapshot');
      const refused = await fetch(`${api.base}/api/events?parentJobId=any-c`, { headers: auth(keys.root) });
      expect(refused.status).toBe(503);
      expect(((await refused.json()) as { message: string }).message).toMatch(
        /at most 2.*STEPWISE_STREAM_MAX_POLLERS/,
      );
      const sameAsA = await openSse(`${api.base}/api/events?parentJobId=any-a`, auth(keys.root));
      expect(sameAsA.res.statusCode).toBe(200);
      await sameAsA.until(() => sameAsA.events.length > 0, 30_000, 'the snapshot');
      expect(await metric(api, 'stepwise_api_stream_pollers', '{kind="list"}')).toBe(2);
      for (const s of [a, b, sameAsA]) s.close();
    } finally {
      await api.app.close();
    }
  });
});

describe('read rate limits', () => {
  it('answers 429 with Retry-After past the per-key read limit; other keys have their own bucket', async () => {
    const api = await startApi(uniqueId('no-worker'), {
      STEPWISE_READ_RATE_LIMIT_PER_MINUTE: '1',
      STEPWISE_READ_RATE_LIMIT_BURST: '3',
    });
    try {
      const get = (key: string, path = '/api/job-types') =>
        fetch(`${api.base}${path}`, { headers: auth(key) });
      for (let i = 0; i < 3; i++) expect((await get(keys.vera)).status).toBe(200);
      const refused = await get(keys.vera);
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(((await refused.json()) as { message: string }).message).toMatch(
        /"vera".*at most 1 reads a minute.*STEPWISE_READ_RATE_LIMIT_PER_MINUTE/,
      );
      // Streams are reads too.
      expect((await get(keys.vera, '/api/events')).status).toBe(429);
      expect((await get(keys.victor)).status).toBe(200);
    } finally {
      await api.app.close();
    }
  });
});

describe('the list stream', () => {
  it('takes ?access_token= as long as the keys it accepts elsewhere (over 100 characters)', async () => {
    const long = `k${'0123456789'.repeat(15)}`;
    const api = await startApi(uniqueId('no-worker'), { STEPWISE_API_KEYS: `wall:viewer:${long}` });
    try {
      const s = await openSse(`${api.base}/api/events?type=example&access_token=${long}`);
      expect(s.res.statusCode).toBe(200);
      await s.until(() => s.events.length > 0, 30_000, 'the snapshot');
      s.close();
    } finally {
      await api.app.close();
    }
  });
});
