/**
 * The dashboard's accessibility audit: axe-core (its source evaluated in the page) on the job list
 * (also with a job selected for the bulk bar, and expanded), the notification centre, the card of a
 * completed demoPipeline with sub-jobs, a failed one's card (root cause, timeline), a bulk job's
 * card with its items, the charts (with their table shown), the new-job form (a plain type, the
 * richest one, and one showing the API's 400 issues), and the webhooks page (an admin's, with a
 * delivery log, a rotated secret shown once and the form's 400 issues; an operator's explanation),
 * and the schedules page (a schedule with its next runs and a run; the form's 400 issues) — each at 1280 and 390 px, in the light and the dark colour scheme — in Debian's Chromium against
 * the API, a worker and the real dev server. No violation of impact `serious` or `critical` may
 * remain. The dark scheme follows the system setting; the page links its own SVG icon, under the
 * page's unchanged CSP.
 *
 * Screenshots of the list, card, charts, form, webhooks and schedules pages in both schemes at 1280 px go to
 * test/.tmp/screenshots; with STEPWISE_DOCS_SCREENSHOTS=1 they go to docs/screenshots/ (committed,
 * referenced by docs/dashboard.md): `STEPWISE_DOCS_SCREENSHOTS=1 npx jest test/browser/a11y.test.ts`.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import axe from 'axe-core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { closedJobState, testApiKeys, uniqueId, waitFor, waitForState } from '../helpers';
import { startTestApi, type TestApi } from '../api-harness';
import { WebhookReceiver } from '../webhook-receiver';
import { launchChromium, screenshotPath } from './browser';

const { STEPWISE_API_KEYS, keys } = testApiKeys({ operator: 'operator', admin: 'admin' });
const WAIT = { timeout: 60_000 };
const DOCS_SHOTS = process.env.STEPWISE_DOCS_SCREENSHOTS === '1';

let harness: TestApi;
let base: string;
let browser: Browser;
let jobId: string;
/** A failed demoPipeline whose chunks failed and whose load step was retried: the root cause and the timeline. */
let failedId: string;
let bulkId: string;
/** A demoHold job held at its sync step (it stays held: the card's hold panel and its choices). */
let heldId: string;
/** A demoApproval job waiting at its approval step (it stays waiting: the card's approval panel). */
let approvalId: string;
let queuedId: string;
/** A webhook subscription (to a loopback receiver) whose log holds the failed and bulk jobs' events and a test. */
let subscriptionId: string;
/** A daily schedule of demoWait, run once by hand: its next runs and a completed run. */
const scheduleId = uniqueId('a11y-nightly');
const receiver = new WebhookReceiver();

beforeAll(async () => {
  await receiver.start();
  harness = await startTestApi(
    {
      STEPWISE_API_KEYS,
      STEPWISE_STREAM_POLL_MS: '100',
      STEPWISE_WEBHOOK_ALLOW_PRIVATE: 'true',
      STEPWISE_NOTIFIER_POLL_MS: '200',
    },
    { listen: true },
  );
  base = harness.base!;
  browser = await launchChromium();
  // Before the jobs, so the failed one and the bulk job (completed with errors) are delivered to it.
  const sub = await fetch(`${base}/api/notifications/subscriptions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${keys.admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      url: `${receiver.url}/a11y`,
      events: ['job.failed', 'job.completed_with_errors'],
      description: 'The on-call pager',
    }),
  });
  expect(sub.status).toBe(201);
  subscriptionId = ((await sub.json()) as { id: string }).id;
  // A completed job with sub-jobs: the batch step's chunks, in the card's sub-job tree.
  jobId = uniqueId('a11y-demo');
  const res = await fetch(`${base}/api/jobs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${keys.operator}`, 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'demoPipeline', input: { durationMs: 50, parts: 2 }, jobId }),
  });
  expect(res.status).toBe(201);
  expect((await closedJobState(harness.jobs, jobId)).status).toBe('completed');
  failedId = uniqueId('a11y-failed');
  const failed = await fetch(`${base}/api/jobs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${keys.operator}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      type: 'demoPipeline',
      input: { durationMs: 50, parts: 3, partsFailing: 2, partFailure: 'ECONNRESET from images.example.com' },
      jobId: failedId,
    }),
  });
  expect(failed.status).toBe(201);
  expect((await closedJobState(harness.jobs, failedId)).status).toBe('failed');
  // A bulk job whose item was refused (the job is closed): its card lists the item.
  const bulk = await fetch(`${base}/api/bulk`, {
    method: 'POST',
    headers: { authorization: `Bearer ${keys.operator}`, 'content-type': 'application/json' },
    body: JSON.stringify({ action: 'cancel', jobIds: [jobId] }),
  });
  expect(bulk.status).toBe(201);
  bulkId = ((await bulk.json()) as { jobId: string }).jobId;
  expect((await closedJobState(harness.jobs, bulkId)).status).toBe('completed_with_errors');
  heldId = uniqueId('a11y-held');
  const held = await fetch(`${base}/api/jobs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${keys.operator}`, 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'demoHold', input: { durationMs: 50, failAttempts: 20 }, jobId: heldId }),
  });
  expect(held.status).toBe(201);
  await waitForState(harness.jobs, heldId, (s) => s.status === 'held');
  approvalId = uniqueId('a11y-approval');
  const approval = await fetch(`${base}/api/jobs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${keys.operator}`, 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'demoApproval', input: { durationMs: 10 }, jobId: approvalId }),
  });
  expect(approval.status).toBe(201);
  await waitForState(harness.jobs, approvalId, (s) => s.status === 'awaiting_approval');
  // demoQueue runs 2 per tenant at once: the third waits, queued (its holders end with the run).
  const queued: string[] = [];
  for (let i = 0; i < 3; i++) {
    const q = await fetch(`${base}/api/jobs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${keys.operator}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        type: 'demoQueue',
        input: { tenant: 'a11y', durationMs: 300_000 },
        priority: 2,
      }),
    });
    expect(q.status).toBe(201);
    queued.push(((await q.json()) as { jobId: string }).jobId);
    await waitForState(harness.jobs, queued[i], (s) =>
      i < 2 ? s.status === 'running' : s.status === 'queued',
    );
  }
  queuedId = queued[2];
  const test = await fetch(`${base}/api/notifications/subscriptions/${subscriptionId}/test`, {
    method: 'POST',
    headers: { authorization: `Bearer ${keys.admin}`, 'content-type': 'application/json' },
    body: '{}',
  });
  expect(test.status).toBe(202);
  // The failed job's event, the bulk job's and the test, each delivered.
  await waitFor(
    async () => {
      const res = await fetch(`${base}/api/notifications/deliveries?subscriptionId=${subscriptionId}`, {
        headers: { authorization: `Bearer ${keys.admin}` },
      });
      return ((await res.json()) as { deliveries: { status: string }[] }).deliveries;
    },
    (ds) => ds.length === 3 && ds.every((d) => d.status === 'delivered'),
    60_000,
    200,
  );
  const schedule = await harness.jobs.createSchedule({
    scheduleId,
    type: 'demoWait',
    input: { durationMs: 10, waitMs: 10 },
    cron: '30 2 * * *',
    timeZone: 'Europe/Berlin',
    note: 'The nightly report',
    createdBy: 'operator',
  });
  await harness.jobs.triggerSchedule(schedule.scheduleId);
  await waitFor(
    () => harness.jobs.getSchedule(scheduleId),
    (s) => s.recentRuns[0]?.status === 'completed',
    60_000,
    200,
  );
});

afterAll(async () => {
  await browser?.close();
  await harness?.jobs.deleteSchedule(scheduleId).catch(() => undefined);
  await harness?.close();
  await receiver.close();
});

const contexts: BrowserContext[] = [];
afterEach(async () => {
  await Promise.all(contexts.splice(0).map((c) => c.close()));
});

type Scheme = 'light' | 'dark';

async function openPage(width: number, scheme: Scheme, key: string = keys.operator): Promise<Page> {
  // Reduced motion: the progress bar stands at its value rather than gliding (stable screenshots).
  const context = await browser.newContext({
    viewport: { width, height: 900 },
    colorScheme: scheme,
    reducedMotion: 'reduce',
  });
  contexts.push(context);
  await context.addInitScript(`sessionStorage.setItem('stepwise.apiKey', ${JSON.stringify(key)});`);
  const page = await context.newPage();
  page.on('pageerror', (err) => {
    throw err;
  });
  return page;
}

/** One violation as axe reports it, as far as the failure message needs it. */
interface Violation {
  id: string;
  impact: string | null;
  help: string;
  helpUrl: string;
  nodes: { target: unknown[]; failureSummary?: string }[];
}

/**
 * axe-core's violations on the page. Its source is evaluated through the DevTools protocol, which
 * the page's CSP (`script-src 'self'`) does not govern: the page under test keeps its own policy.
 */
async function audit(page: Page): Promise<Violation[]> {
  await page.evaluate(axe.source);
  return page.evaluate<Violation[]>(
    `axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations)`,
  );
}

const describeViolations = (vs: Violation[]): string =>
  vs
    .map(
      (v) =>
        `${v.impact} ${v.id}: ${v.help} (${v.helpUrl})\n` +
        v.nodes.map((n) => `    ${JSON.stringify(n.target)} — ${n.failureSummary ?? ''}`).join('\n'),
    )
    .join('\n');

/** The pages, each opened and waited on until it shows what it is audited for. */
const PAGES: Record<string, (page: Page) => Promise<void>> = {
  list: async (page) => {
    await page.goto(`${base}/`);
    // Any rows: other files' jobs share the dev server, and 50 of theirs (open first, then the most
    // recently closed) can push this file's job off the first page.
    await page.locator('table.jobs tbody tr .badge').first().waitFor(WAIT);
  },
  'list-expanded': async (page) => {
    await page.goto(`${base}/?q=${encodeURIComponent(jobId)}`);
    await page.getByRole('button', { name: `Show the sub-jobs of ${jobId}` }).click();
    await page.locator('tr.subrow').first().waitFor(WAIT);
  },
  'list-selected': async (page) => {
    await page.goto(`${base}/?q=${encodeURIComponent(jobId)}`);
    await page.getByRole('checkbox', { name: `Select ${jobId}` }).check();
    await page.getByText('The selected jobs (1)').waitFor(WAIT);
  },
  'bulk-card': async (page) => {
    await page.goto(`${base}/jobs/${encodeURIComponent(bulkId)}`);
    await page.locator('.status-line .badge', { hasText: /^completed with errors$/ }).waitFor(WAIT);
    await page.locator('a[data-link="bulk-item"]').first().waitFor(WAIT);
  },
  'notification-centre': async (page) => {
    await page.goto(`${base}/`);
    await page.getByRole('button', { name: /^Notifications, \d+ unread$/ }).click();
    await page.locator('#notification-centre fieldset').nth(1).waitFor(WAIT);
  },
  card: async (page) => {
    await page.goto(`${base}/jobs/${encodeURIComponent(jobId)}`);
    await page.locator('.status-line .badge', { hasText: /^completed$/ }).waitFor(WAIT);
    await page.locator('.tree-box .tree a').first().waitFor(WAIT);
  },
  'card-failed': async (page) => {
    await page.goto(`${base}/jobs/${encodeURIComponent(failedId)}`);
    await page.getByTestId('root-cause').locator('a[data-link="cause-chunk"]').first().waitFor(WAIT);
    await page.locator('.gantt .g-row a[data-link="timeline"]').first().waitFor(WAIT);
  },
  'card-held': async (page) => {
    await page.goto(`${base}/jobs/${encodeURIComponent(heldId)}`);
    await page.getByTestId('hold').getByRole('button', { name: 'Retry step' }).waitFor(WAIT);
  },
  'card-approval': async (page) => {
    await page.goto(`${base}/jobs/${encodeURIComponent(approvalId)}`);
    await page.getByTestId('approval').locator('[data-action="approve"]:enabled').waitFor(WAIT);
  },
  'card-queued': async (page) => {
    await page.goto(`${base}/jobs/${encodeURIComponent(queuedId)}`);
    await page
      .getByTestId('queue')
      .getByText(/number 1 in line/)
      .waitFor(WAIT);
  },
  form: async (page) => {
    await page.goto(`${base}/new?type=demoPipeline`);
    await page.getByLabel('parts (optional)').waitFor(WAIT);
  },
  'form-rich': async (page) => {
    await page.goto(`${base}/new?type=datasetBuild`);
    await page.locator('#field-outputDir').waitFor(WAIT);
  },
  charts: async (page) => {
    // The visibility store is eventually consistent: reload until the job's type is counted.
    await waitFor(
      async () => {
        await page.goto(`${base}/charts?range=1h&q=${encodeURIComponent(jobId)}`);
        await page.getByTestId('source').waitFor(WAIT);
        return page.getByTestId('type-demoPipeline').count();
      },
      (n) => n === 1,
      30_000,
      200,
    );
    await page.getByText('Show the chart as a table').click();
    await page.getByTestId('series-table').waitFor(WAIT);
  },
  'form-errors': async (page) => {
    await page.goto(`${base}/new?type=demoPipeline`);
    await page.getByLabel('parts (optional)').fill('500');
    await page.getByRole('button', { name: 'Start job' }).click();
    await page.locator('#field-parts-errors .error').waitFor(WAIT);
  },
  subscriptions: async (page) => {
    await page.goto(`${base}/subscriptions`);
    const card = page.locator(`article[data-subscription-id="${subscriptionId}"]`);
    await waitFor(
      () => card.locator('tr[data-status="delivered"]').count(),
      (n) => n === 3,
      WAIT.timeout,
      100,
    );
    // One delivery's attempts shown.
    await card.locator('details.attempts summary').first().click();
  },
  'subscriptions-secret': async (page) => {
    await page.goto(`${base}/subscriptions`);
    const card = page.locator(`article[data-subscription-id="${subscriptionId}"]`);
    await card.getByRole('button', { name: 'Rotate secret…' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Rotate secret' }).click();
    await page.getByTestId('secret-box').getByRole('heading', { name: 'New signing secret' }).waitFor(WAIT);
  },
  'subscriptions-errors': async (page) => {
    await page.goto(`${base}/subscriptions`);
    await page.getByLabel('URL', { exact: true }).fill('http://169.254.169.254/latest');
    await page.getByRole('button', { name: 'Create subscription' }).click();
    await page.locator('#sub-url-errors .error').waitFor(WAIT);
  },
  'subscriptions-operator': async (page) => {
    await page.goto(`${base}/subscriptions`);
    await page.getByTestId('not-admin').waitFor(WAIT);
  },
  schedules: async (page) => {
    await page.goto(`${base}/schedules`);
    const card = page.locator(`article[data-schedule-id="${scheduleId}"]`);
    await card.locator('a[data-link="run"]').first().waitFor(WAIT);
    await card.getByTestId('next-runs').locator('li').first().waitFor(WAIT);
  },
  'schedules-errors': async (page) => {
    await page.goto(`${base}/schedules`);
    await page.getByLabel('Seconds between runs').fill('0');
    await page.getByRole('button', { name: 'Create schedule' }).click();
    await page.locator('#sched-intervalSeconds-errors .error').waitFor(WAIT);
  },
};

/** The pages opened with the admin's key (the others with the operator's). */
const AS_ADMIN = new Set(['subscriptions', 'subscriptions-secret', 'subscriptions-errors']);

/** The pages photographed (at 1280 px, in both schemes), by the screenshot's name. */
const SCREENSHOTS: Record<string, string> = {
  list: 'list',
  'list-expanded': 'list-expanded',
  'notification-centre': 'notifications',
  card: 'card',
  'card-failed': 'card-failed',
  'card-held': 'card-held',
  'card-approval': 'card-approval',
  'card-queued': 'card-queued',
  'bulk-card': 'bulk-card',
  'form-rich': 'form',
  charts: 'charts',
  subscriptions: 'subscriptions',
  'subscriptions-secret': 'subscriptions-secret',
  schedules: 'schedules',
};

const cases = Object.keys(PAGES).flatMap((name) =>
  [1280, 390].flatMap((width) => (['light', 'dark'] as const).map((scheme) => ({ name, width, scheme }))),
);

test.each(cases)(
  '$name at $width px, $scheme: no serious or critical axe violation',
  async ({ name, width, scheme }) => {
    const page = await openPage(width, scheme, AS_ADMIN.has(name) ? keys.admin : keys.operator);
    await PAGES[name](page);
    // The scheme is the system's: the page's own background says which one it drew.
    const background = await page.evaluate<string>(
      'getComputedStyle(document.documentElement).backgroundColor',
    );
    expect(background).toBe(scheme === 'dark' ? 'rgb(18, 21, 28)' : 'rgb(245, 246, 248)');
    const shot = SCREENSHOTS[name];
    if (width === 1280 && shot) {
      const path = DOCS_SHOTS
        ? docsScreenshot(`${shot}-${scheme}`)
        : screenshotPath(`a11y-${shot}-${scheme}`);
      await page.screenshot({
        path,
        fullPage: name.startsWith('card') || name.startsWith('subscriptions') || name.startsWith('schedules'),
      });
    }
    const violations = await audit(page);
    const blocking = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    if (blocking.length > 0)
      throw new Error(`axe on ${name} (${width} px, ${scheme}):\n${describeViolations(blocking)}`);
  },
);

test('the page links its SVG icon, served like the other dashboard files, under an unchanged CSP', async () => {
  const page = await openPage(1280, 'light');
  const response = await page.goto(`${base}/`);
  const csp = response!.headers()['content-security-policy'];
  expect(csp).toContain("default-src 'self'");
  expect(csp).toContain("img-src 'self' data:");
  const href = await page.locator('link[rel="icon"]').getAttribute('href');
  expect(href).toBe('/app/favicon.svg');
  const icon = await fetch(`${base}${href}`);
  expect(icon.status).toBe(200);
  expect(icon.headers.get('content-type')).toBe('image/svg+xml');
  expect(await icon.text()).toMatch(/^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
});

/** docs/screenshots/<name>.png: the committed screenshots docs/dashboard.md shows. */
function docsScreenshot(name: string): string {
  const dir = resolve(__dirname, '..', '..', 'docs', 'screenshots');
  mkdirSync(dir, { recursive: true });
  return join(dir, `${name}.png`);
}
