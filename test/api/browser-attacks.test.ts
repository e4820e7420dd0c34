/**
 * What a web page the developer visits can make their browser send to the API, sent exactly so
 * over real HTTP (raw requests: the Host, Origin and Content-Type headers as a browser writes
 * them), in open mode and with keys: "simple" cross-site requests — a bodiless POST, a text/plain
 * POST, a form — and DNS rebinding (a foreign Host, same-origin from the page's view). None may
 * change anything: afterwards the job is untouched and the audit trail shows only refusals. The
 * API keeps working for its own pages at 127.0.0.1 and localhost, and for configured names.
 */
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Worker } from '@temporalio/worker';
import { WorkflowNotFoundError } from '@temporalio/client';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AuditPage } from '../../src/api/audit/audit.schemas';
import { createApp } from '../../src/app';
import exampleApp from '../../workflows/app';
import { loadConfig } from '../../src/config';
import type { JobState } from '../../workflows/contracts';
import { connectTestEnv, createTestWorker, testApiKeys, uniqueId, waitFor, type TestEnv } from '../helpers';

const { STEPWISE_API_KEYS, keys } = testApiKeys({ ops: 'operator', root: 'admin' });
const EVIL = 'http://evil.example';
const REBIND = 'rebind.attacker.example';

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

interface Mode {
  name: string;
  config: NodeJS.ProcessEnv;
  /** What the attacker's request carries besides what a browser adds (with keys: even a valid key). */
  headers: Record<string, string>;
}
const MODES: Mode[] = [
  { name: 'open mode', config: {}, headers: {} },
  { name: 'with keys', config: { STEPWISE_API_KEYS }, headers: { authorization: `Bearer ${keys.root}` } },
];

interface Answer {
  status: number;
  body: { statusCode?: number; message?: string } & Record<string, unknown>;
}

/** One HTTP request with exactly these headers, plus `Host` (unless given) and the body's length, as a browser sends. */
function send(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        headers: {
          host: `127.0.0.1:${port}`,
          ...(body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) }),
          ...headers,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          let parsed: Answer['body'] = {};
          try {
            parsed = JSON.parse(text) as Answer['body'];
          } catch {
            // not JSON (an SSE stream, HTML)
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function startApi(config: NodeJS.ProcessEnv): Promise<{ app: NestFastifyApplication; port: number }> {
  const app = await createApp(
    loadConfig({
      TEMPORAL_ADDRESS: env.address,
      TEMPORAL_TASK_QUEUE: taskQueue,
      STEPWISE_AUDIT_DB_PATH: ':memory:',
      // Every refusal one row (the per-caller aggregation has its own test: audit-bounds.test.ts).
      STEPWISE_AUDIT_REFUSALS_PER_MINUTE: '1000',
      ...config,
    }),
    { app: exampleApp, client: env.client },
  );
  await app.listen(0, '127.0.0.1');
  return { app, port: (app.getHttpServer().address() as AddressInfo).port };
}

describe.each(MODES)('$name', (mode) => {
  let app: NestFastifyApplication;
  let port: number;
  const asAdmin = (): Record<string, string> =>
    mode.config.STEPWISE_API_KEYS ? { authorization: `Bearer ${keys.root}` } : {};
  const json = { 'content-type': 'application/json' };

  beforeAll(async () => {
    ({ app, port } = await startApi(mode.config));
  });
  afterAll(async () => {
    await app?.close();
  });

  const state = async (jobId: string): Promise<JobState> => {
    const res = await send(port, 'GET', `/api/jobs/${jobId}`, asAdmin());
    expect(res.status).toBe(200);
    return res.body as unknown as JobState;
  };

  async function startLongJob(): Promise<string> {
    const jobId = uniqueId('xsite');
    const res = await send(
      port,
      'POST',
      '/api/jobs',
      { ...asAdmin(), ...json },
      JSON.stringify({ type: 'demoPipeline', jobId, input: { steps: { extract: { durationMs: 120_000 } } } }),
    );
    expect(res.status).toBe(201);
    await waitFor(
      () => state(jobId),
      (s) => s.steps[0]?.status === 'running',
    );
    return jobId;
  }

  it('simple cross-site requests (bodiless, text/plain, a form) change nothing', async () => {
    const jobId = await startLongJob();
    const attacks: { what: string; headers: Record<string, string>; body?: string; status: number }[] = [];
    for (const action of ['cancel', 'pause', 'retry']) {
      // fetch(url, {method: 'POST', mode: 'no-cors'}) from another site: no body, no content type.
      attacks.push({ what: `bodiless ${action}, foreign Origin`, headers: { origin: EVIL }, status: 403 });
      // The same from a page whose browser sends no Origin, and from curl's habit: still no JSON.
      attacks.push({ what: `bodiless ${action}, no Origin`, headers: {}, status: 415 });
      attacks.push({
        what: `text/plain ${action}`,
        headers: { 'content-type': 'text/plain;charset=UTF-8' },
        body: '{"reason":"gotcha"}',
        status: 415,
      });
      attacks.push({
        what: `form ${action}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'reason=gotcha',
        status: 415,
      });
      attacks.push({
        what: `JSON ${action} from a foreign Origin`,
        headers: { ...json, origin: EVIL },
        body: '{"reason":"gotcha"}',
        status: 403,
      });
    }
    for (const a of attacks) {
      const action = /(cancel|pause|retry)/.exec(a.what)![1];
      const res = await send(
        port,
        'POST',
        `/api/jobs/${jobId}/${action}`,
        { ...mode.headers, ...a.headers },
        a.body,
      );
      expect([a.what, res.status]).toEqual([a.what, a.status]);
      if (a.status === 415)
        expect(res.body.message).toMatch(
          /content-type: application\/json.*-H 'content-type: application\/json' -d/,
        );
      if (a.status === 403) expect(res.body.message).toMatch(/another origin.*STEPWISE_ALLOWED_ORIGINS/);
    }
    const form = await send(
      port,
      'POST',
      '/api/jobs',
      { ...mode.headers, 'content-type': 'application/x-www-form-urlencoded' },
      `type=example&jobId=${jobId}-form`,
    );
    expect(form.status).toBe(415);
    await expect(env.client.workflow.getHandle(`${jobId}-form`).describe()).rejects.toBeInstanceOf(
      WorkflowNotFoundError,
    );

    // Nothing changed, and the audit trail shows each attempt as refused.
    const s = await state(jobId);
    expect({ status: s.status, actions: s.control.actions, cancellation: s.cancellation }).toEqual({
      status: 'running',
      actions: [],
      cancellation: null,
    });
    const audit = await send(port, 'GET', `/api/audit?jobId=${jobId}&limit=200`, asAdmin());
    const rows = (audit.body as unknown as AuditPage).entries.filter((e) => e.action !== 'start');
    expect(rows).toHaveLength(attacks.length);
    expect(rows.every((r) => r.outcome === 'refused')).toBe(true);

    // The API's own pages still act: same-origin JSON at 127.0.0.1 and at localhost.
    const own = await send(
      port,
      'POST',
      `/api/jobs/${jobId}/pause`,
      { ...asAdmin(), ...json, origin: `http://127.0.0.1:${port}` },
      '{}',
    );
    expect(own.status).toBe(200);
    const local = await send(
      port,
      'POST',
      `/api/jobs/${jobId}/resume`,
      { ...asAdmin(), ...json, host: `localhost:${port}`, origin: `http://localhost:${port}` },
      '{}',
    );
    expect(local.status).toBe(200);
    await env.client.workflow.getHandle(jobId).terminate('test over');
  });

  it('a foreign Host (DNS rebinding) is refused before routing, reads included, and changes nothing', async () => {
    const jobId = await startLongJob();
    const host = `${REBIND}:${port}`;
    // Same-origin from the rebinding page's point of view: its Origin names its own host.
    const page = { ...mode.headers, host, origin: `http://${host}` };
    const attempts: [string, string, Record<string, string>, string?][] = [
      ['GET', '/api/jobs', page],
      ['GET', `/api/jobs/${jobId}`, page],
      ['GET', `/api/jobs/${jobId}/children`, page],
      ['GET', `/api/jobs/${jobId}/events`, page],
      ['GET', '/api/events', page],
      ['GET', '/api/audit', page],
      ['GET', '/api/me', page],
      ['GET', '/', page],
      ['GET', '/no-such-route', page],
      ['POST', `/api/jobs/${jobId}/cancel`, { ...page, ...json }, '{"reason":"rebound"}'],
      ['POST', `/api/jobs/${jobId}/pause`, { ...page, ...json }, '{}'],
      ['DELETE', `/api/jobs/${jobId}`, { ...page, ...json }, '{}'],
      [
        'POST',
        '/api/jobs',
        { ...page, ...json },
        JSON.stringify({ type: 'datasetBuild', jobId: `${jobId}-rebound`, input: {} }),
      ],
    ];
    for (const [method, path, headers, body] of attempts) {
      const res = await send(port, method, path, headers, body);
      expect([method, path, res.status]).toEqual([method, path, 403]);
      expect(res.body.message).toMatch(/does not answer to the host.*STEPWISE_ALLOWED_HOSTS/);
      expect(JSON.stringify(res.body)).not.toContain('"steps"');
    }
    const s = await state(jobId);
    expect({ status: s.status, actions: s.control.actions }).toEqual({ status: 'running', actions: [] });
    await expect(env.client.workflow.getHandle(`${jobId}-rebound`).describe()).rejects.toBeInstanceOf(
      WorkflowNotFoundError,
    );
    const audit = await send(port, 'GET', `/api/audit?jobId=${jobId}&limit=200`, asAdmin());
    const rows = (audit.body as unknown as AuditPage).entries.filter((e) => e.action !== 'start');
    expect(rows.map((r) => [r.action, r.outcome, r.statusCode])).toEqual([
      ['terminate', 'refused', 403],
      ['pause', 'refused', 403],
      ['cancel', 'refused', 403],
    ]);
    await env.client.workflow.getHandle(jobId).terminate('test over');
  });
});

describe('configured names and origins', () => {
  it('answers a host in STEPWISE_ALLOWED_HOSTS, and acts for a page of STEPWISE_ALLOWED_ORIGINS', async () => {
    const { app, port } = await startApi({
      STEPWISE_API_KEYS,
      STEPWISE_ALLOWED_HOSTS: 'jobs.example.com',
      STEPWISE_ALLOWED_ORIGINS: 'https://ops.example.com',
    });
    try {
      const admin = { authorization: `Bearer ${keys.root}` };
      const named = await send(port, 'GET', '/api/jobs?pageSize=1', { ...admin, host: 'jobs.example.com' });
      expect(named.status).toBe(200);
      const other = await send(port, 'GET', '/api/jobs?pageSize=1', { ...admin, host: 'other.example.com' });
      expect(other.status).toBe(403);
      const ghost = `/api/jobs/${uniqueId('ghost')}/pause`;
      const fromOps = await send(
        port,
        'POST',
        ghost,
        {
          ...admin,
          'content-type': 'application/json',
          host: 'jobs.example.com',
          origin: 'https://ops.example.com',
        },
        '{}',
      );
      expect(fromOps.status).toBe(404); // through the guard; the job does not exist
      const fromElsewhere = await send(
        port,
        'POST',
        ghost,
        {
          ...admin,
          'content-type': 'application/json',
          host: 'jobs.example.com',
          origin: 'https://evil.example',
        },
        '{}',
      );
      expect(fromElsewhere.status).toBe(403);
    } finally {
      await app.close();
    }
  });
});
