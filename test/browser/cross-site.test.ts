/**
 * The browser side of issue 18, in Chromium against the API on the real dev server:
 * - a page of another site (another origin on this machine) fires what a hostile page can — a
 *   bodiless `fetch(…, {mode: 'no-cors'})`, a text/plain one, a form posted into a frame — at an
 *   open-mode API, and nothing changes (the audit trail shows the requests arrived and were refused);
 * - the dashboard keeps working at `localhost` (pause and resume from the card);
 * - with keys, the dashboard follows a job live while no request URL ever carries the key;
 * - `/docs` renders under its script policy.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { AuditPage } from '../../src/api/audit/audit.schemas';
import type { JobState } from '../../workflows/contracts';
import { startTestApi, type TestApi } from '../api-harness';
import { testApiKeys, uniqueId, waitFor } from '../helpers';
import { launchChromium } from './browser';

const WAIT = { timeout: 60_000 };
const { STEPWISE_API_KEYS, keys } = testApiKeys({ ops: 'operator' });

let open: TestApi;
let keyed: TestApi;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  [open, keyed] = await Promise.all([
    startTestApi({ STEPWISE_STREAM_POLL_MS: '100' }, { listen: true }),
    startTestApi({ STEPWISE_API_KEYS, STEPWISE_STREAM_POLL_MS: '100' }, { listen: true }),
  ]);
  browser = await launchChromium();
});
afterAll(async () => {
  await Promise.all(contexts.map((c) => c.close()));
  await browser?.close();
  await open?.close();
  await keyed?.close();
});

async function newPage(key: string | null = null): Promise<Page> {
  const context = await browser.newContext();
  contexts.push(context);
  if (key) await context.addInitScript(`sessionStorage.setItem('stepwise.apiKey', ${JSON.stringify(key)});`);
  const page = await context.newPage();
  page.on('pageerror', (err) => {
    throw err;
  });
  return page;
}

async function startLongJob(api: TestApi, headers: Record<string, string> = {}): Promise<string> {
  const jobId = uniqueId('xsite-ui');
  const res = await fetch(`${api.base}/api/jobs`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({
      type: 'demoPipeline',
      jobId,
      input: { parts: 1, steps: { extract: { durationMs: 120_000 } } },
    }),
  });
  expect(res.status).toBe(201);
  await waitFor(
    async () => (await (await fetch(`${api.base}/api/jobs/${jobId}`, { headers })).json()) as JobState,
    (s) => s.steps[0]?.status === 'running',
  );
  return jobId;
}

const statusBadge = (page: Page, status: string) =>
  page.locator('.status-line .badge', { hasText: new RegExp(`^${status}$`) });

test("another site's page cannot act through the browser on an open-mode API", async () => {
  const jobId = await startLongJob(open);
  const target = `${open.base}/api/jobs/${jobId}`;
  // The attacker's page, on another origin (another port) of this machine.
  const attacker: Server = createServer((_req, res) => {
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(`<!doctype html><body>
<iframe name="sink"></iframe>
<form id="f" method="POST" action="${target}/cancel" target="sink" enctype="text/plain">
  <input name='{"reason":"' value='form"}'>
</form>
<script>
  const sent = [
    fetch('${target}/cancel', { method: 'POST', mode: 'no-cors' }),
    fetch('${target}/pause', { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: '{"reason":"no-cors"}' }),
    fetch('${target}/pause', { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'reason=x' }),
  ];
  document.querySelector('iframe').addEventListener('load', () => (window.formDone = true));
  document.getElementById('f').submit();
  Promise.allSettled(sent).then(() => (window.fetchesDone = true));
</script></body>`);
  });
  await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
  try {
    const page = await newPage();
    await page.goto(`http://127.0.0.1:${(attacker.address() as AddressInfo).port}/`);
    await page.waitForFunction('window.fetchesDone === true && window.formDone === true', undefined, WAIT);
  } finally {
    attacker.close();
  }
  const rows = (
    (await (await fetch(`${open.base}/api/audit?jobId=${jobId}`)).json()) as AuditPage
  ).entries.filter((e) => e.action !== 'start');
  // All four arrived, and all four were refused for coming from another origin.
  expect(rows.map((r) => [r.action, r.outcome, r.statusCode]).sort()).toEqual([
    ['cancel', 'refused', 403],
    ['cancel', 'refused', 403],
    ['pause', 'refused', 403],
    ['pause', 'refused', 403],
  ]);
  const s = (await (await fetch(`${open.base}/api/jobs/${jobId}`)).json()) as JobState;
  expect({ status: s.status, actions: s.control.actions, cancellation: s.cancellation }).toEqual({
    status: 'running',
    actions: [],
    cancellation: null,
  });
  await open.env.client.workflow.getHandle(jobId).terminate('test over');
});

test('the dashboard works at localhost: pause and resume from the card', async () => {
  const jobId = await startLongJob(open);
  const page = await newPage();
  await page.goto(`${open.base!.replace('127.0.0.1', 'localhost')}/jobs/${jobId}`);
  await statusBadge(page, 'running').waitFor(WAIT);
  await page.getByRole('button', { name: 'Pause' }).click();
  // Its first step runs on: the job is pausing until the step ends.
  await statusBadge(page, 'pausing').waitFor(WAIT);
  await page.getByRole('button', { name: 'Resume' }).click();
  await statusBadge(page, 'running').waitFor(WAIT);
  await open.env.client.workflow.getHandle(jobId).terminate('test over');
});

test('with keys, the dashboard follows a job live and no request URL carries the key', async () => {
  const headers = { authorization: `Bearer ${keys.ops}` };
  const jobId = uniqueId('live');
  const res = await fetch(`${keyed.base}/api/jobs`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'demoPipeline', jobId, input: { durationMs: 400, parts: 1 } }),
  });
  expect(res.status).toBe(201);
  const page = await newPage(keys.ops);
  const urls: string[] = [];
  page.on('request', (r) => urls.push(r.url()));
  await page.goto(`${keyed.base}/jobs/${jobId}`);
  await page.locator('.live', { hasText: /^live$/ }).waitFor(WAIT);
  await statusBadge(page, 'completed').waitFor(WAIT);
  await page.goto(`${keyed.base}/`);
  await page.locator(`tr[data-job-id="${jobId}"]`).waitFor(WAIT);
  expect(urls.some((u) => u.includes('/events'))).toBe(true);
  expect(urls.filter((u) => u.includes(keys.ops) || u.includes('access_token'))).toEqual([]);
});

test('/docs renders under its script policy', async () => {
  const page = await newPage();
  const violations: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
  });
  await page.goto(`${open.base}/docs`);
  await page.locator('.swagger-ui .info .title').waitFor(WAIT);
  expect(violations).toEqual([]);
});
