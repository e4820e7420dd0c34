/**
 * Word when a job breaks, on every dashboard page: when a top-level job fails, ends
 * `completed_with_errors` or is cancelled while the page is open, a notification names the job,
 * the step and the error, with "View details" (its card) and "Retry" (for an operator, when the job
 * can be retried). The notification centre in the header lists the recent ones with an unread
 * count; which statuses and job types to hear about is kept in this browser (localStorage), as are
 * the recent notifications.
 *
 * Source: `GET /api/jobs?topLevel=true&status=<s>&closedAfter=<t>` for each status one hears
 * about, every {@link NOTIFY_POLL_MS}, every page of it up to {@link MAX_PAGES}: `t` trails the
 * newest close seen by {@link LAG_MS} (a visibility record can appear a little after the close it
 * records), so a busy fleet's other closes — completed jobs, or more failures than a page holds —
 * never push a close off the page that is read (they did: one page of every close, newest first,
 * missed failures on a busy dev server). Polled, not streamed: a stream would hold one of the
 * browser's six connections to the host on every tab. Closes from before this page opened, or
 * before a status was chosen, are not announced.
 */
import { api, ApiError } from './api.js';
import { canOperate, type PageContext } from './context.js';
import { badge, h, jobHref, replace, timeEl } from './dom.js';
import type { JobState, JobSummary } from './types.js';

/** The statuses one can hear about. */
export const NOTIFY_STATUSES = ['failed', 'completed_with_errors', 'cancelled'] as const;
type NotifyStatus = (typeof NOTIFY_STATUSES)[number];

/** How often the closes are read. */
const NOTIFY_POLL_MS = 2_000;
/** Closes this long before the page opened are read too (and not announced): room for clock skew. */
const SINCE_SLACK_MS = 60_000;
/** Each read goes back this far from the newest close seen: visibility records can lag their close. */
const LAG_MS = 60_000;
/** Jobs per page read, and pages per status and tick at most (a larger burst: its newest closes). */
const PAGE_SIZE = 100;
const MAX_PAGES = 5;
/** How long a toast stays on screen (the centre keeps it). */
const TOAST_MS = 20_000;
/** Recent notifications kept. */
const KEEP = 50;
const STORE = 'stepwise.notifications';
const PREFS = 'stepwise.notifications.prefs';

interface Note {
  /** `<jobId> <runId>`: one notification per run. */
  key: string;
  jobId: string;
  runId: string;
  type: string;
  status: NotifyStatus;
  closedAt: string;
  /** The failing step's name, when known. */
  step: string | null;
  /** The error, or the cancel reason, when known. */
  error: string | null;
  /** Whether it could be retried when it closed. */
  recoverable: boolean;
  read: boolean;
}

interface Prefs {
  /** Statuses heard about (default: all three). */
  statuses: NotifyStatus[];
  /** Job types heard about; empty: every type. */
  types: string[];
}

function load<T>(key: string, fallback: T): T {
  try {
    const raw = localStorage.getItem(key);
    return raw ? (JSON.parse(raw) as T) : fallback;
  } catch {
    return fallback;
  }
}
const save = (key: string, value: unknown): void => {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Storage full or refused: the notifications still show, they are just not kept.
  }
};

const isNotify = (s: string): s is NotifyStatus => (NOTIFY_STATUSES as readonly string[]).includes(s);

/** The failing step and the error (or the cancel reason) of a closed job, from its state. */
export function causeOf(state: JobState): { step: string | null; error: string | null } {
  if (state.status === 'cancelled') {
    return { step: null, error: state.cancellation?.reason ?? 'cancelled' };
  }
  if (state.error) {
    const step = state.steps.find((s) => s.key === state.error?.step);
    return { step: step?.name ?? state.error.step, error: state.error.message };
  }
  const failed = state.steps.find((s) => s.error !== null || s.status === 'failed');
  return { step: failed?.name ?? null, error: failed?.error?.message ?? null };
}

/** Starts the notifications: the header button and panel go into `slot`, toasts into `toasts`. */
export function startNotifications(ctx: PageContext, slot: HTMLElement, toasts: HTMLElement): void {
  const openedAt = Date.now();
  let notes = load<Note[]>(STORE, []);
  const prefs = load<Prefs>(PREFS, { statuses: [...NOTIFY_STATUSES], types: [] });
  const seen = new Set(notes.map((n) => n.key));

  const count = h('span', { class: 'count', 'data-unread': '' });
  const button = h(
    'button',
    {
      type: 'button',
      class: 'notify-button',
      'aria-expanded': 'false',
      'aria-controls': 'notification-centre',
    },
    'Notifications ',
    count,
  );
  const list = h('ul', { class: 'notes' });
  const prefsForm = h('form', { class: 'notify-prefs', 'aria-label': 'What to hear about' });
  const panel = h(
    'section',
    {
      id: 'notification-centre',
      class: 'notification-centre panel',
      hidden: true,
      'aria-label': 'Notifications',
    },
    h(
      'div',
      { class: 'row' },
      h('h2', {}, 'Notifications'),
      h('button', { type: 'button', class: 'link', onclick: () => markAllRead() }, 'Mark all read'),
    ),
    list,
    prefsForm,
  );
  replace(slot, button, panel);

  const unread = (): number => notes.filter((n) => !n.read).length;
  const drawCount = (): void => {
    const n = unread();
    count.textContent = n > 0 ? String(n) : '';
    button.setAttribute('aria-label', `Notifications, ${n} unread`);
  };

  const retryButton = (n: Note): HTMLElement | null => {
    if (!canOperate(ctx)) return null;
    const b = h(
      'button',
      {
        type: 'button',
        'data-action': 'retry',
        'aria-label': `Retry ${n.jobId}`,
        disabled: !n.recoverable,
        title: n.recoverable
          ? `Retry ${n.jobId} from the step that did not complete`
          : 'This job cannot be retried',
      },
      'Retry',
    );
    b.addEventListener('click', () => {
      b.disabled = true;
      api('POST', `/api/jobs/${encodeURIComponent(n.jobId)}/retry`, {}).then(
        () => {
          location.href = jobHref(n.jobId);
        },
        (err: unknown) => {
          b.replaceWith(
            h('span', { class: 'error', role: 'alert' }, err instanceof ApiError ? err.message : String(err)),
          );
        },
      );
    });
    return b;
  };

  const body = (n: Note): HTMLElement[] => [
    h('p', {}, h('strong', {}, n.jobId), ' ', badge(n.status), ' ', timeEl(n.closedAt)),
    h(
      'p',
      { class: 'cause' },
      n.status === 'cancelled'
        ? 'Cancelled'
        : n.status === 'completed_with_errors'
          ? `Ended with errors${n.step ? ` at “${n.step}”` : ''}`
          : n.step
            ? `Failed at “${n.step}”`
            : 'Failed',
      n.error ? `: ${n.error}` : '',
    ),
    h(
      'p',
      { class: 'row' },
      h('a', { href: jobHref(n.jobId), 'data-link': 'notification' }, 'View details'),
      // Retry for an operator, enabled when the job could be retried when it closed.
      retryButton(n),
    ),
  ];

  const drawList = (): void => {
    replace(
      list,
      notes.length === 0
        ? h(
            'li',
            { class: 'hint' },
            'Nothing yet: jobs that fail, end with errors or are cancelled appear here.',
          )
        : notes.map((n) =>
            h('li', { class: n.read ? 'note' : 'note unread', 'data-job-id': n.jobId }, body(n)),
          ),
    );
    drawCount();
  };

  const markAllRead = (): void => {
    notes = notes.map((n) => ({ ...n, read: true }));
    save(STORE, notes);
    drawList();
  };

  button.addEventListener('click', () => {
    const open = panel.hidden;
    panel.hidden = !open;
    button.setAttribute('aria-expanded', String(open));
  });

  // What to hear about: statuses and (non-internal) job types, kept in this browser.
  void api<{ type: string; internal: boolean }[]>('GET', '/api/job-types').then(
    (types) => {
      const check = (group: string, value: string, label: string, checked: boolean): HTMLElement => {
        const id = `notify-${group}-${value}`;
        return h(
          'div',
          { class: 'field check' },
          h('input', { type: 'checkbox', id, name: group, value, checked }),
          h('label', { for: id }, label),
        );
      };
      replace(
        prefsForm,
        h(
          'fieldset',
          {},
          h('legend', {}, 'Statuses'),
          NOTIFY_STATUSES.map((s) => check('status', s, s.replace(/_/g, ' '), prefs.statuses.includes(s))),
        ),
        h(
          'fieldset',
          {},
          h('legend', {}, 'Job types (none checked: every type)'),
          types
            .filter((t) => !t.internal)
            .map((t) => check('type', t.type, t.type, prefs.types.includes(t.type))),
        ),
      );
    },
    () => undefined,
  );
  prefsForm.addEventListener('change', () => {
    const data = new FormData(prefsForm);
    prefs.statuses = data.getAll('status').map(String).filter(isNotify);
    prefs.types = data.getAll('type').map(String);
    save(PREFS, prefs);
  });

  const wanted = (j: JobSummary): boolean =>
    isNotify(j.status) &&
    prefs.statuses.includes(j.status) &&
    (prefs.types.length === 0 || prefs.types.includes(j.type));

  const announce = async (j: JobSummary): Promise<void> => {
    const key = `${j.jobId} ${j.runId}`;
    if (seen.has(key) || !isNotify(j.status)) return;
    seen.add(key);
    let cause: { step: string | null; error: string | null } = { step: j.stepName, error: null };
    try {
      cause = causeOf(await api<JobState>('GET', `/api/jobs/${encodeURIComponent(j.jobId)}`));
    } catch {
      // The notification still names the job and its last step.
    }
    const note: Note = {
      key,
      jobId: j.jobId,
      runId: j.runId,
      type: j.type,
      status: j.status,
      closedAt: j.closedAt ?? new Date().toISOString(),
      ...cause,
      recoverable: j.recoverable,
      read: false,
    };
    notes = [note, ...notes.filter((n) => n.key !== key)].slice(0, KEEP);
    save(STORE, notes);
    drawList();
    const toast = h(
      'div',
      { class: 'toast panel', role: 'alert', 'data-job-id': j.jobId },
      body(note),
      h(
        'button',
        { type: 'button', class: 'link dismiss', 'aria-label': `Dismiss the notification about ${j.jobId}` },
        'Dismiss',
      ),
    );
    toast.querySelector('button.dismiss')?.addEventListener('click', () => toast.remove());
    toasts.prepend(toast);
    // It goes by itself after a while (the centre keeps it), unless the user is in it.
    const expire = (): void => {
      if (toast.contains(document.activeElement) || toast.matches(':hover')) setTimeout(expire, TOAST_MS);
      else toast.remove();
    };
    setTimeout(expire, TOAST_MS);
    // At most three on screen; the centre keeps them all.
    while (toasts.children.length > 3) toasts.lastElementChild?.remove();
  };

  // Polled, not streamed: a stream holds one of the browser's few connections to this host (six
  // over HTTP/1.1) on every open tab, beside the page's own stream.
  const since = openedAt - SINCE_SLACK_MS;
  /** The newest close seen (the server's clock): each read starts {@link LAG_MS} before it. */
  let newest = since;
  /** Statuses read once since they were chosen: their first read is known, not announced. */
  const primed = new Set<NotifyStatus>();
  const closesOf = async (status: NotifyStatus): Promise<JobSummary[]> => {
    const q = new URLSearchParams({
      topLevel: 'true',
      status,
      closedAfter: new Date(Math.max(since, newest - LAG_MS)).toISOString(),
      pageSize: String(PAGE_SIZE),
    });
    const jobs: JobSummary[] = [];
    for (let page = 0; page < MAX_PAGES; page++) {
      const res = await api<{ jobs: JobSummary[]; nextPageToken: string | null }>('GET', `/api/jobs?${q}`);
      jobs.push(...res.jobs);
      if (!res.nextPageToken) break;
      q.set('pageToken', res.nextPageToken);
    }
    return jobs;
  };
  const poll = async (): Promise<void> => {
    for (const status of NOTIFY_STATUSES) {
      if (!prefs.statuses.includes(status)) {
        primed.delete(status);
        continue;
      }
      try {
        for (const j of await closesOf(status)) {
          if (j.closedAt === null) continue;
          newest = Math.max(newest, Date.parse(j.closedAt));
          if (!primed.has(status)) seen.add(`${j.jobId} ${j.runId}`);
          else if (wanted(j)) void announce(j);
        }
        primed.add(status);
      } catch {
        // Refused or unreachable: the page itself says so; try again at the next tick.
      }
    }
    setTimeout(() => void poll(), NOTIFY_POLL_MS);
  };
  void poll();
  drawList();
}
