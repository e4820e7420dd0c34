/**
 * The fleet view: top-level jobs by default, each expandable into its tree of sub-jobs with
 * rolled-up counts; search by id prefix, type, status, who started it and a start time range;
 * sorted by Temporal's order (live) or by start, close or duration; paged through any number of
 * jobs. The filters are kept in the URL; the page in memory (page tokens are not for bookmarks).
 *
 * Live: in Temporal's order the page shown is watched by `GET /api/events` with its filters and page
 * (one poller per listing, one visibility read a tick whatever the number of jobs); a sorted
 * listing reads every matching job, so it is read again every {@link SORTED_REFRESH_MS} instead.
 *
 * Operators also get a checkbox per job, one for the whole page, and a bulk bar: cancel, pause,
 * resume or retry the selected jobs, or every job matching the filters, as a bulk job
 * (`POST /api/bulk`) whose card opens once it started.
 */
import { api, ApiError, stream } from './api.js';
import { canOperate, type PageContext } from './context.js';
import { badge, duration, h, jobHref, progressBar, replace, setProgress, timeEl } from './dom.js';
import {
  BULK_JOB_TYPE,
  JOB_STATUSES,
  TERMINAL,
  type JobStatus,
  type JobSummary,
  type JobTreeNode,
  type JobType,
} from './types.js';

/** The URL's filters that the API takes under the same name. */
const API_FILTERS = [
  'status',
  'type',
  'recoverable',
  'startedBy',
  'scheduleId',
  'startedAfter',
  'startedBefore',
] as const;
/** The URL's filters (and `pageSize`, for a smaller page). */
const FILTERS = ['q', ...API_FILTERS, 'sort', 'subJobs', 'pageSize'] as const;
type Filters = Partial<Record<(typeof FILTERS)[number], string>>;

const PAGE_SIZE = 50;
/** How often a sorted listing is read again. */
const SORTED_REFRESH_MS = 5_000;
/** How often an expanded job's tree is read again while anything in it runs. */
const TREE_REFRESH_MS = 2_000;
/** How often the relative times and running durations are redrawn. */
const CLOCK_MS = 15_000;

const SORTS: [string, string][] = [
  ['', 'Open first, then recently closed (live)'],
  ['-startedAt', 'Started: newest first'],
  ['startedAt', 'Started: oldest first'],
  ['-closedAt', 'Closed: newest first'],
  ['closedAt', 'Closed: oldest first'],
  ['-duration', 'Duration: longest first'],
  ['duration', 'Duration: shortest first'],
];

function readFilters(): Filters {
  const q = new URLSearchParams(location.search);
  const f: Filters = {};
  for (const name of FILTERS) {
    const v = q.get(name);
    if (v) f[name] = v;
  }
  return f;
}

const isTerminal = (s: JobStatus): boolean => (TERMINAL as readonly string[]).includes(s);
const ms = (iso: string | null): number => (iso ? Date.parse(iso) : NaN);

/** A `<time>` showing how long ago, with the absolute time and zone on hover. */
function timeCell(iso: string | null, now: number): HTMLElement | string {
  return iso ? timeEl(iso, now) : '–';
}

/** How long the job ran (closed) or has run so far (open). */
function runTime(job: { startedAt: string; closedAt: string | null }, now: number): string {
  const start = ms(job.startedAt);
  if (Number.isNaN(start)) return '–';
  return job.closedAt ? duration(ms(job.closedAt) - start) : `${duration(Math.max(0, now - start))} so far`;
}

/** Counts by status as a short line: "3 running · 1 failed · 8 completed". */
export function countsLine(byStatus: Record<JobStatus, number>): string {
  const parts = JOB_STATUSES.filter((s) => byStatus[s] > 0).map(
    (s) => `${byStatus[s]} ${s.replace(/_/g, ' ')}`,
  );
  return parts.length > 0 ? parts.join(' · ') : 'none';
}

/** A tree's counts: its top nodes and everything below them. */
function treeCounts(nodes: JobTreeNode[]): { total: number; byStatus: Record<JobStatus, number> } {
  const byStatus = Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>;
  let total = 0;
  for (const n of nodes) {
    total += 1 + n.subtree.total;
    byStatus[n.status] += 1;
    for (const s of JOB_STATUSES) byStatus[s] += n.subtree.byStatus[s];
  }
  return { total, byStatus };
}

/** The part of a sub-job id after its parent's (the full id is the link's title). */
function shortId(jobId: string, parentId: string | null): string {
  return parentId && jobId.startsWith(`${parentId}/`) ? `…/${jobId.slice(parentId.length + 1)}` : jobId;
}

function field(label: string, id: string, control: HTMLElement, wide = false): HTMLElement {
  return h('div', { class: wide ? 'field wide' : 'field' }, h('label', { for: id }, label), control);
}

function select(
  name: string,
  label: string,
  options: [string, string][],
  value: string | undefined,
): HTMLElement {
  const id = `filter-${name}`;
  return field(
    label,
    id,
    h(
      'select',
      { id, name },
      options.map(([v, text]) => h('option', { value: v, selected: v === (value ?? '') }, text)),
    ),
  );
}

function input(
  name: string,
  label: string,
  value: string | undefined,
  attrs: Record<string, string> = {},
): HTMLElement {
  const id = `filter-${name}`;
  return field(label, id, h('input', { id, name, value: value ?? '', ...attrs }), name === 'q');
}

/** `datetime-local` shows local time without a zone: the URL keeps the ISO time (UTC). */
function localInputValue(iso: string | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const local = new Date(d.getTime() - d.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 16);
}

type BulkAction = 'cancel' | 'pause' | 'resume' | 'retry';
const BULK_ACTIONS: [BulkAction, string][] = [
  ['cancel', 'Cancel'],
  ['pause', 'Pause'],
  ['resume', 'Resume'],
  ['retry', 'Retry'],
];

/** The filters of `GET /api/jobs` (a page's query) as `POST /api/bulk` takes them (booleans as booleans). */
function bulkFilter(q: URLSearchParams): Record<string, string | boolean> {
  const filter: Record<string, string | boolean> = {};
  for (const [name, value] of q) {
    if (name === 'pageSize' || name === 'pageToken') continue;
    filter[name] = name === 'topLevel' || name === 'recoverable' ? value === 'true' : value;
  }
  return filter;
}

interface Row {
  tr: HTMLTableRowElement;
  job: JobSummary;
  /** The expanded tree's rows and its refresh timer. */
  tree: {
    rows: HTMLTableRowElement[];
    timer: ReturnType<typeof setTimeout> | null;
    nodes: JobTreeNode[];
  } | null;
}

export async function renderList(page: HTMLElement, ctx: PageContext): Promise<void> {
  const filters = readFilters();
  let types: JobType[] = [];
  try {
    types = await api<JobType[]>('GET', '/api/job-types');
  } catch {
    // The type filter then offers only "any type".
  }
  const pageSize = Math.min(100, Math.max(1, Number(filters.pageSize ?? PAGE_SIZE) || PAGE_SIZE));
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const live = h('span', { class: 'live', role: 'status', 'aria-live': 'polite' }, 'connecting…');
  const tbody = h('tbody');
  const empty = h('p', { class: 'empty', hidden: true }, 'No jobs match these filters.');
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const pageLabel = h('span', { class: 'page-label', 'aria-live': 'polite' });
  const newer = h('button', { type: 'button', class: 'button', disabled: true }, '← Newer');
  const older = h('button', { type: 'button', class: 'button', disabled: true }, 'Older →');
  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Find jobs' },
    input('q', 'Job id starts with', filters.q, { type: 'search', spellcheck: 'false', autocomplete: 'off' }),
    select(
      'status',
      'Status',
      [['', 'any status'], ...JOB_STATUSES.map((s): [string, string] => [s, s.replace(/_/g, ' ')])],
      filters.status,
    ),
    select(
      'type',
      'Type',
      [
        ['', 'any type'],
        ...types.map((t): [string, string] => [
          t.type,
          // Internal: only its parent starts it — or, for the bulk type, POST /api/bulk (a top-level job).
          t.internal && t.type !== BULK_JOB_TYPE ? `${t.type} (sub-job)` : t.type,
        ]),
      ],
      filters.type,
    ),
    select(
      'recoverable',
      'Recoverable',
      [
        ['', 'either'],
        ['true', 'yes'],
        ['false', 'no'],
      ],
      filters.recoverable,
    ),
    input('startedBy', 'Started by', filters.startedBy, { spellcheck: 'false', autocomplete: 'off' }),
    input('scheduleId', 'Schedule', filters.scheduleId, { spellcheck: 'false', autocomplete: 'off' }),
    input('startedAfter', `Started from (${zone})`, localInputValue(filters.startedAfter), {
      type: 'datetime-local',
    }),
    input('startedBefore', `Started before (${zone})`, localInputValue(filters.startedBefore), {
      type: 'datetime-local',
    }),
    select('sort', 'Order', SORTS, filters.sort),
    h(
      'div',
      { class: 'field check' },
      h('input', {
        type: 'checkbox',
        id: 'filter-subJobs',
        name: 'subJobs',
        checked: filters.subJobs === '1',
      }),
      h('label', { for: 'filter-subJobs' }, 'Include sub-jobs'),
    ),
    h('button', { type: 'submit', class: 'button' }, 'Search'),
  );
  const operator = canOperate(ctx);
  /** The jobs ticked on this page (by id). */
  const selected = new Set<string>();
  const selectAll = h('input', {
    type: 'checkbox',
    id: 'select-page',
    class: 'select',
    'aria-label': 'Select every job on this page',
  });
  const scopeSelected = h('input', {
    type: 'radio',
    name: 'bulk-scope',
    id: 'bulk-selected',
    value: 'selected',
    checked: true,
  });
  const scopeFilter = h('input', { type: 'radio', name: 'bulk-scope', id: 'bulk-filter', value: 'filter' });
  const selectedLabel = h('label', { for: 'bulk-selected' }, 'The selected jobs (0)');
  const bulkReason = h('input', { id: 'bulk-reason', maxlength: 1000, autocomplete: 'off' });
  const bulkButtons = Object.fromEntries(
    BULK_ACTIONS.map(([action, label]) => [
      action,
      h(
        'button',
        { type: 'button', 'data-bulk': action, class: action === 'cancel' ? 'danger' : null },
        `${label}…`,
      ),
    ]),
  ) as Record<BulkAction, HTMLButtonElement>;
  const bulkFeedback = h('p', { class: 'feedback', role: 'status' });
  const bulkYes = h('button', { type: 'button', class: 'primary', value: 'yes' }, 'Start bulk job');
  const bulkNo = h('button', { type: 'button', value: 'no', autofocus: true }, 'Keep them');
  const bulkText = h('p', {});
  const bulkTitle = h('h2', { id: 'bulk-confirm-title' }, 'Act on these jobs?');
  const bulkDialog = h(
    'dialog',
    { 'aria-labelledby': 'bulk-confirm-title', class: 'confirm' },
    bulkTitle,
    bulkText,
    h('div', { class: 'row' }, bulkNo, bulkYes),
  );
  const bulkBar = operator
    ? h(
        'section',
        { class: 'panel bulk', 'aria-labelledby': 'bulk-title' },
        h('h2', { id: 'bulk-title' }, 'Bulk actions'),
        h(
          'fieldset',
          { class: 'bulk-scope' },
          h('legend', {}, 'Act on'),
          h('span', { class: 'choice' }, scopeSelected, selectedLabel),
          h(
            'span',
            { class: 'choice' },
            scopeFilter,
            h('label', { for: 'bulk-filter' }, 'Every job matching these filters'),
          ),
        ),
        h(
          'div',
          { class: 'field' },
          h('label', { for: 'bulk-reason' }, 'Reason (optional, recorded)'),
          bulkReason,
        ),
        h('div', { class: 'row' }, Object.values(bulkButtons)),
        bulkFeedback,
        bulkDialog,
      )
    : null;

  replace(
    page,
    h(
      'div',
      { class: 'page-head' },
      h('h1', {}, 'Jobs'),
      live,
      canOperate(ctx) ? h('a', { href: '/new', class: 'button primary' }, 'New job') : null,
    ),
    form,
    bulkBar,
    error,
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'jobs' },
        h('caption', { class: 'sr-only' }, 'Jobs, with their sub-jobs on demand'),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col' }, operator ? selectAll : null, 'Job'),
            ['Type', 'Status', 'Step', 'Progress', 'Started', 'Duration', 'Started by'].map((c) =>
              h('th', { scope: 'col' }, c),
            ),
          ),
        ),
        tbody,
      ),
    ),
    empty,
    h('nav', { class: 'pager', 'aria-label': 'Pages' }, newer, pageLabel, older),
  );

  const rows = new Map<string, Row>();
  /** Page tokens: `tokens[i]` opens page i + 1 (the first page has none). */
  let tokens: (string | undefined)[] = [undefined];
  let pageIndex = 0;
  let nextToken: string | null = null;
  let close: (() => void) | null = null;

  const internalType = (): boolean =>
    filters.type !== BULK_JOB_TYPE && types.some((t) => t.type === filters.type && t.internal);
  /** The API query of the filters (top-level only unless sub-jobs are asked for, or a sub-job type). */
  const apiQuery = (): URLSearchParams => {
    const q = new URLSearchParams();
    if (filters.q) q.set('jobIdPrefix', filters.q);
    for (const name of API_FILTERS) {
      const v = filters[name];
      if (v) q.set(name, v);
    }
    if (filters.subJobs !== '1' && !internalType()) q.set('topLevel', 'true');
    q.set('pageSize', String(pageSize));
    const token = tokens[pageIndex];
    if (token) q.set('pageToken', token);
    return q;
  };

  /** The selection's count, the page checkbox (mixed when some are ticked) and which buttons apply. */
  function drawSelection(): void {
    selectedLabel.textContent = `The selected jobs (${selected.size})`;
    selectAll.checked = rows.size > 0 && selected.size === rows.size;
    selectAll.indeterminate = selected.size > 0 && selected.size < rows.size;
    const none = scopeSelected.checked && selected.size === 0;
    for (const b of Object.values(bulkButtons)) b.disabled = none;
  }

  const drawPager = (): void => {
    newer.disabled = pageIndex === 0;
    older.disabled = nextToken === null;
    pageLabel.textContent = `Page ${pageIndex + 1}${rows.size > 0 ? ` · ${rows.size} job${rows.size === 1 ? '' : 's'}` : ''}`;
  };

  const fillRow = (r: Row, now = Date.now()): void => {
    const { tr, job } = r;
    const step =
      job.totalSteps > 0
        ? `${job.currentStep}/${job.totalSteps}${job.stepName ? ` ${job.stepName}` : ''}`
        : '–';
    const existing = tr.querySelector<HTMLElement>(':scope > td [role="progressbar"]');
    const bar = existing ?? progressBar(`Progress of ${job.jobId}`, job.progress);
    if (existing) setProgress(existing, job.progress);
    const expandable = job.parentJobId === null || filters.subJobs === '1';
    const toggle = expandable
      ? h(
          'button',
          {
            type: 'button',
            class: 'expand',
            'aria-expanded': r.tree ? 'true' : 'false',
            'aria-label': `${r.tree ? 'Hide' : 'Show'} the sub-jobs of ${job.jobId}`,
            onclick: () => {
              if (!r.tree) return void expand(r);
              collapse(r);
              r.tr.querySelector<HTMLButtonElement>('button.expand')?.focus();
            },
          },
          r.tree ? '▾' : '▸',
        )
      : null;
    const rollup = r.tree ? treeCounts(r.tree.nodes) : null;
    const tick = operator
      ? h('input', {
          type: 'checkbox',
          class: 'select',
          'data-select': job.jobId,
          'aria-label': `Select ${job.jobId}`,
          checked: selected.has(job.jobId),
          onchange: (e: Event) => {
            if ((e.target as HTMLInputElement).checked) selected.add(job.jobId);
            else selected.delete(job.jobId);
            drawSelection();
          },
        })
      : null;
    replace(
      tr,
      h(
        'td',
        { class: 'job-id' },
        tick,
        toggle,
        h(
          'a',
          { href: jobHref(job.jobId), 'data-link': 'job', title: job.jobId },
          shortId(job.jobId, job.parentJobId),
        ),
        job.parentJobId
          ? h(
              'span',
              { class: 'hint' },
              ' sub-job of ',
              h('a', { href: jobHref(job.parentJobId), 'data-link': 'parent' }, job.parentJobId),
            )
          : null,
        rollup
          ? h(
              'div',
              { class: 'rollup hint', 'data-rollup': '' },
              rollup.total === 0
                ? 'No sub-jobs.'
                : `${rollup.total} sub-jobs: ${countsLine(rollup.byStatus)}`,
            )
          : null,
      ),
      h('td', { 'data-label': 'Type' }, job.type),
      h(
        'td',
        { 'data-label': 'Status' },
        badge(job.status),
        job.recoverable ? h('span', { class: 'hint' }, ' recoverable') : null,
      ),
      h('td', { 'data-label': 'Step', class: 'step' }, step),
      h(
        'td',
        { 'data-label': 'Progress', class: 'progress' },
        bar,
        h('span', { class: 'pct' }, `${Math.round(job.progress)}%`),
      ),
      h('td', { 'data-label': 'Started', class: 'started' }, timeCell(job.startedAt, now)),
      h('td', { 'data-label': 'Duration', class: 'duration' }, runTime(job, now)),
      h('td', { 'data-label': 'Started by' }, job.startedBy ?? '–'),
    );
  };

  /** The rows of an expanded tree, depth first, indented by level. */
  const treeRows = (nodes: JobTreeNode[], parentId: string, level: number): HTMLTableRowElement[] =>
    nodes.flatMap((n) => [
      h(
        'tr',
        { class: 'subrow', 'data-job-id': n.jobId, 'data-parent-id': parentId, 'data-level': String(level) },
        h(
          'td',
          { class: `job-id level-${Math.min(level, 6)}` },
          h('a', { href: jobHref(n.jobId), title: n.jobId, 'data-link': 'tree' }, shortId(n.jobId, parentId)),
          n.subtree.total > 0
            ? h(
                'div',
                { class: 'rollup hint' },
                `${n.subtree.total} below: ${countsLine(n.subtree.byStatus)}`,
              )
            : null,
        ),
        h('td', { 'data-label': 'Type' }, n.type),
        h('td', { 'data-label': 'Status' }, badge(n.status)),
        h('td', { 'data-label': 'Step', class: 'step' }, '–'),
        h(
          'td',
          { 'data-label': 'Progress', class: 'progress' },
          progressBar(`Progress of sub-job ${n.jobId}`, n.progress),
          h('span', { class: 'pct' }, `${Math.round(n.progress)}%`),
        ),
        h(
          'td',
          { colspan: 3 },
          n.truncated ? h('span', { class: 'hint' }, 'More sub-jobs exist than shown.') : null,
        ),
      ),
      ...treeRows(n.children, n.jobId, level + 1),
    ]);

  const anyOpen = (nodes: JobTreeNode[]): boolean =>
    nodes.some((n) => !isTerminal(n.status) || anyOpen(n.children));

  const expand = async (r: Row): Promise<void> => {
    r.tree = r.tree ?? { rows: [], timer: null, nodes: [] };
    const tree = r.tree;
    let nodes: JobTreeNode[];
    try {
      nodes = await api<JobTreeNode[]>('GET', `/api/jobs/${encodeURIComponent(r.job.jobId)}/children`);
    } catch (err) {
      error.textContent = err instanceof Error ? err.message : String(err);
      error.hidden = false;
      return;
    }
    if (r.tree !== tree) return; // collapsed meanwhile
    tree.nodes = nodes;
    for (const old of tree.rows) old.remove();
    tree.rows = treeRows(nodes, r.job.jobId, 1);
    r.tr.after(...tree.rows);
    fillRow(r);
    // Live while anything in it (or the job itself) still runs.
    if (!isTerminal(r.job.status) || anyOpen(nodes)) {
      tree.timer = setTimeout(() => void expand(r), TREE_REFRESH_MS);
    }
  };

  const collapse = (r: Row): void => {
    if (!r.tree) return;
    if (r.tree.timer) clearTimeout(r.tree.timer);
    for (const old of r.tree.rows) old.remove();
    r.tree = null;
    fillRow(r);
  };

  const remove = (id: string): void => {
    const r = rows.get(id);
    if (!r) return;
    collapse(r);
    r.tr.remove();
    rows.delete(id);
    if (selected.delete(id)) drawSelection();
  };

  /** Temporal's order, as the API lists it: open jobs (newest started first), then the most recently closed. */
  const temporalOrder = (a: JobSummary, b: JobSummary): number => {
    const ao = a.closedAt === null;
    const bo = b.closedAt === null;
    if (ao !== bo) return ao ? -1 : 1;
    return ao ? b.startedAt.localeCompare(a.startedAt) : (b.closedAt ?? '').localeCompare(a.closedAt ?? '');
  };

  const order = (sorted: JobSummary[] | null): void => {
    const list = sorted ?? [...rows.values()].map((r) => r.job).sort(temporalOrder);
    for (const job of list) {
      const r = rows.get(job.jobId);
      if (!r) continue;
      tbody.appendChild(r.tr);
      if (r.tree) r.tr.after(...r.tree.rows);
    }
    empty.hidden = rows.size > 0;
    drawPager();
  };

  const upsert = (job: JobSummary): void => {
    const known = rows.get(job.jobId);
    if (known) {
      const wasOpen = !isTerminal(known.job.status);
      known.job = job;
      fillRow(known);
      // A job that closed while expanded: read its tree once more, for its final counts.
      if (known.tree && wasOpen && isTerminal(job.status) && !known.tree.timer) void expand(known);
    } else {
      const r: Row = { tr: h('tr', { 'data-job-id': job.jobId }), job, tree: null };
      fillRow(r);
      rows.set(job.jobId, r);
    }
  };

  const replaceAll = (jobs: JobSummary[]): void => {
    const keep = new Set(jobs.map((j) => j.jobId));
    for (const id of [...rows.keys()]) if (!keep.has(id)) remove(id);
    for (const job of jobs) upsert(job);
  };

  const refused = (err: unknown): void => {
    error.textContent = err instanceof Error ? err.message : String(err);
    error.hidden = false;
  };

  const connect = (): void => {
    close?.();
    for (const id of [...rows.keys()]) remove(id);
    tbody.replaceChildren();
    error.hidden = true;
    const q = apiQuery();
    if (filters.sort) {
      // A sorted listing: read again on a timer (the API reads every matching job for it).
      q.set('sort', filters.sort);
      let stopped = false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const read = async (): Promise<void> => {
        try {
          const res = await api<{ jobs: JobSummary[]; nextPageToken: string | null }>(
            'GET',
            `/api/jobs?${q}`,
          );
          if (stopped) return;
          error.hidden = true;
          nextToken = res.nextPageToken;
          replaceAll(res.jobs);
          order(res.jobs);
          live.textContent = `sorted · read every ${SORTED_REFRESH_MS / 1000} s`;
          live.className = 'live open';
        } catch (err) {
          if (stopped) return;
          refused(err);
          live.textContent = 'not live';
          live.className = 'live ended';
        }
        if (!stopped) timer = setTimeout(() => void read(), SORTED_REFRESH_MS);
      };
      void read();
      close = () => {
        stopped = true;
        clearTimeout(timer);
      };
      return;
    }
    // The token of the next page comes from the listing itself (the stream does not page): read when
    // the page opens, and again once the page fills up while it is open (at most one read at a time).
    let reading = false;
    let stopped = false;
    const readNext = (): void => {
      if (reading || stopped) return;
      reading = true;
      api<{ nextPageToken: string | null }>('GET', `/api/jobs?${q}`).then(
        (res) => {
          reading = false;
          if (stopped) return;
          nextToken = res.nextPageToken;
          drawPager();
        },
        () => {
          reading = false;
        },
      );
    };
    readNext();
    const closeStream = stream(`/api/events?${q}`, ['snapshot', 'started', 'changed', 'closed', 'removed'], {
      onEvent(event, data) {
        error.hidden = true;
        if (event === 'snapshot') replaceAll((data as { jobs: JobSummary[] }).jobs);
        else if (event === 'removed') remove((data as { jobId: string }).jobId);
        else upsert(data as JobSummary);
        order(null);
        if (rows.size >= pageSize && nextToken === null) readNext();
      },
      onStatus(status) {
        live.textContent =
          status === 'open' ? 'live' : status === 'reconnecting' ? 'reconnecting…' : 'not live';
        live.className = `live ${status}`;
        // The stream was refused: say why (the same request as JSON gives the API's message).
        if (status === 'ended') api('GET', `/api/jobs?${q}`).then(() => undefined, refused);
      },
    });
    close = () => {
      stopped = true;
      closeStream();
    };
  };

  const apply = (): void => {
    const data = new FormData(form);
    for (const name of FILTERS) {
      if (name === 'pageSize') continue;
      let v = name === 'subJobs' ? (data.get(name) ? '1' : '') : String(data.get(name) ?? '').trim();
      if ((name === 'startedAfter' || name === 'startedBefore') && v) {
        const d = new Date(v); // datetime-local: the browser's local time
        v = Number.isNaN(d.getTime()) ? '' : d.toISOString();
      }
      if (v) filters[name] = v;
      else delete filters[name];
    }
    const q = new URLSearchParams(Object.entries(filters) as [string, string][]);
    history.replaceState(null, '', q.size ? `/?${q}` : '/');
    tokens = [undefined];
    pageIndex = 0;
    nextToken = null;
    connect();
  };

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    apply();
  });
  // Choices apply at once; typed text on Enter or when the field is left.
  form.addEventListener('change', apply);
  newer.addEventListener('click', () => {
    if (pageIndex === 0) return;
    pageIndex -= 1;
    connect();
  });
  older.addEventListener('click', () => {
    if (nextToken === null) return;
    tokens[pageIndex + 1] = nextToken;
    pageIndex += 1;
    nextToken = null;
    connect();
  });
  const clock = setInterval(() => {
    if (!page.isConnected) return clearInterval(clock);
    const now = Date.now();
    for (const r of rows.values()) fillRow(r, now);
  }, CLOCK_MS);
  selectAll.addEventListener('change', () => {
    for (const id of rows.keys()) {
      if (selectAll.checked) selected.add(id);
      else selected.delete(id);
    }
    for (const box of tbody.querySelectorAll<HTMLInputElement>('input[data-select]')) {
      box.checked = selected.has(box.dataset.select!);
    }
    drawSelection();
  });
  for (const radio of [scopeSelected, scopeFilter]) radio.addEventListener('change', drawSelection);
  let pending: BulkAction | null = null;
  for (const [action, label] of BULK_ACTIONS) {
    bulkButtons[action].addEventListener('click', () => {
      pending = action;
      const what = scopeFilter.checked
        ? 'every job matching these filters'
        : `the ${selected.size} selected job${selected.size === 1 ? '' : 's'}`;
      bulkTitle.textContent = `${label} ${scopeFilter.checked ? 'every matching job' : `${selected.size} job${selected.size === 1 ? '' : 's'}`}?`;
      bulkText.textContent =
        `A bulk job will ${action} ${what}, one by one, with its own card showing progress and each job's outcome. ` +
        'Jobs that cannot take the action (already closed, not paused, …) are listed as refused.';
      bulkDialog.showModal();
    });
  }
  bulkNo.addEventListener('click', () => bulkDialog.close());
  bulkYes.addEventListener('click', () => {
    bulkDialog.close();
    if (!pending) return;
    const action = pending;
    const reason = bulkReason.value.trim();
    const body = {
      action,
      ...(scopeFilter.checked ? { filter: bulkFilter(apiQuery()) } : { jobIds: [...selected] }),
      ...(reason ? { reason } : {}),
    };
    for (const b of Object.values(bulkButtons)) b.disabled = true;
    bulkFeedback.textContent = 'Starting the bulk job…';
    bulkFeedback.className = 'feedback';
    api<{ jobId: string }>('POST', '/api/bulk', body).then(
      (res) => location.assign(jobHref(res.jobId)),
      (err: unknown) => {
        bulkFeedback.textContent = err instanceof ApiError ? err.message : String(err);
        bulkFeedback.className = 'feedback error';
        drawSelection();
      },
    );
  });
  drawSelection();
  drawPager();
  connect();
}
