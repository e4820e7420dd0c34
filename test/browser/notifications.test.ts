/**
 * Word when a job breaks: a job that fails while a dashboard page is open shows a notification
 * naming the job, the step and the error, whose "View details" opens its card and whose "Retry"
 * starts a new run; the notification centre keeps it with an unread count; and the statuses a user
 * chose not to hear about stay quiet. Real API, worker and dev server; jobs fail for real.
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

async function post(path: string, body: unknown): Promise<Response> {
  return fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function start(name: string, input: unknown): Promise<string> {
  const jobId = uniqueId(name);
  const res = await post('/api/jobs', { type: 'example', jobId, input });
  expect(res.status).toBe(201);
  return jobId;
}

const stateOf = async (jobId: string): Promise<JobState> => {
  const res = await fetch(`${base}/api/jobs/${encodeURIComponent(jobId)}`);
  expect(res.status).toBe(200);
  return (await res.json()) as JobState;
};
const closed = (jobId: string): Promise<JobState> =>
  waitFor(
    () => stateOf(jobId),
    (s) => s.closedAt !== null,
    60_000,
    100,
  );

/** The job list's reads (the notifications' source), not a job's own. */
const isListRead = (url: URL): boolean => url.pathname === '/api/jobs';

/** A dashboard page, once the notifications read every status they hear about (known, not announced). */
async function openList(): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (err) => {
    throw err;
  });
  // The statuses are read in order; the last one's answer ends the first read.
  const primed = page.waitForResponse((r) => {
    const url = new URL(r.url());
    return isListRead(url) && url.searchParams.get('status') === 'cancelled';
  }, WAIT);
  await page.goto(`${base}/`);
  await page.locator('.notify-button').waitFor(WAIT);
  await primed;
  return page;
}

test('a job that fails while the list is open: a notification with the step and error; View details and Retry work', async () => {
  const page = await openList();
  // The page cannot read for a while (its reads fail as if the network dropped): the job fails
  // and then more jobs complete than a page of the list holds. The failure is still announced
  // once the page reads again (reading one page of every close, newest first, missed it).
  await page.route(isListRead, (route) => route.abort());
  // Its first step fails on every attempt (3): the job fails at "Prepare".
  const jobId = await start('notify-fails', { durationMs: 10, failAttempts: 10 });
  const failed = await closed(jobId);
  expect(failed.status).toBe('failed');
  const after = await Promise.all(Array.from({ length: 25 }, () => start('notify-busy', { durationMs: 10 })));
  for (const id of after) expect((await closed(id)).status).toBe('completed');
  await page.unroute(isListRead);
  const toast = page.locator(`.toast[data-job-id="${jobId}"]`);
  await toast.waitFor(WAIT);
  expect(await toast.getAttribute('role')).toBe('alert');
  const text = (await toast.textContent()) ?? '';
  expect(text).toContain(jobId);
  expect(text).toContain('Failed at “Prepare”');
  expect(text).toContain(failed.error!.message);
  // Counted unread (other test files' jobs share the dev server and may fail meanwhile: at least 1).
  expect(Number(await page.locator('.notify-button .count').textContent())).toBeGreaterThanOrEqual(1);
  await page.screenshot({ path: screenshotPath('notification-toast-1280') });

  // View details: the job's card.
  await toast.getByRole('link', { name: 'View details' }).click();
  await page.locator('.status-line .badge').waitFor(WAIT);
  expect(await page.locator('h1.job-id').textContent()).toBe(jobId);

  // The centre kept it (this browser's storage), unread; Retry there starts a new run.
  await page.getByRole('button', { name: /^Notifications, [1-9]\d* unread$/ }).click();
  const note = page.locator(`#notification-centre li[data-job-id="${jobId}"]`);
  await note.waitFor(WAIT);
  expect(await note.getAttribute('class')).toContain('unread');
  await page.screenshot({ path: screenshotPath('notification-centre-1280') });
  await note.getByRole('button', { name: `Retry ${jobId}` }).click();
  const rerun = await waitFor(
    () => stateOf(jobId),
    (s) => s.runId !== failed.runId,
    60_000,
    100,
  );
  expect(rerun.recovery.attempt).toBe(1);
  await page.waitForURL(`${base}/jobs/${encodeURIComponent(jobId)}`, WAIT);
  await closed(jobId);

  // Mark all read: the count goes.
  await page.getByRole('button', { name: /^Notifications, \d+ unread$/ }).click();
  await page.getByRole('button', { name: 'Mark all read' }).click();
  expect(await page.locator('.notify-button .count').textContent()).toBe('');
  await page.close();
});

test('statuses one chose not to hear about stay quiet; the others are still announced', async () => {
  const page = await openList();
  await page.getByRole('button', { name: /^Notifications, \d+ unread$/ }).click();
  await page.getByLabel('failed', { exact: true }).uncheck();
  const quiet = await start('notify-quiet', { durationMs: 10, failAttempts: 10 });
  expect((await closed(quiet)).status).toBe('failed');
  // A cancelled job after it: its notification proves the stream had the failed one's close too.
  const loud = await start('notify-cancelled', { durationMs: 30_000 });
  await waitFor(
    () => stateOf(loud),
    (s) => s.currentStep >= 1,
    30_000,
    100,
  );
  expect((await post(`/api/jobs/${encodeURIComponent(loud)}/cancel`, { reason: 'not needed' })).status).toBe(
    202,
  );
  expect((await closed(loud)).status).toBe('cancelled');
  const toast = page.locator(`.toast[data-job-id="${loud}"]`);
  await toast.waitFor(WAIT);
  expect(await toast.textContent()).toContain('Cancelled: not needed');
  expect(await page.locator(`.toast[data-job-id="${quiet}"]`).count()).toBe(0);
  expect(await page.locator(`#notification-centre li[data-job-id="${quiet}"]`).count()).toBe(0);
  // The choice is kept in this browser: a new page still has "failed" unchecked.
  const again = await openList();
  await again.getByRole('button', { name: /^Notifications, \d+ unread$/ }).click();
  expect(await again.getByLabel('failed', { exact: true }).isChecked()).toBe(false);
  await again.getByLabel('failed', { exact: true }).check();
  await again.close();
  await page.close();
});
