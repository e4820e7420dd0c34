/**
 * The card's "Open trace" link (STEPWISE_TRACE_URL, docs/production.md "Traces"): a job started
 * through the traced API carries its trace id, and its card — and its sub-job's card — link to the
 * configured trace UI with that id in place of `{traceId}`. Clicking it opens the trace UI on that
 * trace: here a stand-in trace UI in this process that shows what an OTLP receiver got for the id
 * in its path, so the page it lands on must list the job's own spans. With no URL configured, a
 * traced job's card shows no such link.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { loadConfig } from '../../src/config';
import { startTracing, type Tracing } from '../../src/tracing';
import type { JobState } from '../../workflows/contracts';
import { uniqueId, waitFor } from '../helpers';
import { startTestApi, type TestApi } from '../api-harness';
import { OtlpReceiver } from '../otlp-receiver';
import { launchChromium, screenshotPath } from './browser';

const WAIT = { timeout: 60_000 };

let receiver: OtlpReceiver;
let tracing: Tracing;
let traceUi: Server;
let traceUiBase: string;
let browser: Browser;

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A stand-in trace UI: `GET /trace/<id>` lists the names of the spans the receiver holds for that trace. */
function startTraceUi(): Promise<Server> {
  const server = createServer((req, res) => {
    const m = /^\/trace\/([0-9a-f]{32})$/.exec(req.url ?? '');
    if (!m) {
      res.writeHead(404).end();
      return;
    }
    const spans = receiver.spans().filter((s) => s.traceId === m[1]);
    const items = spans.map((s) => `<li class="span">${escapeHtml(s.name)}</li>`).join('');
    res
      .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      .end(`<!doctype html><title>Trace ${m[1]}</title><h1>Trace ${m[1]}</h1><ul>${items}</ul>`);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

beforeAll(async () => {
  receiver = await OtlpReceiver.start();
  const config = loadConfig({
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
  });
  tracing = startTracing(config.tracing, { defaultServiceName: 'stepwise-trace-link-test' })!;
  traceUi = await startTraceUi();
  traceUiBase = `http://127.0.0.1:${(traceUi.address() as AddressInfo).port}`;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await tracing?.shutdown();
  if (traceUi) {
    traceUi.closeAllConnections();
    await new Promise<void>((resolve) => traceUi.close(() => resolve()));
  }
  await receiver?.close();
});

async function startViaApi(base: string): Promise<string> {
  const jobId = uniqueId('trace-link');
  const res = await fetch(`${base}/api/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'demoPipeline', input: { durationMs: 20, parts: 1 }, jobId }),
  });
  expect(res.status).toBe(201);
  return jobId;
}

async function closedState(base: string, jobId: string): Promise<JobState> {
  const state = await waitFor(
    async () => (await fetch(`${base}/api/jobs/${encodeURIComponent(jobId)}`)).json() as Promise<JobState>,
    (s) => s.closedAt !== null,
    60_000,
    100,
  );
  expect(state.status).toBe('completed');
  return state;
}

async function openCard(context: BrowserContext, base: string, jobId: string): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (err) => {
    throw err;
  });
  await page.goto(`${base}/jobs/${encodeURIComponent(jobId)}`);
  // The closed state is on screen: its badge, and the links line drawn from it.
  await page.locator('.status-line .badge', { hasText: /^completed$/ }).waitFor(WAIT);
  await page.locator('.links', { hasText: 'Started' }).waitFor(WAIT);
  expect(await page.locator('h1.job-id').textContent()).toBe(jobId);
  return page;
}

describe('with STEPWISE_TRACE_URL', () => {
  let api: TestApi;
  let context: BrowserContext;
  const template = () => `${traceUiBase}/trace/{traceId}`;

  beforeAll(async () => {
    api = await startTestApi({ STEPWISE_TRACE_URL: template() }, { listen: true, tracing });
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  });

  afterAll(async () => {
    await context?.close();
    await api?.close();
  });

  test('the card links to the job’s trace, and the link opens the trace UI on it', async () => {
    const base = api.base!;
    const jobId = await startViaApi(base);
    const state = await closedState(base, jobId);
    expect(state.traceId).toMatch(/^[0-9a-f]{32}$/);
    const traceId = state.traceId!;
    const expected = template().replace('{traceId}', traceId);

    const page = await openCard(context, base, jobId);
    const link = page.locator('.links a[data-link="trace"]');
    expect(await link.count()).toBe(1);
    expect(await link.getAttribute('href')).toBe(expected);
    expect(await link.textContent()).toBe('Open trace');
    expect(await link.getAttribute('rel')).toBe('noopener');
    await page.screenshot({ path: screenshotPath('trace-link-card-1280'), fullPage: true });

    // The spans are at the receiver before the trace UI is opened on them.
    await waitFor(
      async () => {
        await tracing.forceFlush();
        return receiver.spans().filter((s) => s.traceId === traceId);
      },
      (spans) => spans.some((s) => s.name === 'RunWorkflow:demoPipeline'),
      30_000,
      200,
    );
    const [ui] = await Promise.all([context.waitForEvent('page', WAIT), link.click()]);
    await ui.waitForLoadState('domcontentloaded');
    expect(ui.url()).toBe(expected);
    expect(await ui.locator('h1').textContent()).toBe(`Trace ${traceId}`);
    const names = await ui.locator('li.span').allTextContents();
    expect(names).toContain('POST /api/jobs');
    expect(names).toContain('RunWorkflow:demoPipeline');
    await ui.screenshot({ path: screenshotPath('trace-link-trace-ui') });
    await ui.close();

    // A sub-job's card links to the same trace (its parent's).
    const children = (await (
      await fetch(`${base}/api/jobs/${encodeURIComponent(jobId)}/children`)
    ).json()) as {
      jobId: string;
    }[];
    const subJobId = children.map((n) => n.jobId).find((id) => id.startsWith(`${jobId}/transform/`));
    expect(subJobId).toBeDefined();
    const sub = await openCard(context, base, subJobId!);
    expect(await sub.locator('.links a[data-link="trace"]').getAttribute('href')).toBe(expected);
    await sub.close();
    await page.close();
  });
});

describe('without STEPWISE_TRACE_URL', () => {
  let api: TestApi;
  let context: BrowserContext;

  beforeAll(async () => {
    api = await startTestApi({}, { listen: true, tracing });
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  });

  afterAll(async () => {
    await context?.close();
    await api?.close();
  });

  test('a traced job’s card shows no trace link', async () => {
    const base = api.base!;
    const jobId = await startViaApi(base);
    const state = await closedState(base, jobId);
    // The job is traced; only the link's URL is missing.
    expect(state.traceId).toMatch(/^[0-9a-f]{32}$/);
    const page = await openCard(context, base, jobId);
    expect(await page.locator('a[data-link="trace"]').count()).toBe(0);
    expect(await page.getByText('Open trace').count()).toBe(0);
    await page.screenshot({ path: screenshotPath('trace-link-none-1280'), fullPage: true });
    await page.close();
  });
});
