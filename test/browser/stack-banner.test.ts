/**
 * The dashboard's banner for a stack that is not whole, in Chromium: the process, its state,
 * restarts and last exit while a launcher restarts one (the status the launcher sends its API, set
 * here directly since the API runs in-process); none once every process is up again; and "not
 * answering" once the API itself is down. What a real launcher reports while a child is killed is
 * checked in test/faults/launcher-cluster.test.ts.
 */
import type { Browser, Page } from 'playwright-core';
import { setStackStatus, type StackStatus } from '../../src/stack-status';
import { startTestApi, type TestApi } from '../api-harness';
import { launchChromium, screenshotPath } from './browser';

const WAIT = { timeout: 30_000 };

let harness: TestApi;
let browser: Browser;
let page: Page;

const now = new Date().toISOString();
const up = (name: string, pid: number): StackStatus['processes'][number] => ({
  name,
  state: 'up',
  pid,
  restarts: 0,
  since: now,
  lastExit: null,
});

beforeAll(async () => {
  harness = await startTestApi({}, { listen: true });
  browser = await launchChromium();
  page = await (await browser.newContext()).newPage();
});

afterAll(async () => {
  setStackStatus(null);
  await browser?.close();
  await harness?.close();
});

it('names a restarting process with its restarts and last exit, and shows nothing once everything is up', async () => {
  setStackStatus({
    status: 'degraded',
    launcher: 'npm run cluster',
    processes: [
      up('temporal', 10),
      {
        name: 'worker-1',
        state: 'restarting',
        pid: null,
        restarts: 2,
        since: now,
        lastExit: { code: null, signal: 'SIGKILL', at: now, reason: 'killed by SIGKILL after 40 s' },
      },
      up('api', 12),
    ],
  });
  await page.goto(`${harness.base}/`);
  const banner = page.getByTestId('stack-banner');
  await banner.waitFor({ state: 'visible', ...WAIT });
  expect(await banner.innerText()).toBe(
    'worker-1 is restarting (2 restarts; last exit: killed by SIGKILL after 40 s).',
  );
  await page.screenshot({ path: screenshotPath('stack-banner-restarting') });
  setStackStatus({
    status: 'ok',
    launcher: 'npm run cluster',
    processes: [up('temporal', 10), up('worker-1', 13), up('api', 12)],
  });
  // The page checks again by itself.
  await banner.waitFor({ state: 'hidden', ...WAIT });
});

it('says the API is not answering when it is down', async () => {
  await harness.app.close();
  const banner = page.getByTestId('stack-banner');
  await banner.waitFor({ state: 'visible', ...WAIT });
  expect(await banner.innerText()).toMatch(/^The API is not answering/);
});
