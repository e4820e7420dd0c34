/**
 * The job's timeline (a Gantt chart) on its card: one row per step with its attempts (coloured by
 * how they ended) and the waits between them, one row per sub-job (from the tree), and the job's
 * pauses as bands across every row — on one time axis from the job's start to its close (or now,
 * while it runs). Drawn from the state's `steps[].attempts` and `control.actions` and the tree's
 * `startedAt`/`closedAt`; each row also says in words what it shows, for screen readers.
 */
import { duration, h, jobHref, when, type Child } from './dom.js';
import type { JobState, JobTreeNode, StepState } from './types.js';

/** Sub-job rows shown (a large batch's chunks beyond it are counted, not drawn). */
const MAX_SUBJOB_ROWS = 20;

type Span = { from: number; to: number; kind: string; title: string };

/** The job's pauses: from each pause to the resume after it (or the end). */
export function pauseSpans(state: JobState, end: number): { from: number; to: number }[] {
  const out: { from: number; to: number }[] = [];
  let from: number | null = null;
  for (const a of state.control.actions) {
    const t = Date.parse(a.at);
    if (a.action === 'pause' && from === null) from = t;
    else if ((a.action === 'resume' || a.action === 'cancel') && from !== null) {
      out.push({ from, to: t });
      from = null;
    }
  }
  if (from !== null) out.push({ from, to: end });
  return out;
}

/** A step's attempts and the waits between them, as spans. */
export function stepSpans(step: StepState, end: number): Span[] {
  const spans: Span[] = [];
  step.attempts.forEach((a, i) => {
    const from = Date.parse(a.startedAt);
    const to = a.endedAt ? Date.parse(a.endedAt) : end;
    const took = duration(Math.max(0, to - from));
    spans.push({
      from,
      to,
      kind: `g-attempt o-${a.outcome}`,
      title: `Attempt ${a.attempt}: ${a.outcome === 'running' ? `running for ${took}` : `${a.outcome} after ${took}`}${a.error ? ` — ${a.error}` : ''}`,
    });
    if (a.outcome === 'failed' && a.endedAt && (a.retryAt || step.attempts[i + 1])) {
      const next = step.attempts[i + 1];
      const waitEnd = next ? Date.parse(next.startedAt) : Math.min(end, Date.parse(a.retryAt ?? a.endedAt));
      spans.push({
        from: to,
        to: Math.max(to, waitEnd),
        kind: 'g-wait',
        title: `Retry wait before attempt ${a.attempt + 1}: ${duration(Math.max(0, waitEnd - to))}`,
      });
    }
  });
  return spans;
}

function bar(span: Span, t0: number, total: number): HTMLElement {
  const el = h('span', { class: `g-bar ${span.kind}`, title: span.title });
  const left = ((span.from - t0) / total) * 100;
  const width = Math.max(0.4, ((span.to - span.from) / total) * 100);
  el.style.left = `${Math.max(0, Math.min(100, left))}%`;
  el.style.width = `${Math.max(0, Math.min(100 - Math.max(0, left), width))}%`;
  return el;
}

function row(
  label: Child,
  spans: Span[],
  pauses: Span[],
  t0: number,
  total: number,
  said: string,
): HTMLLIElement {
  return h(
    'li',
    { class: 'g-row' },
    h('span', { class: 'g-label' }, label),
    h(
      'span',
      { class: 'g-track', 'aria-hidden': 'true' },
      pauses.map((p) => bar(p, t0, total)),
      spans.map((s) => bar(s, t0, total)),
    ),
    h('span', { class: 'sr-only' }, said),
  );
}

/** The timeline of `state` (and its sub-jobs, from `tree`), at `now`. */
export function renderTimeline(state: JobState, tree: JobTreeNode[] | null, now: number = Date.now()): Child {
  const t0 = Date.parse(state.startedAt);
  const end = state.closedAt ? Date.parse(state.closedAt) : Math.max(now, t0 + 1);
  const total = Math.max(1, end - t0);
  const pauses: Span[] = pauseSpans(state, end).map((p) => ({
    ...p,
    kind: 'g-pause',
    title: `Paused for ${duration(p.to - p.from)}`,
  }));
  const steps = state.steps.map((st) => {
    const spans = stepSpans(st, end);
    const said =
      spans.length === 0
        ? `${st.name}: ${st.status.replace(/_/g, ' ')}, no attempt.`
        : `${st.name}: ${spans.map((s) => s.title).join('; ')}.`;
    return row(`${st.index}. ${st.name}`, spans, pauses, t0, total, said);
  });
  const nodes = tree ?? [];
  const subJobs = nodes.slice(0, MAX_SUBJOB_ROWS).map((n) => {
    const from = Date.parse(n.startedAt);
    const to = n.closedAt ? Date.parse(n.closedAt) : end;
    const title = `${n.jobId}: ${n.status.replace(/_/g, ' ')}, ${duration(Math.max(0, to - from))}`;
    const short = n.jobId.startsWith(`${state.jobId}/`) ? n.jobId.slice(state.jobId.length + 1) : n.jobId;
    return row(
      h('a', { href: jobHref(n.jobId), title: n.jobId, 'data-link': 'timeline' }, short),
      [{ from, to, kind: `g-sub s-${n.status}`, title }],
      pauses,
      t0,
      total,
      `Sub-job ${title}.`,
    );
  });
  return [
    h(
      'p',
      { class: 'g-axis hint' },
      h('time', { datetime: state.startedAt }, when(state.startedAt)),
      ' → ',
      state.closedAt ? h('time', { datetime: state.closedAt }, when(state.closedAt)) : 'now',
      ` (${duration(total)})`,
      pauses.length ? ` · ${pauses.length} pause${pauses.length === 1 ? '' : 's'}` : null,
    ),
    h('ol', { class: 'gantt', 'aria-label': 'Timeline of steps and sub-jobs' }, steps, subJobs),
    nodes.length > MAX_SUBJOB_ROWS
      ? h('p', { class: 'hint' }, `${nodes.length - MAX_SUBJOB_ROWS} more sub-jobs in the tree below.`)
      : null,
    h(
      'p',
      { class: 'g-legend hint', 'aria-hidden': 'true' },
      h('span', { class: 'g-key o-completed' }),
      ' completed ',
      h('span', { class: 'g-key o-failed' }),
      ' failed attempt ',
      h('span', { class: 'g-key g-wait' }),
      ' retry wait ',
      h('span', { class: 'g-key o-running' }),
      ' running ',
      h('span', { class: 'g-key g-pause' }),
      ' paused',
    ),
  ];
}
