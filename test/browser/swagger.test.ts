/**
 * `/docs` as an API consumer meets it: Swagger UI opens on `/openapi.json` without an error or
 * warning panel, and `POST /api/jobs` — "Try it out", then "Execute" with the prefilled example,
 * unchanged — starts a job (201).
 */
import type { Browser, Page } from 'playwright-core';
import { writeSamples } from '../../activities/samples';
import { startTestApi, type TestApi } from '../api-harness';
import { launchChromium, screenshotPath } from './browser';

const WAIT = { timeout: 60_000 };

let harness: TestApi;
let browser: Browser;

beforeAll(async () => {
  harness = await startTestApi({}, { listen: true });
  writeSamples(harness.pipelines.importRoot);
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await harness?.close();
});

async function openDocs(): Promise<Page> {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  page.on('pageerror', (err) => {
    throw err;
  });
  await page.goto(`${harness.base}/docs`);
  await page.locator('.opblock').first().waitFor(WAIT);
  return page;
}

test('opens with no error or warning, and POST /api/jobs executes its example unchanged: 201', async () => {
  const page = await openDocs();
  // Swagger UI shows what it cannot take in the document in an errors panel (a red box).
  expect(await page.locator('.errors-wrapper').count()).toBe(0);
  await page.screenshot({ path: screenshotPath('swagger-ui-1280') });

  const op = page.locator('#operations-jobs-jobs_start');
  await op.locator('.opblock-summary').click();
  await op.getByRole('button', { name: 'Try it out' }).click();
  const body = op.locator('textarea.body-param__text');
  await body.waitFor(WAIT);
  expect(JSON.parse(await body.inputValue())).toMatchObject({ type: 'example', input: { durationMs: 300 } });
  await op.getByRole('button', { name: 'Execute' }).click();
  const status = op.locator('.live-responses-table tr.response .response-col_status').first();
  await status.waitFor(WAIT);
  expect((await status.textContent())?.trim()).toBe('201');
  await page.screenshot({ path: screenshotPath('swagger-ui-start-executed-1280'), fullPage: true });
});
