/**
 * A job whose workflow cannot run — here one whose worker runs a bundle without its job type, so its workflow
 * task fails "no such function is exported by the workflow bundle" and Temporal retries it forever —
 * reads honestly through the API (never a 500, never a query left to time out), refuses control
 * with a 409 that says why, and is terminated from the dashboard by an admin, with confirmation,
 * into the audit trail.
 */
import type { Browser } from 'playwright-core';
import { Worker } from '@temporalio/worker';
import type { JobState } from '../../workflows/contracts';
import { WORKFLOW_INTERCEPTOR_MODULES } from '../../src/worker-factory';
import { connectTestEnv, uniqueId, waitFor, type TestEnv } from '../helpers';
import { startTestApi, type TestApi } from '../api-harness';
import { launchChromium, screenshotPath } from './browser';

const WAIT = { timeout: 60_000 };

let env: TestEnv;
let brokenWorker: Worker;
let brokenRun: Promise<void>;
let harness: TestApi;
let base: string;
let browser: Browser;

beforeAll(async () => {
  env = await connectTestEnv();
  // A worker whose workflows come from an entry with no job type, bundled from source now.
  // Stepwise's worker factory refuses such a bundle (src/registration.ts), so it is made with the
  // SDK directly: this is a worker of another deploy, or one started before the check existed.
  const taskQueue = uniqueId('broken-queue');
  brokenWorker = await Worker.create({
    connection: env.nativeConnection,
    namespace: 'default',
    taskQueue,
    workflowsPath: require.resolve('../fixtures/bundles/without-example'),
    interceptors: { workflowModules: WORKFLOW_INTERCEPTOR_MODULES },
  });
  brokenRun = brokenWorker.run();
  harness = await startTestApi({ TEMPORAL_TASK_QUEUE: taskQueue }, { listen: true });
  base = harness.base!;
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await harness?.close();
  brokenWorker?.shutdown();
  await brokenRun;
  await env?.close();
});

const call = (method: string, path: string, body?: unknown) =>
  fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

test('reads honestly, refuses control with the reason, and an admin terminates it from its card', async () => {
  const jobId = uniqueId('unrunnable');
  expect((await call('POST', '/api/jobs', { type: 'example', jobId, input: {} })).status).toBe(201);

  // Stuck: Temporal retries the failing workflow task (attempt 2 and on).
  const stuck = await waitFor(
    async () => {
      const res = await call('GET', `/api/jobs/${jobId}`);
      return { status: res.status, body: (await res.json()) as JobState };
    },
    (r) => r.status !== 200 || r.body.error?.type === 'WorkflowTaskFailed',
    60_000,
    250,
  );
  expect(stuck.status).toBe(200);
  expect(stuck.body).toMatchObject({ jobId, type: 'example', status: 'running', closedAt: null });
  expect(stuck.body.message).toMatch(
    /^The job's workflow cannot run: .*no such function is exported by the workflow bundle.*An admin can terminate it\.$/,
  );

  const started = Date.now();
  const cancel = await call('POST', `/api/jobs/${jobId}/cancel`, {});
  expect(cancel.status).toBe(409);
  expect(((await cancel.json()) as { message: string }).message).toMatch(
    new RegExp(
      `^Job "${jobId}" cannot cancel: its workflow cannot run \\(.*no such function.*\\).*terminate`,
    ),
  );
  for (const action of ['pause', 'resume']) {
    expect([action, (await call('POST', `/api/jobs/${jobId}/${action}`, {})).status]).toEqual([action, 409]);
  }
  // Answered from Temporal's own records, not after a query's 15 s deadline.
  expect(Date.now() - started).toBeLessThan(15_000);

  // The dashboard: the card says it, and the admin's Terminate asks first, then acts.
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  await page.goto(`${base}/jobs/${jobId}`);
  await page.locator('.error-box', { hasText: 'cannot run' }).waitFor(WAIT);
  await page.screenshot({ path: screenshotPath('unrunnable-card-1280'), fullPage: true });
  const terminate = page.getByRole('button', { name: 'Terminate…' });
  expect(await terminate.isEnabled()).toBe(true);
  // Only terminate reaches it: the other actions are disabled, as the API would refuse them.
  for (const name of ['Pause', 'Resume', 'Cancel…', 'Retry']) {
    expect([name, await page.getByRole('button', { name }).isDisabled()]).toEqual([name, true]);
  }
  await page.getByLabel('Reason (optional, recorded)').fill('its type is not in the bundle');
  await terminate.click();
  const dialog = page.getByRole('dialog', { name: 'Terminate this job?' });
  await dialog.waitFor(WAIT);
  await dialog.getByRole('button', { name: 'Keep it' }).click();
  await dialog.waitFor({ state: 'hidden', ...WAIT });
  expect((await env.client.workflow.getHandle(jobId).describe()).status.name).toBe('RUNNING');
  await terminate.click();
  await dialog.getByRole('button', { name: 'Terminate job' }).click();
  await page.locator('.status-line .badge', { hasText: /^failed$/ }).waitFor(WAIT);
  expect(await page.locator('.error-box').textContent()).toContain('its type is not in the bundle');
  expect(await terminate.isDisabled()).toBe(true);

  expect((await env.client.workflow.getHandle(jobId).describe()).status.name).toBe('TERMINATED');
  const audit = (await (await call('GET', `/api/audit?jobId=${jobId}&action=terminate`)).json()) as {
    entries: { action: string; outcome: string; actor: string; reason: string | null }[];
  };
  expect(audit.entries).toEqual([
    expect.objectContaining({
      action: 'terminate',
      outcome: 'accepted',
      actor: 'local',
      reason: 'its type is not in the bundle',
    }),
  ]);
});

test('a viewer or operator is not offered Terminate', async () => {
  const keyed = await startTestApi(
    { STEPWISE_API_KEYS: 'op:operator:operator-key-0123456789abcdef' },
    { listen: true },
  );
  try {
    const context = await browser.newContext();
    await context.addInitScript(
      `sessionStorage.setItem('stepwise.apiKey', 'operator-key-0123456789abcdef');`,
    );
    const page = await context.newPage();
    const jobId = uniqueId('no-terminate');
    await fetch(`${keyed.base}/api/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer operator-key-0123456789abcdef' },
      body: JSON.stringify({ type: 'example', jobId, input: { durationMs: 2000 } }),
    });
    await page.goto(`${keyed.base}/jobs/${jobId}`);
    await page.getByRole('button', { name: 'Pause' }).waitFor(WAIT);
    expect(await page.getByRole('button', { name: 'Terminate…' }).count()).toBe(0);
    await context.close();
  } finally {
    await keyed.close();
  }
});
