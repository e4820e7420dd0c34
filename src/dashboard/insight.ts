/**
 * What a job's card leads with beyond its steps: why it failed (`GET /api/jobs/:jobId/cause`: the
 * deepest failing step, the chunk errors grouped, the steps that did not run because of it), when it
 * should end (the state's `eta`), who started it, and its runs (`GET /api/jobs/:jobId/runs`: the
 * first and each retry, each a link to that run's own card).
 */
import { duration, h, jobHref, timeEl, when, type Child } from './dom.js';
import type { JobRun, JobState, RootCause } from './types.js';

/** `/jobs/<id>?run=<runId>`: the card of one run of a job. */
export const runHref = (jobId: string, runId: string): string =>
  `${jobHref(jobId)}?run=${encodeURIComponent(runId)}`;

/** "ETA 14:05:09 CET (in 3 min) · from 4 completed runs", or why there is none. */
export function etaText(state: JobState): Child {
  const eta = state.eta;
  if (state.closedAt || !eta) return null;
  if (!eta.at) return h('span', { class: 'eta hint', 'data-testid': 'eta' }, `ETA: ${eta.note}`);
  return h(
    'span',
    { class: 'eta', 'data-testid': 'eta' },
    'ETA ',
    h('time', { datetime: eta.at }, when(eta.at)),
    ' (',
    eta.remainingMs !== null ? `${duration(eta.remainingMs)} left` : timeEl(eta.at),
    ') ',
    h('span', { class: 'hint' }, eta.note),
  );
}

/** The root-cause panel's content. */
export function renderCause(cause: RootCause): Child {
  const c = cause.cause;
  if (!c) return null;
  const where = c.step ? `Step “${c.stepName ?? c.step}” of ${c.type}` : `Job ${c.type}`;
  const deeper = c.jobId !== cause.jobId;
  return [
    h(
      'p',
      { class: 'cause-head' },
      h('strong', {}, where),
      deeper ? [' in ', h('a', { href: jobHref(c.jobId), 'data-link': 'cause' }, c.jobId)] : null,
      ' failed',
      c.error
        ? [': ', h('span', { class: 'error' }, c.error.type ? `${c.error.type}: ` : '', c.error.message)]
        : '.',
    ),
    cause.path.length > 1
      ? h(
          'p',
          { class: 'cause-path hint' },
          'Path: ',
          cause.path.map((p, i) => [
            i > 0 ? ' → ' : null,
            h('a', { href: jobHref(p.jobId), 'data-link': 'cause-path' }, p.jobId),
            p.stepName ? ` (${p.stepName})` : null,
          ]),
        )
      : null,
    cause.groups.length
      ? h(
          'ul',
          { class: 'cause-groups', 'aria-label': 'Failed chunks, grouped by error' },
          cause.groups.map((g) =>
            h(
              'li',
              {},
              h('strong', {}, `${g.count} chunk${g.count === 1 ? '' : 's'} failed: `),
              g.type ? `${g.type}: ` : '',
              g.message,
              g.jobIds.length
                ? h(
                    'span',
                    { class: 'cause-links' },
                    ' — ',
                    g.jobIds.map((id, i) => [
                      i > 0 ? ', ' : null,
                      h(
                        'a',
                        { href: jobHref(id), title: id, 'data-link': 'cause-chunk' },
                        `#${g.chunks[i] ?? i}`,
                      ),
                    ]),
                    g.count > g.jobIds.length ? ` and ${g.count - g.jobIds.length} more` : null,
                  )
                : g.chunks.length
                  ? h('span', { class: 'hint' }, ` (chunks ${g.chunks.map((n) => `#${n}`).join(', ')})`)
                  : null,
            ),
          ),
        )
      : null,
    cause.groupsTruncated
      ? h(
          'p',
          { class: 'hint' },
          `${cause.failedChunks ?? 'More'} chunks failed in all; the groups show those read.`,
        )
      : null,
    cause.consequences.length
      ? h(
          'p',
          { class: 'cause-consequences' },
          'Because of it: ',
          cause.consequences.map((q, i) => [
            i > 0 ? ', ' : null,
            `“${q.stepName}” ${q.status.replace(/_/g, ' ')}`,
          ]),
          '.',
        )
      : null,
  ];
}

/** The runs panel: newest first, the one shown marked. */
export function renderRuns(jobId: string, runs: JobRun[], shownRunId: string): Child {
  if (runs.length <= 1) return h('p', { class: 'hint' }, 'This job has run once (no retries).');
  return h(
    'ol',
    { class: 'runs', 'aria-label': 'Runs of this job, newest first' },
    runs.map((r, i) =>
      h(
        'li',
        { 'aria-current': r.runId === shownRunId ? 'page' : false },
        h(
          'a',
          { href: i === 0 ? jobHref(jobId) : runHref(jobId, r.runId), 'data-link': 'run', title: r.runId },
          r.recoveryAttempt > 0 ? `Retry ${r.recoveryAttempt} from step ${r.fromStep}` : 'First run',
        ),
        ' ',
        h('span', { class: `badge s-${r.status}` }, r.status.replace(/_/g, ' ')),
        ' ',
        timeEl(r.startedAt),
        r.startedBy ? h('span', { class: 'hint' }, ` by ${r.startedBy}`) : null,
        r.runId === shownRunId ? h('span', { class: 'hint' }, ' (shown)') : null,
      ),
    ),
  );
}
