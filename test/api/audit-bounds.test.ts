/**
 * The audit trail cannot be filled by whoever reaches the API: 200 requests without a key, each
 * with attacker-chosen job id, reason and request id, are rate-limited by address (401, then 429)
 * and make at most STEPWISE_AUDIT_REFUSALS_PER_MINUTE rows plus one that counts the rest, with
 * short fields; a key's own refusals are bounded the same way; accepted actions are still one row
 * each; and STEPWISE_AUDIT_RETENTION_DAYS removes old rows at start.
 */
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Worker } from '@temporalio/worker';
import { mkdtempSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AuditStore, type AuditEntry } from '../../src/api/audit/audit.store';
import { createApp } from '../../src/app';
import exampleApp from '../../workflows/app';
import { loadConfig } from '../../src/config';
import { connectTestEnv, createTestWorker, testApiKeys, uniqueId, type TestEnv } from '../helpers';

const { STEPWISE_API_KEYS, keys } = testApiKeys({ vera: 'viewer', ops: 'operator' });

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

const auditPath = (): string =>
  join(mkdtempSync(join(resolve(__dirname, '..', '.tmp'), 'audit-')), 'audit.sqlite');

async function startApi(path: string, extra: NodeJS.ProcessEnv = {}): Promise<NestFastifyApplication> {
  return createApp(
    loadConfig({
      TEMPORAL_ADDRESS: env.address,
      TEMPORAL_TASK_QUEUE: taskQueue,
      STEPWISE_API_KEYS,
      STEPWISE_AUDIT_DB_PATH: path,
      ...extra,
    }),
    { app: exampleApp, client: env.client },
  );
}

/** Every row of the file, oldest first (read after the API closed: held refusals are written then). */
function rows(path: string): AuditEntry[] {
  const store = new AuditStore(path);
  try {
    return store.list({ limit: 200 }).entries.reverse();
  } finally {
    store.close();
  }
}

it('200 requests without a key: 401 then 429 by address, and at most 20 rows plus one counting the rest, fields cut short', async () => {
  const path = auditPath();
  const app = await startApi(path);
  const statuses: number[] = [];
  try {
    for (let i = 0; i < 200; i++) {
      const res = await app.inject({
        method: 'POST',
        url: `/api/jobs/${'j'.repeat(900)}${i}/cancel`,
        headers: { 'x-request-id': `attacker-${'r'.repeat(100)}-${i}` },
        payload: { reason: 'spam '.repeat(200) },
      });
      statuses.push(res.statusCode);
      if (res.statusCode === 429) {
        expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
        expect(res.json().message).toMatch(
          /without a valid API key.*STEPWISE_UNAUTHENTICATED_RATE_LIMIT_PER_MINUTE/,
        );
      }
    }
  } finally {
    await app.close();
  }
  expect(statuses.slice(0, 60).every((s) => s === 401)).toBe(true);
  expect(statuses.slice(60).every((s) => s === 429)).toBe(true);

  const all = rows(path);
  expect(all.length).toBeLessThanOrEqual(21);
  expect(all.reduce((n, r) => n + r.count, 0)).toBe(200);
  expect(all.slice(0, 20).every((r) => r.count === 1 && r.actor === null && r.outcome === 'refused')).toBe(
    true,
  );
  expect(all.at(-1)).toMatchObject({
    count: 180,
    actor: null,
    ip: '127.0.0.1',
    jobId: null,
    reason: null,
    statusCode: 429,
    message: expect.stringMatching(
      /^180 refusals between .*\(STEPWISE_AUDIT_REFUSALS_PER_MINUTE\); the last: Too many/,
    ),
  });
  for (const r of all) {
    expect((r.jobId ?? '').length).toBeLessThanOrEqual(200);
    expect((r.reason ?? '').length).toBeLessThanOrEqual(200);
    expect((r.message ?? '').length).toBeLessThanOrEqual(1000);
    expect(r.requestId.length).toBeLessThanOrEqual(128);
  }
});

it("a key's repeated refusals are counted on one row; accepted actions are still a row each", async () => {
  const path = auditPath();
  const app = await startApi(path, { STEPWISE_AUDIT_REFUSALS_PER_MINUTE: '5' });
  const jobId = uniqueId('aud');
  try {
    const start = await app.inject({
      method: 'POST',
      url: '/api/jobs',
      headers: { authorization: `Bearer ${keys.ops}` },
      payload: { type: 'demoPipeline', jobId, input: { steps: { extract: { durationMs: 60_000 } } } },
    });
    expect(start.statusCode).toBe(201);
    // A viewer's refusals (403) come before any rate limit: only the audit bound holds them.
    for (let i = 0; i < 50; i++) {
      const res = await app.inject({
        method: 'POST',
        url: `/api/jobs/${jobId}/cancel`,
        headers: { authorization: `Bearer ${keys.vera}` },
        payload: { reason: `try ${i}` },
      });
      expect(res.statusCode).toBe(403);
    }
    for (const action of ['pause', 'resume', 'pause', 'resume']) {
      const res = await app.inject({
        method: 'POST',
        url: `/api/jobs/${jobId}/${action}`,
        headers: { authorization: `Bearer ${keys.ops}` },
        payload: {},
      });
      expect(res.statusCode).toBe(200);
    }
    await env.client.workflow.getHandle(jobId).terminate('test over');
  } finally {
    await app.close();
  }
  const all = rows(path);
  const vera = all.filter((r) => r.actor === 'vera');
  expect(vera.map((r) => r.count)).toEqual([1, 1, 1, 1, 1, 45]);
  expect(all.filter((r) => r.actor === 'ops').map((r) => [r.action, r.outcome, r.count])).toEqual([
    ['start', 'accepted', 1],
    ['pause', 'accepted', 1],
    ['resume', 'accepted', 1],
    ['pause', 'accepted', 1],
    ['resume', 'accepted', 1],
  ]);
});

it('STEPWISE_AUDIT_RETENTION_DAYS removes rows older than the period when the API starts', async () => {
  const path = auditPath();
  const store = new AuditStore(path);
  const row = {
    requestId: 'r',
    actor: 'ops',
    role: 'operator' as const,
    action: 'pause' as const,
    jobId: 'j',
    reason: null,
    outcome: 'accepted' as const,
    statusCode: 200,
    message: null,
    ip: '127.0.0.1',
  };
  store.append({ ...row, requestId: 'old', at: new Date(Date.now() - 10 * 86_400_000).toISOString() });
  store.append({ ...row, requestId: 'recent', at: new Date(Date.now() - 2 * 86_400_000).toISOString() });
  store.close();
  const app = await startApi(path, { STEPWISE_AUDIT_RETENTION_DAYS: '7' });
  await app.close();
  expect(rows(path).map((r) => r.requestId)).toEqual(['recent']);
});
