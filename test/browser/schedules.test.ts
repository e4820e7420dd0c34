/**
 * The schedules page (`/schedules`) in Chromium against the API, a worker and the real dev server:
 * an operator creates a schedule from the form (after the API's 400 issues showed next to their
 * fields), sees its next run times, starts a run now and follows the run's link to its job card,
 * pauses it with a note and deletes it; a viewer sees the same schedules without a control.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Schedule } from '../../src/api/schedules/schemas';
import { testApiKeys, uniqueId, waitFor } from '../helpers';
import { startTestApi, type TestApi } from '../api-harness';
import { launchChromium, screenshotPath } from './browser';

const { STEPWISE_API_KEYS, keys } = testApiKeys({ operator: 'operator', viewer: 'viewer' });
const WAIT = { timeout: 60_000 };

let harness: TestApi;
let base: string;
let browser: Browser;

beforeAll(async () => {
  harness = await startTestApi({ STEPWISE_API_KEYS }, { listen: true });
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

async function openPage(key: string): Promise<Page> {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 900 },
    locale: 'en-US',
    timezoneId: 'Europe/Paris',
  });
  contexts.push(context);
  await context.addInitScript(
    `if (location.protocol === 'http:') sessionStorage.setItem('stepwise.apiKey', ${JSON.stringify(key)});`,
  );
  const page = await context.newPage();
  page.on('pageerror', (err) => {
    throw err;
  });
  return page;
}

async function schedule(id: string): Promise<{ status: number; body: Schedule }> {
  const res = await fetch(`${base}/api/schedules/${id}`, {
    headers: { authorization: `Bearer ${keys.viewer}` },
  });
  return { status: res.status, body: (await res.json()) as Schedule };
}

test('an operator creates a schedule, sees its next runs, runs it now, opens the run, pauses it with a note, deletes it', async () => {
  const page = await openPage(keys.operator);
  await page.goto(`${base}/`);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Schedules' }).click();
  await page.waitForURL(`${base}/schedules`);
  await page.getByRole('heading', { name: 'Schedules', level: 1 }).waitFor(WAIT);
  expect(await page.title()).toBe('Schedules · Stepwise');

  const scheduleId = uniqueId('ui-sched');
  await page.getByLabel('Schedule id (optional)').fill(scheduleId);
  await page.getByLabel('Job type').selectOption('demoWait');
  await page.getByLabel('Input (JSON)').fill('{"durationMs": 10, "waitMs": "soon"}');
  await page.getByLabel('Runs', { exact: true }).selectOption('cron');
  await page.getByLabel('Cron expression').fill('0 6 * * MON-FRI');
  await page.getByLabel('Time zone').fill('Mars/Olympus');
  await page.getByRole('button', { name: 'Create schedule' }).click();
  // The API's issues next to their fields (the body first, then the input against its type); nothing created.
  await page.locator('#sched-timeZone-errors .error').waitFor(WAIT);
  await page.screenshot({ path: screenshotPath('schedules-errors'), fullPage: true });
  await page.getByLabel('Time zone').fill('Europe/Berlin');
  await page.getByRole('button', { name: 'Create schedule' }).click();
  await page.locator('#sched-input-errors .error').waitFor(WAIT);
  expect(await page.locator('#sched-timeZone-errors').textContent()).toBe('');
  expect(await page.locator('#sched-input-errors').textContent()).toContain('waitMs');
  expect((await schedule(scheduleId)).status).toBe(404);

  await page.getByLabel('Input (JSON)').fill('{"durationMs": 10, "waitMs": 10}');
  await page.getByRole('button', { name: 'Create schedule' }).click();
  const card = page.locator(`article[data-schedule-id="${scheduleId}"]`);
  await card.waitFor(WAIT);
  await page.getByText(`Created the schedule ${scheduleId}.`).waitFor(WAIT);
  expect(await card.getByTestId('timing').textContent()).toBe('cron 0 6 * * MON-FRI (Europe/Berlin)');
  // Its next runs: five weekday mornings at 06:00 Berlin time (07:00 Paris is the same offset).
  const next = card.getByTestId('next-runs').locator('li');
  expect(await next.count()).toBe(5);
  for (const text of await next.allTextContents()) expect(text).toMatch(/, 06:00:00 GMT\+[12] \(in /);
  const created = (await schedule(scheduleId)).body;
  expect(created).toMatchObject({
    cron: '0 6 * * MON-FRI',
    timeZone: 'Europe/Berlin',
    createdBy: 'operator',
  });

  // Run it now: the run shows under the latest runs and links to its job card.
  await card.getByRole('button', { name: 'Run now' }).click();
  const runLink = card.locator('a[data-link="run"]').first();
  await waitFor(
    async () => {
      if ((await runLink.count()) === 0) await page.getByRole('button', { name: 'Refresh' }).click();
      return runLink.count();
    },
    (n) => n === 1,
    WAIT.timeout,
    300,
  );
  const runJobId = (await runLink.textContent())!;
  expect(runJobId).toMatch(new RegExp(`^demoWait-${scheduleId}-\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ$`));
  await page.screenshot({ path: screenshotPath('schedules-run'), fullPage: true });
  await runLink.click();
  await page.waitForURL(`${base}/jobs/${encodeURIComponent(runJobId)}`);
  await page.locator('.status-line .badge', { hasText: /^completed$/ }).waitFor(WAIT);
  await page.getByRole('heading', { name: runJobId, level: 1 }).waitFor(WAIT);

  // Back on the page: pause with a note.
  await page.goto(`${base}/schedules`);
  await card.waitFor(WAIT);
  await card.getByLabel('Note').fill('Holiday week: no reports');
  await card.getByRole('button', { name: 'Pause' }).click();
  await card.getByText('Paused: no run starts until it is unpaused.').waitFor(WAIT);
  expect(await card.getByTestId('note').textContent()).toBe('Holiday week: no reports');
  expect(await card.getByTestId('next-runs').textContent()).toBe('none while paused');
  expect(await card.getByRole('button', { name: 'Unpause' }).count()).toBe(1);
  expect((await schedule(scheduleId)).body).toMatchObject({ paused: true, note: 'Holiday week: no reports' });

  // A viewer reads the same schedule, with no control.
  const viewer = await openPage(keys.viewer);
  await viewer.goto(`${base}/schedules`);
  const seen = viewer.locator(`article[data-schedule-id="${scheduleId}"]`);
  await seen.waitFor(WAIT);
  expect(await seen.getByTestId('note').textContent()).toBe('Holiday week: no reports');
  expect(await seen.getByRole('button').count()).toBe(0);
  expect(await viewer.locator('form#new-schedule').count()).toBe(0);
  await seen.locator('a[data-link="run"]').first().waitFor(WAIT);

  // Delete, after the confirmation.
  await card.getByRole('button', { name: 'Delete…' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete schedule' }).click();
  await page.getByText(`Deleted the schedule ${scheduleId}.`).waitFor(WAIT);
  expect(await card.count()).toBe(0);
  expect((await schedule(scheduleId)).status).toBe(404);
});
