/**
 * Requests that used to get a 500, a confusing 400 or too much of Temporal, against the real dev
 * server: a job input of 10 KB of nested arrays, a body that is not JSON (curl's default form), a
 * closed job read again and again (its state is kept, so no worker replays its history — and a
 * retry's new run is never answered from the old one's), pause/resume past the per-run cap, and
 * the framing and script policy of `/docs`.
 */
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { WorkflowNotFoundError } from '@temporalio/client';
import { createApp } from '../../src/app';
import exampleApp from '../../workflows/app';
import { loadConfig } from '../../src/config';
import type { JobState } from '../../workflows/contracts';
import { DEFAULT_LIMITS, LIMIT_BOUNDS } from '../../workflows/limits';
import { connectTestEnv, createTestWorker, uniqueId, waitFor, type TestEnv } from '../helpers';

let env: TestEnv;
beforeAll(async () => {
  env = await connectTestEnv();
});
afterAll(async () => {
  await env?.close();
});

/** A worker and an open-mode API on a task queue of their own; the worker can be stopped and replaced. */
async function setup(extra: NodeJS.ProcessEnv = {}) {
  const first = await createTestWorker(env);
  const running = first.worker.run();
  /** Stops the worker running now (once: a stopped one is not stopped again). */
  let stop: () => Promise<void> = async () => {
    stop = async () => undefined;
    first.worker.shutdown();
    await running;
  };
  const app: NestFastifyApplication = await createApp(
    loadConfig({
      TEMPORAL_ADDRESS: env.address,
      TEMPORAL_TASK_QUEUE: first.taskQueue,
      STEPWISE_AUDIT_DB_PATH: ':memory:',
      ...extra,
    }),
    { app: exampleApp, client: env.client },
  );
  return {
    app,
    stopWorker: () => stop(),
    async startWorker() {
      const next = await createTestWorker(env, { taskQueue: first.taskQueue });
      const again = next.worker.run();
      stop = async () => {
        stop = async () => undefined;
        next.worker.shutdown();
        await again;
      };
    },
    async close() {
      await app.close();
      await stop();
    },
  };
}

describe('bodies', () => {
  it('a job input of 10 KB of nested arrays is a 400 naming the depth, and starts nothing', async () => {
    const s = await setup();
    try {
      const jobId = uniqueId('deep');
      const input = '['.repeat(5000) + ']'.repeat(5000);
      const res = await s.app.inject({
        method: 'POST',
        url: '/api/jobs',
        headers: { 'content-type': 'application/json' },
        payload: `{"type":"example","jobId":"${jobId}","input":${input}}`,
      });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toEqual({
        statusCode: 400,
        error: 'Bad Request',
        message: 'Job input nests arrays and objects deeper than 64 levels',
        issues: [{ path: ['input'], message: 'Job input nests arrays and objects deeper than 64 levels' }],
      });
      await expect(env.client.workflow.getHandle(jobId).describe()).rejects.toBeInstanceOf(
        WorkflowNotFoundError,
      );
    } finally {
      await s.close();
    }
  });

  it("a body that is not JSON (curl's default form, text, XML) is a 415 saying how to send JSON", async () => {
    const s = await setup();
    try {
      for (const contentType of ['application/x-www-form-urlencoded', 'text/plain', 'application/xml']) {
        const res = await s.app.inject({
          method: 'POST',
          url: '/api/jobs',
          headers: { 'content-type': contentType },
          payload: '{"type":"example"}',
        });
        expect([contentType, res.statusCode]).toEqual([contentType, 415]);
        expect(res.json()).toEqual({
          statusCode: 415,
          error: 'Unsupported Media Type',
          message: expect.stringContaining(
            `Send a JSON body with "content-type: application/json" (got "${contentType}"); with curl: -H 'content-type: application/json' -d '{}'`,
          ),
        });
      }
    } finally {
      await s.close();
    }
  });
});

describe('closed jobs', () => {
  it('a closed run is read from a worker once; later reads need none; a retry’s new run is read afresh', async () => {
    const s = await setup();
    try {
      const jobId = uniqueId('closed');
      const start = await s.app.inject({
        method: 'POST',
        url: '/api/jobs',
        payload: {
          type: 'demoPipeline',
          jobId,
          input: { durationMs: 20, parts: 1, steps: { report: { failRuns: 1 } } },
        },
      });
      expect(start.statusCode).toBe(201);
      const get = () => s.app.inject({ method: 'GET', url: `/api/jobs/${jobId}` });
      // Closed in Temporal (the state says closed a moment before the run is), then read once.
      await waitFor(
        () => env.client.workflow.getHandle(jobId).describe(),
        (d) => d.status.name !== 'RUNNING',
        60_000,
      );
      const first = await get();
      expect(first.statusCode).toBe(200);
      const failed = first.json<JobState>();
      expect(failed.status).toBe('failed');

      // No worker at all now: a read that needed one would wait for it and answer 503.
      await s.stopWorker();
      for (let i = 0; i < 3; i++) {
        const again = await get();
        expect(again.statusCode).toBe(200);
        expect(again.json()).toEqual(failed);
      }

      await s.startWorker();
      const retry = await s.app.inject({ method: 'POST', url: `/api/jobs/${jobId}/retry`, payload: {} });
      expect(retry.statusCode).toBe(201);
      const runId = retry.json<{ runId: string }>().runId;
      const done = await waitFor(
        async () => (await get()).json<JobState>(),
        (st) => st.runId === runId && st.closedAt !== null,
        60_000,
      );
      expect(done).toMatchObject({ runId, status: 'completed', recovery: { attempt: 1 } });
    } finally {
      await s.close();
    }
  });
});

describe('control actions per run', () => {
  it('refuses pause/resume past STEPWISE_MAX_RUN_CONTROL_ACTIONS with a 409 naming it, changing nothing; cancel still works', async () => {
    const s = await setup({ STEPWISE_MAX_RUN_CONTROL_ACTIONS: '4' });
    try {
      const jobId = uniqueId('cap');
      const start = await s.app.inject({
        method: 'POST',
        url: '/api/jobs',
        payload: {
          type: 'demoPipeline',
          jobId,
          input: { parts: 1, steps: { extract: { durationMs: 120_000 } } },
        },
      });
      expect(start.statusCode).toBe(201);
      const post = (action: string) =>
        s.app.inject({ method: 'POST', url: `/api/jobs/${jobId}/${action}`, payload: { reason: action } });
      const before = (await env.client.workflow.getHandle(jobId).describe()).historyLength;
      for (const action of ['pause', 'resume', 'pause', 'resume'])
        expect((await post(action)).statusCode).toBe(200);
      const history = (await env.client.workflow.getHandle(jobId).describe()).historyLength;
      // What an accepted action costs the run's history (an upper bound: progress signals of the
      // running step count too): at the default cap and at the highest allowed one, the actions
      // leave at least 10,000 of Temporal's 51,200 events to the job's own steps.
      const perAction = (history - before) / 4;
      expect(perAction).toBeGreaterThan(0);
      expect(DEFAULT_LIMITS.maxRunControlActions).toBeLessThanOrEqual(LIMIT_BOUNDS.maxRunControlActions.max);
      expect(LIMIT_BOUNDS.maxRunControlActions.max * perAction).toBeLessThanOrEqual(51_200 - 10_000);

      const refused = await post('pause');
      expect(refused.statusCode).toBe(409);
      expect(refused.json().message).toMatch(
        /has had 4 pause\/resume actions in this run, the limit \(STEPWISE_MAX_RUN_CONTROL_ACTIONS=4.*it can still be cancelled/,
      );
      const state = (await s.app.inject({ method: 'GET', url: `/api/jobs/${jobId}` })).json<JobState>();
      expect(state.control.paused).toBe(false);
      expect(state.control.actions.map((a) => a.action)).toEqual(['pause', 'resume', 'pause', 'resume']);
      // A refused update leaves no trace in the history: four accepted updates, no fifth (the
      // history may still grow meanwhile by the running step's progress signals).
      const events = (await env.client.workflow.getHandle(jobId).fetchHistory()).events ?? [];
      const accepted = events.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes);
      expect(accepted).toHaveLength(4);
      expect(events.filter((e) => e.workflowExecutionUpdateAdmittedEventAttributes)).toHaveLength(0);

      expect((await post('cancel')).statusCode).toBe(202);
      await waitFor(
        async () => (await s.app.inject({ method: 'GET', url: `/api/jobs/${jobId}` })).json<JobState>(),
        (st) => st.status === 'cancelled',
        60_000,
      );
    } finally {
      await s.close();
    }
  });
});

describe('/docs', () => {
  it('is served with a script policy and no framing', async () => {
    const s = await setup();
    try {
      for (const url of ['/docs', '/docs/assets/init.js']) {
        const res = await s.app.inject({ method: 'GET', url });
        expect(res.statusCode).toBe(200);
        expect(res.headers['content-security-policy']).toMatch(/default-src 'self'/);
        expect(res.headers['content-security-policy']).toMatch(/script-src 'self'(;|$)/);
        expect(res.headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
        expect(res.headers['x-frame-options']).toBe('DENY');
        expect(res.headers['x-content-type-options']).toBe('nosniff');
      }
    } finally {
      await s.close();
    }
  });
});
