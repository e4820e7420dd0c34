/**
 * API keys, roles, the audit trail and per-key rate limits, against the real dev server: 401/403
 * per role on every route, the actor on a control action is the key's name, one audit row per
 * mutating request (refusals included), terminate, and 429 with Retry-After.
 */
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Worker } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import type { AuditEntry } from '../../src/api/audit/audit.store';
import type { AuditPage } from '../../src/api/audit/audit.schemas';
import { createApp } from '../../src/app';
import exampleApp from '../../workflows/app';
import { loadConfig } from '../../src/config';
import type { JobState } from '../../workflows/contracts';
import {
  bearer,
  connectTestEnv,
  createTestWorker,
  testApiKeys,
  uniqueId,
  waitFor,
  type TestEnv,
} from '../helpers';

type Caller = 'none' | 'bad' | 'viewer' | 'operator' | 'admin';
type Minimum = 'public' | 'viewer' | 'operator' | 'admin';

const { STEPWISE_API_KEYS, keys } = testApiKeys({
  vera: 'viewer',
  'ops-alice': 'operator',
  'root-admin': 'admin',
});
const NAMES = { viewer: 'vera', operator: 'ops-alice', admin: 'root-admin' } as const;
const HEADERS: Record<Caller, Record<string, string>> = {
  none: {},
  bad: bearer('not-a-configured-key-at-all'),
  viewer: bearer(keys.vera),
  operator: bearer(keys['ops-alice']),
  admin: bearer(keys['root-admin']),
};

let env: TestEnv;
let worker: Worker;
let running: Promise<void>;
let taskQueue: string;
let app: NestFastifyApplication;

beforeAll(async () => {
  env = await connectTestEnv();
  const w = await createTestWorker(env);
  worker = w.worker;
  taskQueue = w.taskQueue;
  running = worker.run();
  app = await createApp(
    loadConfig({
      TEMPORAL_ADDRESS: env.address,
      TEMPORAL_TASK_QUEUE: taskQueue,
      STEPWISE_API_KEYS,
      STEPWISE_AUDIT_DB_PATH: ':memory:',
      // Every refusal one row: the role matrix below refuses more a minute than the default budget
      // (20 per caller), whose aggregation test/api/audit-bounds.test.ts covers.
      STEPWISE_AUDIT_REFUSALS_PER_MINUTE: '100000',
      STEPWISE_NOTIFICATIONS_DB_PATH: ':memory:',
      // The role matrix sends every route twice without a valid key: more a minute than the default
      // budget of unauthenticated requests per address, whose 429 test/api/audit-bounds.test.ts covers.
      STEPWISE_UNAUTHENTICATED_RATE_LIMIT_PER_MINUTE: '100000',
      // And each role sends every mutating route: with the approval and schedule routes that is more
      // than a caller's default burst (30). The mutating 429 is tested below, on an API of its own.
      STEPWISE_RATE_LIMIT_BURST: '1000',
    }),
    { app: exampleApp, client: env.client },
  );
});

afterAll(async () => {
  await app?.close();
  worker?.shutdown();
  await running;
  await env?.close();
});

interface Call {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  url: string;
  caller: Caller;
  payload?: unknown;
  headers?: Record<string, string>;
}

const call = (a: NestFastifyApplication, { method, url, caller, payload, headers }: Call) =>
  a.inject({
    method,
    url,
    headers: { ...HEADERS[caller], ...headers },
    ...(payload === undefined ? {} : { payload: payload as object }),
  });

const state = async (jobId: string): Promise<JobState> =>
  (await call(app, { method: 'GET', url: `/api/jobs/${jobId}`, caller: 'viewer' })).json();

async function audit(query: string, a = app): Promise<AuditPage> {
  const res = await call(a, { method: 'GET', url: `/api/audit?${query}`, caller: 'admin' });
  expect(res.statusCode).toBe(200);
  return res.json();
}

/** A demoPipeline whose first step runs for a minute, started by the operator, once it is running. */
async function startLongJob(): Promise<string> {
  const jobId = uniqueId('sec');
  const res = await call(app, {
    method: 'POST',
    url: '/api/jobs',
    caller: 'operator',
    payload: { type: 'demoPipeline', jobId, input: { parts: 1, steps: { extract: { durationMs: 60_000 } } } },
  });
  expect(res.statusCode).toBe(201);
  await waitFor(
    () => state(jobId),
    (s) => s.steps[0]?.status === 'running',
  );
  return jobId;
}

/** Every route the application serves, as `METHOD /path` (HEAD left out: it follows GET). */
function registeredRoutes(a: NestFastifyApplication): string[] {
  const tree = (a.getHttpAdapter().getInstance() as FastifyInstance).printRoutes({ commonPrefix: false });
  const routes: string[] = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const m = /^(.*?)[├└]── (\S+)(?: \(([^)]*)\))?$/.exec(line);
    if (!m) continue;
    const depth = Math.round(m[1].length / 4);
    stack.length = depth;
    const path = (stack[depth - 1] ?? '') + m[2];
    stack[depth] = path;
    for (const method of (m[3] ?? '').split(',').map((s) => s.trim())) {
      if (method && method !== 'HEAD') routes.push(`${method} ${path}`);
    }
  }
  return routes.sort();
}

const GHOST = 'sec-no-such-job';
/** Every route, with the lowest role it needs, and a request that changes nothing when allowed. */
const ROUTES: { method: Call['method']; path: string; url: string; payload?: unknown; min: Minimum }[] = [
  { method: 'GET', path: '/health', url: '/health', min: 'public' },
  { method: 'GET', path: '/health/live', url: '/health/live', min: 'public' },
  { method: 'GET', path: '/health/ready', url: '/health/ready', min: 'public' },
  { method: 'GET', path: '/metrics', url: '/metrics', min: 'viewer' },
  { method: 'GET', path: '/docs', url: '/docs', min: 'public' },
  { method: 'GET', path: '/docs/assets/:file', url: '/docs/assets/init.js', min: 'public' },
  { method: 'GET', path: '/openapi.json', url: '/openapi.json', min: 'public' },
  // The dashboard's pages and files are public; the data they show needs a key.
  { method: 'GET', path: '/', url: '/', min: 'public' },
  { method: 'GET', path: '/new', url: '/new', min: 'public' },
  { method: 'GET', path: '/charts', url: '/charts', min: 'public' },
  { method: 'GET', path: '/schedules', url: '/schedules', min: 'public' },
  { method: 'GET', path: '/subscriptions', url: '/subscriptions', min: 'public' },
  { method: 'GET', path: '/jobs/:jobId', url: `/jobs/${GHOST}`, min: 'public' },
  { method: 'GET', path: '/app/:file', url: '/app/styles.css', min: 'public' },
  { method: 'GET', path: '/api/me', url: '/api/me', min: 'viewer' },
  { method: 'GET', path: '/api/job-types', url: '/api/job-types', min: 'viewer' },
  { method: 'GET', path: '/api/jobs', url: '/api/jobs?pageSize=1', min: 'viewer' },
  {
    method: 'GET',
    path: '/api/stats',
    url: '/api/stats?interval=1d&jobIdPrefix=security-none-',
    min: 'viewer',
  },
  { method: 'GET', path: '/api/jobs/:jobId', url: `/api/jobs/${GHOST}`, min: 'viewer' },
  { method: 'GET', path: '/api/jobs/:jobId/children', url: `/api/jobs/${GHOST}/children`, min: 'viewer' },
  { method: 'GET', path: '/api/jobs/:jobId/runs', url: `/api/jobs/${GHOST}/runs`, min: 'viewer' },
  { method: 'GET', path: '/api/jobs/:jobId/cause', url: `/api/jobs/${GHOST}/cause`, min: 'viewer' },
  { method: 'GET', path: '/api/jobs/:jobId/events', url: `/api/jobs/${GHOST}/events`, min: 'viewer' },
  { method: 'GET', path: '/api/events', url: '/api/events?type=no-such-type', min: 'viewer' },
  { method: 'POST', path: '/api/jobs', url: '/api/jobs', payload: { type: 'no-such-type' }, min: 'operator' },
  {
    method: 'POST',
    path: '/api/bulk',
    url: '/api/bulk',
    // Refused by validation after the guard: nothing starts.
    payload: { action: 'cancel' },
    min: 'operator',
  },
  {
    method: 'POST',
    path: '/api/jobs/:jobId/pause',
    url: `/api/jobs/${GHOST}/pause`,
    payload: {},
    min: 'operator',
  },
  {
    method: 'POST',
    path: '/api/jobs/:jobId/resume',
    url: `/api/jobs/${GHOST}/resume`,
    payload: {},
    min: 'operator',
  },
  {
    method: 'POST',
    path: '/api/jobs/:jobId/cancel',
    url: `/api/jobs/${GHOST}/cancel`,
    payload: {},
    min: 'operator',
  },
  {
    method: 'POST',
    path: '/api/jobs/:jobId/retry',
    url: `/api/jobs/${GHOST}/retry`,
    payload: {},
    min: 'operator',
  },
  ...(['retry-step', 'skip-step', 'fail-step'] as const).map((a) => ({
    method: 'POST' as const,
    path: `/api/jobs/:jobId/${a}`,
    url: `/api/jobs/${GHOST}/${a}`,
    payload: {},
    min: 'operator' as const,
  })),
  // An approval's decision: operator routes (the step's own role is checked next: test/api/approval.test.ts).
  ...(['approve', 'reject'] as const).map((a) => ({
    method: 'POST' as const,
    path: `/api/jobs/:jobId/steps/:key/${a}`,
    url: `/api/jobs/${GHOST}/steps/signOff/${a}`,
    payload: {},
    min: 'operator' as const,
  })),
  { method: 'DELETE', path: '/api/jobs/:jobId', url: `/api/jobs/${GHOST}`, payload: {}, min: 'admin' },
  { method: 'GET', path: '/api/audit', url: '/api/audit', min: 'admin' },
  // Schedules (docs/schedules.md): viewers read, operators manage. The bodies are refused after the
  // guard (or name no schedule), so nothing is created or changed.
  { method: 'GET', path: '/api/schedules', url: '/api/schedules?pageSize=1', min: 'viewer' },
  { method: 'GET', path: '/api/schedules/:scheduleId', url: `/api/schedules/${GHOST}`, min: 'viewer' },
  {
    method: 'POST',
    path: '/api/schedules',
    url: '/api/schedules',
    payload: { type: 'no-such-type' },
    min: 'operator',
  },
  {
    method: 'PATCH',
    path: '/api/schedules/:scheduleId',
    url: `/api/schedules/${GHOST}`,
    payload: {},
    min: 'operator',
  },
  { method: 'DELETE', path: '/api/schedules/:scheduleId', url: `/api/schedules/${GHOST}`, min: 'operator' },
  ...(['pause', 'unpause', 'trigger'] as const).map((a) => ({
    method: 'POST' as const,
    path: `/api/schedules/:scheduleId/${a}`,
    url: `/api/schedules/${GHOST}/${a}`,
    payload: {},
    min: 'operator' as const,
  })),
  {
    method: 'POST',
    path: '/api/schedules/:scheduleId/backfill',
    url: `/api/schedules/${GHOST}/backfill`,
    payload: {},
    min: 'operator',
  },
  // Webhook notifications (docs/notifications.md): admin only.
  {
    method: 'POST',
    path: '/api/notifications/subscriptions',
    url: '/api/notifications/subscriptions',
    payload: {},
    min: 'admin',
  },
  {
    method: 'GET',
    path: '/api/notifications/subscriptions',
    url: '/api/notifications/subscriptions',
    min: 'admin',
  },
  {
    method: 'GET',
    path: '/api/notifications/subscriptions/:id',
    url: `/api/notifications/subscriptions/${GHOST}`,
    min: 'admin',
  },
  {
    method: 'PATCH',
    path: '/api/notifications/subscriptions/:id',
    url: `/api/notifications/subscriptions/${GHOST}`,
    payload: {},
    min: 'admin',
  },
  {
    method: 'DELETE',
    path: '/api/notifications/subscriptions/:id',
    url: `/api/notifications/subscriptions/${GHOST}`,
    min: 'admin',
  },
  {
    method: 'POST',
    path: '/api/notifications/subscriptions/:id/test',
    url: `/api/notifications/subscriptions/${GHOST}/test`,
    payload: {},
    min: 'admin',
  },
  {
    method: 'POST',
    path: '/api/notifications/subscriptions/:id/rotate-secret',
    url: `/api/notifications/subscriptions/${GHOST}/rotate-secret`,
    payload: {},
    min: 'admin',
  },
  {
    method: 'GET',
    path: '/api/notifications/deliveries',
    url: '/api/notifications/deliveries',
    min: 'admin',
  },
  {
    method: 'POST',
    path: '/api/notifications/deliveries/:id/replay',
    url: `/api/notifications/deliveries/${GHOST}/replay`,
    payload: {},
    min: 'admin',
  },
];
const RANK: Record<Minimum, number> = { public: -1, viewer: 0, operator: 1, admin: 2 };
const CALLERS: Caller[] = ['none', 'bad', 'viewer', 'operator', 'admin'];

describe('API keys and roles', () => {
  it('the route table below covers every route the API serves', () => {
    expect(registeredRoutes(app)).toEqual(ROUTES.map((r) => `${r.method} ${r.path}`).sort());
  });

  const cases = ROUTES.flatMap((r) => CALLERS.map((caller) => ({ ...r, caller })));
  it.each(cases)('$method $path as $caller', async ({ method, url, payload, min, caller }) => {
    const res = await call(app, { method, url, payload, caller });
    if (min === 'public') {
      expect(res.statusCode).toBe(200);
    } else if (caller === 'none' || caller === 'bad') {
      expect(res.statusCode).toBe(401);
      expect(res.json()).toEqual({
        statusCode: 401,
        error: 'Unauthorized',
        message: caller === 'none' ? expect.stringMatching(/Authorization: Bearer/) : 'Invalid API key',
      });
      expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="stepwise"/);
    } else if (RANK[caller] < RANK[min]) {
      expect(res.statusCode).toBe(403);
      expect(res.json()).toEqual({
        statusCode: 403,
        error: 'Forbidden',
        message: `This route needs the ${min} role; the key "${NAMES[caller]}" has the ${caller} role`,
      });
    } else {
      expect(res.statusCode).not.toBe(401);
      expect(res.statusCode).not.toBe(403);
      expect(res.statusCode).toBeLessThan(500);
    }
    expect(res.headers['x-request-id']).toEqual(expect.any(String));
  });

  it('takes a key only as "Authorization: Bearer <key>"', async () => {
    const key = keys.vera;
    for (const authorization of [key, `Basic ${key}`, `Bearer ${key} extra`, `Bearer ${key}x`]) {
      const res = await app.inject({ method: 'GET', url: '/api/job-types', headers: { authorization } });
      expect([authorization, res.statusCode]).toEqual([authorization, 401]);
    }
    const lower = await app.inject({
      method: 'GET',
      url: '/api/job-types',
      headers: { authorization: `bearer ${key}` },
    });
    expect(lower.statusCode).toBe(200);
  });

  it('records the key name as the actor of a control action, whatever `by` the client sent', async () => {
    const jobId = await startLongJob();
    const paused = await call(app, {
      method: 'POST',
      url: `/api/jobs/${jobId}/pause`,
      caller: 'operator',
      payload: { reason: 'deploy', by: 'mallory' },
    });
    expect(paused.statusCode).toBe(200);
    const resumed = await call(app, {
      method: 'POST',
      url: `/api/jobs/${jobId}/resume`,
      caller: 'admin',
      payload: {},
    });
    expect(resumed.statusCode).toBe(200);
    const s = await state(jobId);
    expect(s.control.actions).toEqual([
      expect.objectContaining({ action: 'pause', by: 'ops-alice', reason: 'deploy' }),
      expect.objectContaining({ action: 'resume', by: 'root-admin', reason: null }),
    ]);
    await call(app, { method: 'DELETE', url: `/api/jobs/${jobId}`, caller: 'admin' });
  });
});

describe('DELETE /api/jobs/:jobId (terminate)', () => {
  it('terminates a running job (admin), 409 once closed, 404 for an unknown id', async () => {
    const jobId = await startLongJob();
    const res = await call(app, {
      method: 'DELETE',
      url: `/api/jobs/${jobId}`,
      caller: 'admin',
      payload: { reason: 'runaway' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ jobId, runId: expect.any(String), status: 'terminated' });
    const desc = await env.client.workflow.getHandle(jobId).describe();
    expect(desc.status.name).toBe('TERMINATED');

    const again = await call(app, { method: 'DELETE', url: `/api/jobs/${jobId}`, caller: 'admin' });
    expect(again.statusCode).toBe(409);
    expect(again.json().message).toMatch(/cannot be terminated/);
    expect(
      (await call(app, { method: 'DELETE', url: `/api/jobs/${GHOST}`, caller: 'admin' })).statusCode,
    ).toBe(404);
    const bad = await call(app, {
      method: 'DELETE',
      url: `/api/jobs/${jobId}`,
      caller: 'admin',
      payload: { reason: 7 },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().issues).toEqual([expect.objectContaining({ path: ['reason'] })]);

    const rows = (await audit(`jobId=${jobId}&action=terminate`)).entries;
    expect(rows.map((r) => [r.statusCode, r.outcome, r.actor, r.reason])).toEqual([
      [400, 'refused', 'root-admin', null],
      [409, 'refused', 'root-admin', null],
      [200, 'accepted', 'root-admin', 'runaway'],
    ]);
  });
});

describe('the audit trail', () => {
  it('has one row per mutating request, accepted or refused, with its request id', async () => {
    const jobId = uniqueId('sec-audit');
    const requests: { call: Call; expected: Partial<AuditEntry> }[] = [
      {
        call: {
          method: 'POST',
          url: '/api/jobs',
          caller: 'operator',
          payload: {
            type: 'demoPipeline',
            jobId,
            input: { parts: 1, steps: { extract: { durationMs: 60_000 } } },
          },
        },
        expected: {
          action: 'start',
          outcome: 'accepted',
          statusCode: 201,
          actor: 'ops-alice',
          role: 'operator',
        },
      },
      {
        call: {
          method: 'POST',
          url: `/api/jobs/${jobId}/pause`,
          caller: 'operator',
          payload: { reason: 'window' },
        },
        expected: { action: 'pause', outcome: 'accepted', statusCode: 200, reason: 'window', message: null },
      },
      {
        call: { method: 'POST', url: `/api/jobs/${jobId}/pause`, caller: 'operator', payload: {} },
        expected: {
          action: 'pause',
          outcome: 'refused',
          statusCode: 409,
          message: expect.stringMatching(/paused/),
        },
      },
      {
        call: { method: 'POST', url: `/api/jobs/${jobId}/resume`, caller: 'viewer', payload: {} },
        expected: { action: 'resume', outcome: 'refused', statusCode: 403, actor: 'vera', role: 'viewer' },
      },
      {
        call: { method: 'POST', url: `/api/jobs/${jobId}/cancel`, caller: 'none', payload: { reason: 'x' } },
        expected: {
          action: 'cancel',
          outcome: 'refused',
          statusCode: 401,
          actor: null,
          role: null,
          reason: 'x',
        },
      },
      {
        call: {
          method: 'POST',
          url: `/api/jobs/${jobId}/resume`,
          caller: 'operator',
          payload: '{"reason": ',
          headers: { 'content-type': 'application/json', 'x-request-id': `client-${jobId}` },
        },
        expected: { action: 'resume', outcome: 'refused', statusCode: 400, actor: 'ops-alice' },
      },
      {
        call: {
          method: 'POST',
          url: `/api/jobs/${jobId}/retry`,
          caller: 'operator',
          payload: { fromStep: 0 },
        },
        expected: { action: 'retry', outcome: 'refused', statusCode: 400 },
      },
      {
        call: {
          method: 'POST',
          url: `/api/jobs/${jobId}/cancel`,
          caller: 'admin',
          payload: { reason: 'done' },
        },
        expected: {
          action: 'cancel',
          outcome: 'accepted',
          statusCode: 202,
          actor: 'root-admin',
          role: 'admin',
        },
      },
    ];
    const ids: string[] = [];
    for (const r of requests) {
      const res = await call(app, r.call);
      expect([r.call.url, res.statusCode]).toEqual([r.call.url, r.expected.statusCode]);
      ids.push(String(res.headers['x-request-id']));
      // Reads are not audited.
      await call(app, { method: 'GET', url: `/api/jobs/${jobId}`, caller: 'viewer' });
    }
    expect(ids[5]).toBe(`client-${jobId}`); // a sane incoming request id is kept

    const rows = (await audit(`jobId=${jobId}`)).entries.reverse();
    expect(rows.map((r) => r.requestId)).toEqual(ids);
    rows.forEach((row, i) =>
      expect(row).toMatchObject({ jobId, at: expect.stringMatching(/Z$/), ...requests[i].expected }),
    );
    for (const row of rows.filter((r) => r.outcome === 'refused'))
      expect(row.message).toEqual(expect.any(String));
  });

  it('filters by actor, action, outcome and time, and pages with a token', async () => {
    const since = new Date().toISOString();
    for (let i = 0; i < 3; i++) {
      await call(app, {
        method: 'POST',
        url: `/api/jobs/${GHOST}-${i}/retry`,
        caller: 'operator',
        payload: {},
      });
    }
    const byActor = await audit(`actor=ops-alice&action=retry&outcome=refused&from=${since}&limit=2`);
    expect(byActor.entries.map((e) => e.jobId)).toEqual([`${GHOST}-2`, `${GHOST}-1`]);
    expect(byActor.nextPageToken).toEqual(expect.any(String));
    const next = await audit(
      `actor=ops-alice&action=retry&from=${since}&limit=2&pageToken=${byActor.nextPageToken}`,
    );
    expect(next.entries.map((e) => e.jobId)).toEqual([`${GHOST}-0`]);
    expect(next.nextPageToken).toBeNull();
    expect((await audit(`action=retry&to=${since}&from=${since}`)).entries).toEqual([]);
    expect((await audit('actor=nobody')).entries).toEqual([]);

    const bad = await call(app, {
      method: 'GET',
      url: '/api/audit?limit=500&action=delete&from=yesterday&pageToken=tampered&extra=1',
      caller: 'admin',
    });
    expect(bad.statusCode).toBe(400);
    expect(
      bad
        .json()
        .issues.map((i: { path: string[] }) => i.path[0])
        .sort(),
    ).toEqual(['action', 'extra', 'from', 'limit', 'pageToken']);
    const tampered = Buffer.from('a1.x').toString('base64url');
    expect(
      (await call(app, { method: 'GET', url: `/api/audit?pageToken=${tampered}`, caller: 'admin' }))
        .statusCode,
    ).toBe(400);
  });
});

describe('rate limits', () => {
  it('answers 429 with Retry-After past the per-key limit, changes nothing and audits the refusal', async () => {
    const limited = await createApp(
      loadConfig({
        TEMPORAL_ADDRESS: env.address,
        TEMPORAL_TASK_QUEUE: taskQueue,
        STEPWISE_API_KEYS,
        STEPWISE_AUDIT_DB_PATH: ':memory:',
        STEPWISE_RATE_LIMIT_PER_MINUTE: '1',
        STEPWISE_RATE_LIMIT_BURST: '2',
      }),
      { app: exampleApp, client: env.client },
    );
    try {
      const jobId = await startLongJob();
      const op = (action: string, caller: Caller = 'operator') =>
        call(limited, { method: 'POST', url: `/api/jobs/${jobId}/${action}`, caller, payload: {} });
      expect((await op('pause')).statusCode).toBe(200);
      expect((await op('resume')).statusCode).toBe(200);
      const refused = await op('pause');
      expect(refused.statusCode).toBe(429);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
      expect(refused.json()).toEqual({
        statusCode: 429,
        error: 'Too Many Requests',
        message: expect.stringMatching(
          /"ops-alice".*at most 1 mutating requests a minute.*STEPWISE_RATE_LIMIT_PER_MINUTE/,
        ),
      });
      // Nothing changed, reads are not limited, and other keys have their own bucket.
      const s = await state(jobId);
      expect(s.control.actions.map((a) => a.action)).toEqual(['pause', 'resume']);
      expect(s.control.paused).toBe(false);
      expect(
        (await call(limited, { method: 'GET', url: `/api/jobs/${jobId}`, caller: 'operator' })).statusCode,
      ).toBe(200);
      expect((await op('cancel', 'admin')).statusCode).toBe(202);

      const rows = (await audit(`jobId=${jobId}`, limited)).entries.reverse();
      expect(rows.map((r) => [r.action, r.statusCode, r.actor])).toEqual([
        ['pause', 200, 'ops-alice'],
        ['resume', 200, 'ops-alice'],
        ['pause', 429, 'ops-alice'],
        ['cancel', 202, 'root-admin'],
      ]);
      expect(rows[2]).toMatchObject({ outcome: 'refused', message: expect.stringMatching(/Rate limit/) });
    } finally {
      await limited.close();
    }
  });
});

describe('open mode (no keys, loopback)', () => {
  it('treats every request as admin "local" and records it so', async () => {
    const open = await createApp(
      loadConfig({
        TEMPORAL_ADDRESS: env.address,
        TEMPORAL_TASK_QUEUE: taskQueue,
        STEPWISE_AUDIT_DB_PATH: ':memory:',
      }),
      { app: exampleApp, client: env.client },
    );
    try {
      const res = await open.inject({
        method: 'POST',
        url: `/api/jobs/${GHOST}/pause`,
        payload: { by: 'someone' },
      });
      expect(res.statusCode).toBe(404);
      const page = await open.inject({ method: 'GET', url: '/api/audit' });
      expect(page.statusCode).toBe(200);
      expect((page.json() as AuditPage).entries).toEqual([
        expect.objectContaining({
          actor: 'local',
          role: 'admin',
          action: 'pause',
          jobId: GHOST,
          statusCode: 404,
        }),
      ]);
    } finally {
      await open.close();
    }
  });
});
