/**
 * A job's input, output and step results on its card: structured, collapsible views rather than
 * truncated strings, a Copy button that puts the exact JSON on the clipboard, and what the user
 * opened stays open while the live card redraws. Real API, worker and dev server.
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
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
});

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await harness?.close();
});

async function start(input: unknown): Promise<string> {
  const jobId = uniqueId('data');
  const res = await fetch(`${base}/api/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'demoPipeline', jobId, input }),
  });
  expect(res.status).toBe(201);
  return jobId;
}

const stateOf = async (jobId: string): Promise<JobState> =>
  (await (await fetch(`${base}/api/jobs/${encodeURIComponent(jobId)}`)).json()) as JobState;

async function openCard(jobId: string): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (err) => {
    throw err;
  });
  await page.goto(`${base}/jobs/${encodeURIComponent(jobId)}`);
  await page.locator('.status-line .badge').waitFor(WAIT);
  return page;
}

test('a running job: its input as a tree; a branch the user opened stays open while the card updates', async () => {
  const jobId = await start({ durationMs: 50, parts: 2, steps: { transform: { durationMs: 4000 } } });
  const page = await openCard(jobId);
  const input = page.locator('.job-data .json-view').first();
  await input.waitFor(WAIT);
  // Top level open, nested values behind their own toggle.
  const steps = input
    .locator('summary', { has: page.locator('.json-key', { hasText: /^steps: $/ }) })
    .locator('xpath=..');
  expect(await steps.getAttribute('open')).toBeNull();
  await steps.locator('> summary').click();
  expect(await steps.getAttribute('open')).toBe('');
  expect(await input.textContent()).toContain('parts: 2');
  // The card redraws as the job moves on; the opened branch is still open afterwards.
  const before = await page.getByTestId('step-of').textContent();
  await waitFor(
    () => page.getByTestId('step-of').textContent(),
    (t) => t !== before,
    WAIT.timeout,
    100,
  );
  expect(await steps.getAttribute('open')).toBe('');
  await page.screenshot({ path: screenshotPath('job-data-running-1280'), fullPage: true });
  await fetch(`${base}/api/jobs/${encodeURIComponent(jobId)}/cancel`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  await page.close();
});

test('a completed job: output and step results open as trees; Copy puts the exact JSON on the clipboard', async () => {
  const jobId = await start({ durationMs: 20, parts: 2 });
  const final = await waitFor(
    () => stateOf(jobId),
    (s) => s.closedAt !== null,
    60_000,
    100,
  );
  expect(final.status).toBe('completed');
  expect(final.output).not.toBeNull();
  const page = await openCard(jobId);
  await page.getByRole('button', { name: 'Copy output as JSON' }).click();
  await page.locator('.job-data [role="status"]', { hasText: 'Copied' }).waitFor(WAIT);
  expect(await page.evaluate<string>('navigator.clipboard.readText()')).toBe(
    JSON.stringify(final.output, null, 2),
  );
  // A step's result: a one-line summary that opens into the whole value.
  const step = final.steps.find((s) => s.status === 'completed' && s.result !== null)!;
  const result = page.locator(`.timeline .step[data-step="${step.index}"] details.result`);
  await result.locator('summary').first().click();
  await page.getByRole('button', { name: `Copy the result of ${step.name} as JSON` }).click();
  await result.locator('[role="status"]', { hasText: 'Copied' }).waitFor(WAIT);
  expect(await page.evaluate<string>('navigator.clipboard.readText()')).toBe(
    JSON.stringify(step.result, null, 2),
  );
  await page.screenshot({ path: screenshotPath('job-data-completed-1280'), fullPage: true });
  await page.close();
});
