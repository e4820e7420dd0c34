/**
 * The launcher's process status in the API's readiness answer (`stack`): present only when a
 * launcher sent one, and never a reason for a 503 — a restarting worker does not take the API out
 * of a load balancer. The IPC path itself runs in the launcher tests (test/faults/launcher-*).
 */
import { setStackStatus, type StackStatus } from '../../src/stack-status';
import { startTestApi, type TestApi } from '../api-harness';

let harness: TestApi;

beforeAll(async () => {
  harness = await startTestApi();
});

afterAll(async () => {
  setStackStatus(null);
  await harness?.close();
});

const degraded: StackStatus = {
  status: 'degraded',
  launcher: 'npm start',
  processes: [
    { name: 'temporal', state: 'up', pid: 10, restarts: 0, since: new Date().toISOString(), lastExit: null },
    {
      name: 'worker',
      state: 'restarting',
      pid: null,
      restarts: 1,
      since: new Date().toISOString(),
      lastExit: {
        code: null,
        signal: 'SIGKILL',
        at: new Date().toISOString(),
        reason: 'killed by SIGKILL after 9 s',
      },
    },
  ],
};

it('without a launcher: no stack field', async () => {
  setStackStatus(null);
  const res = await harness.app.inject({ method: 'GET', url: '/health/ready' });
  expect(res.statusCode).toBe(200);
  expect(res.json()).toEqual({ status: 'ok', temporal: 'ok' });
});

it('under a launcher: its processes, and still 200 while one restarts', async () => {
  setStackStatus(degraded);
  for (const url of ['/health/ready', '/health']) {
    const res = await harness.app.inject({ method: 'GET', url });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok', temporal: 'ok', stack: degraded });
  }
  // Liveness stays minimal.
  expect((await harness.app.inject({ method: 'GET', url: '/health/live' })).json()).toEqual({ status: 'ok' });
});
