/**
 * An approval step on the card, used as people use it: a job waiting for an operator shows
 * "Awaiting approval by an operator" with a comment field and Approve / Reject; an operator approves
 * with a comment, the job completes and the step shows who approved and why. A viewer sees the
 * buttons disabled and why; an operator sees them disabled on a step only an admin may decide.
 * Real API with keys, worker and dev server, in Chromium.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { JobState } from '../../workflows/contracts';
import { testApiKeys, uniqueId, waitFor } from '../helpers';
import { startTestApi, type TestApi } from '../api-harness';
import { launchChromium, screenshotPath } from './browser';

const { STEPWISE_API_KEYS, keys } = testApiKeys({ vera: 'viewer', ops: 'operator' });
type Who = keyof typeof keys;
const WAIT = { timeout: 60_000 };

let harness: TestApi;
let base: string;
let browser: Browser;

beforeAll(async () => {
  harness = await startTestApi({ STEPWISE_API_KEYS, STEPWISE_STREAM_POLL_MS: '100' }, { listen: true });
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

const headers = (who: Who) => ({ authorization: `Bearer ${keys[who]}`, 'content-type': 'application/json' });
const stateOf = async (jobId: string): Promise<JobState> =>
  (await (
    await fetch(`${base}/api/jobs/${encodeURIComponent(jobId)}`, { headers: headers('vera') })
  ).json()) as JobState;
const until = (jobId: string, done: (s: JobState) => boolean): Promise<JobState> =>
  waitFor(
    () => stateOf(jobId),
    (s) => done(s) || s.closedAt !== null,
    WAIT.timeout,
    100,
  );

async function start(input: object): Promise<string> {
  const jobId = uniqueId('card-approval');
  const res = await fetch(`${base}/api/jobs`, {
    method: 'POST',
    headers: headers('ops'),
    body: JSON.stringify({ type: 'demoApproval', jobId, input }),
  });
  expect(res.status).toBe(201);
  await until(jobId, (s) => s.status === 'awaiting_approval');
  return jobId;
}

/** The card of `jobId`, signed in as `who`. */
async function openCard(who: Who, jobId: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
  contexts.push(context);
  await context.addInitScript(
    `if (location.protocol === 'http:') sessionStorage.setItem('stepwise.apiKey', ${JSON.stringify(keys[who])});`,
  );
  const page = await context.newPage();
  page.on('pageerror', (err) => {
    throw err;
  });
  await page.goto(`${base}/jobs/${encodeURIComponent(jobId)}`);
  await page.locator('.status-line .badge').waitFor(WAIT);
  return page;
}

test('an operator approves with a comment: the job goes on, and the step shows who approved and why', async () => {
  const jobId = await start({ durationMs: 10 });
  const page = await openCard('ops', jobId);
  const panel = page.getByTestId('approval');
  await panel.waitFor({ state: 'visible', ...WAIT });
  expect(await page.locator('.status-line .badge').textContent()).toBe('awaiting approval');
  expect(await panel.textContent()).toContain('Step “Approve” — awaiting approval by an operator');
  expect(await panel.textContent()).toContain('Publish what was prepared?');
  const approve = panel.getByRole('button', { name: 'Approve' });
  const reject = panel.getByRole('button', { name: 'Reject' });
  // Enabled once the card knows the caller's role and the state.
  await panel.locator('[data-action="approve"]:enabled').waitFor(WAIT);
  expect(await reject.isEnabled()).toBe(true);
  await page.screenshot({ path: screenshotPath('card-approval-1280'), fullPage: true });

  await panel.getByLabel('Comment (recorded with the decision)').fill('numbers match the staging run');
  await approve.click();
  await panel.waitFor({ state: 'hidden', ...WAIT });
  await page.locator('.status-line .badge', { hasText: /^completed$/ }).waitFor(WAIT);
  const decision = page.getByTestId('approval-decision');
  await decision.waitFor(WAIT);
  const text = await decision.textContent();
  expect(text).toMatch(/^Approved by ops at .+: “numbers match the staging run”$/);

  const done = await until(jobId, (s) => s.closedAt !== null);
  expect(done.status).toBe('completed');
  expect(done.steps[1].result).toMatchObject({
    decision: 'approved',
    by: 'ops',
    comment: 'numbers match the staging run',
  });
});

test("a viewer sees the buttons disabled and why; an operator too on an admin's step", async () => {
  const jobId = await start({ durationMs: 10 });
  const page = await openCard('vera', jobId);
  const panel = page.getByTestId('approval');
  await panel.waitFor({ state: 'visible', ...WAIT });
  expect(await panel.getByRole('button', { name: 'Approve' }).isDisabled()).toBe(true);
  expect(await panel.getByRole('button', { name: 'Reject' }).isDisabled()).toBe(true);
  expect(await panel.textContent()).toContain(
    "Your key's role (viewer) cannot decide: it takes an operator.",
  );

  const adminOnly = await start({ durationMs: 10, role: 'admin' });
  const opsPage = await openCard('ops', adminOnly);
  const adminPanel = opsPage.getByTestId('approval');
  await adminPanel.waitFor({ state: 'visible', ...WAIT });
  expect(await adminPanel.textContent()).toContain('awaiting approval by an admin');
  expect(await adminPanel.getByRole('button', { name: 'Approve' }).isDisabled()).toBe(true);
  expect(await adminPanel.textContent()).toContain(
    "Your key's role (operator) cannot decide: it takes an admin.",
  );

  for (const id of [jobId, adminOnly]) {
    const res = await fetch(`${base}/api/jobs/${encodeURIComponent(id)}/cancel`, {
      method: 'POST',
      headers: headers('ops'),
      body: '{}',
    });
    expect(res.status).toBe(202);
    await until(id, (s) => s.closedAt !== null);
  }
});
