/**
 * Concurrency limits and priorities as an operator meets them in the dashboard: a job started from
 * the new-job form with priority 1 shows its priority; a queued job's card says where it is in line
 * and what it waits for, moves up when the one ahead is cancelled from its own card, and starts by
 * itself once the holder closes (cancelled). Real API (`STEPWISE_CONCURRENCY_LIMITS=demoQueue=1`), worker and
 * dev server.
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
  harness = await startTestApi(
    { STEPWISE_STREAM_POLL_MS: '100', STEPWISE_CONCURRENCY_LIMITS: 'demoQueue=1' },
    { listen: true },
  );
  base = harness.base!;
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
});

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await harness?.close();
});

async function start(input: object, priority?: number): Promise<string> {
  const jobId = uniqueId('queue-card');
  const res = await fetch(`${base}/api/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'demoQueue', jobId, input, ...(priority ? { priority } : {}) }),
  });
  expect(res.status).toBe(201);
  return jobId;
}
const stateOf = async (jobId: string): Promise<JobState> =>
  (await (await fetch(`${base}/api/jobs/${encodeURIComponent(jobId)}`)).json()) as JobState;
const until = (jobId: string, done: (s: JobState) => boolean): Promise<JobState> =>
  waitFor(() => stateOf(jobId), done, 60_000, 100);

async function open(jobId: string): Promise<Page> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${base}/jobs/${encodeURIComponent(jobId)}`);
  await page.getByRole('heading', { name: jobId }).waitFor(WAIT);
  expect(errors).toEqual([]);
  return page;
}

it('a job started from the form with priority 1 shows it; a queued card shows its place, moves up, and starts by itself', async () => {
  const holder = await start({ durationMs: 60_000 });
  await until(holder, (s) => s.status === 'running');

  // The new-job form: demoQueue, priority 1.
  const form = await context.newPage();
  await form.goto(`${base}/new?type=demoQueue`);
  await form.getByLabel('Priority').selectOption('1');
  await form.getByRole('button', { name: 'Start job' }).click();
  await form.waitForURL(/\/jobs\//, WAIT);
  const high = decodeURIComponent(new URL(form.url()).pathname.split('/').pop()!);
  expect((await stateOf(high)).priority).toBe(1);
  await form.getByTestId('priority').getByText('priority 1 (highest)').waitFor(WAIT);

  // Queued behind the holder, then a low one behind it.
  const low = await start({ durationMs: 10 }, 5);
  await until(low, (s) => s.queue?.position === 2);
  await form
    .getByTestId('queue')
    .getByText(/Queued: number 1 in line for a slot \(1 at once of demoQueue; 1 running\), priority 1/)
    .waitFor(WAIT);
  const lowPage = await open(low);
  const line = lowPage.getByTestId('queue');
  await line.getByText(/Queued: number 2 in line/).waitFor(WAIT);
  await expect(lowPage.locator('.badge.s-queued').first().isVisible()).resolves.toBe(true);
  await lowPage.screenshot({ path: screenshotPath('card-queued'), fullPage: true });

  // Cancelling the high one from its card moves the low one up; the holder keeps its slot.
  await form.getByRole('button', { name: 'Cancel…' }).click();
  const dialog = form.getByRole('dialog', { name: 'Cancel this job?' });
  await dialog.waitFor(WAIT);
  await dialog.getByRole('button', { name: 'Cancel job' }).click();
  await until(high, (s) => s.status === 'cancelled');
  await line.getByText(/Queued: number 1 in line/).waitFor(WAIT);
  expect((await stateOf(holder)).status).toBe('running');

  // It starts by itself once the holder closes (cancelled here): the queue line goes, it completes.
  const cancelled = await fetch(`${base}/api/jobs/${encodeURIComponent(holder)}/cancel`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  expect(cancelled.status).toBe(202);
  await line.waitFor({ state: 'hidden', timeout: 60_000 });
  const done = await until(low, (s) => s.closedAt !== null);
  expect(done.status).toBe('completed');
  expect(Date.parse(done.steps[0].startedAt!)).toBeGreaterThanOrEqual(
    Date.parse((await stateOf(holder)).closedAt!),
  );
  await form.close();
  await lowPage.close();
});
