/**
 * `/subscriptions`: webhook subscriptions for admins, on `/api/notifications` (docs/notifications.md).
 * Lists them (URL, events, job-type filter, enabled, created); creates one from a form whose events
 * are the API's own list and whose job types are the catalog's top-level types, showing the new
 * secret once; enables and disables, sends a test event, rotates the secret (shown once) and
 * deletes (after a confirmation). Each subscription's delivery log — attempts with status codes,
 * latency and the next attempt — is read while it is open, every {@link LOG_REFRESH_MS}, and each
 * delivery that has ended can be replayed. The API's 400 issues are shown next to their fields.
 *
 * The admin API answers admins only, so a viewer or an operator gets an explanation and no
 * controls (and the page makes no call they would be refused).
 */
import { api, ApiError } from './api.js';
import { isAdmin, type PageContext } from './context.js';
import { badge, duration, h, jobHref, refreshTimes, relativeTime, replace, timeEl, when } from './dom.js';
import { humanMessage } from './form.js';
import {
  BULK_JOB_TYPE,
  NOTIFICATION_EVENTS,
  type CreatedSubscription,
  type Delivery,
  type DeliveryPage,
  type Issue,
  type JobType,
  type NotificationEvent,
  type RotatedSecret,
  type Subscription,
} from './types.js';

/** How often an open delivery log is read again. */
const LOG_REFRESH_MS = 3_000;
/** Deliveries a log shows at first, and how many more each "Show more" adds (the API's limit is 200). */
const LOG_PAGE = 20;
const LOG_MAX = 200;
/** Logs open by default when there are at most this many subscriptions (each open log is polled). */
const OPEN_LOGS_UP_TO = 5;
/** Events ticked in a new form. */
const DEFAULT_EVENTS: NotificationEvent[] = ['job.failed', 'job.completed_with_errors'];

/** What each event means; a new event in the API's list fails the dashboard's typecheck until it is described. */
const EVENT_TEXT: Record<NotificationEvent, string> = {
  'job.failed': 'a job failed',
  'job.completed_with_errors': 'a job completed with errors',
  'job.cancelled': 'a job was cancelled',
  'job.completed': 'a job completed',
  'job.held': 'a job is held for an operator (once per hold)',
  'job.stalled': 'a job stalled (once per stall)',
  'job.eta_overrun': 'a job ran past its ETA',
  'job.awaiting_approval': 'a job waits for an approval (once per wait)',
};

const API = '/api/notifications';
const subPath = (id: string): string => `${API}/subscriptions/${encodeURIComponent(id)}`;
const message = (err: unknown): string =>
  err instanceof ApiError ? (err.status ? `${err.status}: ${err.message}` : err.message) : String(err);

/** "in 4 s" (under a minute), "in 3 min", "due" once passed: when a retry is next. */
function untilText(iso: string): string {
  const ms = Date.parse(iso) - Date.now();
  if (Number.isNaN(ms)) return iso;
  if (ms <= 0) return 'due';
  return ms < 60_000 ? `in ${Math.ceil(ms / 1000)} s` : relativeTime(iso);
}

/** A time that counts down to `iso`, with the absolute time and zone as its title. */
function untilEl(iso: string): HTMLTimeElement {
  return h('time', { datetime: iso, title: when(iso), 'data-until': iso }, untilText(iso));
}

/** "Created 12/5/2026, 14:03:07 UTC (3 min ago)": absolute with the zone, and how long ago. */
function whenAndAgo(iso: string): HTMLElement {
  return h('span', {}, when(iso), ' (', timeEl(iso), ')');
}

/** The explanation a viewer or an operator gets instead of the page. */
function notForThisRole(page: HTMLElement, ctx: PageContext): void {
  replace(
    page,
    h('h1', {}, 'Webhooks'),
    h(
      'section',
      { class: 'notice not-admin', 'data-testid': 'not-admin' },
      h(
        'p',
        {},
        'Webhook subscriptions — which URLs Stepwise notifies when jobs end, their secrets and their ' +
          'delivery logs — are managed by admins. ',
        h('strong', {}, `Your key's role (${ctx.me.role}) cannot see or change them.`),
      ),
      h(
        'p',
        {},
        'Ask an admin to add a subscription, or to sign in here with an admin key. ',
        'Meanwhile this browser can still tell you when a job breaks: see “Notifications” in the header.',
      ),
    ),
  );
}

/** One subscription on the page: its elements, kept across refreshes so focus and open logs stay. */
interface SubView {
  sub: Subscription;
  el: HTMLElement;
  info: HTMLElement;
  actions: HTMLElement;
  test: HTMLButtonElement;
  toggle: HTMLButtonElement;
  rotate: HTMLButtonElement;
  remove: HTMLButtonElement;
  feedback: HTMLElement;
  log: HTMLDetailsElement;
  logBody: HTMLElement;
  logSummary: HTMLElement;
  more: HTMLButtonElement;
  rows: Map<string, { json: string; tr: HTMLTableRowElement }>;
  limit: number;
  reading: boolean;
}

export async function renderSubscriptions(page: HTMLElement, ctx: PageContext): Promise<void> {
  document.title = 'Webhooks · Stepwise';
  if (!isAdmin(ctx)) return notForThisRole(page, ctx);
  let types: JobType[] = [];
  let typesError: string | null = null;
  try {
    // Only top-level jobs fire events: a sub-job type would never match (the bulk type is top-level).
    types = (await api<JobType[]>('GET', '/api/job-types')).filter(
      (t) => !t.internal || t.type === BULK_JOB_TYPE,
    );
  } catch (err) {
    typesError = message(err);
  }

  const status = h('p', { class: 'feedback page-status', role: 'status' });
  const refresh = h('button', { type: 'button' }, 'Refresh');
  const secretBox = h('section', {
    class: 'panel secret',
    'aria-labelledby': 'secret-title',
    hidden: true,
    'data-testid': 'secret-box',
  });
  const list = h('div', { class: 'subs', 'data-testid': 'subscriptions' });
  const empty = h(
    'p',
    { class: 'empty', hidden: true },
    'No subscriptions yet: nothing is sent anywhere. Create one below.',
  );
  const count = h('span', { class: 'hint' });

  // The confirmation for delete and rotate, shared by every subscription.
  const confirmTitle = h('h2', { id: 'sub-confirm-title' });
  const confirmText = h('p', {});
  const confirmNo = h('button', { type: 'button', value: 'no', autofocus: true }, 'Keep it');
  const confirmYes = h('button', { type: 'button', class: 'danger', value: 'yes' });
  const dialog = h(
    'dialog',
    { 'aria-labelledby': 'sub-confirm-title', class: 'confirm' },
    confirmTitle,
    confirmText,
    h('div', { class: 'row' }, confirmNo, confirmYes),
  );
  let confirmed: (() => void) | null = null;
  const confirm = (title: string, text: string, yes: string, then: () => void): void => {
    confirmTitle.textContent = title;
    confirmText.textContent = text;
    confirmYes.textContent = yes;
    confirmed = then;
    dialog.showModal();
  };
  confirmNo.addEventListener('click', () => dialog.close());
  confirmYes.addEventListener('click', () => {
    dialog.close();
    const then = confirmed;
    confirmed = null;
    then?.();
  });

  /** Shows a secret once: a field to select or copy it from, and the note that it will not be shown again. */
  const showSecret = (sub: Subscription, secret: string, previousUntil: string | null): void => {
    // A text area, so a narrow screen shows the whole secret (wrapped) rather than scrolling it.
    const field = h('textarea', {
      id: 'secret-value',
      class: 'secret-value',
      rows: 1,
      readonly: true,
      autocomplete: 'off',
      spellcheck: 'false',
      'aria-describedby': 'secret-once',
    });
    field.value = secret;
    const said = h('span', { class: 'hint', role: 'status' });
    const copy = h('button', { type: 'button', class: 'primary' }, 'Copy secret');
    copy.addEventListener('click', () => {
      const fallback = (): void => {
        field.select();
        said.textContent =
          'The browser refused the clipboard: the secret is selected, copy it with Ctrl+C or ⌘C.';
      };
      if (!navigator.clipboard) return fallback();
      navigator.clipboard.writeText(secret).then(() => {
        said.textContent = 'Copied to the clipboard.';
      }, fallback);
    });
    const title = h(
      'h2',
      { id: 'secret-title', tabindex: -1 },
      previousUntil ? 'New signing secret' : 'Signing secret',
    );
    const done = h('button', { type: 'button' }, 'I have stored it — hide it');
    done.addEventListener('click', () => {
      replace(secretBox);
      secretBox.hidden = true;
      views.get(sub.id)?.test.focus();
    });
    replace(
      secretBox,
      title,
      h('p', {}, 'For ', h('code', { class: 'url' }, sub.url), '.'),
      h(
        'p',
        { id: 'secret-once', class: 'once' },
        h('strong', {}, 'It will not be shown again.'),
        ' Store it now where the receiver verifies signatures (Standard Webhooks: ',
        h('code', {}, 'webhook-signature'),
        '). Lost it? Rotate the secret to get a new one.',
      ),
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'secret-value' }, 'Secret'),
        h('div', { class: 'row secret-row' }, field, copy),
        said,
      ),
      previousUntil
        ? h(
            'p',
            { class: 'hint' },
            `Until ${when(previousUntil)} every delivery carries a second signature made with the previous ` +
              'secret, so receivers can switch at their pace.',
          )
        : null,
      h('div', { class: 'row' }, done),
    );
    secretBox.hidden = false;
    secretBox.scrollIntoView({ block: 'nearest' });
    title.focus();
  };

  // --- The delivery log of a subscription ---------------------------------------------------------

  const deliveryRow = (v: SubView, d: Delivery): HTMLTableRowElement => {
    const last = d.attempts.at(-1);
    const answer = !last
      ? '–'
      : last.statusCode !== null
        ? h('span', { class: last.statusCode < 300 ? 'code ok' : 'code bad' }, String(last.statusCode))
        : h('span', { class: 'error' }, last.error ?? 'no answer');
    const ended = d.status === 'delivered' || d.status === 'failed';
    const replay = ended
      ? h(
          'button',
          {
            type: 'button',
            class: 'small',
            'aria-label': `Replay the ${d.event} delivery sent ${when(d.createdAt)}`,
          },
          'Replay',
        )
      : null;
    replay?.addEventListener('click', () => {
      replay.disabled = true;
      say(v, 'Replaying…');
      api<Delivery>('POST', `${API}/deliveries/${encodeURIComponent(d.id)}/replay`).then(
        (started) => {
          replay.disabled = false;
          say(
            v,
            `Replay started (${started.status}): the same webhook-id and body, signed with the current secret.`,
          );
          void readLog(v);
        },
        (err: unknown) => {
          replay.disabled = false;
          say(v, `Replay refused — ${message(err)}`, true);
        },
      );
    });
    const attempts =
      d.attempts.length === 0
        ? h('span', { class: 'hint' }, 'none yet')
        : h(
            'details',
            { class: 'attempts' },
            h('summary', {}, `${d.attempts.length} attempt${d.attempts.length === 1 ? '' : 's'}`),
            h(
              'ol',
              {},
              d.attempts.map((a) =>
                h(
                  'li',
                  {},
                  when(a.at),
                  ' — ',
                  a.statusCode !== null ? `HTTP ${a.statusCode}` : 'no answer',
                  a.latencyMs !== null ? ` in ${duration(a.latencyMs)}` : '',
                  a.error && a.error !== `HTTP ${a.statusCode}` ? `: ${a.error}` : '',
                  a.nextAttemptAt ? `; next attempt ${when(a.nextAttemptAt)}` : '',
                ),
              ),
            ),
          );
    return h(
      'tr',
      { 'data-delivery-id': d.id, 'data-status': d.status },
      h('td', { 'data-label': 'Sent' }, timeEl(d.createdAt)),
      h(
        'td',
        { 'data-label': 'Event', class: 'event' },
        h('code', {}, d.event),
        d.jobId ? [' ', h('a', { href: jobHref(d.jobId), 'data-link': 'delivery-job' }, d.jobId)] : null,
        d.replayOf ? h('span', { class: 'hint' }, ' (replay)') : null,
      ),
      h('td', { 'data-label': 'Status' }, badge(d.status)),
      h('td', { 'data-label': 'Answer', 'data-testid': 'answer' }, answer),
      h(
        'td',
        { 'data-label': 'Latency' },
        last?.latencyMs !== null && last?.latencyMs !== undefined ? duration(last.latencyMs) : '–',
      ),
      h('td', { 'data-label': 'Attempts', class: 'attempts-cell' }, attempts),
      h('td', { 'data-label': 'Next attempt' }, d.nextAttemptAt ? untilEl(d.nextAttemptAt) : '–'),
      h('td', { class: 'act' }, replay),
    );
  };

  const drawLog = (v: SubView, res: DeliveryPage): void => {
    const seen = new Set<string>();
    const trs = res.deliveries.map((d) => {
      seen.add(d.id);
      const json = JSON.stringify(d);
      const kept = v.rows.get(d.id);
      if (kept && kept.json === json) return kept.tr;
      const tr = deliveryRow(v, d);
      v.rows.set(d.id, { json, tr });
      return tr;
    });
    for (const id of [...v.rows.keys()]) if (!seen.has(id)) v.rows.delete(id);
    const n = res.deliveries.length;
    v.logSummary.textContent =
      n === 0
        ? 'Deliveries: none yet'
        : `Deliveries: ${res.nextPageToken ? `the ${n} most recent` : n}` +
          (res.deliveries.some((d) => d.status === 'pending' || d.status === 'retrying')
            ? ' (sending…)'
            : '');
    let tbody = v.logBody.querySelector('tbody');
    if (n === 0) {
      replace(
        v.logBody,
        h('p', { class: 'hint' }, 'Nothing sent yet. “Send test” sends a test event through the same path.'),
      );
      tbody = null;
    } else if (!tbody) {
      tbody = h('tbody');
      replace(
        v.logBody,
        h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            { class: 'log' },
            h('caption', { class: 'sr-only' }, `Deliveries to ${v.sub.url}, newest first`),
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ['Sent', 'Event', 'Status', 'Answer', 'Latency', 'Attempts', 'Next attempt'].map((c) =>
                  h('th', { scope: 'col' }, c),
                ),
                h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Actions')),
              ),
            ),
            tbody,
          ),
        ),
      );
    }
    if (tbody) {
      // Moves only what changed: a row the keyboard is on stays where it is.
      trs.forEach((tr, i) => {
        if (tbody.children[i] !== tr) tbody.insertBefore(tr, tbody.children[i] ?? null);
      });
      while (tbody.children.length > trs.length) tbody.lastElementChild!.remove();
    }
    v.more.hidden = !res.nextPageToken || v.limit >= LOG_MAX;
  };

  const readLog = async (v: SubView): Promise<void> => {
    if (v.reading) return;
    v.reading = true;
    try {
      const q = new URLSearchParams({ subscriptionId: v.sub.id, limit: String(v.limit) });
      drawLog(v, await api<DeliveryPage>('GET', `${API}/deliveries?${q}`));
    } catch (err) {
      replace(
        v.logBody,
        h('p', { class: 'error', role: 'alert' }, `The log could not be read — ${message(err)}`),
      );
    } finally {
      v.reading = false;
    }
  };

  const say = (v: SubView, text: string, error = false): void => {
    v.feedback.textContent = text;
    v.feedback.className = error ? 'feedback error' : 'feedback';
  };

  // --- A subscription -----------------------------------------------------------------------------

  const views = new Map<string, SubView>();

  const fill = (v: SubView): void => {
    const s = v.sub;
    const fromFile = s.source === 'file';
    replace(
      v.info,
      h(
        'div',
        { class: 'sub-head' },
        h('h3', { id: `sub-${s.id}-title`, class: 'sub-url' }, s.url),
        badge(s.enabled ? 'enabled' : 'disabled'),
        fromFile ? h('span', { class: 'badge s-file' }, 'from the file') : null,
      ),
      s.description ? h('p', { class: 'sub-description' }, s.description) : null,
      h(
        'dl',
        { class: 'sub-facts' },
        h('dt', {}, 'Events'),
        h(
          'dd',
          { 'data-testid': 'events' },
          s.events.map((e, i) => [i > 0 ? ', ' : null, h('code', {}, e)]),
        ),
        h('dt', {}, 'Job types'),
        h(
          'dd',
          { 'data-testid': 'job-types' },
          s.jobTypes === null
            ? 'every type'
            : s.jobTypes.map((t, i) => [i > 0 ? ', ' : null, h('code', {}, t)]),
        ),
        h('dt', {}, 'Created'),
        h('dd', {}, fromFile ? 'declared in STEPWISE_NOTIFICATIONS_FILE' : whenAndAgo(s.createdAt)),
        s.previousSecretExpiresAt
          ? [
              h('dt', {}, 'Previous secret'),
              h('dd', {}, `still signs too, until ${when(s.previousSecretExpiresAt)}`),
            ]
          : null,
        h('dt', {}, 'Id'),
        h('dd', {}, h('code', {}, s.id)),
      ),
      fromFile
        ? h(
            'p',
            { class: 'hint' },
            'Declared in STEPWISE_NOTIFICATIONS_FILE: read-only here (change, rotate or remove it in the file).',
          )
        : null,
      s.enabled
        ? null
        : h('p', { class: 'hint' }, 'Disabled: no events are sent to it. Enable it to send a test.'),
    );
    v.toggle.textContent = s.enabled ? 'Disable' : 'Enable';
    v.test.disabled = !s.enabled;
    for (const b of [v.toggle, v.rotate, v.remove]) b.hidden = fromFile;
  };

  const createView = (sub: Subscription, open: boolean): SubView => {
    const test = h('button', { type: 'button' }, 'Send test');
    const toggle = h('button', { type: 'button' });
    const rotate = h('button', { type: 'button' }, 'Rotate secret…');
    const remove = h('button', { type: 'button', class: 'danger' }, 'Delete…');
    const more = h('button', { type: 'button', class: 'small', hidden: true }, `Show ${LOG_PAGE} more`);
    const logSummary = h('span', {}, 'Deliveries');
    const logBody = h('div', { class: 'log-body' }, h('p', { class: 'hint' }, 'Reading…'));
    const log = h(
      'details',
      { class: 'log', open },
      h('summary', {}, logSummary),
      logBody,
      h('div', { class: 'row' }, more),
    );
    const info = h('div', { class: 'sub-info' });
    const actions = h('div', { class: 'row' }, test, toggle, rotate, remove);
    const feedback = h('p', { class: 'feedback', role: 'status' });
    const el = h(
      'article',
      { class: 'panel sub', 'data-subscription-id': sub.id, 'aria-labelledby': `sub-${sub.id}-title` },
      info,
      actions,
      feedback,
      log,
    );
    const v: SubView = {
      sub,
      el,
      info,
      actions,
      test,
      toggle,
      rotate,
      remove,
      feedback,
      log,
      logBody,
      logSummary,
      more,
      rows: new Map(),
      limit: LOG_PAGE,
      reading: false,
    };
    log.addEventListener('toggle', () => {
      if (log.open) void readLog(v);
    });
    more.addEventListener('click', () => {
      v.limit = Math.min(LOG_MAX, v.limit + LOG_PAGE);
      void readLog(v);
    });
    test.addEventListener('click', () => {
      test.disabled = true;
      say(v, 'Sending a test event…');
      api<Delivery>('POST', `${subPath(v.sub.id)}/test`).then(
        () => {
          test.disabled = !v.sub.enabled;
          say(v, 'Test event sent: its attempts show in the log below.');
          log.open = true;
          void readLog(v);
        },
        (err: unknown) => {
          test.disabled = !v.sub.enabled;
          say(v, `The test was refused — ${message(err)}`, true);
        },
      );
    });
    toggle.addEventListener('click', () => {
      const enabled = !v.sub.enabled;
      toggle.disabled = true;
      api<Subscription>('PATCH', subPath(v.sub.id), { enabled }).then(
        (next) => {
          toggle.disabled = false;
          v.sub = next;
          fill(v);
          say(
            v,
            enabled
              ? 'Enabled: events are sent to it again.'
              : 'Disabled: no events are sent to it; its deliveries still retrying fail at their next attempt.',
          );
        },
        (err: unknown) => {
          toggle.disabled = false;
          say(v, `Not ${enabled ? 'enabled' : 'disabled'} — ${message(err)}`, true);
        },
      );
    });
    rotate.addEventListener('click', () =>
      confirm(
        'Rotate the secret?',
        `A new secret signs every delivery to ${v.sub.url} from now on. For a while the current one signs ` +
          'too (a second signature), so the receiver can switch. The new secret is shown once.',
        'Rotate secret',
        () => {
          api<RotatedSecret>('POST', `${subPath(v.sub.id)}/rotate-secret`).then(
            (res) => {
              say(v, 'Secret rotated: the new one is shown at the top of the page, once.');
              v.sub = { ...v.sub, previousSecretExpiresAt: res.previousSecretExpiresAt };
              fill(v);
              showSecret(v.sub, res.secret, res.previousSecretExpiresAt);
            },
            (err: unknown) => say(v, `The secret was not rotated — ${message(err)}`, true),
          );
        },
      ),
    );
    remove.addEventListener('click', () =>
      confirm(
        'Delete this subscription?',
        `No more events are sent to ${v.sub.url}, and its deliveries still retrying fail at their next ` +
          'attempt. This cannot be undone (a new subscription gets a new secret).',
        'Delete subscription',
        () => {
          api('DELETE', subPath(v.sub.id)).then(
            () => {
              views.delete(v.sub.id);
              v.el.remove();
              drawCount();
              status.textContent = `Deleted the subscription to ${v.sub.url}.`;
              status.className = 'feedback page-status';
              refresh.focus();
            },
            (err: unknown) => say(v, `Not deleted — ${message(err)}`, true),
          );
        },
      ),
    );
    fill(v);
    if (open) void readLog(v);
    return v;
  };

  const drawCount = (): void => {
    count.textContent = views.size ? `(${views.size})` : '';
    empty.hidden = views.size > 0;
  };

  /** Reads the subscriptions again: new ones added, gone ones removed, the others updated in place. */
  const load = async (): Promise<void> => {
    const { subscriptions } = await api<{ subscriptions: Subscription[] }>('GET', `${API}/subscriptions`);
    const keep = new Set(subscriptions.map((s) => s.id));
    for (const [id, v] of views) {
      if (!keep.has(id)) {
        v.el.remove();
        views.delete(id);
      }
    }
    const openNew = subscriptions.length <= OPEN_LOGS_UP_TO;
    subscriptions.forEach((s, i) => {
      let v = views.get(s.id);
      if (v) {
        if (JSON.stringify(v.sub) !== JSON.stringify(s)) {
          v.sub = s;
          fill(v);
        }
        if (v.log.open) void readLog(v);
      } else {
        v = createView(s, openNew);
        views.set(s.id, v);
      }
      if (list.children[i] !== v.el) list.insertBefore(v.el, list.children[i] ?? null);
    });
    drawCount();
  };

  // --- The form -----------------------------------------------------------------------------------

  const urlInput = h('input', {
    id: 'sub-url',
    name: 'url',
    type: 'url',
    required: true,
    autocomplete: 'off',
    spellcheck: 'false',
    placeholder: 'https://hooks.example.com/stepwise',
    'aria-describedby': 'sub-url-hint sub-url-errors',
  });
  const descriptionInput = h('input', {
    id: 'sub-description',
    name: 'description',
    type: 'text',
    maxlength: 200,
    autocomplete: 'off',
    'aria-describedby': 'sub-description-errors',
  });
  const enabledInput = h('input', { id: 'sub-enabled', name: 'enabled', type: 'checkbox', checked: true });
  const errorsOf = (id: string): HTMLElement => h('div', { class: 'field-errors', id: `${id}-errors` });
  const fieldErrors = {
    url: errorsOf('sub-url'),
    description: errorsOf('sub-description'),
    events: errorsOf('sub-events'),
    jobTypes: errorsOf('sub-types'),
  };
  const eventBoxes = NOTIFICATION_EVENTS.map((e) =>
    h('input', {
      type: 'checkbox',
      id: `sub-event-${e}`,
      name: 'events',
      value: e,
      checked: DEFAULT_EVENTS.includes(e),
    }),
  );
  const typeBoxes = types.map((t) =>
    h('input', { type: 'checkbox', id: `sub-type-${t.type}`, name: 'jobTypes', value: t.type }),
  );
  const general = h('div', { class: 'error-box', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Create subscription');
  const form = h(
    'form',
    { class: 'panel sub-form', id: 'new-subscription', novalidate: true, 'aria-labelledby': 'new-sub-title' },
    h('h2', { id: 'new-sub-title' }, 'New subscription'),
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'sub-url' }, 'URL'),
      urlInput,
      h(
        'p',
        { class: 'hint', id: 'sub-url-hint' },
        'Where events are POSTed: http or https. Redirects are not followed; private and loopback addresses ' +
          'only where the API allows them (STEPWISE_WEBHOOK_ALLOW_PRIVATE).',
      ),
      fieldErrors.url,
    ),
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'sub-description' }, 'Description (optional)'),
      descriptionInput,
      fieldErrors.description,
    ),
    h(
      'fieldset',
      { class: 'group', 'aria-describedby': 'sub-events-errors' },
      h('legend', {}, 'Events'),
      h(
        'div',
        { class: 'choice-row' },
        eventBoxes.map((box, i) =>
          h(
            'span',
            { class: 'check' },
            box,
            h(
              'label',
              { for: box.id },
              NOTIFICATION_EVENTS[i],
              h('span', { class: 'hint' }, ` — ${EVENT_TEXT[NOTIFICATION_EVENTS[i]]}`),
            ),
          ),
        ),
      ),
      fieldErrors.events,
    ),
    h(
      'fieldset',
      { class: 'group', 'aria-describedby': 'sub-types-hint sub-types-errors' },
      h('legend', {}, 'Job types'),
      h(
        'p',
        { class: 'hint', id: 'sub-types-hint' },
        typesError
          ? `The job types could not be read (${typesError}): the subscription covers every type.`
          : 'None ticked: every job type. Sub-jobs send nothing of their own (their failure is in the parent’s event).',
      ),
      h(
        'div',
        { class: 'choice-row' },
        typeBoxes.map((box, i) =>
          h('span', { class: 'check' }, box, h('label', { for: box.id }, types[i].type)),
        ),
      ),
      fieldErrors.jobTypes,
    ),
    h(
      'div',
      { class: 'field check' },
      enabledInput,
      h('label', { for: 'sub-enabled' }, 'Enabled: send events from now on'),
    ),
    general,
    h('div', { class: 'row' }, submit),
  );

  const clearErrors = (): void => {
    general.hidden = true;
    general.replaceChildren();
    for (const el of Object.values(fieldErrors)) el.replaceChildren();
    for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  };

  /** The API's 400 issues next to the fields their paths name; the rest in the box under the form. */
  const showIssues = (issues: Issue[]): void => {
    let first: HTMLElement | null = null;
    const rest: HTMLElement[] = [];
    for (const issue of issues) {
      const key = String(issue.path[0] ?? '');
      let words = humanMessage(issue.message);
      if ((key === 'events' || key === 'jobTypes') && /^At least 1 entry$/.test(words))
        words = 'Tick at least one';
      const where = issue.path.length > 1 ? `${issue.path.slice(1).join('.')}: ` : '';
      if (Object.hasOwn(fieldErrors, key)) {
        fieldErrors[key as keyof typeof fieldErrors].append(h('p', { class: 'error' }, `${where}${words}`));
        const control: HTMLElement | null =
          key === 'url'
            ? urlInput
            : key === 'description'
              ? descriptionInput
              : ((key === 'events' ? eventBoxes : typeBoxes)[0] ?? null);
        if (key === 'url' || key === 'description') control?.setAttribute('aria-invalid', 'true');
        first ??= control;
      } else rest.push(h('li', {}, `${issue.path.join('.') || '(body)'}: ${words}`));
    }
    if (rest.length) general.append(h('ul', {}, rest));
    first?.focus();
  };

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clearErrors();
    const jobTypes = typeBoxes.filter((b) => b.checked).map((b) => b.value);
    const description = descriptionInput.value.trim();
    const body = {
      url: urlInput.value.trim(),
      events: eventBoxes.filter((b) => b.checked).map((b) => b.value),
      ...(jobTypes.length ? { jobTypes } : {}),
      ...(description ? { description } : {}),
      enabled: enabledInput.checked,
    };
    submit.disabled = true;
    api<CreatedSubscription>('POST', `${API}/subscriptions`, body).then(
      async (created) => {
        submit.disabled = false;
        form.reset();
        const { secret, ...sub } = created;
        try {
          await load();
        } catch (err) {
          status.textContent = `The list could not be read again — ${message(err)}`;
          status.className = 'feedback page-status error';
        }
        showSecret(sub, secret, null);
      },
      (err: unknown) => {
        submit.disabled = false;
        general.hidden = false;
        if (!(err instanceof ApiError) || err.issues.length === 0) {
          general.append(h('p', {}, `The subscription was not created — ${message(err)}`));
          return;
        }
        const n = err.issues.length;
        general.append(
          h(
            'p',
            {},
            `The subscription was not created: ${n === 1 ? 'one value needs' : `${n} values need`} a change, ` +
              `shown next to ${n === 1 ? 'its field' : 'their fields'}.`,
          ),
        );
        showIssues(err.issues);
      },
    );
  });

  replace(
    page,
    h(
      'div',
      { class: 'page-head' },
      h('h1', {}, 'Webhooks'),
      h('span', { class: 'live open' }, `logs live · every ${LOG_REFRESH_MS / 1000} s`),
      h('a', { href: '#new-subscription', class: 'button primary' }, 'New subscription'),
      refresh,
    ),
    h(
      'p',
      { class: 'hint intro' },
      'When a job ends, is held for an operator, stalls or runs past its ETA, Stepwise POSTs a signed JSON event to each subscription that asks for it ' +
        '(Standard Webhooks signatures), retrying with backoff until a deadline; every attempt is in the ' +
        'subscription’s delivery log.',
    ),
    status,
    secretBox,
    h(
      'section',
      { 'aria-labelledby': 'subs-title' },
      h('h2', { id: 'subs-title' }, 'Subscriptions ', count),
      empty,
      list,
    ),
    form,
    dialog,
  );

  refresh.addEventListener('click', () => {
    status.textContent = 'Reading…';
    status.className = 'feedback page-status';
    load().then(
      () => {
        status.textContent = `Read at ${when(new Date().toISOString())}.`;
      },
      (err: unknown) => {
        status.textContent = `The subscriptions could not be read — ${message(err)}`;
        status.className = 'feedback page-status error';
      },
    );
  });

  try {
    await load();
  } catch (err) {
    status.textContent = `The subscriptions could not be read — ${message(err)}`;
    status.className = 'feedback page-status error';
  }

  // Open logs are read again while the tab is visible; the relative times and countdowns tick.
  const clock = setInterval(() => {
    if (!page.isConnected) return clearInterval(clock);
    for (const el of page.querySelectorAll<HTMLElement>('[data-until]')) {
      el.textContent = untilText(el.dataset.until!);
    }
    refreshTimes(page);
  }, 1_000);
  const poll = setInterval(() => {
    if (!page.isConnected) return clearInterval(poll);
    if (document.visibilityState !== 'visible') return;
    for (const v of views.values()) if (v.log.open) void readLog(v);
  }, LOG_REFRESH_MS);
}
