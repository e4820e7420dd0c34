/**
 * The job card names the build that ran the job (Worker Deployment Versioning), in a real browser
 * against the API, a versioned worker and the real dev server, reached as an operator reaches it:
 * the list row's link, then the step's sub-job link (a pinned parent's sub-job runs on its build).
 * The other browser tests run unversioned workers, whose jobs carry no build (`deployment: null`).
 */
import type { Browser, Page } from 'playwright-core';
import { closedJobState, uniqueId } from '../helpers';
import { startTestApi, type TestApi } from '../api-harness';
import { launchChromium, screenshotPath } from './browser';

const versioning = {
  deploymentName: uniqueId('stepwise-card-vt'),
  buildId: `0.1.0+${uniqueId('c').slice(2)}`,
};
const WAIT = { timeout: 30_000 };
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

/** The card on screen is `jobId`'s (its title drawn from the loaded state) and names the build. */
async function expectBuildOnCard(page: Page, jobId: string): Promise<void> {
  await page.locator('.status-line .badge').waitFor(WAIT);
  expect(await page.locator('h1.job-id').textContent()).toBe(jobId);
  const build = page.getByTestId('deployment');
  await build.waitFor(WAIT);
  expect(await build.textContent()).toBe(`${versioning.buildId} (pinned)`);
  expect(await build.getAttribute('title')).toBe(
    `Worker deployment ${versioning.deploymentName}, build ${versioning.buildId}, ` +
      'pinned: the job finishes on this build',
  );
}

it('shows the build id and the behaviour of a versioned job and its sub-job', async () => {
  const { jobId } = await harness.jobs.start('example', { durationMs: 20 });
  await closedJobState(harness.jobs, jobId);
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  try {
    page.on('pageerror', (err) => {
      throw err;
    });
    await page.goto(`${harness.base}/?type=example`);
    await page.locator(`tr[data-job-id="${jobId}"] a[data-link="job"]`).click(WAIT);
    await expectBuildOnCard(page, jobId);
    await page.screenshot({ path: screenshotPath('deployment-card-1280'), fullPage: true });

    const subJob = page.locator('a[data-link="step-subjob"]').first();
    const subJobId = (await subJob.textContent())!;
    expect(subJobId).toBe(`${jobId}/subJob`);
    await subJob.click();
    await expectBuildOnCard(page, subJobId);
  } finally {
    await page.close();
  }
});
