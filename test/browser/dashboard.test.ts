/**
 * The dashboard in a real browser (Debian's Chromium through playwright-core) against the API,
 * a worker and the real dev server: a job started from the generated form and followed live to
 * 100 % with its bar only moving forward; 400 issues next to their fields; pause → resume;
 * cancel with "cancelling — N sub-jobs left"; retry from a step; and a viewer with no enabled
 * actions. Screenshots go to test/.tmp/screenshots.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { testApiKeys, uniqueId } from '../helpers';
import { startTestApi, type TestApi } from '../api-harness';
import { launchChromium, screenshotPath } from './browser';

const { STEPWISE_API_KEYS, keys } = testApiKeys({ viewer: 'viewer', operator: 'operator' });
const UI_URL = 'http://127.0.0.1:8233';
/** How long a UI wait may take: jobs here run for a few seconds at most. */
const WAIT = { timeout: 60_000 };

let harness: TestApi;
let base: string;
let browser: Browser;

beforeAll(async () => {
  harness = await startTestApi(
    {
      STEPWISE_API_KEYS,
      STEPWISE_STREAM_POLL_MS: '100',
      STEPWISE_TEMPORAL_UI_URL: UI_URL,
    },
    { listen: true },
  );
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
 * A page signed in with `key` (kept in session storage, as the sign-in form does) that records every
 * value the job card's progress bar shows, across navigations, in `window.__progress`.
 */
async function openPage(key: string | null, width = 1280, height = 900): Promise<Page> {
  const context = await browser.newContext({ viewport: { width, height } });
  contexts.push(context);
  // Browser code as text: the tests compile without the DOM library (it would change Node's fetch types).
  await context.addInitScript(`
    ${key ? `sessionStorage.setItem('stepwise.apiKey', ${JSON.stringify(key)});` : ''}
    const seen = [];
    window.__progress = seen;
    new MutationObserver((records) => {
      for (const r of records) {
        if (r.target.getAttribute('aria-label') === 'Job progress') seen.push(Number(r.target.getAttribute('aria-valuenow')));
      }
    }).observe(document, { subtree: true, attributes: true, attributeFilter: ['aria-valuenow'] });
  `);
  const page = await context.newPage();
  page.on('pageerror', (err) => {
    throw err;
  });
  return page;
}

async function startViaApi(type: string, input: unknown): Promise<string> {
  const jobId = uniqueId(`ui-${type}`);
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
const progressOf = (page: Page) => page.getByRole('progressbar', { name: 'Job progress' });
const recorded = (page: Page): Promise<number[]> => page.evaluate<number[]>('window.__progress');

test('a sceneProcessing job started from the form is followed live to 100 % with 7/7, the bar only moving forward', async () => {
  const page = await openPage(keys.operator);
  await page.goto(`${base}/new?type=sceneProcessing`);
  await page.getByLabel('Job type').waitFor(WAIT);
  expect(await page.getByLabel('Job type').inputValue()).toBe('sceneProcessing');
  // The generated fields, with the schema's defaults filled in.
  expect(await page.getByLabel('newScenes (optional)').inputValue()).toBe('12');
  await page.getByLabel('newScenes (optional)').fill('6');
  await page.getByLabel('durationMs (optional)').first().fill('150');
  const jobId = uniqueId('ui-scenes');
  await page.getByLabel(/^Job id/).fill(jobId);
  await page.screenshot({ path: screenshotPath('new-job-form-1280'), fullPage: true });
  await page.getByRole('button', { name: 'Start job' }).click();

  await page.waitForURL(`${base}/jobs/${jobId}`, WAIT);
  await statusBadge(page, 'running').waitFor(WAIT);
  // Mid-way: a step timeline and the Web UI link of this run.
  const link = page.getByRole('link', { name: 'Open in Temporal UI' });
  await link.waitFor(WAIT);
  expect(await link.getAttribute('href')).toMatch(
    new RegExp(`^${UI_URL}/namespaces/default/workflows/${jobId}/[0-9a-f-]+/history$`),
  );
  await statusBadge(page, 'completed').waitFor(WAIT);
  await page.screenshot({ path: screenshotPath('job-card-completed-1280'), fullPage: true });

  expect(await page.getByTestId('step-of').textContent()).toMatch(/^Step 7\/7/);
  expect(await progressOf(page).getAttribute('aria-valuenow')).toBe('100');
  const values = await recorded(page);
  // The bar moved live (several values between 0 and 100), and never backwards.
  expect(values.filter((v) => v > 0 && v < 100).length).toBeGreaterThan(1);
  expect(values.at(-1)).toBe(100);
  for (let i = 1; i < values.length; i++) expect(values[i]).toBeGreaterThanOrEqual(values[i - 1]);
  expect(await page.locator('.timeline .step').count()).toBe(7);
  expect(await page.locator('.timeline .step .badge', { hasText: /^completed$/ }).count()).toBe(7);
  // The list shows it, closed.
  await page.getByRole('link', { name: '← Jobs' }).click();
  await page.locator(`tr[data-job-id="${jobId}"] .badge`, { hasText: 'completed' }).waitFor(WAIT);
});

test("the API's 400 issues are shown in words next to the fields they name, nested ones too, and nothing is started", async () => {
  const page = await openPage(keys.operator);
  await page.goto(`${base}/new?type=demoPipeline`);
  await page.getByLabel('parts (optional)').fill('500');
  // Per-step settings: a collapsed group per step key, not a JSON text area.
  expect(await page.locator('textarea').count()).toBe(0);
  const load = page.locator('details.map-entry', { has: page.locator('summary', { hasText: /^load$/ }) });
  await load.locator('summary').click();
  await load.getByLabel('durationMs (optional)').fill('600000');
  await page.getByRole('button', { name: 'Start job' }).click();
  const partsErrors = page.locator('#field-parts-errors .error');
  await partsErrors.waitFor(WAIT);

  expect(await partsErrors.textContent()).toBe('Must be at most 50');
  expect(await page.getByLabel('parts (optional)').getAttribute('aria-invalid')).toBe('true');
  expect(await page.locator('#field-steps-load-durationMs-errors .error').textContent()).toContain(
    'at most 540000',
  );
  expect(await load.getByLabel('durationMs (optional)').getAttribute('aria-invalid')).toBe('true');
  expect(await page.locator('.error-box').textContent()).toContain('2 values need a change');
  expect(page.url()).toBe(`${base}/new?type=demoPipeline`);
});

test('the form edits lists, unions and descriptions: what it sends has their shape, and issues land on the entry they name', async () => {
  const page = await openPage(keys.operator);
  await page.goto(`${base}/new?type=datasetBuild`);
  // The schema's descriptions are shown under their fields.
  await page.getByText(/^Image sources: http\(s\) URLs/).waitFor(WAIT);
  // A required list starts with one empty entry; entries are added and removed by buttons.
  await page.getByLabel('sources 1', { exact: true }).fill('https://example.invalid/a.png');
  await page.getByRole('button', { name: 'Add sources' }).click();
  await page.getByLabel('sources 2', { exact: true }).fill('../escape.png');
  await page.getByRole('button', { name: 'Add sources' }).click();
  await page.getByLabel('sources 3', { exact: true }).fill('c.png');
  await page.getByRole('button', { name: 'Remove sources 3' }).click();
  expect(await page.getByLabel('sources 3', { exact: true }).count()).toBe(0);
  await page.getByLabel('outputDir').fill('out');
  // A choice between shapes: the select, the chosen shape's description and its own fields.
  await page.getByLabel('by').selectOption('fixed');
  await page.getByText('The same label for every image.').waitFor(WAIT);
  await page.locator('#field-labelRule-fixed-label').fill('Bad Label');
  const sent = page.waitForRequest((r) => r.method() === 'POST' && r.url() === `${base}/api/jobs`);
  await page.getByRole('button', { name: 'Start job' }).click();
  expect((await sent).postDataJSON()).toMatchObject({
    type: 'datasetBuild',
    input: {
      sources: ['https://example.invalid/a.png', '../escape.png'],
      outputDir: 'out',
      labelRule: { by: 'fixed', label: 'Bad Label' },
    },
  });
  // The API refuses the second source and the label: each marked where it was typed.
  await page.locator('.error-box', { hasText: 'need a change' }).waitFor(WAIT);
  expect(await page.getByLabel('sources 2', { exact: true }).getAttribute('aria-invalid')).toBe('true');
  expect(await page.getByLabel('sources 1', { exact: true }).getAttribute('aria-invalid')).toBeNull();
  expect(await page.locator('#field-labelRule-fixed-label').getAttribute('aria-invalid')).toBe('true');
  expect(page.url()).toBe(`${base}/new?type=datasetBuild`);
});

test('pause → paused → resume → completes', async () => {
  const jobId = await startViaApi('demoPipeline', { durationMs: 600, parts: 2 });
  const page = await openPage(keys.operator);
  await page.goto(`${base}/jobs/${jobId}`);
  await statusBadge(page, 'running').waitFor(WAIT);
  await page.getByLabel('Reason (optional, recorded)').fill('checking the data');
  await page.getByRole('button', { name: 'Pause' }).click();
  await statusBadge(page, 'paused').waitFor(WAIT);
  expect(await page.getByRole('button', { name: 'Pause' }).isDisabled()).toBe(true);
  expect(await page.getByRole('button', { name: 'Resume' }).isEnabled()).toBe(true);
  const pausedAt = Number(await progressOf(page).getAttribute('aria-valuenow'));
  expect(pausedAt).toBeLessThan(100);
  await page.getByRole('button', { name: 'Resume' }).click();
  await statusBadge(page, 'completed').waitFor(WAIT);
  expect(await page.locator('.logs').textContent()).toContain('checking the data');
  const values = await recorded(page);
  for (let i = 1; i < values.length; i++) expect(values[i]).toBeGreaterThanOrEqual(values[i - 1]);
});

test('cancel a demoPipeline: confirmation, "cancelling — N sub-jobs left", then cancelled', async () => {
  // Parts take long and clean up slowly, so the cancelling phase lasts long enough to be seen.
  const jobId = await startViaApi('demoPipeline', {
    durationMs: 200,
    parts: 3,
    partCleanupMs: 1500,
    steps: { transform: { durationMs: 30_000 } },
  });
  const page = await openPage(keys.operator);
  await page.goto(`${base}/jobs/${jobId}`);
  // The batch step's three chunk sub-jobs, each linking to its own card.
  await page.locator('.subjobs li a').nth(2).waitFor(WAIT);
  await page.screenshot({ path: screenshotPath('job-card-running-1280'), fullPage: true });
  await page.getByRole('button', { name: 'Cancel…' }).click();
  const dialog = page.getByRole('dialog', { name: 'Cancel this job?' });
  await dialog.waitFor(WAIT);
  // "Keep running" closes the dialog and changes nothing.
  await dialog.getByRole('button', { name: 'Keep running' }).click();
  await dialog.waitFor({ state: 'hidden', ...WAIT });
  expect(await statusBadge(page, 'running').count()).toBe(1);
  await page.getByLabel('Reason (optional, recorded)').fill('wrong input');
  await page.getByRole('button', { name: 'Cancel…' }).click();
  await dialog.getByRole('button', { name: 'Cancel job' }).click();
  await page.locator('.notice', { hasText: /cancelling — [1-3] sub-jobs? left/ }).waitFor(WAIT);
  expect(await page.getByRole('button', { name: 'Pause' }).isDisabled()).toBe(true);
  await statusBadge(page, 'cancelled').waitFor(WAIT);
  expect(await page.locator('.notice').textContent()).toContain('wrong input');
  // Closed and cancelled: only retry is possible.
  expect(await page.getByRole('button', { name: 'Retry', exact: true }).isEnabled()).toBe(true);
  expect(await page.getByRole('button', { name: 'Cancel…' }).isDisabled()).toBe(true);
});

test('retry from a step: the failed job runs again from the chosen step, carrying the earlier results', async () => {
  const jobId = await startViaApi('demoPipeline', {
    durationMs: 50,
    parts: 1,
    steps: { load: { failRuns: 1 } },
  });
  const page = await openPage(keys.operator);
  await page.goto(`${base}/jobs/${jobId}`);
  await statusBadge(page, 'failed').waitFor(WAIT);
  expect(await page.locator('.error-box').textContent()).toContain('load');
  const from = page.getByLabel('Retry from step');
  expect(await from.inputValue()).toBe('3'); // the first step that did not complete
  await page.getByRole('button', { name: 'Retry', exact: true }).click();
  await statusBadge(page, 'completed').waitFor(WAIT);
  expect(await page.locator('.links').textContent()).toContain('recovery 1/3 from step 3');
  expect(await page.locator('.timeline .step').first().textContent()).toContain('carried from run');
});

test('a viewer sees the job and no enabled action; the sign-in form takes the key; 390 px wide works', async () => {
  const jobId = await startViaApi('demoPipeline', { durationMs: 400, parts: 2 });
  const page = await openPage(null, 390, 844);
  await page.goto(`${base}/jobs/${jobId}`);
  // No key yet: the API answers 401 and the page asks for one.
  await page.getByLabel('API key').fill(keys.viewer);
  await page.getByRole('button', { name: 'Use this key' }).click();
  await statusBadge(page, 'running').waitFor(WAIT);
  expect(await page.getByTestId('role').textContent()).toBe('viewer');
  for (const name of ['Pause', 'Resume', 'Cancel…', 'Retry']) {
    expect(await page.getByRole('button', { name }).isDisabled()).toBe(true);
  }
  expect(await page.getByLabel('Reason (optional, recorded)').isDisabled()).toBe(true);
  expect(await page.getByRole('link', { name: 'New job' }).count()).toBe(0);
  // Nothing is wider than the phone's screen.
  const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
  expect(overflow).toBeLessThanOrEqual(0);
  await page.screenshot({ path: screenshotPath('job-card-viewer-390'), fullPage: true });
  await statusBadge(page, 'completed').waitFor(WAIT);
  await page.goto(`${base}/`);
  await page.locator(`tr[data-job-id="${jobId}"]`).waitFor(WAIT);
  await page.screenshot({ path: screenshotPath('job-list-390'), fullPage: true });
});
