/**
 * What a job's card leads with, used as an operator uses it: a failed pipeline's root cause with
 * its chunk errors grouped (each chunk link opens that chunk's card), the steps that did not run
 * marked as consequences; the timeline with a failed attempt, its retry wait and a pause; who
 * started the job; the ETA of a running job; and the runs of a retried job, each link opening
 * that run. Real API, worker and dev server.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { JobState } from '../../workflows/contracts';
import { uniqueId, waitFor } from '../helpers';
import { startTestApi, type TestApi } from '../api-harness';
import { launchChromium, screenshotPath } from './browser';

const WAIT = { timeout: 60_000 };

let harness: TestApi;
let base: string;
let browser: Browser;
let context: BrowserContext;

beforeAll(async () => {
  harness = await startTestApi({ STEPWISE_STREAM_POLL_MS: '100' }, { listen: true });
  base = harness.base!;
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
});

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await harness?.close();
});

const url = (jobId: string, rest = ''): string => `${base}/api/jobs/${encodeURIComponent(jobId)}${rest}`;

async function start(input: unknown, type = 'demoPipeline'): Promise<string> {
  const jobId = uniqueId(`card-${type}`);
  const res = await fetch(`${base}/api/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ type, jobId, input }),
  });
  expect(res.status).toBe(201);
  return jobId;
}

const post = async (u: string, body: object = {}): Promise<number> =>
  (
    await fetch(u, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
  ).status;

const stateOf = async (jobId: string): Promise<JobState> =>
  (await (await fetch(url(jobId))).json()) as JobState;
const closed = (jobId: string): Promise<JobState> =>
  waitFor(
    () => stateOf(jobId),
    (s) => s.closedAt !== null,
    WAIT.timeout,
    100,
  );

async function openCard(path: string): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (err) => {
    throw err;
  });
  await page.goto(`${base}${path}`);
  await page.locator('.status-line .badge').waitFor(WAIT);
  return page;
}

test('a failed pipeline leads with its root cause; the grouped chunk links open the failed chunks', async () => {
  const message = 'ECONNRESET from images.example.com';
  const jobId = await start({
    durationMs: 0,
    parts: 4,
    partsFailing: 3,
    partFailure: message,
  });
  expect((await closed(jobId)).status).toBe('failed');
  const page = await openCard(`/jobs/${encodeURIComponent(jobId)}`);
  const cause = page.getByTestId('root-cause');
  await cause.waitFor(WAIT);
  expect(await cause.locator('h2').textContent()).toBe('Root cause');
  const text = (await cause.textContent()) ?? '';
  expect(text).toContain('Step “Work” of demoTask');
  expect(text).toContain(`3 chunks failed: SimulatedFailure: ${message}`);
  expect(text).toContain('Because of it: “Load” not run, “Report” not run.');
  // The consequences are marked on the steps too.
  expect(await page.locator('.step.consequence').count()).toBe(2);
  await page.screenshot({ path: screenshotPath('card-root-cause-1280'), fullPage: true });

  const links = cause.locator('a[data-link="cause-chunk"]');
  expect(await links.count()).toBe(3);
  const hrefs = await links.evaluateAll((as) => as.map((a) => a.getAttribute('href') ?? ''));
  for (const href of hrefs) {
    const chunk = await context.newPage();
    await chunk.goto(`${base}${href}`);
    await chunk.locator('.status-line .badge').waitFor(WAIT);
    expect(await chunk.locator('.status-line .badge').textContent()).toBe('failed');
    expect(await chunk.locator('.error-box').textContent()).toContain(message);
    expect(await chunk.locator('a[data-link="parent"]').textContent()).toBe(jobId);
    await chunk.close();
  }
  await page.close();
});

test('the timeline shows a failed attempt, its retry wait and a pause; the card says who started the job', async () => {
  const jobId = await start({
    durationMs: 300,
    parts: 1,
    steps: { load: { failAttempts: 1, durationMs: 200 } },
  });
  const page = await openCard(`/jobs/${encodeURIComponent(jobId)}`);
  expect(await page.getByTestId('started-by').textContent()).toBe('local');
  expect(await post(url(jobId, '/pause'), {})).toBe(200);
  await waitFor(
    () => stateOf(jobId),
    (s) => s.status === 'paused',
  );
  expect(await post(url(jobId, '/resume'), {})).toBe(200);
  await closed(jobId);
  await page.locator('.live.ended').waitFor(WAIT);
  const gantt = page.locator('.gantt');
  const load = gantt.locator('.g-row', { hasText: '3. Load' });
  expect(await load.locator('.g-bar.o-failed').count()).toBe(1);
  expect(await load.locator('.g-bar.g-wait').count()).toBe(1);
  expect(await load.locator('.g-bar.o-completed').count()).toBe(1);
  expect(await load.locator('.sr-only').textContent()).toMatch(
    /Attempt 1: failed after .*Retry wait before attempt 2.*Attempt 2: completed/,
  );
  // The pause is a band on every row.
  const rows = await gantt.locator('.g-row').count();
  expect(await gantt.locator('.g-bar.g-pause').count()).toBe(rows);
  expect(await page.locator('.g-axis').textContent()).toContain('1 pause');
  await page.screenshot({ path: screenshotPath('card-timeline-1280'), fullPage: true });
  await page.close();
});

test('a running sceneProcessing shows its ETA once its type has completed runs', async () => {
  const input = { durationMs: 20, newScenes: 1 };
  for (let i = 0; i < 2; i++) {
    const done = await start(input, 'sceneProcessing');
    expect((await closed(done)).status).toBe('completed');
  }
  const jobId = await start({ ...input, steps: { finalSync: { durationMs: 5000 } } }, 'sceneProcessing');
  const page = await openCard(`/jobs/${encodeURIComponent(jobId)}`);
  const eta = page.getByTestId('eta');
  await waitFor(
    () => eta.textContent(),
    (t) => t?.startsWith('ETA ') === true && !t.includes('no estimate'),
    WAIT.timeout,
    100,
  );
  expect(await eta.textContent()).toMatch(/ETA .* left\) from \d+ completed runs? of "sceneProcessing"/);
  expect(await eta.locator('time').getAttribute('datetime')).toMatch(/^\d{4}-\d\d-\d\dT/);
  await post(url(jobId, '/cancel'), {});
  await page.close();
});

test("a retried job's runs: each link opens that run", async () => {
  const jobId = await start({ durationMs: 0, parts: 1, steps: { load: { failRuns: 1 } } });
  const first = await closed(jobId);
  expect(first.status).toBe('failed');
  expect(await post(url(jobId, '/retry'), { fromStep: 3 })).toBe(201);
  const second = await waitFor(
    () => stateOf(jobId),
    (s) => s.runId !== first.runId && s.closedAt !== null,
    WAIT.timeout,
    100,
  );
  const page = await openCard(`/jobs/${encodeURIComponent(jobId)}`);
  const runs = page.locator('.runs a[data-link="run"]');
  await waitFor(
    () => runs.count(),
    (n) => n === 2,
    WAIT.timeout,
    100,
  );
  expect(await runs.nth(0).textContent()).toBe('Retry 1 from step 3');
  expect(await runs.nth(1).textContent()).toBe('First run');
  await runs.nth(1).click();
  await page.waitForURL(/\?run=/);
  await page.locator('.status-line .badge', { hasText: 'failed' }).waitFor(WAIT);
  expect(await page.locator('.links').textContent()).toContain(`Run ${first.runId}`);
  // An earlier run is read-only: no action applies to it.
  // The card's own Retry (a notification's Retry is named after its job).
  expect(await page.getByRole('button', { name: 'Retry', exact: true }).isDisabled()).toBe(true);
  await page.locator('a[data-link="latest-run"]').click();
  await page.locator('.status-line .badge', { hasText: 'completed' }).waitFor(WAIT);
  expect(await page.locator('.links').textContent()).not.toContain(`Run ${second.runId}`);
  await page.close();
});

test('a held job: the card leads with the hold and its choices; Retry step carries the job on', async () => {
  const jobId = await start({ durationMs: 50, failAttempts: 2 }, 'demoHold');
  const page = await openCard(`/jobs/${encodeURIComponent(jobId)}`);
  const hold = page.getByTestId('hold');
  await hold.waitFor({ state: 'visible', ...WAIT });
  expect(await page.locator('.status-line .badge').textContent()).toBe('held');
  expect(await hold.textContent()).toContain(
    'Step “Sync” failed after 2 attempts: sync failed on attempt 2 (simulated)',
  );
  await page.screenshot({ path: screenshotPath('card-held-1280'), fullPage: true });
  const retry = hold.getByRole('button', { name: 'Retry step' });
  expect(await retry.isEnabled()).toBe(true);
  await retry.click();
  await page.locator('.status-line .badge', { hasText: /^completed$/ }).waitFor(WAIT);
  expect(await hold.isHidden()).toBe(true);
  const final = await stateOf(jobId);
  expect(final.control.actions.map((a) => a.action)).toEqual(['retry_step']);
  await page.close();
});
