/**
 * Why a job failed or ended `completed_with_errors`: the deepest failure under it — down through
 * the sub-job of a failed `job` step, and into the chunks of a failed batch step, whose errors are
 * grouped by message — and the job's steps that did not run, or stopped, because of it.
 *
 * What it reads, bounded: the states of the job and of the sub-jobs on the path (at most
 * {@link MAX_DEPTH}); for a batch step of chunk sub-jobs, one visibility list of its failed chunks
 * (at most {@link MAX_CHUNKS}) and each one's close event (its failure, no worker replay); for a
 * batch step of activities, its coordinator's close event (the first failures it recorded).
 */
import type { Client } from '@temporalio/client';
import type { JobState, StepState } from '../../workflows/contracts';
import type { BatchOutcome } from '../../workflows/engine/batch-contracts';
import { JobStatusKey } from '../../workflows/search-attributes';
import type { RootCause, RootCauseGroup } from '../api/contracts';
import { temporalCall } from './deadlines';
import { runEvents, runResult } from './job-runs';

/** How far down sub-jobs the search goes. */
export const MAX_DEPTH = 6;
/** Failed chunk sub-jobs of one batch step read for grouping. */
export const MAX_CHUNKS = 200;
/** Job ids a group lists (its count is exact). */
export const MAX_GROUP_IDS = 50;
const IN_FLIGHT = 8;
/** The message of a step skipped by its own `when` (the scheduler's): not a consequence of anything. */
const CONDITION_NOT_MET = 'Condition not met';

type Run = { workflowId: string; runId?: string };

/** The step of `state` that failed it: its `error.step`, or the first step that failed in a partly failed job. */
export function failingStep(state: JobState): StepState | null {
  if (state.status === 'failed') {
    return state.steps.find((s) => s.key === state.error?.step) ?? null;
  }
  const failed = state.steps.filter((s) => s.status === 'failed');
  failed.sort((a, b) => (a.completedAt ?? '').localeCompare(b.completedAt ?? ''));
  return failed[0] ?? null;
}

/** The steps of `state` that did not run, were skipped or stopped because `cause` failed. */
export function consequencesOf(state: JobState, cause: StepState | null): RootCause['consequences'] {
  const dependsOnCause = (key: string, seen = new Set<string>()): boolean => {
    if (!cause || seen.has(key)) return false;
    seen.add(key);
    const s = state.steps.find((x) => x.key === key);
    return (s?.dependsOn ?? []).some((d) => d === cause.key || dependsOnCause(d, seen));
  };
  return state.steps
    .filter(
      (s) =>
        s.key !== cause?.key &&
        (s.status === 'not_run' ||
          s.status === 'cancelled' ||
          (s.status === 'skipped' && s.message !== CONDITION_NOT_MET && dependsOnCause(s.key))),
    )
    .map((s) => ({ step: s.key, stepName: s.name, status: s.status }));
}

/** Groups failures with the same error type and message, largest group first. */
export function groupFailures(
  failures: readonly { jobId: string | null; chunk: number | null; message: string; type: string | null }[],
): RootCauseGroup[] {
  const groups = new Map<string, RootCauseGroup>();
  for (const f of failures) {
    const key = `${f.type ?? ''}\u0000${f.message}`;
    const g = groups.get(key) ?? { message: f.message, type: f.type, count: 0, jobIds: [], chunks: [] };
    g.count++;
    if (f.jobId && g.jobIds.length < MAX_GROUP_IDS) g.jobIds.push(f.jobId);
    if (f.chunk !== null && g.chunks.length < MAX_GROUP_IDS) g.chunks.push(f.chunk);
    groups.set(key, g);
  }
  return [...groups.values()].sort((a, b) => b.count - a.count);
}

/** The chunk ids of a batch step's coordinator `<job>/<step>[-rN][-aK]`: `<job>/<step>[-rN]/<i>[-aK]`. */
export function chunkIdPattern(coordinatorId: string): { prefix: string; matches: (id: string) => boolean } {
  const m = /^(.*?)(-a\d+)?$/.exec(coordinatorId)!;
  const prefix = `${m[1]}/`;
  const suffix = m[2] ?? '';
  const re = new RegExp(`^\\d+${suffix}$`);
  return { prefix, matches: (id) => id.startsWith(prefix) && re.test(id.slice(prefix.length)) };
}

export class RootCauseFinder {
  constructor(
    private readonly client: Client,
    /** A job's state as the client shows it. */
    private readonly state: (jobId: string) => Promise<JobState>,
  ) {}

  async find(jobId: string): Promise<RootCause> {
    const top = await this.state(jobId);
    const empty: RootCause = {
      jobId,
      status: top.status,
      cause: null,
      path: [],
      consequences: [],
      groups: [],
      groupsTruncated: false,
      failedChunks: null,
    };
    if (top.status !== 'failed' && top.status !== 'completed_with_errors') return empty;
    const out = { ...empty, consequences: consequencesOf(top, failingStep(top)) };
    let cur = top;
    for (let depth = 0; depth <= MAX_DEPTH; depth++) {
      const step = failingStep(cur);
      out.path.push({
        jobId: cur.jobId,
        type: cur.type,
        step: step?.key ?? null,
        stepName: step?.name ?? null,
      });
      const here = {
        jobId: cur.jobId,
        type: cur.type,
        step: step?.key ?? null,
        stepName: step?.name ?? null,
        error:
          step?.error ??
          (cur.error
            ? { message: cur.error.message, type: cur.error.type, nonRetryable: cur.error.nonRetryable }
            : null),
      };
      out.cause = here;
      if (!step || depth === MAX_DEPTH) break;
      const childId = step.subJobIds.at(-1);
      if (!childId) break;
      if (step.kind === 'job') {
        const child = await this.state(childId).catch(() => null);
        if (!child || (child.status !== 'failed' && child.status !== 'completed_with_errors')) break;
        cur = child;
        continue;
      }
      if (step.kind === 'batch') {
        const { failures, total, truncated } = await this.chunkFailures(childId);
        out.groups = groupFailures(failures);
        out.groupsTruncated = truncated;
        out.failedChunks = total;
        // The cause is the largest group's first chunk, when chunks are sub-jobs.
        const first = out.groups[0];
        const chunkId = first?.jobIds[0];
        if (first)
          out.cause = { ...here, error: { message: first.message, type: first.type, nonRetryable: true } };
        if (!chunkId) break;
        const chunk = await this.state(chunkId).catch(() => null);
        if (!chunk || chunk.status !== 'failed') break;
        cur = chunk;
        continue;
      }
      break;
    }
    return out;
  }

  /** The failed chunks of the batch step that `coordinatorId` ran, with their errors. */
  private async chunkFailures(coordinatorId: string): Promise<{
    failures: { jobId: string | null; chunk: number | null; message: string; type: string | null }[];
    total: number;
    truncated: boolean;
  }> {
    const namespace = this.client.options.namespace;
    const { prefix, matches } = chunkIdPattern(coordinatorId);
    const res = await temporalCall(this.client, 'rpc', () =>
      this.client.workflowService.listWorkflowExecutions({
        namespace,
        query: `WorkflowId STARTS_WITH '${prefix.replace(/'/g, "\\'")}' AND ${JobStatusKey.name} = 'failed'`,
        pageSize: MAX_CHUNKS,
      }),
    );
    const runs = (res.executions ?? [])
      .map((e) => ({ workflowId: e.execution?.workflowId ?? '', runId: e.execution?.runId ?? '' }))
      .filter((r) => matches(r.workflowId));
    if (runs.length > 0) {
      const failures = await inBatches(runs, IN_FLIGHT, async (run) => {
        const f = await this.closeFailure(namespace, run);
        const chunk = Number(/^(\d+)/.exec(run.workflowId.slice(prefix.length))?.[1]);
        return { jobId: run.workflowId, chunk, ...f };
      });
      failures.sort((a, b) => a.chunk - b.chunk);
      return { failures, total: runs.length, truncated: (res.nextPageToken?.length ?? 0) > 0 };
    }
    // A batch of activities: the first failures its coordinator recorded.
    const outcome = await temporalCall(this.client, 'rpc', () =>
      runResult<BatchOutcome>(this.client, namespace, { workflowId: coordinatorId, runId: '' }),
    ).catch(() => null);
    if (!outcome) return { failures: [], total: 0, truncated: false };
    return {
      failures: outcome.failures.map((f) => ({
        jobId: null,
        chunk: f.chunk,
        message: f.message,
        type: null,
      })),
      total: outcome.counts.failed,
      truncated: outcome.counts.failed > outcome.failures.length,
    };
  }

  /** The innermost error of a failed run, from its close event. */
  private async closeFailure(namespace: string, run: Run): Promise<{ message: string; type: string | null }> {
    const last = await temporalCall(this.client, 'rpc', () =>
      runEvents(this.client, namespace, { workflowId: run.workflowId, runId: run.runId ?? '' }, 'last'),
    ).catch(() => undefined);
    let f = last?.workflowExecutionFailedEventAttributes?.failure;
    while (f?.cause) f = f.cause;
    if (!f) return { message: 'failed (no failure recorded)', type: null };
    return { message: f.message ?? '', type: f.applicationFailureInfo?.type || null };
  }
}

async function inBatches<T, R>(items: readonly T[], n: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += n) out.push(...(await Promise.all(items.slice(i, i + n).map(fn))));
  return out;
}
