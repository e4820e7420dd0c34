/**
 * The job list: filters (status, type, recoverable) kept in the URL, and a table kept live by
 * `GET /api/events` — a snapshot, then jobs started, changed, closed and removed.
 */
import { api, stream } from './api.js';
import { canOperate, type PageContext } from './context.js';
import { badge, h, jobHref, progressBar, replace, setProgress, when } from './dom.js';
import { JOB_STATUSES, type JobSummary, type JobType } from './types.js';

const FILTERS = ['status', 'type', 'recoverable'] as const;
type Filters = Partial<Record<(typeof FILTERS)[number], string>>;

function readFilters(): Filters {
  const q = new URLSearchParams(location.search);
  const f: Filters = {};
  for (const name of FILTERS) {
    const v = q.get(name);
    if (v) f[name] = v;
  }
  return f;
}

function select(
  name: string,
  label: string,
  options: [string, string][],
  value: string | undefined,
): HTMLElement {
  const id = `filter-${name}`;
  return h(
    'div',
    { class: 'field' },
    h('label', { for: id }, label),
    h(
      'select',
      { id, name },
      options.map(([v, text]) => h('option', { value: v, selected: v === (value ?? '') }, text)),
    ),
  );
}

function row(job: JobSummary): HTMLTableRowElement {
  const tr = h('tr', { 'data-job-id': job.jobId });
  fillRow(tr, job);
  return tr;
}

function fillRow(tr: HTMLTableRowElement, job: JobSummary): void {
  const step =
    job.totalSteps > 0
      ? `${job.currentStep}/${job.totalSteps}${job.stepName ? ` ${job.stepName}` : ''}`
      : '–';
  const existing = tr.querySelector<HTMLElement>('[role="progressbar"]');
  const bar = existing ?? progressBar(`Progress of ${job.jobId}`, job.progress);
  if (existing) setProgress(existing, job.progress);
  replace(
    tr,
    h(
      'td',
      { class: 'job-id' },
      h('a', { href: jobHref(job.jobId), 'data-link': 'job' }, job.jobId),
      job.parentJobId
        ? h(
            'span',
            { class: 'hint' },
            ' sub-job of ',
            h('a', { href: jobHref(job.parentJobId), 'data-link': 'parent' }, job.parentJobId),
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
    h('td', { 'data-label': 'Started', class: 'started' }, when(job.startedAt)),
  );
}

export async function renderList(page: HTMLElement, ctx: PageContext): Promise<void> {
  const filters = readFilters();
  let types: JobType[] = [];
  try {
    types = await api<JobType[]>('GET', '/api/job-types');
  } catch {
    // The type filter then offers only "any type".
  }
  const live = h('span', { class: 'live', role: 'status', 'aria-live': 'polite' }, 'connecting…');
  const tbody = h('tbody');
  const empty = h('p', { class: 'empty', hidden: true }, 'No jobs match these filters.');
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const form = h(
    'form',
    { class: 'filters', 'aria-label': 'Filter jobs', onsubmit: (e: Event) => e.preventDefault() },
    select(
      'status',
      'Status',
      [['', 'any status'], ...JOB_STATUSES.map((s): [string, string] => [s, s.replace(/_/g, ' ')])],
      filters.status,
    ),
    select(
      'type',
      'Type',
      [['', 'any type'], ...types.map((t): [string, string] => [t.type, t.type])],
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
  );
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
    error,
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'jobs' },
        h('caption', { class: 'sr-only' }, 'Jobs, newest first, updated live'),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['Job', 'Type', 'Status', 'Step', 'Progress', 'Started'].map((c) => h('th', { scope: 'col' }, c)),
          ),
        ),
        tbody,
      ),
    ),
    empty,
  );

  const rows = new Map<string, { tr: HTMLTableRowElement; job: JobSummary }>();
  const order = (): void => {
    const sorted = [...rows.values()].sort((a, b) => b.job.startedAt.localeCompare(a.job.startedAt));
    for (const { tr } of sorted) tbody.appendChild(tr);
    empty.hidden = rows.size > 0;
  };
  const upsert = (job: JobSummary): void => {
    const known = rows.get(job.jobId);
    if (known) {
      known.job = job;
      fillRow(known.tr, job);
    } else rows.set(job.jobId, { tr: row(job), job });
  };

  let close: (() => void) | null = null;
  const connect = (): void => {
    close?.();
    rows.clear();
    tbody.replaceChildren();
    const q = new URLSearchParams(Object.entries(filters).filter(([, v]) => v) as [string, string][]);
    close = stream(
      `/api/events${q.size ? `?${q}` : ''}`,
      ['snapshot', 'started', 'changed', 'closed', 'removed'],
      {
        onEvent(event, data) {
          error.hidden = true;
          if (event === 'snapshot') {
            rows.clear();
            tbody.replaceChildren();
            for (const job of (data as { jobs: JobSummary[] }).jobs) upsert(job);
          } else if (event === 'removed') {
            const id = (data as { jobId: string }).jobId;
            rows.get(id)?.tr.remove();
            rows.delete(id);
          } else upsert(data as JobSummary);
          order();
        },
        onStatus(status) {
          live.textContent =
            status === 'open' ? 'live' : status === 'reconnecting' ? 'reconnecting…' : 'not live';
          live.className = `live ${status}`;
          if (status === 'ended') {
            // The stream was refused: say why (the same request as JSON gives the API's message).
            api('GET', `/api/jobs${q.size ? `?${q}` : ''}`).then(
              () => undefined,
              (err: unknown) => {
                error.textContent = err instanceof Error ? err.message : String(err);
                error.hidden = false;
              },
            );
          }
        },
      },
    );
  };

  form.addEventListener('change', (e) => {
    const target = e.target as HTMLSelectElement;
    const name = target.name as keyof Filters;
    if (target.value) filters[name] = target.value;
    else delete filters[name];
    const q = new URLSearchParams(Object.entries(filters) as [string, string][]);
    history.replaceState(null, '', q.size ? `/?${q}` : '/');
    connect();
  });
  connect();
}
