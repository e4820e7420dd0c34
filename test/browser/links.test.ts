/**
 * Every kind of link the dashboard shows is followed by clicking it, and the page it lands on must
 * show that job: list rows (a top-level job and a sub-job), a list row's parent link, a card's
 * sub-job tree (single sub-jobs, batch chunks, a failed sub-job), a step's sub-job link, an active
 * sub-job of a running batch, a sub-job card's parent link, and "Open in Temporal UI" — which
 * opens the real Temporal Web UI of the run's dev server on that workflow.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { JobState } from '../../workflows/contracts';
import { uniqueId, waitFor } from '../helpers';
import { startTestApi, type TestApi } from '../api-harness';
import { launchChromium, screenshotPath } from './browser';

const UI_URL = process.env.STEPWISE_TEST_TEMPORAL_UI_URL;
const WAIT = { timeout: 60_000 };

let harness: TestApi;
let base: string;
let browser: Browser;
let context: BrowserContext;

beforeAll(async () => {
  harness = await startTestApi(
    { STEPWISE_STREAM_POLL_MS: '100', ...(UI_URL ? { STEPWISE_TEMPORAL_UI_URL: UI_URL } : {}) },
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

async function startViaApi(type: string, input: unknown): Promise<string> {
  const jobId = uniqueId(`links-${type}`);
  const res = await fetch(`${base}/api/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ type, input, jobId }),
  });
  expect(res.status).toBe(201);
  return jobId;
}

async function stateOf(jobId: string): Promise<JobState> {
  const res = await fetch(`${base}/api/jobs/${encodeURIComponent(jobId)}`);
  expect(res.status).toBe(200);
  return (await res.json()) as JobState;
}

async function newPage(): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (err) => {
    throw err;
  });
  return page;
}

/**
 * The card on screen shows `jobId`'s state as the API sent it: the title is drawn from the state
 * (not from the URL), with the status badge that only a loaded state has.
 */
async function expectCardOf(page: Page, jobId: string): Promise<void> {
  await page.locator('.status-line .badge').waitFor(WAIT);
  expect(await page.title()).toMatch(/ · /);
  expect((await page.title()).startsWith(`${jobId} · `)).toBe(true);
  expect(await page.locator('h1.job-id').textContent()).toBe(jobId);
  expect(new URL(page.url()).pathname).toBe(`/jobs/${encodeURIComponent(jobId)}`);
}

/** Clicks the link and checks the card it leads to; returns to `from` afterwards. */
async function follow(page: Page, link: ReturnType<Page['locator']>, from: string): Promise<string> {
  const href = (await link.getAttribute('href'))!;
  const jobId = decodeURIComponent(href.replace(/^\/jobs\//, ''));
  await link.click();
  await expectCardOf(page, jobId);
  await page.goto(from);
  return jobId;
}

let sceneId: string;
let scene: JobState;

beforeAll(async () => {
  sceneId = await startViaApi('sceneProcessing', {
    newScenes: 4,
    durationMs: 20,
    analyze: { chunkSize: 2, window: 2 },
    steps: { generateMetadata: { failPermanently: true } },
  });
  scene = await waitFor(
    () => stateOf(sceneId),
    (s) => s.closedAt !== null,
    90_000,
    200,
  );
  expect(scene.status).toBe('completed_with_errors');
});

test('list rows lead to their cards: a top-level job, a sub-job, and the sub-job row’s parent link', async () => {
  const page = await newPage();
  const list = `${base}/?type=sceneProcessing`;
  await page.goto(list);
  const row = page.locator(`tr[data-job-id="${sceneId}"]`);
  await row.waitFor(WAIT);
  // The Step cell is a plain cell: not the timeline's step style (a thick bar on its left).
  const stepBorder = await page.evaluate<string>(
    `getComputedStyle(document.querySelector('tr[data-job-id="${sceneId}"] td[data-label="Step"]')).borderLeftWidth`,
  );
  expect(stepBorder).toBe('0px');
  expect(await follow(page, row.locator('a[data-link="job"]'), list)).toBe(sceneId);

  const failedSub = scene.steps.find((s) => s.key === 'generateMetadata')!.subJobIds[0];
  const subList = `${base}/?type=sceneTask&status=failed`;
  await page.goto(subList);
  const subRow = page.locator(`tr[data-job-id="${failedSub}"]`);
  await subRow.waitFor(WAIT);
  await page.screenshot({ path: screenshotPath('links-list-subjobs-1280'), fullPage: true });
  expect(await follow(page, subRow.locator('a[data-link="job"]'), subList)).toBe(failedSub);
  await subRow.waitFor(WAIT);
  expect(await follow(page, subRow.locator('a[data-link="parent"]'), subList)).toBe(sceneId);
});

test('a closed job’s card: every tree node, a step’s sub-job link, and the parent link back', async () => {
  const page = await newPage();
  const card = `${base}/jobs/${encodeURIComponent(sceneId)}`;
  await page.goto(card);
  await expectCardOf(page, sceneId);
  const tree = page.locator('a[data-link="tree"]');
  await tree.first().waitFor(WAIT);
  await page.screenshot({ path: screenshotPath('links-card-tree-1280'), fullPage: true });
  const ids = await tree.evaluateAll((links) => links.map((a) => a.getAttribute('title')));
  // Five sub-job steps ran (finalSync was skipped after the failure) and two analysis chunks.
  expect(ids).toHaveLength(7);
  expect(ids.filter((id) => id?.startsWith(`${sceneId}/analyze/`))).toHaveLength(2);
  for (let i = 0; i < ids.length; i++) {
    const reached = await follow(page, page.locator('a[data-link="tree"]').nth(i), card);
    expect(reached).toBe(ids[i]);
  }
  const failed = scene.steps.find((s) => s.key === 'generateMetadata')!.subJobIds[0];
  await page.locator('a[data-link="step-subjob"]').first().waitFor(WAIT);
  const stepLink = page.locator(`.timeline .step[data-step="6"] a[data-link="step-subjob"]`);
  expect(await follow(page, stepLink, card)).toBe(failed);

  // From the failed sub-job's card: its parent link, and no retry of its own.
  await page.goto(`${base}/jobs/${encodeURIComponent(failed)}`);
  await expectCardOf(page, failed);
  expect(await page.getByRole('button', { name: 'Retry', exact: true }).isDisabled()).toBe(true);
  expect(await page.locator('.actions').textContent()).toContain(
    'A sub-job runs again when its parent is retried',
  );
  await page.screenshot({ path: screenshotPath('links-subjob-card-1280'), fullPage: true });
  await page.locator('.links a[data-link="parent"]').click();
  await expectCardOf(page, sceneId);
});

test('a demoPipeline batch: an active sub-job link leads to the running chunk’s card; once cancelled, every tree node', async () => {
  const jobId = await startViaApi('demoPipeline', {
    durationMs: 50,
    parts: 2,
    steps: { transform: { durationMs: 60_000 } },
  });
  const page = await newPage();
  const card = `${base}/jobs/${encodeURIComponent(jobId)}`;
  await page.goto(card);
  const active = page.locator('a[data-link="active-subjob"]');
  await active.nth(1).waitFor(WAIT);
  const chunk = await follow(page, active.first(), card);
  expect(chunk).toMatch(new RegExp(`^${jobId}/transform/`));
  const res = await fetch(`${base}/api/jobs/${encodeURIComponent(jobId)}/cancel`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  expect(res.status).toBe(202);

  // Its closed card: every node of its tree (the cancelled chunks) leads to that chunk's card.
  await waitFor(
    () => stateOf(jobId),
    (s) => s.closedAt !== null,
    60_000,
    200,
  );
  await page.goto(card);
  await expectCardOf(page, jobId);
  const tree = page.locator('a[data-link="tree"]');
  await tree.first().waitFor(WAIT);
  const ids = await tree.evaluateAll((links) => links.map((a) => a.getAttribute('title')));
  expect(ids.filter((id) => id?.startsWith(`${jobId}/transform/`))).toHaveLength(2);
  for (let i = 0; i < ids.length; i++) {
    expect(await follow(page, page.locator('a[data-link="tree"]').nth(i), card)).toBe(ids[i]);
  }
});

test('"Open in Temporal UI" opens the Web UI on that workflow, for a job and for a sub-job', async () => {
  if (!UI_URL) {
    console.warn(
      'no Temporal Web UI in this run (STEPWISE_TEST_TEMPORAL_UI_URL unset): the UI link is not followed',
    );
    return;
  }
  const tree = (await (await fetch(`${base}/api/jobs/${encodeURIComponent(sceneId)}/children`)).json()) as {
    jobId: string;
  }[];
  const chunkId = tree.map((n) => n.jobId).find((id) => id.startsWith(`${sceneId}/analyze/`))!;
  for (const jobId of [sceneId, chunkId]) {
    const page = await newPage();
    await page.goto(`${base}/jobs/${encodeURIComponent(jobId)}`);
    await expectCardOf(page, jobId);
    const [ui] = await Promise.all([
      context.waitForEvent('page', WAIT),
      page.locator('a[data-link="temporal-ui"]').click(),
    ]);
    await ui.waitForLoadState('domcontentloaded');
    expect(ui.url().startsWith(`${UI_URL}/namespaces/default/workflows/${encodeURIComponent(jobId)}/`)).toBe(
      true,
    );
    // The Web UI shows the workflow: its id on the page, and no "not found".
    await ui.getByText(jobId, { exact: true }).first().waitFor(WAIT);
    expect(await ui.getByText(/not found/i).count()).toBe(0);
    await ui.screenshot({ path: screenshotPath(`links-temporal-ui-${jobId === sceneId ? 'job' : 'chunk'}`) });
    await ui.close();
    await page.close();
  }
});
