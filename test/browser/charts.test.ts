/**
 * The charts page in Chromium: the figures it shows are the API's (each cell keeps its raw value
 * in `data-value`, compared with the `GET /api/stats` answer the page read), the range is kept in
 * the URL, and a most-failing step's link lands on the job list filtered to that type's failed
 * jobs. Scoped to this file's own id prefix (`?q=`), since other files' jobs share the dev server.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Stats } from '../../src/api/contracts';
import { closedJobState, uniqueId, waitFor } from '../helpers';
import { startTestApi, type TestApi } from '../api-harness';
import { launchChromium } from './browser';

const WAIT = { timeout: 60_000 };
const prefix = uniqueId('charts');

let harness: TestApi;
let base: string;
let browser: Browser;
let context: BrowserContext;

beforeAll(async () => {
  harness = await startTestApi({}, { listen: true });
  base = harness.base!;
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const inputs: [string, object][] = [
    ['ok', { durationMs: 20, parts: 1 }],
    ['retried', { durationMs: 20, parts: 1, steps: { load: { failAttempts: 1 } } }],
    ['failed', { durationMs: 20, parts: 1, steps: { load: { failPermanently: true } } }],
  ];
  for (const [name, input] of inputs) {
    const res = await fetch(`${base}/api/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'demoPipeline', input, jobId: `${prefix}-${name}` }),
    });
    expect(res.status).toBe(201);
  }
  for (const [name] of inputs) await closedJobState(harness.jobs, `${prefix}-${name}`);
}, 120_000);

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

/** Opens the charts for `range`, reloading until the visibility store lists the three closes; the page's own stats answer. */
async function openCharts(page: Page, range: string): Promise<Stats> {
  return waitFor(
    async () => {
      const answer = page.waitForResponse((r) => r.url().includes('/api/stats?'));
      await page.goto(`${base}/charts?range=${range}&q=${encodeURIComponent(prefix)}`);
      const stats = (await (await answer).json()) as Stats;
      await page.getByTestId('source').waitFor(WAIT);
      return stats;
    },
    (s) => s.types[0]?.closed === 3,
    30_000,
    200,
  );
}

const value = (page: Page, testid: string): Promise<string | null> =>
  page.getByTestId(testid).getAttribute('data-value');
const json = (v: number | null): string => (v === null ? 'null' : String(v));

test('the page shows the API’s figures: series, types, slowest and most failing steps', async () => {
  const page = await newPage();
  const stats = await openCharts(page, '1h');
  expect(Date.parse(stats.to) - Date.parse(stats.from)).toBe(3_600_000);
  expect(stats.intervalMs).toBe(300_000);
  await expect(page.getByRole('link', { name: 'Last hour' }).getAttribute('aria-current')).resolves.toBe(
    'page',
  );

  const [t] = stats.types;
  expect(t).toMatchObject({ type: 'demoPipeline', closed: 3, failed: 1, completed: 2, retries: 1 });
  for (const [field, v] of [
    ['started', t.started],
    ['closed', t.closed],
    ['failed', t.failed],
    ['failureRate', t.failureRate],
    ['p50', t.durationP50Ms],
    ['p95', t.durationP95Ms],
    ['retryRate', t.retryRate],
    ['recoveries', t.recoveryRuns],
    ['recoverySuccessRate', t.recoverySuccessRate],
  ] as const) {
    expect(await value(page, `type-demoPipeline-${field}`)).toBe(json(v));
  }
  await expect(page.getByTestId('type-demoPipeline-failureRate').textContent()).resolves.toBe(
    `${((1 / 3) * 100).toFixed(1)} %`,
  );

  // The chart's table: one row per bucket, the same counts.
  await page.getByText('Show the chart as a table').click();
  const rows = page.getByTestId('series-table').locator('tbody tr');
  await expect(rows.count()).resolves.toBe(stats.series.length);
  for (const [i, b] of stats.series.entries()) {
    const cells = await rows
      .nth(i)
      .locator('td')
      .evaluateAll((tds) => tds.map((td) => td.getAttribute('data-value')));
    expect(cells).toEqual(
      [
        b.started,
        b.closed.completed,
        b.closed.completed_with_errors,
        b.closed.failed,
        b.closed.cancelled,
      ].map(String),
    );
  }
  const label = await page.getByTestId('series-chart').getAttribute('aria-label');
  expect(label).toContain(
    '3 runs started and 3 closed (2 completed, 0 completed with errors, 1 failed, 0 cancelled)',
  );

  for (const [which, list] of [
    ['slowest', stats.slowestSteps],
    ['failing', stats.mostFailingSteps],
    ['step', stats.steps],
  ] as const) {
    await expect(
      page
        .getByTestId(`${which === 'failing' ? 'failing' : which === 'slowest' ? 'slowest' : 'steps'}-table`)
        .locator('tbody tr[data-testid]')
        .count(),
    ).resolves.toBe(list.length);
    for (const s of list) {
      const id = `${which}-${s.type}-${s.step}`;
      expect(await value(page, `${id}-runs`)).toBe(json(s.runs));
      expect(await value(page, `${id}-failures`)).toBe(json(s.failures));
      expect(await value(page, `${id}-failureRate`)).toBe(json(s.failureRate));
      expect(await value(page, `${id}-retryRate`)).toBe(json(s.retryRate));
      expect(await value(page, `${id}-p50`)).toBe(json(s.durationP50Ms));
      expect(await value(page, `${id}-p95`)).toBe(json(s.durationP95Ms));
    }
  }
  expect(stats.mostFailingSteps.map((s) => s.step)).toEqual(['load']);
  await expect(page.getByTestId('source').textContent()).resolves.toContain(
    `${stats.source.executionsScanned} runs read`,
  );
  await page.close();
});

test('the range is kept in the URL and reached with the keyboard', async () => {
  const page = await newPage();
  await openCharts(page, '1h');
  const week = page.getByRole('link', { name: 'Last 7 days' });
  await week.focus();
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/charts\?range=7d/);
  await page.getByTestId('source').waitFor(WAIT);
  await expect(page.getByRole('link', { name: 'Last 7 days' }).getAttribute('aria-current')).resolves.toBe(
    'page',
  );
  expect(new URL(page.url()).searchParams.get('q')).toBe(prefix);
  // The "Charts" link is in the navigation every page shares.
  await page.goto(`${base}/`);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Charts' }).click();
  await page.waitForURL(`${base}/charts`);
  await page.getByRole('heading', { name: 'Charts' }).waitFor(WAIT);
  await page.close();
});

test('a most-failing step links to the list of that type’s failed jobs', async () => {
  const page = await newPage();
  const stats = await openCharts(page, '1h');
  await page.getByTestId('failing-demoPipeline-load').getByRole('link', { name: '3. Load' }).click();
  await page.waitForURL(/\/\?/);
  const url = new URL(page.url());
  expect(Object.fromEntries(url.searchParams)).toEqual({
    type: 'demoPipeline',
    status: 'failed',
    startedAfter: stats.from,
    q: prefix,
  });
  await expect(page.locator('#filter-status').inputValue()).resolves.toBe('failed');
  await expect(page.locator('#filter-type').inputValue()).resolves.toBe('demoPipeline');
  await page.locator(`tr[data-job-id="${prefix}-failed"]`).waitFor(WAIT);
  await expect(page.locator('tr[data-job-id]').count()).resolves.toBe(1);
  await page.close();
});
