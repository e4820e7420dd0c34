/**
 * The webhooks page (`/subscriptions`) as an admin uses it, in Chromium against the API, its
 * notifications worker and the real dev server: a subscription created from the form to a loopback
 * receiver (the private-address override on), its secret shown once and copied, "Send test"
 * received and its Standard Webhooks signature verified with that secret, the delivery in the
 * page's log with its status code, a replay, a rotation (both secrets sign meanwhile), disable and
 * delete; the API's 400 issues next to their fields; a failing job's event in the log, and every
 * link on the page landing on a page that works; and an operator, who gets an explanation and no
 * admin control.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Delivery, Subscription } from '../../src/api/notifications/notifications.schemas';
import { testApiKeys, uniqueId, waitFor } from '../helpers';
import { startTestApi, type TestApi } from '../api-harness';
import { signaturesBy, WebhookReceiver } from '../webhook-receiver';
import { launchChromium, screenshotPath } from './browser';

const { STEPWISE_API_KEYS, keys } = testApiKeys({ admin: 'admin', operator: 'operator' });
const WAIT = { timeout: 60_000 };

let harness: TestApi;
let base: string;
let browser: Browser;
const receiver = new WebhookReceiver();

beforeAll(async () => {
  await receiver.start();
  harness = await startTestApi(
    {
      STEPWISE_API_KEYS,
      STEPWISE_WEBHOOK_ALLOW_PRIVATE: 'true',
      STEPWISE_WEBHOOK_RETRY_INITIAL_MS: '300',
      STEPWISE_WEBHOOK_RETRY_MAX_MS: '1000',
      STEPWISE_NOTIFIER_POLL_MS: '200',
      STEPWISE_NOTIFIER_RESCAN_MS: '10000',
    },
    { listen: true },
  );
  base = harness.base!;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await harness?.close();
  await receiver.close();
});

const contexts: BrowserContext[] = [];
afterEach(async () => {
  await Promise.all(contexts.splice(0).map((c) => c.close()));
});

/** A page signed in with `key`; the clipboard is allowed, so "Copy secret" can be checked. */
async function openPage(key: string, width = 1280): Promise<Page> {
  const context = await browser.newContext({
    viewport: { width, height: 900 },
    locale: 'en-US',
    timezoneId: 'Europe/Paris',
    permissions: ['clipboard-read', 'clipboard-write'],
  });
  contexts.push(context);
  // Not on about:blank (no storage there), which the link check passes through.
  await context.addInitScript(
    `if (location.protocol === 'http:') sessionStorage.setItem('stepwise.apiKey', ${JSON.stringify(key)});`,
  );
  const page = await context.newPage();
  page.on('pageerror', (err) => {
    throw err;
  });
  return page;
}

/** The admin API, as the test's own check of what the page did. */
async function adminApi<T>(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${keys.admin}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
}

/** Waits until the receiver holds `n` requests to `path`; returns them. */
const receivedAt = (path: string, n: number) =>
  waitFor(
    () => Promise.resolve(receiver.at(path)),
    (rs) => rs.length >= n,
    60_000,
    50,
  );

test('an admin creates a subscription, reads its secret once, tests, replays, rotates, disables and deletes it', async () => {
  const page = await openPage(keys.admin);
  await page.goto(`${base}/`);
  // The navigation every page shares links the page for an admin.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Webhooks' }).click();
  await page.waitForURL(`${base}/subscriptions`);
  await page.getByRole('heading', { name: 'Webhooks', level: 1 }).waitFor(WAIT);
  await page.getByText('No subscriptions yet').waitFor(WAIT);
  expect(await page.title()).toBe('Webhooks · Stepwise');

  // The events offered are the API's list; the job types the catalog's top-level types.
  const events = await page
    .locator('input[name="events"]')
    .evaluateAll((els) => els.map((e) => (e as unknown as { value: string }).value));
  expect(events).toEqual([
    'job.failed',
    'job.completed_with_errors',
    'job.cancelled',
    'job.completed',
    'job.stalled',
    'job.held',
    'job.eta_overrun',
    'job.awaiting_approval',
  ]);
  const catalog = (await (
    await fetch(`${base}/api/job-types`, { headers: { authorization: `Bearer ${keys.admin}` } })
  ).json()) as { type: string; internal: boolean }[];
  const offered = await page
    .locator('input[name="jobTypes"]')
    .evaluateAll((els) => els.map((e) => (e as unknown as { value: string }).value));
  expect(offered).toEqual(catalog.filter((t) => !t.internal || t.type === 'stepwiseBulk').map((t) => t.type));
  expect(offered).toContain('example');

  // No event ticked: the API's issue, in words, next to the events.
  const url = page.getByLabel('URL', { exact: true });
  await url.fill('http://169.254.169.254/latest');
  for (const e of ['job.failed', 'job.completed_with_errors']) {
    await page.getByRole('checkbox', { name: new RegExp(`^${e.replace('.', '\\.')} `) }).uncheck();
  }
  await page.getByRole('button', { name: 'Create subscription' }).click();
  await page.locator('#sub-events-errors .error', { hasText: 'Tick at least one' }).waitFor(WAIT);
  await page.getByText('The subscription was not created: one value needs a change').waitFor(WAIT);

  // A link-local address (cloud metadata): refused by the address policy, named next to the URL.
  await page.getByRole('checkbox', { name: /^job\.failed / }).check();
  await page.getByRole('button', { name: 'Create subscription' }).click();
  const urlError = page.locator('#sub-url-errors .error');
  await urlError.waitFor(WAIT);
  expect(await urlError.textContent()).toMatch(/link-local address, in 169\.254\.0\.0\/16; never allowed/);
  expect(await url.getAttribute('aria-invalid')).toBe('true');
  expect(await page.locator('#sub-events-errors .error').count()).toBe(0);
  await page.screenshot({ path: screenshotPath('subscriptions-refused-1280'), fullPage: true });
  expect(
    (await adminApi<{ subscriptions: Subscription[] }>('GET', '/api/notifications/subscriptions')).body,
  ).toEqual({ subscriptions: [] });

  // Created: to the loopback receiver, for failures of `example` jobs.
  await url.fill(`${receiver.url}/admin-flow`);
  await page.getByLabel('Description (optional)').fill('Pager for examples');
  await page.getByRole('checkbox', { name: 'example', exact: true }).check();
  await page.getByRole('button', { name: 'Create subscription' }).click();
  const secretBox = page.getByTestId('secret-box');
  await secretBox.waitFor(WAIT);
  await secretBox.getByText('It will not be shown again.').waitFor(WAIT);
  const secret = await secretBox.getByLabel('Secret').inputValue();
  expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
  await secretBox.getByRole('button', { name: 'Copy secret' }).click();
  await secretBox.getByText('Copied to the clipboard.').waitFor(WAIT);
  expect(await page.evaluate('navigator.clipboard.readText()')).toBe(secret);
  // The form is ready for another one, and its errors are gone.
  expect(await url.inputValue()).toBe('');
  expect(await page.locator('#sub-url-errors .error').count()).toBe(0);

  const [sub] = (await adminApi<{ subscriptions: Subscription[] }>('GET', '/api/notifications/subscriptions'))
    .body.subscriptions;
  expect(sub).toMatchObject({
    url: `${receiver.url}/admin-flow`,
    description: 'Pager for examples',
    events: ['job.failed'],
    jobTypes: ['example'],
    enabled: true,
  });
  const card = page.locator(`article[data-subscription-id="${sub.id}"]`);
  await card.waitFor(WAIT);
  expect(await card.getByRole('heading').textContent()).toBe(sub.url);
  expect(await card.getByTestId('events').textContent()).toBe('job.failed');
  expect(await card.getByTestId('job-types').textContent()).toBe('example');
  await card.locator('.badge', { hasText: /^enabled$/ }).waitFor(WAIT);
  // Created: the date, time and zone (the browser's, Paris here), and how long ago.
  expect(await card.locator('.sub-facts').textContent()).toMatch(
    /Created\d+\/\d+\/\d{4}, \d\d:\d\d:\d\d GMT\+[12] \(just now\)/,
  );
  await page.screenshot({ path: screenshotPath('subscriptions-secret-1280'), fullPage: true });

  // Hidden once stored: the secret is nowhere in the page any more, nor after a reload.
  await secretBox.getByRole('button', { name: /^I have stored it/ }).click();
  expect(await secretBox.isHidden()).toBe(true);
  expect(await page.content()).not.toContain(secret);
  await page.reload();
  await card.waitFor(WAIT);
  expect(await page.content()).not.toContain(secret);

  // Send test: the receiver gets a `test` event signed with the secret shown.
  await card.getByRole('button', { name: 'Send test' }).click();
  await card.getByText('Test event sent').waitFor(WAIT);
  const [first] = await receivedAt('/admin-flow', 1);
  expect(JSON.parse(first.body)).toMatchObject({ type: 'test', data: { subscriptionId: sub.id } });
  expect(signaturesBy(secret, first)).toBe(1);
  expect(signaturesBy(`whsec_${Buffer.alloc(32, 7).toString('base64')}`, first)).toBe(0);

  // The log shows the delivery: delivered, 1 attempt, the receiver's 200.
  const delivered = card.locator('tr[data-status="delivered"]');
  await delivered.first().waitFor(WAIT);
  expect(await delivered.count()).toBe(1);
  expect(await delivered.getByTestId('answer').textContent()).toBe('200');
  expect(await delivered.locator('td[data-label="Event"]').textContent()).toBe('test');
  await delivered.getByText('1 attempt').click();
  expect(await delivered.locator('details.attempts li').textContent()).toMatch(/ — HTTP 200 in \d+ ms$/);
  const [logged] = (
    await adminApi<{ deliveries: Delivery[] }>(
      'GET',
      `/api/notifications/deliveries?subscriptionId=${encodeURIComponent(sub.id)}`,
    )
  ).body.deliveries;
  expect(await delivered.getAttribute('data-delivery-id')).toBe(logged.id);
  expect(logged.attempts).toHaveLength(1);
  expect(await delivered.locator('td[data-label="Latency"]').textContent()).toBe(
    `${logged.attempts[0].latencyMs} ms`,
  );

  // Replay: a second delivery in the log; the receiver gets the same webhook-id and body again.
  await delivered.getByRole('button', { name: /^Replay the test delivery sent / }).click();
  await card.getByText('Replay started').waitFor(WAIT);
  const [, again] = await receivedAt('/admin-flow', 2);
  expect(again.headers['webhook-id']).toBe(first.headers['webhook-id']);
  expect(again.body).toBe(first.body);
  expect(signaturesBy(secret, again)).toBe(1);
  await waitFor(
    () => delivered.count(),
    (n) => n === 2,
    60_000,
    100,
  );
  await card.locator('tr[data-status="delivered"]', { hasText: '(replay)' }).waitFor(WAIT);
  await page.screenshot({ path: screenshotPath('subscriptions-log-1280'), fullPage: true });

  // Rotate (confirmed): a new secret, shown once; meanwhile a delivery carries both signatures.
  await card.getByRole('button', { name: 'Rotate secret…' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByRole('heading', { name: 'Rotate the secret?' }).waitFor(WAIT);
  await dialog.getByRole('button', { name: 'Rotate secret' }).click();
  await secretBox.getByRole('heading', { name: 'New signing secret' }).waitFor(WAIT);
  const rotated = await secretBox.getByLabel('Secret').inputValue();
  expect(rotated).toMatch(/^whsec_/);
  expect(rotated).not.toBe(secret);
  await secretBox
    .getByText(/every delivery carries a second signature made with the previous secret/)
    .waitFor(WAIT);
  await card.getByText(/^still signs too, until /).waitFor(WAIT);
  await card.getByRole('button', { name: 'Send test' }).click();
  const [, , third] = await receivedAt('/admin-flow', 3);
  expect(signaturesBy(rotated, third)).toBe(1);
  expect(signaturesBy(secret, third)).toBe(1);
  await waitFor(
    () => delivered.count(),
    (n) => n === 3,
    60_000,
    100,
  );

  // Disable: the API says so, the card too, and "Send test" waits for it to be enabled again.
  await card.getByRole('button', { name: 'Disable' }).click();
  await card.locator('.badge', { hasText: /^disabled$/ }).waitFor(WAIT);
  expect(await card.getByRole('button', { name: 'Send test' }).isDisabled()).toBe(true);
  expect(
    (await adminApi<Subscription>('GET', `/api/notifications/subscriptions/${sub.id}`)).body.enabled,
  ).toBe(false);
  await card.getByRole('button', { name: 'Enable' }).waitFor(WAIT);

  // Delete asks first; "Keep it" keeps it.
  await card.getByRole('button', { name: 'Delete…' }).click();
  await dialog.getByRole('heading', { name: 'Delete this subscription?' }).waitFor(WAIT);
  await dialog.getByRole('button', { name: 'Keep it' }).click();
  expect(await dialog.isHidden()).toBe(true);
  expect((await adminApi('GET', `/api/notifications/subscriptions/${sub.id}`)).status).toBe(200);
  await card.getByRole('button', { name: 'Delete…' }).click();
  await dialog.getByRole('button', { name: 'Delete subscription' }).click();
  await page.getByText(`Deleted the subscription to ${sub.url}.`).waitFor(WAIT);
  expect(await card.count()).toBe(0);
  await page.getByText('No subscriptions yet').waitFor(WAIT);
  expect((await adminApi('GET', `/api/notifications/subscriptions/${sub.id}`)).status).toBe(404);
});

test('a failing job’s event shows in the log with its job, and every link on the page lands on a page that works', async () => {
  const created = await adminApi<Subscription & { secret: string }>(
    'POST',
    '/api/notifications/subscriptions',
    {
      url: `${receiver.url}/links`,
      events: ['job.failed'],
      jobTypes: ['example'],
    },
  );
  expect(created.status).toBe(201);
  const jobId = uniqueId('subs-fails');
  const started = await fetch(`${base}/api/jobs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${keys.operator}`, 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'example', jobId, input: { durationMs: 10, failAttempts: 10 } }),
  });
  expect(started.status).toBe(201);

  const page = await openPage(keys.admin, 390);
  await page.goto(`${base}/subscriptions`);
  const card = page.locator(`article[data-subscription-id="${created.body.id}"]`);
  await card.waitFor(WAIT);
  // The open log is read again on its own: the job's failure arrives without a reload.
  const row = card.locator('tr[data-status="delivered"]', { hasText: 'job.failed' });
  await row.waitFor(WAIT);
  const [event] = receiver.at('/links');
  expect(JSON.parse(event.body)).toMatchObject({ type: 'job.failed', data: { jobId, jobType: 'example' } });
  expect(signaturesBy(created.body.secret, event)).toBe(1);
  expect(await row.getByRole('link', { name: jobId }).getAttribute('href')).toBe(`/jobs/${jobId}`);
  await page.screenshot({ path: screenshotPath('subscriptions-390'), fullPage: true });

  const hrefs = await page
    .locator('a[href]')
    .evaluateAll((as) => [...new Set(as.map((a) => a.getAttribute('href')!))]);
  expect(hrefs).toEqual(
    expect.arrayContaining([
      '/',
      '/charts',
      '/new',
      '/subscriptions',
      '/docs',
      '#new-subscription',
      `/jobs/${jobId}`,
    ]),
  );
  for (const href of hrefs) {
    const target = new URL(href, `${base}/subscriptions`).toString();
    // From a blank page, so an in-page link (`#new-subscription`) loads the page too.
    await page.goto('about:blank');
    const res = await page.goto(target);
    expect([href, res?.status()]).toEqual([href, 200]);
    const path = new URL(target).pathname;
    if (path === '/docs') {
      await page.locator('.opblock').first().waitFor(WAIT);
      continue;
    }
    // A dashboard page: its header, a heading of its own, and no error.
    await page.locator('header.top .who').waitFor(WAIT);
    if (path === `/jobs/${jobId}`) {
      await page.locator('.status-line .badge', { hasText: /^failed$/ }).waitFor(WAIT);
      expect(await page.locator('h1.job-id').textContent()).toBe(jobId);
    } else if (path === '/subscriptions') {
      await card.waitFor(WAIT);
    } else {
      await page.locator('main h1').first().waitFor(WAIT);
    }
    expect(await page.locator('main [role="alert"].error:visible').count()).toBe(0);
  }
  expect((await adminApi('DELETE', `/api/notifications/subscriptions/${created.body.id}`, {})).status).toBe(
    204,
  );
});

test('an operator gets an explanation, no admin controls, and no link to the page', async () => {
  const page = await openPage(keys.operator);
  const calls: string[] = [];
  page.on('request', (r) => {
    if (new URL(r.url()).pathname.startsWith('/api/notifications')) calls.push(r.url());
  });
  await page.goto(`${base}/subscriptions`);
  const note = page.getByTestId('not-admin');
  await note.waitFor(WAIT);
  expect(await note.textContent()).toContain("Your key's role (operator) cannot see or change them.");
  const main = page.locator('main');
  for (const role of ['button', 'textbox', 'checkbox', 'table', 'dialog'] as const) {
    expect([role, await main.getByRole(role).count()]).toEqual([role, 0]);
  }
  expect(await main.locator('form').count()).toBe(0);
  const nav = page.getByRole('navigation', { name: 'Main' });
  await nav.getByRole('link', { name: 'Charts' }).waitFor(WAIT);
  expect(await nav.getByRole('link', { name: 'Webhooks' }).count()).toBe(0);
  // The page asked nothing the admin API would have refused.
  expect(calls).toEqual([]);
  await page.screenshot({ path: screenshotPath('subscriptions-operator-1280') });
});
