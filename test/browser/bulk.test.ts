/**
 * Bulk actions in the dashboard: tick jobs in the list (or take every job matching the filters),
 * start a bulk job from the bulk bar, land on its card, watch it finish, and follow an item's link
 * to that job's card. Scoped to this file's own id prefix (other files share the dev server).
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { JobList } from '../../src/api/jobs/schemas';
import type { JobState } from '../../workflows/contracts';
import { closedJobState, uniqueId, waitFor } from '../helpers';
import { startTestApi, type TestApi } from '../api-harness';
import { launchChromium, screenshotPath } from './browser';

const WAIT = { timeout: 60_000 };
const prefix = uniqueId('bulk-ui');

let harness: TestApi;
let base: string;
let browser: Browser;
let context: BrowserContext;
const ids: string[] = [];

beforeAll(async () => {
  harness = await startTestApi({ STEPWISE_STREAM_POLL_MS: '100' }, { listen: true });
  base = harness.base!;
  for (let i = 0; i < 4; i++) {
    const { jobId } = await harness.jobs.start(
      'demoPipeline',
      { steps: { extract: { durationMs: 300_000 } } },
      { jobId: `${prefix}-${i}` },
    );
    ids.push(jobId);
  }
  // The visibility store is eventually consistent: wait until it lists all four.
  await waitFor(
    () => harness.jobs.list({ jobIdPrefix: prefix, topLevel: true, pageSize: 100 }),
    (l: JobList) => l.jobs.length === ids.length,
    30_000,
    200,
  );
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
});

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await harness?.close();
});

async function newPage(): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (err) => {
    throw err;
  });
  return page;
}

/** Starts the bulk action from the bar's button and its confirmation; returns the bulk job's id from the card it lands on. */
async function startBulk(page: Page, button: string): Promise<string> {
  await page.getByRole('button', { name: button }).click();
  const dialog = page.getByRole('dialog');
  await dialog.waitFor(WAIT);
  await dialog.getByRole('button', { name: 'Start bulk job' }).click();
  await page.waitForURL(/\/jobs\/stepwiseBulk-/, WAIT);
  const bulkId = decodeURIComponent(new URL(page.url()).pathname.slice('/jobs/'.length));
  await page.locator('h1.job-id', { hasText: bulkId }).waitFor(WAIT);
  return bulkId;
}

test('select two jobs, cancel them: the bulk job’s card shows progress to done and links each job', async () => {
  const page = await newPage();
  await page.goto(`${base}/?q=${encodeURIComponent(prefix)}`);
  for (const id of ids) await page.locator(`tr[data-job-id="${id}"] .badge`).waitFor(WAIT);
  const bulkButton = page.getByRole('button', { name: 'Cancel…' });
  // Nothing selected: the bar's buttons wait for a selection.
  expect(await bulkButton.isDisabled()).toBe(true);
  await page.getByRole('checkbox', { name: `Select ${ids[0]}` }).check();
  await page.getByRole('checkbox', { name: `Select ${ids[1]}` }).check();
  await page.getByText('The selected jobs (2)').waitFor(WAIT);
  // The page checkbox says "some".
  expect(
    await page
      .locator('#select-page')
      .evaluate((el) => (el as unknown as { indeterminate: boolean }).indeterminate),
  ).toBe(true);

  const bulkId = await startBulk(page, 'Cancel…');
  await page.locator('.status-line .badge', { hasText: /^completed$/ }).waitFor(WAIT);
  await page.locator('.pct.big', { hasText: '100%' }).waitFor(WAIT);
  const items = page.locator('a[data-link="bulk-item"]');
  await items.first().waitFor(WAIT);
  expect(await items.allTextContents()).toEqual([ids[0], ids[1]]);
  await page.screenshot({ path: screenshotPath('bulk-card') });
  expect((await closedJobState(harness.jobs, bulkId)).status).toBe('completed');

  // An item's link opens that job's card: cancelled by the bulk job.
  await items.first().click();
  await page.waitForURL(`${base}/jobs/${ids[0]}`, WAIT);
  await page.locator('h1.job-id', { hasText: ids[0] }).waitFor(WAIT);
  await page.locator('.status-line .badge', { hasText: /^cancelled$/ }).waitFor(WAIT);
  const other = await closedJobState(harness.jobs, ids[1]);
  expect(other.status).toBe('cancelled');
}, 120_000);

test('every job matching the filters: the running ones with this prefix are cancelled', async () => {
  const page = await newPage();
  await page.goto(`${base}/?q=${encodeURIComponent(prefix)}&status=running`);
  // The two left running (the other two were cancelled above) are listed as running.
  await waitFor(
    () => page.locator('table.jobs tbody tr:not(.subrow)').count(),
    (n) => n === 2,
    WAIT.timeout,
    50,
  );
  await page.getByRole('radio', { name: 'Every job matching these filters' }).check();
  const bulkId = await startBulk(page, 'Cancel…');
  const state: JobState = await closedJobState(harness.jobs, bulkId);
  expect(state.status).toBe('completed');
  for (const id of ids.slice(2)) expect((await closedJobState(harness.jobs, id)).status).toBe('cancelled');
  await page.locator('a[data-link="bulk-item"]').nth(1).waitFor(WAIT);
}, 120_000);
