/**
 * The fleet view as an operator uses it: only top-level jobs until one is expanded, every job
 * reached by paging or by a search, an expanded job's tree with rolled-up counts where every node
 * is a working link, sorting, times with their zone, and live updates on a filtered later page.
 * Each test scopes the list to this file's own id prefix (other files share the dev server).
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { JobList, JobTreeNode } from '../../src/api/jobs/schemas';
import type { JobState } from '../../workflows/contracts';
import { uniqueId, waitFor } from '../helpers';
import { startTestApi, type TestApi } from '../api-harness';
import { launchChromium, screenshotPath } from './browser';

const WAIT = { timeout: 60_000 };
const prefix = uniqueId('fleet-ui');

let harness: TestApi;
let base: string;
let browser: Browser;
let context: BrowserContext;
const topIds: string[] = [];
let sceneId: string;

async function startViaApi(jobId: string, type: string, input: unknown): Promise<string> {
  const res = await fetch(`${base}/api/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ type, input, jobId }),
  });
  expect(res.status).toBe(201);
  return jobId;
}

const getJson = async <T>(path: string): Promise<T> => {
  const res = await fetch(`${base}${path}`);
  expect(res.status).toBe(200);
  return (await res.json()) as T;
};
const closed = (jobId: string): Promise<JobState> =>
  waitFor(
    () => getJson<JobState>(`/api/jobs/${encodeURIComponent(jobId)}`),
    (s) => s.closedAt !== null,
    90_000,
    200,
  );

beforeAll(async () => {
  harness = await startTestApi({ STEPWISE_STREAM_POLL_MS: '100' }, { listen: true });
  base = harness.base!;
  for (let i = 0; i < 7; i++)
    topIds.push(await startViaApi(`${prefix}-${i}`, 'example', { durationMs: 10 + i * 40 }));
  // A job with a tree: sub-jobs, a batch of chunks, and a failed sub-job (completed_with_errors).
  sceneId = await startViaApi(`${prefix}-scene`, 'sceneProcessing', {
    newScenes: 4,
    durationMs: 20,
    analyze: { chunkSize: 2, window: 2 },
    steps: { generateMetadata: { failPermanently: true } },
  });
  topIds.push(sceneId);
  for (const id of topIds) await closed(id);
  // The visibility store is eventually consistent: wait until it lists every close.
  await waitFor(
    () => getJson<JobList>(`/api/jobs?jobIdPrefix=${encodeURIComponent(prefix)}&topLevel=true&pageSize=100`),
    (l) => l.jobs.length === topIds.length && l.jobs.every((j) => j.closedAt !== null),
    30_000,
    200,
  );
  browser = await launchChromium();
  context = await browser.newContext({
    viewport: { width: 1280, height: 900 },
    locale: 'en-US',
    timezoneId: 'America/New_York',
  });
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

/** The ids of the top-level rows on screen, in order. */
const rowIds = (page: Page): Promise<string[]> =>
  page
    .locator('table.jobs tbody tr:not(.subrow)')
    .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-job-id')!));

/** Waits until the rows on screen are exactly `n` and differ from `before`. */
function rowsChange(page: Page, before: string[], n: number): Promise<string[]> {
  return waitFor(
    () => rowIds(page),
    (ids) => ids.length === n && ids.join() !== before.join(),
    WAIT.timeout,
    50,
  );
}

/** Waits until the rows on screen are exactly `ids`, in that order. */
async function rowsAre(page: Page, ids: string[]): Promise<void> {
  await waitFor(
    () => rowIds(page),
    (shown) => shown.join() === ids.join(),
    WAIT.timeout,
    50,
  );
}

async function expectCardOf(page: Page, jobId: string): Promise<void> {
  await page.locator('.status-line .badge').waitFor(WAIT);
  expect(await page.locator('h1.job-id').textContent()).toBe(jobId);
}

test('shows only top-level jobs, and pages through all of them: every job is reached, none twice', async () => {
  const page = await newPage();
  await page.goto(`${base}/?q=${encodeURIComponent(prefix)}&pageSize=3`);
  const seen: string[] = [];
  let ids = await rowsChange(page, [], 3);
  for (let n = 1; ; n++) {
    expect(await page.locator('.page-label').textContent()).toMatch(new RegExp(`^Page ${n} · `));
    // Only top-level jobs: no row is a sub-job (none has a parent link).
    expect(await page.locator('table.jobs tbody a[data-link="parent"]').count()).toBe(0);
    seen.push(...ids);
    const older = page.getByRole('button', { name: 'Older →' });
    if (seen.length === topIds.length) {
      await page.locator('.pager button:last-child:disabled').waitFor(WAIT);
      break;
    }
    await older.click();
    ids = await rowsChange(page, ids, Math.min(3, topIds.length - seen.length));
  }
  expect([...seen].sort()).toEqual([...topIds].sort());
  expect(new Set(seen).size).toBe(seen.length);
  await page.screenshot({ path: screenshotPath('fleet-paged-1280'), fullPage: true });
  // And back: the page before the last is the same page again.
  await page.getByRole('button', { name: '← Newer' }).click();
  expect(await rowsChange(page, ids, 3)).toEqual(seen.slice(3, 6));
});

test('expands a job into its tree with rolled-up counts, and every node is a link to its card', async () => {
  const tree = await getJson<JobTreeNode[]>(`/api/jobs/${encodeURIComponent(sceneId)}/children`);
  const flat = (nodes: JobTreeNode[]): JobTreeNode[] => nodes.flatMap((n) => [n, ...flat(n.children)]);
  const nodes = flat(tree);
  expect(nodes.length).toBeGreaterThanOrEqual(7);
  const list = `${base}/?q=${encodeURIComponent(sceneId)}`;
  const page = await newPage();
  const expand = async (): Promise<void> => {
    await page.goto(list);
    const toggle = page.getByRole('button', { name: `Show the sub-jobs of ${sceneId}` });
    await toggle.waitFor(WAIT);
    // Not expanded yet: only the job's own row.
    expect(await page.locator('tr.subrow').count()).toBe(0);
    await toggle.click();
    await page.locator('tr.subrow').first().waitFor(WAIT);
  };
  await expand();
  expect(
    await page.getByRole('button', { name: `Hide the sub-jobs of ${sceneId}` }).getAttribute('aria-expanded'),
  ).toBe('true');
  const shown = await page
    .locator('tr.subrow')
    .evaluateAll((rows) => rows.map((r) => [r.getAttribute('data-job-id'), r.getAttribute('data-level')]));
  expect(shown.map(([id]) => id)).toEqual(nodes.map((n) => n.jobId));
  // The rolled-up line says what the tree holds, by status.
  const failed = nodes.filter((n) => n.status === 'failed').length;
  const completed = nodes.filter((n) => n.status === 'completed').length;
  expect(failed).toBeGreaterThan(0);
  const rollup = await page.locator(`tr[data-job-id="${sceneId}"] [data-rollup]`).textContent();
  expect(rollup).toContain(`${nodes.length} sub-jobs:`);
  expect(rollup).toContain(`${failed} failed`);
  expect(rollup).toContain(`${completed} completed`);
  await page.screenshot({ path: screenshotPath('fleet-expanded-1280'), fullPage: true });
  for (const node of nodes) {
    const link = page.locator(`tr.subrow[data-job-id="${node.jobId}"] a[data-link="tree"]`);
    await link.click();
    await expectCardOf(page, node.jobId);
    await expand();
  }
  // Collapsing removes the tree again.
  await page.getByRole('button', { name: `Hide the sub-jobs of ${sceneId}` }).click();
  expect(await page.locator('tr.subrow').count()).toBe(0);
});

test('finds a job by its id, by who started it, and sorts by duration as the API does', async () => {
  const page = await newPage();
  await page.goto(`${base}/?q=${encodeURIComponent(prefix)}`);
  await rowsChange(page, [], topIds.length);
  const search = page.getByLabel('Job id starts with');
  await search.fill(`${prefix}-3`);
  await search.press('Enter');
  expect(await rowsChange(page, topIds, 1)).toEqual([`${prefix}-3`]);
  expect(new URL(page.url()).searchParams.get('q')).toBe(`${prefix}-3`);

  await search.fill(prefix);
  await page.getByLabel('Started by').fill('nobody');
  await page.getByLabel('Started by').press('Enter');
  await page.locator('p.empty:not([hidden])').waitFor(WAIT);
  await page.getByLabel('Started by').fill('local');
  await page.getByLabel('Started by').press('Enter');
  await rowsChange(page, [], topIds.length);

  await page.getByLabel('Order').selectOption('-duration');
  const api = await getJson<JobList>(
    `/api/jobs?jobIdPrefix=${encodeURIComponent(prefix)}&topLevel=true&startedBy=local&sort=-duration&pageSize=50`,
  );
  await rowsAre(
    page,
    api.jobs.map((j) => j.jobId),
  );
  expect(await page.locator('.live').textContent()).toMatch(/^sorted/);
  // The API's order is by duration, longest first (what each job took depends on the machine's load,
  // not only on its input, so the durations are read, not assumed).
  const took = api.jobs.map((j) => Date.parse(j.closedAt!) - Date.parse(j.startedAt));
  expect(took).toEqual([...took].sort((a, b) => b - a));
});

test('times read relative, with the absolute time and zone on hover; durations are shown', async () => {
  const page = await newPage();
  await page.goto(`${base}/?q=${encodeURIComponent(`${prefix}-0`)}`);
  const cell = page.locator(`tr[data-job-id="${prefix}-0"] td.started time`);
  await cell.waitFor(WAIT);
  expect(await cell.textContent()).toMatch(/^(just now|\d+ min ago)$/);
  // The browser runs in New York: the zone is named.
  expect(await cell.getAttribute('title')).toMatch(/\b(EST|EDT)\b/);
  const listed = await getJson<JobList>(
    `/api/jobs?jobIdPrefix=${encodeURIComponent(`${prefix}-0`)}&topLevel=true`,
  );
  const started = listed.jobs[0].startedAt;
  expect(await cell.getAttribute('datetime')).toBe(started);
  expect(await page.locator(`tr[data-job-id="${prefix}-0"] td.duration`).textContent()).toMatch(
    /^\d+(\.\d)? (ms|s)$/,
  );
  expect(await page.getByLabel(/^Started from \(America\/New_York\)$/).count()).toBe(1);
});

test('a later page of a filtered list stays live: a job on it is seen closing without a reload', async () => {
  const live = `${prefix}-live`;
  const page = await newPage();
  await page.goto(`${base}/?q=${encodeURIComponent(live)}&pageSize=2`);
  await page.locator('p.empty:not([hidden])').waitFor(WAIT);
  // Started while the list is open: they appear without a reload.
  // The first one started ends soon; the two after it run on. Open jobs come first, the newest first,
  // so the short one is on page 2 and stays there once it closed (closed jobs follow open ones).
  const ids = [];
  for (let i = 0; i < 3; i++)
    ids.push(await startViaApi(`${live}-${i}`, 'example', { durationMs: i === 0 ? 1500 : 30_000 }));
  const first = await rowsChange(page, [], 2);
  await page.locator('.pager button:last-child:not([disabled])').waitFor(WAIT);
  await page.getByRole('button', { name: 'Older →' }).click();
  const [onSecond] = await rowsChange(page, first, 1);
  expect(onSecond).toBe(ids[0]);
  await page
    .locator(`tr[data-job-id="${onSecond}"] .badge`)
    .filter({ hasText: /^completed$/ })
    .waitFor(WAIT);
  expect(await page.locator('.live').textContent()).toBe('live');
  for (const id of ids.slice(1)) {
    const res = await fetch(`${base}/api/jobs/${encodeURIComponent(id)}/cancel`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(202);
  }
  for (const id of ids) await closed(id);
});
