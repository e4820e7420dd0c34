/**
 * What the job card says, in a real browser (Debian's Chromium) against the API, a worker and the
 * real dev server — the words, not only the bar: the headline of a running job belongs to its
 * current step; completed steps and batches read as finished; steps that never ran read "not run";
 * a cancelled job no longer says "cancelling" anywhere; the cancel dialog counts the sub-jobs that
 * really run (a batch's chunk sub-jobs, not its one coordinator).
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { testApiKeys, uniqueId } from '../helpers';
import { startTestApi, type TestApi } from '../api-harness';
import { launchChromium, screenshotPath } from './browser';

const { STEPWISE_API_KEYS, keys } = testApiKeys({ operator: 'operator' });
/** How long a UI wait may take: jobs here run for a few seconds at most. */
const WAIT = { timeout: 60_000 };

let harness: TestApi;
let base: string;
let browser: Browser;

beforeAll(async () => {
  harness = await startTestApi({ STEPWISE_API_KEYS, STEPWISE_STREAM_POLL_MS: '100' }, { listen: true });
  base = harness.base!;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await harness?.close();
});

const contexts: BrowserContext[] = [];
afterEach(async () => {
  await Promise.all(contexts.splice(0).map((c) => c.close()));
});

/**
 * A card page that records, in `window.__headlines`, every text the status line shows
 * ("Step 2/4: Transform" and the message after it), across re-renders.
 */
async function openCard(jobId: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  contexts.push(context);
  await context.addInitScript(`
    sessionStorage.setItem('stepwise.apiKey', ${JSON.stringify(keys.operator)});
    const seen = [];
    window.__headlines = seen;
    new MutationObserver(() => {
      const line = document.querySelector('.status-line');
      const step = line && line.querySelector('[data-testid="step-of"]');
      if (step) seen.push({ step: step.textContent, message: line.querySelector('.message')?.textContent ?? null });
    }).observe(document, { subtree: true, childList: true, characterData: true });
  `);
  const page = await context.newPage();
  page.on('pageerror', (err) => {
    throw err;
  });
  await page.goto(`${base}/jobs/${encodeURIComponent(jobId)}`);
  return page;
}

async function startViaApi(type: string, input: unknown): Promise<string> {
  const jobId = uniqueId(`text-${type}`);
  const res = await fetch(`${base}/api/jobs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${keys.operator}`, 'content-type': 'application/json' },
    body: JSON.stringify({ type, input, jobId }),
  });
  expect(res.status).toBe(201);
  return jobId;
}

const statusBadge = (page: Page, status: string) =>
  page.locator('.status-line .badge', { hasText: new RegExp(`^${status.replace(/_/g, ' ')}$`) });
const stepItem = (page: Page, index: number) => page.locator(`.timeline .step[data-step="${index}"]`);
const texts = (page: Page, selector: string): Promise<string[]> => page.locator(selector).allTextContents();
/** "9/10" with 9 < 10 anywhere in the text. */
const partWay = (text: string): boolean =>
  [...text.matchAll(/(\d+)\/(\d+)/g)].some(([, a, b]) => Number(a) < Number(b));

test('a running then completed job: the headline is the current step’s, and finished steps read as finished', async () => {
  // Extract reports "extract: 2/5 items"… for two seconds; then eight sub-jobs transform.
  const jobId = await startViaApi('demoPipeline', {
    durationMs: 100,
    parts: 8,
    steps: { extract: { durationMs: 2000 }, transform: { durationMs: 1500 } },
  });
  const page = await openCard(jobId);
  await page.locator('.status-line .message', { hasText: /^extract: [1-4]\/5 items$/ }).waitFor(WAIT);
  await page
    .getByTestId('step-of')
    .filter({ hasText: /^Step 2\/4: Transform$/ })
    .waitFor(WAIT);
  await page.screenshot({ path: screenshotPath('card-text-transform-1280'), fullPage: true });
  await statusBadge(page, 'completed').waitFor(WAIT);

  const seen = await page.evaluate<{ step: string; message: string | null }[]>('window.__headlines');
  const onTransform = seen.filter((h) => h.step === 'Step 2/4: Transform');
  expect(onTransform.length).toBeGreaterThan(0);
  // While on Transform the headline never spoke for Extract.
  for (const h of onTransform) expect(h.message === null || /^\d+\/8 chunks done/.test(h.message)).toBe(true);

  expect(await page.getByTestId('step-of').textContent()).toBe('Step 4/4: Report');
  expect(await page.locator('.status-line .message').textContent()).toBe('Completed');
  expect(await texts(page, '.timeline .step .badge')).toEqual([
    'completed',
    'completed',
    'completed',
    'completed',
  ]);
  for (const text of await texts(page, '.timeline .step-message')) expect(partWay(text)).toBe(false);
  expect(await stepItem(page, 2).locator('.step-message').textContent()).toBe('8/8 chunks done');
  expect(await stepItem(page, 2).locator('.batch').textContent()).toBe(
    'Batch: 8 of 8 chunks completed · 0 failed',
  );
});

test('a failed job: the steps that never ran read "not run", none "pending"', async () => {
  const jobId = await startViaApi('demoPipeline', {
    durationMs: 50,
    parts: 1,
    steps: { load: { failPermanently: true } },
  });
  const page = await openCard(jobId);
  await statusBadge(page, 'failed').waitFor(WAIT);
  expect(await texts(page, '.timeline .step .badge')).toEqual([
    'completed',
    'completed',
    'failed',
    'not run',
  ]);
  expect(await page.locator('.status-line .message').textContent()).toMatch(/^Step 3 "Load" failed: /);
  expect(await page.getByTestId('step-of').textContent()).toBe('Step 3/4: Load');
  expect(await stepItem(page, 4).textContent()).not.toMatch(/pending/);
  await page.screenshot({ path: screenshotPath('card-text-failed-1280'), fullPage: true });
});

test('cancel: the dialog counts the five chunk sub-jobs that run, and the cancelled card says nothing is cancelling', async () => {
  const jobId = await startViaApi('demoPipeline', {
    durationMs: 100,
    parts: 5,
    partCleanupMs: 800,
    steps: { transform: { durationMs: 60_000 } },
  });
  const page = await openCard(jobId);
  // The batch's counters, from the state: five chunk sub-jobs run under one coordinator.
  await page.locator('.subjobs', { hasText: '0 of 5 chunks completed · 0 failed · 5 running' }).waitFor(WAIT);
  await page.getByRole('button', { name: 'Cancel…' }).click();
  const dialog = page.getByRole('dialog', { name: 'Cancel this job?' });
  await dialog.waitFor(WAIT);
  expect(await dialog.locator('p').textContent()).toBe(
    `Job ${jobId} stops: running steps are cancelled and its 5 running sub-jobs are asked to stop. ` +
      'A cancelled job can be retried later.',
  );
  await page.screenshot({ path: screenshotPath('card-text-cancel-dialog-1280') });
  await dialog.getByRole('button', { name: 'Cancel job' }).click();
  await page.locator('.notice', { hasText: /^cancelling — [1-5] sub-jobs? left/ }).waitFor(WAIT);
  await statusBadge(page, 'cancelled').waitFor(WAIT);

  expect(await texts(page, '.timeline .step .badge')).toEqual([
    'completed',
    'cancelled',
    'not run',
    'not run',
  ]);
  expect(await page.locator('.timeline').textContent()).not.toContain('cancelling');
  expect(await page.locator('.card-head').textContent()).not.toContain('cancelling');
  expect(await stepItem(page, 2).locator('.step-message').count()).toBe(0);
  expect(await stepItem(page, 2).locator('.batch').textContent()).toBe(
    'Batch: 0 of 5 chunks completed · 0 failed',
  );
  expect(await page.locator('.notice').textContent()).toBe('Cancelled by operator; every sub-job stopped.');
  await page.screenshot({ path: screenshotPath('card-text-cancelled-1280'), fullPage: true });
});
