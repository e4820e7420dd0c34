/**
 * The job card names the build that ran the job (Worker Deployment Versioning), in a real browser
 * against the API, a versioned worker and the real dev server; a job of an unversioned worker
 * shows none (test/browser/card-text.test.ts and the rest run unversioned workers).
 */
import type { Browser } from 'playwright-core';
import { closedJobState, uniqueId } from '../helpers';
import { startTestApi, type TestApi } from '../api-harness';
import { launchChromium } from './browser';

const versioning = {
  deploymentName: uniqueId('stepwise-card-vt'),
  buildId: `0.1.0+${uniqueId('c').slice(2)}`,
};
let harness: TestApi;
let browser: Browser;

beforeAll(async () => {
  harness = await startTestApi({}, { listen: true, versioning });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await harness?.close();
});

it('shows the build id and the behaviour of a versioned job', async () => {
  const { jobId } = await harness.jobs.start('example', { durationMs: 20 });
  await closedJobState(harness.jobs, jobId);
  const page = await browser.newPage();
  try {
    page.on('pageerror', (err) => {
      throw err;
    });
    await page.goto(`${harness.base}/jobs/${encodeURIComponent(jobId)}`);
    const build = page.getByTestId('deployment');
    await build.waitFor({ timeout: 30_000 });
    expect(await build.textContent()).toBe(`${versioning.buildId} (pinned)`);
    expect(await build.getAttribute('title')).toContain(`Worker deployment ${versioning.deploymentName}`);
  } finally {
    await page.close();
  }
});
