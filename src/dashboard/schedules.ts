/**
 * `/schedules`: the schedules on `/api/schedules` (docs/schedules.md). Lists each with its timing,
 * its next run times and its latest runs (each linking to its job card, with its status), read
 * again every {@link REFRESH_MS} while the tab is visible. Operators create one from a form (job
 * types from the catalog, the input as JSON, the API's 400 issues next to their fields), pause and
 * unpause it with a note, start a run now, and delete it after a confirmation; viewers see the same
 * page without the controls.
 */
import { api, ApiError } from './api.js';
import { canOperate, type PageContext } from './context.js';
import { badge, h, jobHref, refreshTimes, replace, timeEl, when } from './dom.js';
import { humanMessage } from './form.js';
import type { Issue, JobType, Schedule, ScheduleList, ScheduleOverlap } from './types.js';

/** How often the schedules are read again. */
const REFRESH_MS = 5_000;
/** Next run times shown per schedule. */
const NEXT_SHOWN = 5;
/** Schedules read (the API's page limit). */
const PAGE = 50;

/** What each overlap policy means; a new policy fails the dashboard's typecheck until it is described. */
const OVERLAP_TEXT: Record<ScheduleOverlap, string> = {
  skip: 'skip the run while the previous one runs',
  buffer_one: 'run it after the previous one (at most one waiting)',
  buffer_all: 'run every one, one after the other',
  cancel_other: 'cancel the previous one, then run',
  terminate_other: 'terminate the previous one, then run',
  allow_all: 'run it alongside',
};
const OVERLAPS = Object.keys(OVERLAP_TEXT) as ScheduleOverlap[];

const API = '/api/schedules';
const schedulePath = (id: string): string => `${API}/${encodeURIComponent(id)}`;
const message = (err: unknown): string =>
  err instanceof ApiError ? (err.status ? `${err.status}: ${err.message}` : err.message) : String(err);

/** "every 5 s", "every 2 h"; a cron with its zone. */
function timing(s: Schedule): string {
  if (s.intervalSeconds !== null) {
    const n = s.intervalSeconds;
    const [v, unit] =
      n % 86_400 === 0
        ? [n / 86_400, 'd']
        : n % 3600 === 0
          ? [n / 3600, 'h']
          : n % 60 === 0
            ? [n / 60, 'min']
            : [n, 's'];
    return `every ${v} ${unit}`;
  }
  return s.cron !== null ? `cron ${s.cron} (${s.timeZone})` : 'a calendar set outside Stepwise';
}

/** One schedule on the page: its elements, kept across refreshes so focus and typed notes stay. */
interface View {
  s: Schedule;
  el: HTMLElement;
  info: HTMLElement;
  runs: HTMLElement;
  note: HTMLInputElement | null;
  toggle: HTMLButtonElement | null;
  trigger: HTMLButtonElement | null;
  feedback: HTMLElement;
}

export async function renderSchedules(page: HTMLElement, ctx: PageContext): Promise<void> {
  document.title = 'Schedules · Stepwise';
  const operator = canOperate(ctx);
  let types: JobType[] = [];
  let typesError: string | null = null;
  if (operator) {
    try {
      types = (await api<JobType[]>('GET', '/api/job-types')).filter((t) => !t.internal);
    } catch (err) {
      typesError = message(err);
    }
  }

  const status = h('p', { class: 'feedback page-status', role: 'status' });
  const refresh = h('button', { type: 'button' }, 'Refresh');
  const list = h('div', { class: 'schedules', 'data-testid': 'schedules' });
  const empty = h('p', { class: 'empty', hidden: true }, 'No schedules yet.');
  const count = h('span', { class: 'hint' });

  // The confirmation for delete, shared by every schedule.
  const confirmText = h('p', {});
  const confirmNo = h('button', { type: 'button', autofocus: true }, 'Keep it');
  const confirmYes = h('button', { type: 'button', class: 'danger' }, 'Delete schedule');
  const dialog = h(
    'dialog',
    { 'aria-labelledby': 'sched-confirm-title', class: 'confirm' },
    h('h2', { id: 'sched-confirm-title' }, 'Delete this schedule?'),
    confirmText,
    h('div', { class: 'row' }, confirmNo, confirmYes),
  );
  let confirmed: (() => void) | null = null;
  confirmNo.addEventListener('click', () => dialog.close());
  confirmYes.addEventListener('click', () => {
    dialog.close();
    const then = confirmed;
    confirmed = null;
    then?.();
  });

  const views = new Map<string, View>();
  const say = (v: View, text: string, error = false): void => {
    v.feedback.textContent = text;
    v.feedback.className = error ? 'feedback error' : 'feedback';
  };

  const fill = (v: View): void => {
    const s = v.s;
    replace(
      v.info,
      h(
        'div',
        { class: 'sched-head' },
        h('h3', { id: `sched-${s.scheduleId}-title`, class: 'sched-id' }, s.scheduleId),
        badge(s.paused ? 'paused' : 'active'),
      ),
      h(
        'dl',
        { class: 'sched-facts' },
        h('dt', {}, 'Job type'),
        h('dd', {}, h('code', {}, s.type)),
        h('dt', {}, 'When'),
        h(
          'dd',
          { 'data-testid': 'timing' },
          timing(s),
          s.jitterSeconds ? ` (+ up to ${s.jitterSeconds} s)` : '',
        ),
        h('dt', {}, 'Overlap'),
        h('dd', {}, `${s.overlap.replace(/_/g, ' ')}: ${OVERLAP_TEXT[s.overlap]}`),
        h('dt', {}, 'Priority'),
        h('dd', {}, `${s.priority} (1 highest, 5 lowest)`),
        h('dt', {}, 'Input'),
        h('dd', {}, h('code', { class: 'sched-input' }, JSON.stringify(s.input))),
        h('dt', {}, 'Created'),
        h('dd', {}, when(s.createdAt), s.createdBy ? ` by ${s.createdBy}` : ''),
        s.note ? [h('dt', {}, 'Note'), h('dd', { 'data-testid': 'note' }, s.note)] : null,
        h('dt', {}, 'Runs'),
        h(
          'dd',
          {},
          `${s.runsTaken} started`,
          s.runsSkipped ? `, ${s.runsSkipped} skipped (overlap)` : '',
          s.runsMissed ? `, ${s.runsMissed} missed` : '',
          ' · ',
          h('a', { href: `/?scheduleId=${encodeURIComponent(s.scheduleId)}` }, 'all its jobs'),
        ),
        h('dt', {}, 'Next runs'),
        h(
          'dd',
          { 'data-testid': 'next-runs' },
          s.paused
            ? 'none while paused'
            : s.nextRuns.length === 0
              ? 'none'
              : h(
                  'ol',
                  { class: 'sched-next' },
                  s.nextRuns.slice(0, NEXT_SHOWN).map((t) => h('li', {}, when(t), ' (', timeEl(t), ')')),
                ),
        ),
      ),
    );
    replace(
      v.runs,
      s.recentRuns.length === 0
        ? h('p', { class: 'hint' }, 'No runs yet.')
        : h(
            'div',
            { class: 'table-wrap' },
            h(
              'table',
              { class: 'log' },
              h('caption', {}, 'Latest runs, newest first'),
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  ['Scheduled for', 'Started', 'Status', 'Job'].map((c) => h('th', { scope: 'col' }, c)),
                ),
              ),
              h(
                'tbody',
                {},
                s.recentRuns.map((r) =>
                  h(
                    'tr',
                    { 'data-job-id': r.jobId },
                    h('td', { 'data-label': 'Scheduled for' }, when(r.scheduledAt)),
                    h('td', { 'data-label': 'Started' }, timeEl(r.startedAt)),
                    h('td', { 'data-label': 'Status' }, r.status ? badge(r.status) : '–'),
                    h(
                      'td',
                      { 'data-label': 'Job', class: 'event' },
                      h('a', { href: jobHref(r.jobId), 'data-link': 'run' }, r.jobId),
                    ),
                  ),
                ),
              ),
            ),
          ),
    );
    if (v.toggle) v.toggle.textContent = s.paused ? 'Unpause' : 'Pause';
  };

  const createView = (s: Schedule): View => {
    const info = h('div', { class: 'sched-info' });
    const runs = h('div', { class: 'sched-runs' });
    const feedback = h('p', { class: 'feedback', role: 'status' });
    let note: HTMLInputElement | null = null;
    let toggle: HTMLButtonElement | null = null;
    let trigger: HTMLButtonElement | null = null;
    let actions: HTMLElement | null = null;
    if (operator) {
      const noteId = `sched-${s.scheduleId}-note`;
      note = h('input', {
        id: noteId,
        type: 'text',
        maxlength: 500,
        autocomplete: 'off',
        placeholder: 'why (kept on the schedule)',
      });
      toggle = h('button', { type: 'button' });
      trigger = h('button', { type: 'button' }, 'Run now');
      const remove = h('button', { type: 'button', class: 'danger' }, 'Delete…');
      actions = h(
        'div',
        { class: 'row sched-actions' },
        h('label', { for: noteId }, 'Note'),
        note,
        toggle,
        trigger,
        remove,
      );
      remove.addEventListener('click', () => {
        confirmText.textContent =
          `No more runs of ${v.s.scheduleId} start. Its runs so far are ordinary jobs and stay. ` +
          'This cannot be undone.';
        confirmed = () =>
          void api('DELETE', schedulePath(v.s.scheduleId)).then(
            () => {
              views.delete(v.s.scheduleId);
              v.el.remove();
              drawCount();
              status.textContent = `Deleted the schedule ${v.s.scheduleId}.`;
              refresh.focus();
            },
            (err: unknown) => say(v, `Not deleted — ${message(err)}`, true),
          );
        dialog.showModal();
      });
    }
    const el = h(
      'article',
      {
        class: 'panel sched',
        'data-schedule-id': s.scheduleId,
        'aria-labelledby': `sched-${s.scheduleId}-title`,
      },
      info,
      actions,
      feedback,
      runs,
    );
    const v: View = { s, el, info, runs, note, toggle, trigger, feedback };
    toggle?.addEventListener('click', () => {
      const action = v.s.paused ? 'unpause' : 'pause';
      const text = note!.value.trim();
      toggle!.disabled = true;
      api<Schedule>('POST', `${schedulePath(v.s.scheduleId)}/${action}`, text ? { note: text } : {}).then(
        (next) => {
          toggle!.disabled = false;
          note!.value = '';
          v.s = next;
          fill(v);
          say(
            v,
            next.paused ? 'Paused: no run starts until it is unpaused.' : 'Unpaused: its runs start again.',
          );
        },
        (err: unknown) => {
          toggle!.disabled = false;
          say(v, `Not ${action}d — ${message(err)}`, true);
        },
      );
    });
    trigger?.addEventListener('click', () => {
      trigger!.disabled = true;
      say(v, 'Starting a run…');
      api<Schedule>('POST', `${schedulePath(v.s.scheduleId)}/trigger`, {}).then(
        () => {
          trigger!.disabled = false;
          say(v, 'Run started: it shows under the latest runs.');
          void load().catch(() => undefined);
        },
        (err: unknown) => {
          trigger!.disabled = false;
          say(v, `No run started — ${message(err)}`, true);
        },
      );
    });
    fill(v);
    return v;
  };

  const drawCount = (): void => {
    count.textContent = views.size ? `(${views.size})` : '';
    empty.hidden = views.size > 0;
  };

  let loading = false;
  /** Reads the schedules again: new ones added, gone ones removed, the others redrawn in place. */
  const load = async (): Promise<void> => {
    if (loading) return;
    loading = true;
    try {
      const { schedules } = await api<ScheduleList>('GET', `${API}?pageSize=${PAGE}`);
      schedules.sort((a, b) => a.scheduleId.localeCompare(b.scheduleId));
      const keep = new Set(schedules.map((s) => s.scheduleId));
      for (const [id, v] of views) {
        if (!keep.has(id)) {
          v.el.remove();
          views.delete(id);
        }
      }
      schedules.forEach((s, i) => {
        let v = views.get(s.scheduleId);
        if (v) {
          if (JSON.stringify(v.s) !== JSON.stringify(s)) {
            v.s = s;
            fill(v);
          }
        } else {
          v = createView(s);
          views.set(s.scheduleId, v);
        }
        if (list.children[i] !== v.el) list.insertBefore(v.el, list.children[i] ?? null);
      });
      drawCount();
    } finally {
      loading = false;
    }
  };

  // --- The form (operators) -----------------------------------------------------------------------

  const errorsOf = (id: string): HTMLElement => h('div', { class: 'field-errors', id: `${id}-errors` });
  const fieldErrors: Record<string, HTMLElement> = {};
  const controls: Record<string, HTMLElement> = {};
  const field = (
    name: string,
    label: string,
    control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement,
    hint?: string,
  ): HTMLElement => {
    const id = `sched-${name}`;
    control.id = id;
    control.name = name;
    fieldErrors[name] = errorsOf(id);
    controls[name] = control;
    control.setAttribute('aria-describedby', `${hint ? `${id}-hint ` : ''}${id}-errors`);
    return h(
      'div',
      { class: 'field' },
      h('label', { for: id }, label),
      control,
      hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null,
      fieldErrors[name],
    );
  };
  const idInput = h('input', { type: 'text', maxlength: 64, autocomplete: 'off', spellcheck: 'false' });
  const typeSelect = h(
    'select',
    {},
    types.map((t) => h('option', { value: t.type }, t.type)),
  );
  const inputArea = h('textarea', { rows: 3, spellcheck: 'false', class: 'sched-json' });
  inputArea.value = '{}';
  const kindSelect = h(
    'select',
    {},
    h('option', { value: 'interval' }, 'Every N seconds'),
    h('option', { value: 'cron' }, 'Cron expression'),
  );
  const intervalInput = h('input', { type: 'number', min: 1, step: 1, value: '3600' });
  const cronInput = h('input', {
    type: 'text',
    autocomplete: 'off',
    spellcheck: 'false',
    placeholder: '0 3 * * *',
  });
  const zoneInput = h('input', { type: 'text', autocomplete: 'off', spellcheck: 'false', value: 'UTC' });
  const overlapSelect = h(
    'select',
    {},
    OVERLAPS.map((o) => h('option', { value: o }, `${o.replace(/_/g, ' ')} — ${OVERLAP_TEXT[o]}`)),
  );
  const prioritySelect = h(
    'select',
    {},
    [1, 2, 3, 4, 5].map((p) => h('option', { value: p, selected: p === 3 }, String(p))),
  );
  const jitterInput = h('input', { type: 'number', min: 0, step: 1, value: '0' });
  const pausedInput = h('input', { id: 'sched-paused', name: 'paused', type: 'checkbox' });
  const general = h('div', { class: 'error-box', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Create schedule');
  const intervalField = field(
    'intervalSeconds',
    'Seconds between runs',
    intervalInput,
    'At least 1; counted from the Unix epoch (3600: on the hour).',
  );
  const cronField = field(
    'cron',
    'Cron expression',
    cronInput,
    'minute hour day-of-month month day-of-week (7 fields: seconds first), or @daily, @hourly …',
  );
  const zoneField = field(
    'timeZone',
    'Time zone',
    zoneInput,
    'IANA name, e.g. UTC or Europe/Berlin: the cron is read in it.',
  );
  const showKind = (): void => {
    const cron = kindSelect.value === 'cron';
    intervalField.hidden = cron;
    cronField.hidden = !cron;
    zoneField.hidden = !cron;
  };
  kindSelect.addEventListener('change', showKind);
  const form = operator
    ? h(
        'form',
        {
          class: 'panel sched-form',
          id: 'new-schedule',
          novalidate: true,
          'aria-labelledby': 'new-sched-title',
        },
        h('h2', { id: 'new-sched-title' }, 'New schedule'),
        field(
          'scheduleId',
          'Schedule id (optional)',
          idInput,
          'Letters, digits and . _ : -; a generated one when empty.',
        ),
        field(
          'type',
          'Job type',
          typeSelect,
          typesError ? `The job types could not be read (${typesError}).` : undefined,
        ),
        field(
          'input',
          'Input (JSON)',
          inputArea,
          'Checked like a job start’s input, against the type’s schema.',
        ),
        field('kind', 'Runs', kindSelect),
        intervalField,
        cronField,
        zoneField,
        field('overlap', 'When the previous run still runs', overlapSelect),
        field('priority', 'Priority', prioritySelect, '1 highest, 5 lowest.'),
        field(
          'jitterSeconds',
          'Jitter (seconds)',
          jitterInput,
          'Each run starts up to this much later, at random.',
        ),
        h(
          'div',
          { class: 'field check' },
          pausedInput,
          h('label', { for: 'sched-paused' }, 'Create it paused'),
        ),
        general,
        h('div', { class: 'row' }, submit),
      )
    : null;
  showKind();

  const clearErrors = (): void => {
    general.hidden = true;
    general.replaceChildren();
    for (const el of Object.values(fieldErrors)) el.replaceChildren();
    for (const el of form?.querySelectorAll('[aria-invalid]') ?? []) el.removeAttribute('aria-invalid');
  };

  /** The API's 400 issues next to the fields their paths name; the rest in the box under the form. */
  const showIssues = (issues: Issue[]): void => {
    let first: HTMLElement | null = null;
    const rest: HTMLElement[] = [];
    for (const issue of issues) {
      const key = String(issue.path[0] ?? '');
      const words = humanMessage(issue.message);
      const where = issue.path.length > 1 ? `${issue.path.slice(1).join('.')}: ` : '';
      if (Object.hasOwn(fieldErrors, key)) {
        fieldErrors[key].append(h('p', { class: 'error' }, `${where}${words}`));
        controls[key].setAttribute('aria-invalid', 'true');
        first ??= controls[key];
      } else rest.push(h('li', {}, `${issue.path.join('.') || '(body)'}: ${words}`));
    }
    if (rest.length) general.append(h('ul', {}, rest));
    first?.focus();
  };

  form?.addEventListener('submit', (e) => {
    e.preventDefault();
    clearErrors();
    let input: unknown;
    try {
      input = JSON.parse(inputArea.value || '{}');
    } catch {
      general.hidden = false;
      general.append(h('p', {}, 'The schedule was not created: the input is not JSON.'));
      showIssues([{ path: ['input'], message: 'Not valid JSON' }]);
      return;
    }
    const id = idInput.value.trim();
    const cron = kindSelect.value === 'cron';
    const body = {
      ...(id ? { scheduleId: id } : {}),
      type: typeSelect.value,
      input,
      ...(cron
        ? { cron: cronInput.value.trim(), timeZone: zoneInput.value.trim() || 'UTC' }
        : { intervalSeconds: Number(intervalInput.value) }),
      overlap: overlapSelect.value,
      priority: Number(prioritySelect.value),
      jitterSeconds: Number(jitterInput.value || 0),
      paused: pausedInput.checked,
    };
    submit.disabled = true;
    api<Schedule>('POST', API, body).then(
      (created) => {
        submit.disabled = false;
        form.reset();
        inputArea.value = '{}';
        showKind();
        status.textContent = `Created the schedule ${created.scheduleId}.`;
        status.className = 'feedback page-status';
        // Temporal's schedule list catches up a moment later: shown from the answer until then.
        if (!views.has(created.scheduleId)) {
          const v = createView(created);
          views.set(created.scheduleId, v);
          list.prepend(v.el);
          drawCount();
        }
        views.get(created.scheduleId)?.el.scrollIntoView({ block: 'nearest' });
      },
      (err: unknown) => {
        submit.disabled = false;
        general.hidden = false;
        if (!(err instanceof ApiError) || err.issues.length === 0) {
          general.append(h('p', {}, `The schedule was not created — ${message(err)}`));
          return;
        }
        const n = err.issues.length;
        general.append(
          h(
            'p',
            {},
            `The schedule was not created: ${n === 1 ? 'one value needs' : `${n} values need`} a change, ` +
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
      h('h1', {}, 'Schedules'),
      h('span', { class: 'live open' }, `live · every ${REFRESH_MS / 1000} s`),
      operator ? h('a', { href: '#new-schedule', class: 'button primary' }, 'New schedule') : null,
      refresh,
    ),
    h(
      'p',
      { class: 'hint intro' },
      'A schedule starts a job of one type by a cron expression or an interval (Temporal Schedules). ' +
        'Each run is an ordinary job: its card, its controls, its place in the job list.',
      operator
        ? null
        : ` Your key’s role (${ctx.me.role}) reads schedules; operators create and change them.`,
    ),
    status,
    h(
      'section',
      { 'aria-labelledby': 'scheds-title' },
      h('h2', { id: 'scheds-title' }, 'Schedules ', count),
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
        status.textContent = `The schedules could not be read — ${message(err)}`;
        status.className = 'feedback page-status error';
      },
    );
  });

  try {
    await load();
  } catch (err) {
    status.textContent = `The schedules could not be read — ${message(err)}`;
    status.className = 'feedback page-status error';
  }

  const poll = setInterval(() => {
    if (!page.isConnected) return clearInterval(poll);
    if (document.visibilityState !== 'visible') return;
    load().catch(() => undefined);
    refreshTimes(page);
  }, REFRESH_MS);
}
