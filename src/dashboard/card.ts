/**
 * A job's card, kept live by `GET /api/jobs/:jobId/events`: header (type, status, step N/M, the
 * weighted progress bar), cancellation notice, actions, step timeline, active sub-jobs, summary
 * and log tail. The skeleton is built once (the bar keeps its element, so it glides; the reason
 * field keeps what was typed); each state event refills the sections.
 */
import { api, ApiError, stream } from './api.js';
import { canOperate, ROLE_RANK, traceHref, webUiHref, type PageContext } from './context.js';
import {
  badge,
  duration,
  h,
  jobHref,
  progressBar,
  refreshTimes,
  replace,
  setProgress,
  timeEl,
  when,
  type Child,
} from './dom.js';
import { sameOriginPath } from './links.js';
import { JsonViews } from './json-view.js';
import { renderTree } from './tree.js';
import { renderTimeline } from './timeline.js';
import { etaText, renderCause, renderRuns } from './insight.js';
import {
  BULK_JOB_TYPE,
  TERMINAL,
  type JobRuns,
  type JobState,
  type JobStatus,
  type JobTreeNode,
  type RootCause,
  type StepState,
} from './types.js';

type Action =
  'pause' | 'resume' | 'cancel' | 'retry' | 'terminate' | 'retry-step' | 'skip-step' | 'fail-step';

/** Whether `action` fits the job's state (the API decides again; this only enables buttons). */
export function actionFits(state: JobState, action: Action): boolean {
  const open = state.closedAt === null && !TERMINAL.includes(state.status);
  // A job whose workflow cannot run answers no update (the API refuses them with a 409): only
  // terminate reaches it.
  const stuck = open && state.error?.type === 'WorkflowTaskFailed';
  if (stuck && action !== 'terminate') return false;
  switch (action) {
    case 'pause':
      return open && !state.cancellation && !state.control.paused;
    case 'resume':
      return open && !state.cancellation && state.control.paused;
    case 'cancel':
      return open && !state.cancellation;
    case 'terminate':
      // Any open run, cancelling or stuck ones included: that is what terminate is for.
      return open;
    case 'retry-step':
    case 'skip-step':
    case 'fail-step':
      return open && !state.cancellation && state.hold !== null;
    case 'retry':
      return (
        !open &&
        ['failed', 'cancelled', 'completed_with_errors'].includes(state.status) &&
        state.recovery.attempt < state.recovery.max &&
        // A sub-job runs again through its parent's retry (the API refuses it with a 409 too).
        state.parentJobId === null
      );
  }
}

/**
 * A time on the card: absolute with its zone (in a `<time datetime>`), and with `ago` also how long
 * ago ("(3 min ago)", kept current by the card's timer).
 */
function at(iso: string, ago = false): Child {
  return [h('time', { datetime: iso }, when(iso)), ago ? [' (', timeEl(iso), ')'] : null];
}

/** A result, shortened to one line. */
function summarize(value: unknown): string {
  const text = JSON.stringify(value);
  return text.length > 160 ? `${text.slice(0, 157)}…` : text;
}

/** Seconds until `iso`, for the retry countdowns (updated every half second). */
function countdown(iso: string): HTMLElement {
  return h('span', { class: 'countdown', 'data-until': iso }, untilText(iso));
}
function untilText(iso: string): string {
  const s = Math.max(0, Math.ceil((Date.parse(iso) - Date.now()) / 1000));
  return s > 0 ? `next attempt in ${s} s` : 'next attempt starting';
}

interface BulkItemResult {
  jobId: string;
  outcome: 'ok' | 'refused' | 'not_found' | 'error';
  status?: string;
  message: string;
}

/** A bulk job's items, each job a link to its card, with its outcome and message. */
function bulkItems(result: unknown): HTMLElement | null {
  const items = (result as { items?: unknown } | null)?.items;
  if (!Array.isArray(items)) return null;
  const list = items.filter(
    (i): i is BulkItemResult =>
      typeof i === 'object' && i !== null && typeof (i as BulkItemResult).jobId === 'string',
  );
  const ok = list.filter((i) => i.outcome === 'ok').length;
  return h(
    'details',
    { class: 'bulk-items', open: true },
    h('summary', {}, `Jobs (${list.length}): ${ok} done, ${list.length - ok} not done`),
    h(
      'ul',
      // It scrolls on its own: focusable, so a keyboard can scroll it too.
      { 'aria-label': 'Jobs acted on', tabindex: 0 },
      list.map((i) =>
        h(
          'li',
          {},
          i.jobId ? h('a', { href: jobHref(i.jobId), 'data-link': 'bulk-item' }, i.jobId) : '–',
          ' ',
          h(
            'span',
            { class: `badge s-${i.outcome === 'ok' ? 'completed' : 'failed'}` },
            i.outcome.replace(/_/g, ' '),
          ),
          ' ',
          h('span', { class: 'hint' }, i.message),
        ),
      ),
    ),
  );
}

function stepItem(
  step: StepState,
  current: boolean,
  views: JsonViews,
  runId: string,
  becauseOf: string | null,
  bulk = false,
): HTMLLIElement {
  const facts: Child[] = [
    h('span', {}, step.kind === 'job' ? 'sub-job' : step.kind),
    h('span', {}, `weight ${step.weight}`),
    step.attempt > 0 ? h('span', { class: 'attempt' }, `attempt ${step.attempt}/${step.maxAttempts}`) : null,
    step.durationMs !== null ? h('span', {}, duration(step.durationMs)) : null,
    step.status === 'running' && step.startedAt ? h('span', {}, 'since ', at(step.startedAt)) : null,
  ];
  return h(
    'li',
    {
      class: `step s-${step.status}${current ? ' current' : ''}${becauseOf ? ' consequence' : ''}`,
      'data-step': step.index,
      'aria-current': current ? 'step' : false,
    },
    h(
      'div',
      { class: 'step-head' },
      h('span', { class: 'step-no' }, `${step.index}`),
      h('span', { class: 'step-name' }, step.name),
      badge(step.status),
      step.status === 'retrying' && step.nextAttemptAt ? countdown(step.nextAttemptAt) : null,
    ),
    h('div', { class: 'facts' }, facts),
    step.status === 'running' || step.status === 'retrying'
      ? progressBar(`Progress of step ${step.index} ${step.name}`, step.progress)
      : null,
    step.message ? h('p', { class: 'step-message' }, step.message) : null,
    step.batch ? h('p', { class: 'batch' }, `Batch: ${batchCounts(step.batch)}`) : null,
    step.error
      ? h('p', { class: 'error' }, step.error.type ? `${step.error.type}: ` : '', step.error.message)
      : null,
    becauseOf ? h('p', { class: 'hint because' }, `A consequence: “${becauseOf}” failed.`) : null,
    step.approval && step.approval.status !== 'awaiting' ? approvalLine(step.approval) : null,
    step.result !== null && step.status === 'completed'
      ? views.get(`${runId} ${step.key}`, `the result of ${step.name}`, step.result, (view) =>
          h(
            'details',
            { class: 'result' },
            h('summary', {}, h('span', { class: 'hint' }, 'result '), h('code', {}, summarize(step.result))),
            view,
          ),
        )
      : null,
    bulk && step.key === 'results' && step.status === 'completed' ? bulkItems(step.result) : null,
    step.carriedFrom ? h('p', { class: 'hint' }, `carried from run ${step.carriedFrom}`) : null,
    // A batch step's id is its coordinator's (not a job); its chunks are in the sub-job tree.
    step.kind === 'job' && step.subJobIds.length > 0
      ? h(
          'p',
          { class: 'subjob-links' },
          h(
            'span',
            { class: 'hint' },
            step.subJobIds.length === 1 ? 'sub-job ' : 'sub-jobs (one per attempt) ',
          ),
          step.subJobIds.map((id, i) => [
            i > 0 ? ', ' : null,
            h('a', { href: jobHref(id), 'data-link': 'step-subjob' }, id),
          ]),
        )
      : null,
  );
}

type Approval = NonNullable<StepState['approval']>;

const APPROVAL_OUTCOME: Record<Approval['status'], string> = {
  awaiting: 'Awaiting approval',
  approved: 'Approved',
  rejected: 'Rejected',
  timed_out: 'Timed out: nobody decided',
  cancelled: 'Cancelled while it awaited approval',
};

/** "an operator" / "an admin": who may decide. */
const roleText = (role: Approval['role']): string => `an ${role}`;

/** An approval step's decision, on its step: "Approved by alice at …: “looks right”". */
function approvalLine(a: Approval): HTMLElement {
  return h(
    'p',
    { class: `approval-decision a-${a.status}`, 'data-testid': 'approval-decision' },
    h('strong', {}, APPROVAL_OUTCOME[a.status]),
    a.by ? [' by ', h('span', { class: 'decided-by' }, a.by)] : null,
    a.decidedAt ? [' at ', at(a.decidedAt)] : null,
    a.comment ? [': “', h('span', { class: 'decision-comment' }, a.comment), '”'] : null,
  );
}

/**
 * A batch step's counters, worded like the engine's own step message ("3/8 chunks done" counts the
 * failed ones as done too): "2 of 8 chunks completed · 1 failed · 3 running".
 */
function batchCounts(b: NonNullable<StepState['batch']>): string {
  return (
    `${b.completed} of ${b.total} chunks completed · ${b.failed} failed` +
    (b.running > 0 ? ` · ${b.running} running` : '')
  );
}

/**
 * A batch step's sub-jobs run under its coordinator (a child workflow of the engine, not a job of
 * its own): the card shows the step's counters instead of a link.
 */
const BATCH_COORDINATOR = 'batchCoordinator';

function batchItem(j: JobState['activeSubJobs'][number], step: StepState | undefined): HTMLLIElement {
  const b = step?.batch;
  return h(
    'li',
    {},
    h('span', {}, `Batch of step ${step ? `${step.index} ${step.name}` : j.step}`),
    ' ',
    badge(j.status),
    progressBar(`Progress of the batch of step ${step?.name ?? j.step}`, j.progress),
    b ? h('span', { class: 'hint' }, batchCounts(b)) : null,
  );
}

/**
 * Links only to this site's own paths; anything else stays text. A route comes from a step's
 * result, which may echo job input: a link off the site (`https://…`, `//host`, `/\host`) would
 * lend the dashboard's trust to whatever page it names.
 */
function entityLink(entity: { tag: string; route?: string }): Child {
  const path = entity.route === undefined ? null : sameOriginPath(entity.route, location.origin);
  if (path !== null) return h('a', { href: path }, entity.tag);
  return h('span', { class: 'entity' }, entity.tag);
}

export function renderCard(page: HTMLElement, ctx: PageContext, jobId: string): void {
  // `?run=<runId>`: one earlier run of the job, read once (it is closed), without actions.
  const shownRun = new URLSearchParams(location.search).get('run');
  const operator = canOperate(ctx) && !shownRun;
  const title = h('h1', { class: 'job-id' }, jobId);
  const status = h('div', { class: 'status-line', role: 'status', 'aria-live': 'polite' });
  const bar = progressBar('Job progress', 0, true);
  const pct = h('span', { class: 'pct big' }, '0%');
  const links = h('p', { class: 'links' });
  const notice = h('div', { class: 'notice', hidden: true, role: 'status' });
  const errorBox = h('div', { class: 'error-box', hidden: true, role: 'alert' });
  const live = h('span', { class: 'live', role: 'status' }, 'connecting…');
  const steps = h('ol', { class: 'timeline', 'aria-label': 'Steps' });
  const subJobs = h('ul', { class: 'subjobs' });
  const treeBox = h('div', { class: 'tree-box' });
  const timeline = h('div', { class: 'timeline-box' });
  const causeBox = h('section', {
    class: 'panel cause',
    'aria-labelledby': 'cause-title',
    hidden: true,
    'data-testid': 'root-cause',
  });
  const runsBox = h('div', { class: 'runs-box' }, h('p', { class: 'hint' }, 'Loading…'));
  const retryHint = h('p', { class: 'hint', hidden: true });
  const summary = h('dl', { class: 'summary' });
  const views = new JsonViews();
  const data = h('div', { class: 'job-data' });
  // It scrolls on its own: focusable, so a keyboard can scroll it too.
  const logs = h('ol', { class: 'logs', 'aria-label': 'Log, newest last', tabindex: 0 });
  const feedback = h('p', { class: 'feedback', role: 'status', 'aria-live': 'polite' });

  const reason = h('input', {
    id: 'reason',
    name: 'reason',
    type: 'text',
    maxlength: 500,
    autocomplete: 'off',
  });
  const fromStep = h('select', { id: 'from-step', name: 'fromStep' });
  const buttons: Record<Action, HTMLButtonElement> = {
    pause: h('button', { type: 'button', 'data-action': 'pause' }, 'Pause'),
    resume: h('button', { type: 'button', 'data-action': 'resume' }, 'Resume'),
    cancel: h('button', { type: 'button', class: 'danger', 'data-action': 'cancel' }, 'Cancel…'),
    retry: h('button', { type: 'button', 'data-action': 'retry' }, 'Retry'),
    terminate: h('button', { type: 'button', class: 'danger', 'data-action': 'terminate' }, 'Terminate…'),
    'retry-step': h('button', { type: 'button', 'data-action': 'retry-step' }, 'Retry step'),
    'skip-step': h('button', { type: 'button', 'data-action': 'skip-step' }, 'Skip step'),
    'fail-step': h('button', { type: 'button', class: 'danger', 'data-action': 'fail-step' }, 'Fail job'),
  };
  const holdText = h('p', { class: 'hold-text' });
  const stallLine = h('p', { class: 'stall-line', hidden: true, role: 'status', 'data-testid': 'stall' });
  const queueLine = h('p', { class: 'stall-line', hidden: true, role: 'status', 'data-testid': 'queue' });
  const holdBox = h(
    'section',
    { class: 'panel hold', 'aria-labelledby': 'hold-title', hidden: true, 'data-testid': 'hold' },
    h('h2', { id: 'hold-title' }, 'Held: waiting for an operator'),
    holdText,
    h('div', { class: 'row' }, buttons['retry-step'], buttons['skip-step'], buttons['fail-step']),
    operator ? null : h('p', { class: 'hint' }, `Your key's role (${ctx.me.role}) cannot decide.`),
  );
  const approvalText = h('p', { class: 'approval-text' });
  const approvalHint = h('p', { class: 'hint', hidden: true });
  const approvalFeedback = h('p', { class: 'feedback', role: 'status', 'aria-live': 'polite' });
  const approvalComment = h('input', {
    id: 'approval-comment',
    name: 'comment',
    type: 'text',
    maxlength: 1000,
    autocomplete: 'off',
  });
  const approveButton = h('button', { type: 'button', 'data-action': 'approve' }, 'Approve');
  const rejectButton = h('button', { type: 'button', class: 'danger', 'data-action': 'reject' }, 'Reject');
  const approvalBox = h(
    'section',
    { class: 'panel approval', 'aria-labelledby': 'approval-title', hidden: true, 'data-testid': 'approval' },
    h('h2', { id: 'approval-title' }, 'Awaiting approval'),
    approvalText,
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'approval-comment' }, 'Comment (recorded with the decision)'),
      approvalComment,
    ),
    h('div', { class: 'row' }, approveButton, rejectButton),
    approvalHint,
    approvalFeedback,
  );
  /** The step that awaits a decision (the first, when several do), as last rendered. */
  let awaiting: StepState | null = null;
  const admin = ctx.me.role === 'admin';
  const terminateYes = h('button', { type: 'button', class: 'danger', value: 'yes' }, 'Terminate job');
  const terminateNo = h('button', { type: 'button', value: 'no', autofocus: true }, 'Keep it');
  const terminateDialog = h(
    'dialog',
    { 'aria-labelledby': 'terminate-title', class: 'confirm' },
    h('h2', { id: 'terminate-title' }, 'Terminate this job?'),
    h(
      'p',
      {},
      `Job ${jobId} stops at once in Temporal: no step finishes, no cleanup runs, and its sub-jobs are ` +
        'terminated with it. Use it for a job that cannot run or cannot be cancelled; the reason is recorded.',
    ),
    h('div', { class: 'row' }, terminateNo, terminateYes),
  );
  const confirmYes = h('button', { type: 'button', class: 'danger', value: 'yes' }, 'Cancel job');
  const confirmNo = h('button', { type: 'button', value: 'no', autofocus: true }, 'Keep running');
  const confirmText = h('p', {});
  const dialog = h(
    'dialog',
    { 'aria-labelledby': 'confirm-title', class: 'confirm' },
    h('h2', { id: 'confirm-title' }, 'Cancel this job?'),
    confirmText,
    h('div', { class: 'row' }, confirmNo, confirmYes),
  );

  const actions = h(
    'section',
    { class: 'panel actions', 'aria-labelledby': 'actions-title' },
    h('h2', { id: 'actions-title' }, 'Actions'),
    operator
      ? null
      : h('p', { class: 'hint' }, `Your key's role (${ctx.me.role}) can watch jobs but not act on them.`),
    h('div', { class: 'field' }, h('label', { for: 'reason' }, 'Reason (optional, recorded)'), reason),
    h('div', { class: 'row' }, buttons.pause, buttons.resume, buttons.cancel),
    h(
      'div',
      { class: 'row retry' },
      h('label', { for: 'from-step' }, 'Retry from step'),
      fromStep,
      buttons.retry,
    ),
    retryHint,
    admin ? h('div', { class: 'row terminate' }, buttons.terminate) : null,
    feedback,
    dialog,
    terminateDialog,
  );

  replace(
    page,
    h('p', { class: 'crumbs' }, h('a', { href: '/' }, '← Jobs'), ' ', live),
    h(
      'section',
      { class: 'panel card-head', 'aria-labelledby': 'job-title' },
      h('div', { class: 'title-row', id: 'job-title' }, title),
      status,
      h('div', { class: 'bar-row' }, bar, pct),
      links,
      notice,
      stallLine,
      queueLine,
      errorBox,
    ),
    holdBox,
    approvalBox,
    causeBox,
    h(
      'div',
      { class: 'columns' },
      h(
        'div',
        {},
        h(
          'section',
          { class: 'panel', 'aria-labelledby': 'steps-title' },
          h('h2', { id: 'steps-title' }, 'Steps'),
          steps,
        ),
        h(
          'section',
          { class: 'panel', 'aria-labelledby': 'timeline-title' },
          h('h2', { id: 'timeline-title' }, 'Timeline'),
          timeline,
        ),
        h(
          'section',
          { class: 'panel', 'aria-labelledby': 'data-title' },
          h('h2', { id: 'data-title' }, 'Input and output'),
          data,
        ),
      ),
      h(
        'div',
        {},
        actions,
        h(
          'section',
          { class: 'panel', 'aria-labelledby': 'subjobs-title' },
          h('h2', { id: 'subjobs-title' }, 'Active sub-jobs'),
          subJobs,
        ),
        h(
          'section',
          { class: 'panel', 'aria-labelledby': 'tree-title' },
          h('h2', { id: 'tree-title' }, 'Sub-job tree'),
          treeBox,
        ),
        h(
          'section',
          { class: 'panel', 'aria-labelledby': 'runs-title' },
          h('h2', { id: 'runs-title' }, 'Runs'),
          runsBox,
        ),
        h(
          'section',
          { class: 'panel', 'aria-labelledby': 'summary-title' },
          h('h2', { id: 'summary-title' }, 'Summary'),
          summary,
        ),
      ),
    ),
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'logs-title' },
      h('h2', { id: 'logs-title' }, 'Log'),
      logs,
    ),
  );

  let state: JobState | null = null;
  let busy = false;

  /**
   * The job's sub-jobs as `GET /api/jobs/:jobId/children` lists them (the chunk sub-jobs of a batch
   * step run under its coordinator, so the state's `activeSubJobs` names only the coordinator).
   * Read while sub-jobs run, at most every 1.5 s per page.
   */
  let tree: JobTreeNode[] = [];
  let treeLoaded = false;
  let treeAt = 0;
  let treeLoading = false;
  /** The closed run the tree was last read for: a closed job's tree is read once. */
  let treeClosedFor = '';
  const refreshTree = (): void => {
    if (!state || !state.steps.some((st) => st.kind === 'job' || st.kind === 'batch')) return;
    const closedKey = state.closedAt ? `${state.runId} ${state.closedAt}` : '';
    if (closedKey ? closedKey === treeClosedFor : treeLoaded && state.activeSubJobs.length === 0) return;
    if (treeLoading || Date.now() - treeAt < 1500) return;
    treeLoading = true;
    api<JobTreeNode[]>('GET', `/api/jobs/${encodeURIComponent(jobId)}/children`)
      .then(
        (t) => {
          tree = t;
          treeLoaded = true;
          if (closedKey) treeClosedFor = closedKey;
          if (state) render(state);
        },
        () => undefined,
      )
      .finally(() => {
        treeLoading = false;
        treeAt = Date.now();
      });
  };

  /** The root cause, read once a run closed failed or with errors. */
  let cause: RootCause | null = null;
  let causeFor = '';
  const refreshCause = (s: JobState): void => {
    const key = `${s.runId} ${s.closedAt}`;
    if (!s.closedAt || key === causeFor || shownRun) return;
    causeFor = key;
    if (s.status !== 'failed' && s.status !== 'completed_with_errors') {
      cause = null;
      return;
    }
    api<RootCause>('GET', `/api/jobs/${encodeURIComponent(jobId)}/cause`).then(
      (c) => {
        cause = c;
        if (state) render(state);
      },
      () => undefined,
    );
  };

  /** The job's runs: read when the card opens and whenever a run starts or closes. */
  let runsFor = '';
  const refreshRuns = (s: JobState): void => {
    const key = `${s.runId} ${s.closedAt}`;
    if (key === runsFor) return;
    runsFor = key;
    api<JobRuns>('GET', `/api/jobs/${encodeURIComponent(jobId)}/runs`).then(
      (r) => replace(runsBox, renderRuns(jobId, r.runs, s.runId)),
      () => replace(runsBox, h('p', { class: 'hint' }, 'The runs could not be read.')),
    );
  };

  /** Running sub-jobs: the state's (live progress) and the open chunk sub-jobs the tree adds. */
  const openSubJobs = (s: JobState): { id: string; type: string; status: JobStatus; progress: number }[] => {
    const direct = s.activeSubJobs.filter((j) => j.type !== BATCH_COORDINATOR);
    const known = new Set(direct.map((j) => j.id));
    const viaTree = s.activeSubJobs.some((j) => j.type === BATCH_COORDINATOR)
      ? tree
          .filter((n) => !TERMINAL.includes(n.status) && !known.has(n.jobId))
          .map((n) => ({ ...n, id: n.jobId }))
      : [];
    return [...direct, ...viaTree].sort((a, b) => a.id.localeCompare(b.id, undefined, { numeric: true }));
  };

  const renderSubJobs = (): void => {
    const s = state!;
    const coordinators = s.activeSubJobs.filter((j) => j.type === BATCH_COORDINATOR);
    const open = openSubJobs(s);
    replace(
      subJobs,
      coordinators.map((j) =>
        batchItem(
          j,
          s.steps.find((st) => st.key === j.step),
        ),
      ),
      open.map((j) =>
        h(
          'li',
          {},
          h('a', { href: jobHref(j.id), 'data-link': 'active-subjob' }, j.id),
          ' ',
          h('span', { class: 'hint' }, j.type),
          ' ',
          badge(j.status),
          progressBar(`Progress of sub-job ${j.id}`, j.progress),
        ),
      ),
      coordinators.length + open.length === 0 ? h('li', { class: 'hint' }, 'None running.') : null,
    );
  };
  /** The run and closing the retry choices were made for (the default moves once the job closed). */
  let retryChoicesFor = '';

  const enable = (): void => {
    for (const [action, button] of Object.entries(buttons) as [Action, HTMLButtonElement][]) {
      const allowed = action === 'terminate' ? admin : operator;
      button.disabled = !allowed || busy || !state || !actionFits(state, action);
    }
    fromStep.disabled = buttons.retry.disabled;
    reason.disabled = !operator;
    const a = awaiting?.approval;
    // Who may decide is the step's own role; a paused job takes no decision until it is resumed.
    const mayDecide = Boolean(a) && !shownRun && ROLE_RANK[ctx.me.role] >= ROLE_RANK[a!.role];
    const decidable = Boolean(
      state && state.closedAt === null && !state.cancellation && !state.control.paused,
    );
    approveButton.disabled = rejectButton.disabled = !mayDecide || !decidable || busy;
    approvalComment.disabled = !mayDecide;
    const hint = !a
      ? ''
      : !mayDecide
        ? `Your key's role (${ctx.me.role}) cannot decide: it takes ${roleText(a.role)}.`
        : state?.control.paused
          ? 'The job is paused: resume it to decide.'
          : '';
    approvalHint.hidden = hint === '';
    approvalHint.textContent = hint;
  };

  const render = (s: JobState): void => {
    state = s;
    document.title = `${s.jobId} · ${s.status} · Stepwise`;
    replace(title, s.jobId);
    const stepText =
      s.totalSteps > 0
        ? `Step ${s.currentStep}/${s.totalSteps}${s.stepName ? `: ${s.stepName}` : ''}`
        : 'Not started';
    replace(
      status,
      h('span', { class: 'type' }, s.type),
      badge(s.status),
      h('span', { class: 'step-of', 'data-testid': 'step-of' }, stepText),
      s.message ? h('span', { class: 'message' }, s.message) : null,
    );
    setProgress(bar, s.progress);
    pct.textContent = `${Math.round(s.progress)}%`;
    replace(
      data,
      views.get(`${s.runId} input`, 'input', s.input),
      s.output === null
        ? h('p', { class: 'hint' }, s.closedAt ? 'No output.' : 'No output yet.')
        : views.get(`${s.runId} output`, 'output', s.output),
    );
    const ui = webUiHref(ctx, s.jobId, s.runId);
    const trace = traceHref(ctx, s.traceId);
    replace(
      links,
      shownRun ? h('strong', {}, `Run ${s.runId} · `) : null,
      'Started ',
      at(s.startedAt, true),
      s.startedBy
        ? [' by ', h('span', { class: 'started-by', 'data-testid': 'started-by' }, s.startedBy)]
        : null,
      s.closedAt ? [' · closed ', at(s.closedAt, true)] : null,
      s.priority !== 3
        ? [
            ' · ',
            h(
              'span',
              { 'data-testid': 'priority' },
              `priority ${s.priority}${s.priority === 1 ? ' (highest)' : s.priority === 5 ? ' (lowest)' : ''}`,
            ),
          ]
        : null,
      s.recovery.attempt > 0
        ? ` · recovery ${s.recovery.attempt}/${s.recovery.max} from step ${s.recovery.fromStep}`
        : null,
      // Worker Deployment Versioning: the build that ran the job (states of older runs lack it).
      s.deployment
        ? [
            ' · build ',
            h(
              'span',
              {
                class: 'build',
                'data-testid': 'deployment',
                title: `Worker deployment ${s.deployment.name}, build ${s.deployment.buildId}, ${
                  s.deployment.behavior === 'pinned'
                    ? 'pinned: the job finishes on this build'
                    : 'auto-upgrade: the job moves to the current build at its next workflow task'
                }`,
              },
              `${s.deployment.buildId} (${s.deployment.behavior === 'pinned' ? 'pinned' : 'auto-upgrade'})`,
            ),
          ]
        : null,
      s.parentJobId
        ? [' · sub-job of ', h('a', { href: jobHref(s.parentJobId), 'data-link': 'parent' }, s.parentJobId)]
        : null,
      ui
        ? [
            ' · ',
            h(
              'a',
              { href: ui, target: '_blank', rel: 'noopener', 'data-link': 'temporal-ui' },
              'Open in Temporal UI',
            ),
          ]
        : null,
      trace
        ? [
            ' · ',
            h('a', { href: trace, target: '_blank', rel: 'noopener', 'data-link': 'trace' }, 'Open trace'),
          ]
        : null,
      s.closedAt ? null : [' · ', etaText(s)],
    );

    // Cancellation: what is still being waited for while cancelling; what was left once it closed.
    const c = s.cancellation;
    if (c && s.status === 'cancelling') {
      notice.hidden = false;
      const left = s.runningSubJobs;
      replace(
        notice,
        h('strong', {}, `cancelling — ${left} sub-job${left === 1 ? '' : 's'} left`),
        c.by || c.reason ? ` (${[c.by && `by ${c.by}`, c.reason].filter(Boolean).join(': ')})` : null,
      );
    } else if (c && c.leftRunning.length > 0) {
      notice.hidden = false;
      replace(
        notice,
        h('strong', {}, 'Left running when the job stopped waiting: '),
        c.leftRunning.join(', '),
      );
    } else if (c) {
      notice.hidden = false;
      replace(
        notice,
        `Cancelled${c.by ? ` by ${c.by}` : ''}${c.reason ? `: ${c.reason}` : ''}; every sub-job stopped.`,
      );
    } else if (shownRun) {
      notice.hidden = false;
      replace(
        notice,
        'An earlier run of this job, as it ended. ',
        h('a', { href: jobHref(jobId), 'data-link': 'latest-run' }, 'See the latest run'),
        '.',
      );
    } else notice.hidden = true;

    queueLine.hidden = !s.queue || s.closedAt !== null;
    if (s.queue) {
      const q = s.queue;
      const limit = `${q.limit} at once of ${q.jobType}${q.key !== null ? ` for “${q.key}”` : ''}`;
      replace(
        queueLine,
        h('strong', {}, 'Queued: '),
        q.position !== null ? `number ${q.position} in line` : 'joining the line',
        ` for a slot (${limit}${q.running !== null ? `; ${q.running} running` : ''}), priority ${q.priority}, since `,
        at(q.since, true),
        '.',
      );
    }
    stallLine.hidden = !s.stalled;
    if (s.stalled) {
      replace(
        stallLine,
        h('strong', {}, `Stalled: “${s.stalled.stepName}” `),
        `has reported no progress since `,
        at(s.stalled.since, true),
        ` (its threshold is ${duration(s.stalled.thresholdMs)}).`,
      );
    }
    holdBox.hidden = !s.hold || s.closedAt !== null;
    if (s.hold) {
      replace(
        holdText,
        h('strong', {}, `Step “${s.hold.stepName}”`),
        ` failed after ${s.hold.attempts} attempt${s.hold.attempts === 1 ? '' : 's'}: `,
        h('span', { class: 'error' }, s.hold.error.message),
        ` — held since `,
        at(s.hold.since, true),
        s.hold.timeoutAt ? [' · fails at ', at(s.hold.timeoutAt)] : null,
        '. Retry it (one more attempt) after fixing the cause, skip it (the steps after it run), or fail the job.',
      );
    }
    awaiting =
      s.closedAt === null
        ? (s.steps.find((st) => st.status === 'running' && st.approval?.status === 'awaiting') ?? null)
        : null;
    approvalBox.hidden = awaiting === null;
    if (awaiting?.approval) {
      const a = awaiting.approval;
      replace(
        approvalText,
        h('strong', {}, `Step “${awaiting.name}”`),
        ` — awaiting approval by ${roleText(a.role)}`,
        a.timeoutAt ? [' (until ', at(a.timeoutAt), ')'] : null,
        ', since ',
        at(a.since, true),
        '. ',
        a.message ? h('span', { class: 'approval-message' }, a.message) : null,
        a.timeoutAt
          ? ` Without a decision in time the job ${a.onTimeout === 'fail' ? 'fails' : 'goes on'};`
          : ' No time limit;',
        ` a rejection ${a.onReject === 'fail' ? 'fails the job' : 'lets it go on'}.`,
      );
    }
    errorBox.hidden = !s.error;
    if (s.error) replace(errorBox, s.error.step ? `Step ${s.error.step}: ` : '', s.error.message);

    const causeHere = cause && cause.jobId === s.jobId && s.closedAt ? cause : null;
    const causeStep = causeHere?.path[0]?.stepName ?? null;
    const consequences = new Set(causeHere?.consequences.map((q) => q.step));
    replace(
      steps,
      s.steps.map((st) =>
        stepItem(
          st,
          st.index === s.currentStep && !s.closedAt,
          views,
          s.runId,
          consequences.has(st.key) ? causeStep : null,
          s.type === BULK_JOB_TYPE,
        ),
      ),
    );
    causeBox.hidden = !causeHere?.cause;
    if (causeHere?.cause) {
      replace(causeBox, h('h2', { id: 'cause-title' }, 'Root cause'), renderCause(causeHere));
    }
    replace(timeline, renderTimeline(s, treeLoaded ? tree : null));
    renderSubJobs();
    const hasSubJobSteps = s.steps.some((st) => st.kind === 'job' || st.kind === 'batch');
    replace(
      treeBox,
      hasSubJobSteps ? renderTree(treeLoaded ? tree : null, s.jobId) : renderTree([], s.jobId),
    );
    retryHint.hidden = !s.parentJobId;
    if (s.parentJobId) {
      replace(
        retryHint,
        'A sub-job runs again when its parent is retried: ',
        h('a', { href: jobHref(s.parentJobId) }, s.parentJobId),
        '.',
      );
    }
    replace(
      summary,
      (
        [
          ['Items processed', s.summary.itemsProcessed],
          ['Items created', s.summary.itemsCreated],
          ['Items failed', s.summary.itemsFailed],
          ['Errors', s.summary.totalErrors],
        ] as const
      ).map(([k, v]) => h('div', {}, h('dt', {}, k), h('dd', {}, v))),
    );
    const tail = s.logs.slice(-50);
    replace(
      logs,
      tail.length === 0
        ? h('li', { class: 'hint' }, 'No log lines yet.')
        : tail.map((l) =>
            h(
              'li',
              { class: `log l-${l.level}` },
              h('time', { datetime: l.at }, when(l.at)),
              h('span', { class: 'level' }, l.level),
              l.step !== null ? h('span', { class: 'hint' }, `step ${l.step}`) : null,
              h('span', { class: 'msg' }, l.message),
              l.entity ? entityLink(l.entity) : null,
            ),
          ),
    );

    // The retry choices: every step, preselecting the first that did not complete.
    const choiceKey = `${s.runId}:${s.closedAt}`;
    if (choiceKey !== retryChoicesFor) {
      retryChoicesFor = choiceKey;
      const firstOpen = s.steps.find((st) => st.status !== 'completed' && st.status !== 'skipped');
      replace(
        fromStep,
        s.steps.map((st) =>
          h(
            'option',
            { value: st.index, selected: st.index === firstOpen?.index },
            `${st.index}. ${st.name}`,
          ),
        ),
      );
    }
    enable();
    refreshTree();
    refreshCause(s);
    refreshRuns(s);
  };

  let closeStream: (() => void) | null = null;
  let received = false;
  const connect = (): void => {
    if (shownRun) {
      // A closed earlier run: read once, no stream, no actions.
      live.textContent = 'an earlier run';
      api<JobState>(
        'GET',
        `/api/jobs/${encodeURIComponent(jobId)}?runId=${encodeURIComponent(shownRun)}`,
      ).then(render, (err: unknown) => {
        errorBox.hidden = false;
        replace(errorBox, err instanceof Error ? err.message : String(err));
      });
      return;
    }
    closeStream?.();
    received = false;
    closeStream = stream(`/api/jobs/${encodeURIComponent(jobId)}/events`, ['state', 'closed'], {
      onEvent(event, data) {
        received = true;
        render(data as JobState);
        if (event === 'closed') {
          closeStream?.();
          live.textContent = 'closed';
          live.className = 'live ended';
        }
      },
      onStatus(st) {
        if (st === 'open') {
          live.textContent = 'live';
          live.className = 'live open';
        } else if (st === 'reconnecting') {
          live.textContent = 'reconnecting…';
          live.className = 'live reconnecting';
        } else if (!received) {
          // Refused before it started (404, 401…): the JSON answer says why.
          api<JobState>('GET', `/api/jobs/${encodeURIComponent(jobId)}`).then(render, (err: unknown) => {
            live.textContent = 'not live';
            errorBox.hidden = false;
            replace(errorBox, err instanceof Error ? err.message : String(err));
          });
        }
      },
    });
  };

  const act = async (action: Action): Promise<void> => {
    busy = true;
    enable();
    feedback.textContent = `${action}…`;
    try {
      const path = `/api/jobs/${encodeURIComponent(jobId)}/${action}`;
      if (action === 'retry') {
        const started = await api<{ runId: string }>('POST', path, { fromStep: Number(fromStep.value) });
        feedback.textContent = `Retry started (run ${started.runId}).`;
        connect();
      } else if (action === 'terminate') {
        const text = reason.value.trim();
        await api('DELETE', `/api/jobs/${encodeURIComponent(jobId)}`, text ? { reason: text } : {});
        feedback.textContent = 'Terminated.';
        reason.value = '';
      } else {
        const text = reason.value.trim();
        await api('POST', path, text ? { reason: text } : {});
        feedback.textContent = `${action[0].toUpperCase()}${action.slice(1)} accepted.`;
        reason.value = '';
      }
    } catch (err) {
      feedback.textContent =
        err instanceof ApiError ? `Refused (${err.status}): ${err.message}` : `Failed: ${String(err)}`;
    } finally {
      busy = false;
      enable();
    }
  };

  const decide = async (decision: 'approve' | 'reject'): Promise<void> => {
    const step = awaiting;
    if (!step) return;
    busy = true;
    enable();
    approvalFeedback.textContent = `${decision}…`;
    try {
      const text = approvalComment.value.trim();
      await api(
        'POST',
        `/api/jobs/${encodeURIComponent(jobId)}/steps/${encodeURIComponent(step.key)}/${decision}`,
        text ? { comment: text } : {},
      );
      approvalFeedback.textContent = `${decision === 'approve' ? 'Approval' : 'Rejection'} of “${step.name}” accepted.`;
      approvalComment.value = '';
    } catch (err) {
      approvalFeedback.textContent =
        err instanceof ApiError ? `Refused (${err.status}): ${err.message}` : `Failed: ${String(err)}`;
    } finally {
      busy = false;
      enable();
    }
  };
  approveButton.addEventListener('click', () => void decide('approve'));
  rejectButton.addEventListener('click', () => void decide('reject'));
  buttons['retry-step'].addEventListener('click', () => void act('retry-step'));
  buttons['skip-step'].addEventListener('click', () => void act('skip-step'));
  buttons['fail-step'].addEventListener('click', () => void act('fail-step'));
  buttons.pause.addEventListener('click', () => void act('pause'));
  buttons.resume.addEventListener('click', () => void act('resume'));
  buttons.retry.addEventListener('click', () => void act('retry'));
  buttons.terminate.addEventListener('click', () => terminateDialog.showModal());
  terminateNo.addEventListener('click', () => terminateDialog.close());
  terminateYes.addEventListener('click', () => {
    terminateDialog.close();
    void act('terminate');
  });
  buttons.cancel.addEventListener('click', () => {
    // The state counts the sub-jobs that run, a batch step's chunk sub-jobs included.
    const left = state?.runningSubJobs ?? 0;
    confirmText.textContent =
      `Job ${jobId} stops: running steps are cancelled` +
      (left ? ` and its ${left} running sub-job${left === 1 ? ' is' : 's are'} asked to stop` : '') +
      '. A cancelled job can be retried later.';
    dialog.showModal();
  });
  confirmNo.addEventListener('click', () => dialog.close());
  confirmYes.addEventListener('click', () => {
    dialog.close();
    void act('cancel');
  });

  // The retry countdowns tick between state events; the sub-job list is refreshed meanwhile.
  let timelineAt = 0;
  setInterval(() => {
    refreshTree();
    // A running job's timeline grows with the clock.
    if (state && !state.closedAt && Date.now() - timelineAt > 2000) {
      timelineAt = Date.now();
      replace(timeline, renderTimeline(state, treeLoaded ? tree : null));
    }
    for (const el of page.querySelectorAll<HTMLElement>('[data-until]')) {
      el.textContent = untilText(el.dataset.until!);
    }
    refreshTimes(page);
  }, 500);

  enable();
  connect();
}
