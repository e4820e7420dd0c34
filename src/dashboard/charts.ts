/**
 * `/charts`: the figures of `GET /api/stats` for a range kept in the URL (`?range=1h|24h|7d`, and
 * `?q=` for a job id prefix as on the list) — starts and closes per interval by status as a
 * stacked bar chart (hand-drawn SVG with CSS classes, so the CSP needs no inline style; the same
 * figures as a table for screen readers and keyboards), the job types' failure, duration, retry and
 * recovery figures, the slowest and most failing steps, and what computing them read. Each type and
 * step links to the job list filtered to it.
 */
import { api, ApiError } from './api.js';
import type { PageContext } from './context.js';
import { duration, h, replace, timeEl, when, type Child } from './dom.js';
import type { components } from './api-types.generated.js';

type Schemas = components['schemas'];
type Stats = Schemas['Stats'];
type StepStats = Schemas['StepStats'];
type Bucket = Schemas['StatsBucket'];

/** The ranges offered, with the interval each is cut into. */
const RANGES = [
  { key: '1h', label: 'Last hour', spanMs: 3_600_000, interval: '5m', intervalMs: 300_000 },
  { key: '24h', label: 'Last 24 hours', spanMs: 86_400_000, interval: '1h', intervalMs: 3_600_000 },
  { key: '7d', label: 'Last 7 days', spanMs: 7 * 86_400_000, interval: '6h', intervalMs: 21_600_000 },
] as const;
type Range = (typeof RANGES)[number];

const CLOSED = ['completed', 'completed_with_errors', 'failed', 'cancelled'] as const;
const STATUS_LABEL: Record<(typeof CLOSED)[number], string> = {
  completed: 'completed',
  completed_with_errors: 'completed with errors',
  failed: 'failed',
  cancelled: 'cancelled',
};

const SVG_NS = 'http://www.w3.org/2000/svg';

function svg(
  tag: string,
  attrs: Record<string, string | number>,
  ...children: (SVGElement | string)[]
): SVGElement {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c);
  return el;
}

const pct = (r: number | null): string => (r === null ? '–' : `${(r * 100).toFixed(1)} %`);
const msText = (v: number | null): string => (v === null ? '–' : duration(v));

/** A cell whose raw value is kept beside its text (`data-value`), so tests compare the API's figure. */
function cell(value: number | null, text: string, testid?: string): HTMLElement {
  return h('td', { 'data-value': value === null ? 'null' : String(value), 'data-testid': testid }, text);
}

/** The job list, filtered: `/?type=…&status=…&startedAfter=…` (and the id prefix, if any). */
function listLink(text: string, filters: Record<string, string | undefined>): HTMLElement {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(filters)) if (v) q.set(k, v);
  return h('a', { href: `/?${q.toString()}` }, text);
}

/** A table in a scrolling region the keyboard can reach (narrow screens scroll it sideways). */
function scrollTable(label: string, head: string[], rows: HTMLElement[], testid: string): HTMLElement {
  const table = h(
    'table',
    { class: 'stats', 'data-testid': testid },
    h('caption', { class: 'sr-only' }, label),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        head.map((t) => h('th', { scope: 'col' }, t)),
      ),
    ),
    h(
      'tbody',
      {},
      rows.length > 0 ? rows : h('tr', {}, h('td', { colspan: head.length }, 'None in this range.')),
    ),
  );
  return h('div', { class: 'table-scroll', tabindex: 0, role: 'region', 'aria-label': label }, table);
}

/** Starts and closes per bucket as stacked bars: closes by status, starts as a thin bar beside them. */
function barChart(series: Bucket[], intervalMs: number): HTMLElement {
  const W = 1000;
  const H = 220;
  const top = 12;
  const bottom = 24;
  const left = 34;
  const plotH = H - top - bottom;
  const closedOf = (b: Bucket): number => CLOSED.reduce((n, s) => n + b.closed[s], 0);
  const max = Math.max(1, ...series.map((b) => Math.max(b.started, closedOf(b))));
  const slot = (W - left) / Math.max(1, series.length);
  const barW = Math.max(2, slot * 0.55);
  const y = (v: number): number => top + plotH - (v / max) * plotH;
  const parts: SVGElement[] = [];
  // Axis: 0 and the maximum.
  parts.push(svg('line', { x1: left, x2: W, y1: y(0), y2: y(0), class: 'axis' }));
  parts.push(svg('text', { x: left - 6, y: y(0) + 4, class: 'tick', 'text-anchor': 'end' }, '0'));
  parts.push(svg('text', { x: left - 6, y: y(max) + 4, class: 'tick', 'text-anchor': 'end' }, String(max)));
  const labelEvery = Math.ceil(series.length / 8);
  series.forEach((b, i) => {
    const x = left + i * slot + (slot - barW) / 2;
    let base = 0;
    for (const s of CLOSED) {
      const n = b.closed[s];
      if (n === 0) continue;
      parts.push(
        svg('rect', { x, y: y(base + n), width: barW, height: y(base) - y(base + n), class: `seg s-${s}` }),
      );
      base += n;
    }
    if (b.started > 0) {
      parts.push(
        svg('rect', {
          x: x + barW + 1,
          y: y(b.started),
          width: Math.max(1.5, slot * 0.12),
          height: y(0) - y(b.started),
          class: 'seg started',
        }),
      );
    }
    if (i % labelEvery === 0) {
      const d = new Date(b.start);
      const text =
        intervalMs >= 86_400_000
          ? d.toLocaleDateString(undefined, { month: 'numeric', day: 'numeric' })
          : d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
      parts.push(svg('text', { x: x + barW / 2, y: H - 6, class: 'tick', 'text-anchor': 'middle' }, text));
    }
  });
  const totals = CLOSED.map((s) => `${series.reduce((n, b) => n + b.closed[s], 0)} ${STATUS_LABEL[s]}`);
  const started = series.reduce((n, b) => n + b.started, 0);
  const label = `Bar chart: ${started} runs started and ${series.reduce((n, b) => n + closedOf(b), 0)} closed (${totals.join(', ')}), per ${duration(intervalMs)}. The same figures are in the table below.`;
  const chart = svg(
    'svg',
    {
      viewBox: `0 0 ${W} ${H}`,
      class: 'chart',
      role: 'img',
      'aria-label': label,
      'data-testid': 'series-chart',
    },
    ...parts,
  );
  const legend = h(
    'ul',
    { class: 'legend', 'aria-label': 'Legend' },
    CLOSED.map((s) =>
      h('li', {}, h('span', { class: `swatch s-${s}`, 'aria-hidden': 'true' }), `closed ${STATUS_LABEL[s]}`),
    ),
    h('li', {}, h('span', { class: 'swatch started', 'aria-hidden': 'true' }), 'started (thin bar)'),
  );
  const wrap = h('div', { class: 'chart-wrap' });
  wrap.append(chart);
  const table = scrollTable(
    'Starts and closes per interval',
    ['Interval from', 'Started', ...CLOSED.map((s) => `Closed ${STATUS_LABEL[s]}`)],
    series.map((b, i) =>
      h(
        'tr',
        { 'data-testid': `bucket-${i}` },
        h('th', { scope: 'row' }, when(b.start)),
        cell(b.started, String(b.started)),
        CLOSED.map((s) => cell(b.closed[s], String(b.closed[s]))),
      ),
    ),
    'series-table',
  );
  return h(
    'div',
    {},
    wrap,
    legend,
    h('details', { class: 'as-table' }, h('summary', {}, 'Show the chart as a table'), table),
  );
}

function stepRow(
  s: StepStats,
  which: string,
  range: { after: string; q?: string },
  failing: boolean,
): HTMLElement {
  const id = `${which}-${s.type}-${s.step}`;
  return h(
    'tr',
    { 'data-testid': id },
    h('td', {}, listLink(s.type, { type: s.type, startedAfter: range.after, q: range.q })),
    h(
      'th',
      { scope: 'row' },
      failing
        ? listLink(`${s.index}. ${s.name}`, {
            type: s.type,
            status: 'failed',
            startedAfter: range.after,
            q: range.q,
          })
        : listLink(`${s.index}. ${s.name}`, { type: s.type, startedAfter: range.after, q: range.q }),
    ),
    cell(s.runs, String(s.runs), `${id}-runs`),
    cell(s.failures, String(s.failures), `${id}-failures`),
    cell(s.failureRate, pct(s.failureRate), `${id}-failureRate`),
    cell(s.retryRate, pct(s.retryRate), `${id}-retryRate`),
    cell(s.durationP50Ms, msText(s.durationP50Ms), `${id}-p50`),
    cell(s.durationP95Ms, msText(s.durationP95Ms), `${id}-p95`),
  );
}

const STEP_HEAD = ['Type', 'Step', 'Runs', 'Failures', 'Failure rate', 'Retry rate', 'p50', 'p95'];

function draw(page: HTMLElement, stats: Stats, range: Range, q: string | undefined): void {
  const link = { after: stats.from, q };
  const types = scrollTable(
    'Job types',
    [
      'Type',
      'Started',
      'Closed',
      'Failed',
      'Failure rate',
      'Duration p50',
      'Duration p95',
      'Retry rate',
      'Recoveries',
      'Recovery success',
    ],
    stats.types.map((t) =>
      h(
        'tr',
        { 'data-testid': `type-${t.type}` },
        h('th', { scope: 'row' }, listLink(t.type, { type: t.type, startedAfter: stats.from, q })),
        cell(t.started, String(t.started), `type-${t.type}-started`),
        cell(t.closed, String(t.closed), `type-${t.type}-closed`),
        h(
          'td',
          { 'data-value': String(t.failed), 'data-testid': `type-${t.type}-failed` },
          t.failed > 0
            ? listLink(String(t.failed), { type: t.type, status: 'failed', startedAfter: stats.from, q })
            : '0',
        ),
        cell(t.failureRate, pct(t.failureRate), `type-${t.type}-failureRate`),
        cell(t.durationP50Ms, msText(t.durationP50Ms), `type-${t.type}-p50`),
        cell(t.durationP95Ms, msText(t.durationP95Ms), `type-${t.type}-p95`),
        cell(t.retryRate, pct(t.retryRate), `type-${t.type}-retryRate`),
        cell(t.recoveryRuns, `${t.recoverySucceeded} of ${t.recoveryRuns}`, `type-${t.type}-recoveries`),
        cell(t.recoverySuccessRate, pct(t.recoverySuccessRate), `type-${t.type}-recoverySuccessRate`),
      ),
    ),
    'types-table',
  );
  const src = stats.source;
  const source: Child[] = [
    `Counts, run durations and failure rates come from Temporal's visibility store: ${src.executionsScanned} runs read in ${src.visibilityPages} list call${src.visibilityPages === 1 ? '' : 's'}. `,
    `Step, retry and recovery figures come from the closed runs' own final states: ${src.statesRead} of ${src.statesWanted} read `,
    `(${src.fromCache} from the API's cache, ${src.closeEvents} from completed runs' close events, ${src.queries} by a query a worker answers by replaying the run)`,
    src.statesSkipped > 0 ? `, ${src.statesSkipped} left out by the bound` : '',
    src.statesUnreadable > 0
      ? `, ${src.statesUnreadable} unreadable` +
        (src.statesRemembered > 0
          ? ` (${src.statesRemembered} of them not asked again: no worker answered for them in the last 2 minutes)`
          : '')
      : '',
    `. Computed in ${duration(src.elapsedMs)}; no service but Temporal is asked.`,
  ];
  replace(
    page,
    h('div', { class: 'page-head' }, h('h1', {}, 'Charts'), rangeNav(range, q)),
    h(
      'p',
      { class: 'hint', 'data-testid': 'range' },
      `${range.label}: from ${when(stats.from)} (`,
      timeEl(stats.from),
      `) to ${when(stats.to)}${q ? `, jobs whose id starts with “${q}”` : ''}.`,
    ),
    src.truncated
      ? h(
          'p',
          { class: 'notice', role: 'status' },
          `More runs matched than the API scans (STEPWISE_STATS_MAX): the figures cover the ${src.executionsScanned} read. Choose a shorter range.`,
        )
      : null,
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'h-series' },
      h('h2', { id: 'h-series' }, 'Runs started and closed'),
      barChart(stats.series, stats.intervalMs),
    ),
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'h-types' },
      h('h2', { id: 'h-types' }, 'Job types'),
      types,
    ),
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'h-slowest' },
      h('h2', { id: 'h-slowest' }, 'Slowest steps (by p95 duration)'),
      scrollTable(
        'Slowest steps',
        STEP_HEAD,
        stats.slowestSteps.map((s) => stepRow(s, 'slowest', link, false)),
        'slowest-table',
      ),
    ),
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'h-failing' },
      h('h2', { id: 'h-failing' }, 'Most failing steps'),
      scrollTable(
        'Most failing steps',
        STEP_HEAD,
        stats.mostFailingSteps.map((s) => stepRow(s, 'failing', link, true)),
        'failing-table',
      ),
    ),
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'h-steps' },
      h('h2', { id: 'h-steps' }, 'Every step'),
      scrollTable(
        'Every step',
        STEP_HEAD,
        stats.steps.map((s) => stepRow(s, 'step', link, s.failures > 0)),
        'steps-table',
      ),
    ),
    h('p', { class: 'hint', 'data-testid': 'source' }, source),
  );
}

function rangeNav(current: Range, q: string | undefined): HTMLElement {
  return h(
    'nav',
    { 'aria-label': 'Range', class: 'ranges' },
    RANGES.map((r) => {
      const p = new URLSearchParams({ range: r.key });
      if (q) p.set('q', q);
      return h(
        'a',
        {
          href: `/charts?${p.toString()}`,
          'aria-current': r.key === current.key ? 'page' : null,
          class: 'range',
        },
        r.label,
      );
    }),
  );
}

/** Draws the page for the range in the URL (default: the last 24 hours). */
export async function renderCharts(page: HTMLElement, _ctx: PageContext): Promise<void> {
  const params = new URLSearchParams(location.search);
  const range = RANGES.find((r) => r.key === params.get('range')) ?? RANGES[1];
  const q = params.get('q') || undefined;
  replace(
    page,
    h('div', { class: 'page-head' }, h('h1', {}, 'Charts'), rangeNav(range, q)),
    h('p', { role: 'status' }, 'Loading…'),
  );
  // The range ends at the next whole interval, so its buckets line up with the clock.
  const to = Math.ceil(Date.now() / range.intervalMs) * range.intervalMs;
  const query = new URLSearchParams({
    from: new Date(to - range.spanMs).toISOString(),
    to: new Date(to).toISOString(),
    interval: range.interval,
  });
  if (q) query.set('jobIdPrefix', q);
  try {
    const stats = await api<Stats>('GET', `/api/stats?${query.toString()}`);
    draw(page, stats, range, q);
  } catch (err) {
    const message = err instanceof ApiError ? err.message : String(err);
    replace(
      page,
      h('div', { class: 'page-head' }, h('h1', {}, 'Charts'), rangeNav(range, q)),
      h('p', { role: 'alert', class: 'error' }, message),
    );
  }
}
