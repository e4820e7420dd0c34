/**
 * `Idempotency-Key` on `POST /api/jobs`, against the real dev server, used as a client that retries
 * would use it: the same request again returns the job it started (also from a second API process,
 * also racing, also after the job closed); another body with the key is a 409 that starts
 * nothing; keys of different callers never meet; a malformed key, or a key with a jobId, is a 400.
 */
import { WorkflowNotFoundError } from '@temporalio/client';
import { idempotentJobId } from '../../src/client/client';
import type { StartJobResponse } from '../../src/api/jobs/schemas';
import type { JobState } from '../../workflows/contracts';
import { testApiKeys, uniqueId, waitFor } from '../helpers';
import { startTestApi, type TestApi } from '../api-harness';

const { STEPWISE_API_KEYS, keys } = testApiKeys({ alice: 'operator', bob: 'operator' });
let one: TestApi;
let two: TestApi;

beforeAll(async () => {
  one = await startTestApi({ STEPWISE_API_KEYS });
  two = await startTestApi({ STEPWISE_API_KEYS });
});
afterAll(async () => {
  await one?.close();
  await two?.close();
});

const start = (api: TestApi, body: object, key?: string, who: 'alice' | 'bob' = 'alice') =>
  api.app.inject({
    method: 'POST',
    url: '/api/jobs',
    payload: body,
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${keys[who]}`,
      ...(key === undefined ? {} : { 'idempotency-key': key }),
    },
  });

async function expectNoJob(jobId: string): Promise<void> {
  await expect(one.env.client.workflow.getHandle(jobId).describe()).rejects.toBeInstanceOf(
    WorkflowNotFoundError,
  );
}

const body = { type: 'example', input: { durationMs: 200 } };

it('the same request again returns the job it started: 201, then 200 with Idempotent-Replayed, one run', async () => {
  const key = uniqueId('order');
  const first = await start(one, body, key);
  expect(first.statusCode).toBe(201);
  expect(first.headers['idempotent-replayed']).toBeUndefined();
  const started = first.json<StartJobResponse>();
  expect(started.jobId).toBe(idempotentJobId(key, 'alice'));
  // The key is hashed: not readable in the id.
  expect(started.jobId).not.toContain(key);
  const again = await start(one, body, key);
  expect(again.statusCode).toBe(200);
  expect(again.headers['idempotent-replayed']).toBe('true');
  expect(again.json<StartJobResponse>()).toMatchObject({
    jobId: started.jobId,
    runId: started.runId,
    type: 'example',
  });
  // After it closed, still the same job.
  await waitFor(
    async () =>
      (
        await one.app.inject({
          method: 'GET',
          url: `/api/jobs/${started.jobId}`,
          headers: { authorization: `Bearer ${keys.alice}` },
        })
      ).json<JobState>(),
    (s) => s.closedAt !== null,
    60_000,
    100,
  );
  const later = await start(one, body, key);
  expect(later.statusCode).toBe(200);
  expect(later.json<StartJobResponse>()).toMatchObject({
    jobId: started.jobId,
    runId: started.runId,
    status: 'completed',
  });
  // One run: the job's latest run is still the first one.
  expect((await one.env.client.workflow.getHandle(started.jobId).describe()).runId).toBe(started.runId);
});

it('twenty retries racing through two API processes start one job', async () => {
  const key = uniqueId('race');
  const answers = await Promise.all(
    Array.from({ length: 20 }, (_, i) => start(i % 2 ? two : one, body, key)),
  );
  expect(answers.map((a) => a.statusCode).sort((a, b) => a - b)).toEqual([
    ...Array<number>(19).fill(200),
    201,
  ]);
  const ids = new Set(
    answers.map((a) => `${a.json<StartJobResponse>().jobId}/${a.json<StartJobResponse>().runId}`),
  );
  expect(ids.size).toBe(1);
});

it('another input or another type with the key is a 409 naming the difference, and starts nothing', async () => {
  const key = uniqueId('clash');
  const first = await start(one, body, key);
  expect(first.statusCode).toBe(201);
  const jobId = first.json<StartJobResponse>().jobId;
  const otherInput = await start(one, { type: 'example', input: { durationMs: 300 } }, key);
  expect(otherInput.statusCode).toBe(409);
  expect(otherInput.json()).toMatchObject({
    message: `This idempotency key was used before with another input (job "${jobId}"); use a new key for a new request`,
    issues: [{ path: ['input', 'durationMs'] }],
  });
  const otherType = await start(one, { type: 'demoHold', input: {} }, key);
  expect(otherType.statusCode).toBe(409);
  expect(otherType.json()).toMatchObject({
    message: `This idempotency key was used before with a job of another type (job "${jobId}"); use a new key for a new request`,
    issues: [{ path: ['type'] }],
  });
  // Still the one run of the first request.
  expect((await one.env.client.workflow.getHandle(jobId).describe()).runId).toBe(
    first.json<StartJobResponse>().runId,
  );
});

it("keys are the caller's own: the same key from another API key starts another job", async () => {
  const key = uniqueId('shared');
  const alice = await start(one, body, key, 'alice');
  const bob = await start(one, body, key, 'bob');
  expect([alice.statusCode, bob.statusCode]).toEqual([201, 201]);
  expect(alice.json<StartJobResponse>().jobId).not.toBe(bob.json<StartJobResponse>().jobId);
});

it('a malformed key, or a key with a jobId, is a 400 on the header, and starts nothing', async () => {
  for (const bad of ['', 'has space', 'x'.repeat(256), 'naïve']) {
    const res = await start(one, body, bad);
    expect([res.statusCode, bad]).toEqual([400, bad]);
    expect(res.json()).toMatchObject({
      message: 'Invalid request headers',
      issues: [{ path: ['idempotency-key'] }],
    });
    if (bad.length > 0 && /^[\x21-\x7e]+$/.test(bad)) await expectNoJob(idempotentJobId(bad, 'alice'));
  }
  const jobId = uniqueId('both');
  const both = await start(one, { ...body, jobId }, uniqueId('k'));
  expect(both.statusCode).toBe(400);
  expect(both.json()).toMatchObject({
    message: 'Send a jobId or an Idempotency-Key, not both: a jobId already makes the start idempotent',
    issues: [{ path: ['idempotency-key'] }],
  });
  await expectNoJob(jobId);
});

it('is in the OpenAPI contract as a header parameter of POST /api/jobs', async () => {
  const doc = (await one.app.inject({ method: 'GET', url: '/openapi.json' })).json<{
    paths: Record<string, Record<string, { parameters?: { name: string; in: string }[] }>>;
  }>();
  expect(doc.paths['/api/jobs'].post.parameters).toEqual([
    expect.objectContaining({ name: 'Idempotency-Key', in: 'header', required: false }),
  ]);
});
