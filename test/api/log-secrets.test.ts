/**
 * No API key reaches a log line or a file: with keys configured (from a key file), the API logs
 * everything (trace level, through the same logger and Nest adapter as `npm start`) while it is
 * used as clients use it — every route with every role, keys in headers and in `?access_token=`
 * (valid and near misses), streams opened and dropped, refusals of every kind (401, 403, 404, 409,
 * 415, 429) — and the worker's log is captured too. Afterwards neither the lines nor any file the
 * API wrote (the audit trail and its WAL) contain a key, plain or as its sha256 (hex or base64);
 * only the key file does.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import type { Worker } from '@temporalio/worker';
import { createApp } from '../../src/app';
import exampleApp from '../../workflows/app';
import { loadConfig } from '../../src/config';
import { JsonLogger, nestLogger } from '../../src/logger';
import type { JobState } from '../../workflows/contracts';
import { connectTestEnv, createTestWorker, uniqueId, waitFor, type TestEnv } from '../helpers';
import { runtimeLogger } from '../log-capture';
import { openSse } from '../sse-client';

const KEYS = {
  vera: `viewer-${'v'.repeat(8)}-${uniqueId('k')}`,
  ops: `operator-${'o'.repeat(8)}-${uniqueId('k')}`,
  root: `admin-${'a'.repeat(8)}-${uniqueId('k')}`,
};
const ROLES = { vera: 'viewer', ops: 'operator', root: 'admin' } as const;

/** Every form a key could be written in: plain, URL-encoded, sha256 as hex, base64 and base64url. */
function secretForms(key: string): string[] {
  const digest = createHash('sha256').update(key, 'utf8').digest();
  return [
    key,
    encodeURIComponent(key),
    digest.toString('hex'),
    digest.toString('base64'),
    digest.toString('base64url'),
  ];
}

let env: TestEnv;
let worker: Worker;
let running: Promise<void>;
let taskQueue: string;

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

it('with keys configured, no key (plain or hashed) is in any log line or file outside the key file', async () => {
  const dir = mkdtempSync(join(resolve(__dirname, '..', '.tmp'), 'log-secrets-'));
  const keyFile = join(dir, 'keys.txt');
  writeFileSync(
    keyFile,
    Object.entries(KEYS)
      .map(([name, key]) => `${name}:${ROLES[name as keyof typeof KEYS]}:${key}`)
      .join('\n'),
    { mode: 0o600 },
  );
  const lines: string[] = [];
  const detach = runtimeLogger.attach({
    log: (level, message, meta) =>
      lines.push(
        JSON.stringify({ level, message, meta }, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)),
      ),
    trace: () => undefined,
    debug: () => undefined,
    info: () => undefined,
    warn: () => undefined,
    error: () => undefined,
  });
  const app = await createApp(
    loadConfig({
      TEMPORAL_ADDRESS: env.address,
      TEMPORAL_TASK_QUEUE: taskQueue,
      STEPWISE_DATA_DIR: dir,
      STEPWISE_AUDIT_DB_PATH: join(dir, 'audit.sqlite'),
      STEPWISE_API_KEYS_FILE: keyFile,
      STEPWISE_STREAM_POLL_MS: '100',
      STEPWISE_RATE_LIMIT_PER_MINUTE: '60',
      STEPWISE_RATE_LIMIT_BURST: '12',
      STEPWISE_UNAUTHENTICATED_RATE_LIMIT_PER_MINUTE: '1000',
    }),
    {
      app: exampleApp,
      client: env.client,
      logger: nestLogger(new JsonLogger('api', 'trace', (l) => lines.push(l), 'json')),
    },
  );
  try {
    await app.listen(0, '127.0.0.1');
    const base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
    const call = (
      method: string,
      path: string,
      key: string | null,
      body?: unknown,
      headers: Record<string, string> = {},
    ) =>
      fetch(`${base}${path}`, {
        method,
        headers: {
          ...(key === null ? {} : { authorization: `Bearer ${key}` }),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });

    // A job, followed over every kind of stream and key.
    const jobId = uniqueId('secret');
    const started = await call('POST', '/api/jobs', KEYS.ops, {
      type: 'demoPipeline',
      jobId,
      input: { durationMs: 200, parts: 1 },
    });
    expect(started.status).toBe(201);
    for (const [name, key] of Object.entries(KEYS)) {
      const viaQuery = await openSse(
        `${base}/api/jobs/${jobId}/events?access_token=${encodeURIComponent(key)}`,
      );
      expect([name, viaQuery.res.statusCode]).toEqual([name, 200]);
      await viaQuery.until(() => viaQuery.events.length > 0, 30_000, 'a first event');
      viaQuery.close();
      const list = await openSse(
        `${base}/api/events?type=demoPipeline&access_token=${encodeURIComponent(key)}`,
      );
      await list.until(() => list.events.length > 0, 30_000, 'the snapshot');
      list.close();
      const viaHeader = await openSse(`${base}/api/events`, { authorization: `Bearer ${key}` });
      await viaHeader.until(() => viaHeader.events.length > 0, 30_000, 'the snapshot');
      viaHeader.close();
      // Near misses of the key, in every place a key goes.
      for (const wrong of [`${key}x`, key.slice(1), key.toUpperCase()]) {
        expect((await fetch(`${base}/api/jobs/${jobId}/events?access_token=${wrong}`)).status).toBe(401);
        expect((await fetch(`${base}/api/events?type=x&access_token=${wrong}`)).status).toBe(401);
        expect((await call('GET', `/api/jobs/${jobId}`, wrong)).status).toBe(401);
        expect((await call('POST', `/api/jobs/${jobId}/pause`, wrong, {})).status).toBe(401);
        expect((await call('GET', '/api/me', null, undefined, { authorization: wrong })).status).toBe(401);
      }
      // ?access_token= where it is not accepted, and every read route.
      expect((await fetch(`${base}/api/jobs/${jobId}?access_token=${key}`)).status).toBe(401);
      for (const path of [
        '/api/me',
        '/api/job-types',
        '/api/jobs?pageSize=2',
        `/api/jobs/${jobId}/children`,
        '/metrics',
      ])
        expect([path, (await call('GET', path, key)).status]).toEqual([path, 200]);
      expect((await call('GET', `/api/audit?actor=${name}`, key)).status).toBe(name === 'root' ? 200 : 403);
    }
    await waitFor(
      async () => (await (await call('GET', `/api/jobs/${jobId}`, KEYS.vera)).json()) as JobState,
      (s) => s.closedAt !== null,
      60_000,
    );
    // Refusals of every kind, keyed: 403, 404, 409, 415, 400, then 429 past the mutation limit.
    expect((await call('POST', `/api/jobs/${jobId}/pause`, KEYS.vera, {})).status).toBe(403);
    expect((await call('POST', `/api/jobs/${uniqueId('ghost')}/pause`, KEYS.ops, {})).status).toBe(404);
    expect((await call('POST', `/api/jobs/${jobId}/pause`, KEYS.ops, {})).status).toBe(409);
    expect((await call('POST', `/api/jobs/${jobId}/cancel`, KEYS.ops)).status).toBe(415);
    expect(
      (await call('POST', '/api/jobs', KEYS.ops, { type: 'demoPipeline', input: { parts: 'many' } })).status,
    ).toBe(400);
    let limited = 0;
    for (let i = 0; i < 20 && limited === 0; i++)
      if ((await call('POST', `/api/jobs/${jobId}/retry`, KEYS.ops, { fromStep: 99 })).status === 429)
        limited++;
    expect(limited).toBe(1);
  } finally {
    await app.close();
    detach();
  }

  // The API did log (requests, refusals, streams) …
  expect(lines.some((l) => l.includes('/api/events'))).toBe(true);
  expect(lines.some((l) => l.includes('access_token=[redacted]'))).toBe(true);
  // … and no form of any key is in a line, or in a file but the key file.
  const text = lines.join('\n');
  const files = readdirSync(dir).filter((f) => f !== 'keys.txt');
  expect(files).toEqual(expect.arrayContaining(['audit.sqlite']));
  const contents = files.map((f) => ({ file: f, bytes: readFileSync(join(dir, f)).toString('latin1') }));
  for (const [name, key] of Object.entries(KEYS)) {
    for (const form of secretForms(key)) {
      expect([name, form, text.includes(form)]).toEqual([name, form, false]);
      for (const c of contents) expect([name, c.file, c.bytes.includes(form)]).toEqual([name, c.file, false]);
    }
  }
});
