/**
 * Finding jobs: listing by search attributes (`JobType`, `JobStatus`, `JobRecoverable`,
 * `JobParentId`) with Temporal's own pagination, and a job's sub-job tree.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Client, RawWorkflowExecutionInfo } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { StepwiseApp } from '../../workflows/engine/app';
import {
  isTerminal,
  JOB_STATUSES,
  progressQuery,
  TERMINAL_STATUSES,
  type JobStatus,
} from '../../workflows/contracts';
import {
  JobParentIdKey,
  JobProgressKey,
  JobRecoverableKey,
  JobStatusKey,
  JobStartedByKey,
  JobStepKey,
  JobTypeKey,
} from '../../workflows/search-attributes';
import type { JobList, JobSort, JobSummary, JobTreeNode, ListJobsQuery } from '../api/jobs/schemas';
import type { JobRun, SubtreeCounts } from '../api/contracts';
import { decodeJobSearchAttributes } from '../search-attributes';
import { concurrencyLimit, temporalCall } from './deadlines';
import { InvalidArgument } from './errors';
import { runStartParams } from './job-runs';
import { describeStepwiseJob } from './stepwise-job';
import { during } from './temporal-errors';

const { WorkflowExecutionStatus } = temporal.api.enums.v1;

/** A visibility query string literal. */
export const lit = (v: string): string => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** Open job statuses: a run closed in Temporal with one of these never wrote its final status. */
const OPEN_STATUSES = JOB_STATUSES.filter((s) => !isTerminal(s));
/** Closed in Temporal (terminated, timed out, cancelled natively) while its `JobStatus` still says open. */
const CLOSED_OUTSIDE = `${JobStatusKey.name} IN (${OPEN_STATUSES.map(lit).join(', ')}) AND ExecutionStatus != 'Running'`;

/** The visibility clause for a `status` filter, matching what {@link toSummary} shows. */
function statusClause(status: JobStatus): string {
  const attr = `${JobStatusKey.name} = ${lit(status)}`;
  // A job killed outside Stepwise (terminated, timed out) never wrote its final status.
  if (!isTerminal(status)) return `${attr} AND ExecutionStatus = 'Running'`;
  if (status === 'failed') return `(${attr} OR (${CLOSED_OUTSIDE} AND ExecutionStatus != 'Canceled'))`;
  if (status === 'cancelled') return `(${attr} OR (${CLOSED_OUTSIDE} AND ExecutionStatus = 'Canceled'))`;
  return attr;
}

/** The visibility clause for a `recoverable` filter: a run closed outside Stepwise can be retried too. */
function recoverableClause(recoverable: boolean): string {
  return recoverable
    ? `(${JobRecoverableKey.name} = true OR (${CLOSED_OUTSIDE}))`
    : `${JobRecoverableKey.name} = false AND (ExecutionStatus = 'Running' OR ${JobStatusKey.name} IN (${TERMINAL_STATUSES.map(lit).join(', ')}))`;
}

/** Bytes of checksum a page token ends with. */
const TOKEN_CHECK_BYTES = 8;
const tokenCheck = (query: string, token: Uint8Array): Buffer =>
  createHash('sha256').update(query).update('\0').update(token).digest().subarray(0, TOKEN_CHECK_BYTES);

/**
 * The page token clients see: Temporal's token and a checksum tying it to the listing's query, so a
 * token that was altered, or is passed with other filters than the page it came from, is a clear 400
 * instead of whatever Temporal makes of it. Not a secret: Temporal still checks what it gets.
 */
export function encodePageToken(query: string, token: Uint8Array): string {
  return Buffer.concat([token, tokenCheck(query, token)]).toString('base64url');
}

export function decodePageToken(query: string, text: string): Buffer {
  const raw = Buffer.from(text, 'base64url');
  const token = raw.subarray(0, Math.max(0, raw.length - TOKEN_CHECK_BYTES));
  const check = raw.subarray(token.length);
  if (
    token.length === 0 ||
    raw.toString('base64url') !== text ||
    !timingSafeEqual(check, tokenCheck(query, token))
  ) {
    throw new InvalidArgument('Invalid pageToken', [
      {
        path: ['pageToken'],
        message: 'not a page token of this listing (pass nextPageToken unchanged, with the same filters)',
      },
    ]);
  }
  return token;
}

/** Jobs a sorted listing reads at most (see {@link JobLister.sortedList}). */
export const SORT_MAX_JOBS = 5_000;
/** Executions per visibility read while a sorted listing reads them all. */
const SORT_READ_PAGE = 1_000;

export const tsMs = (ts: RawWorkflowExecutionInfo['startTime']): number | null =>
  ts?.seconds != null ? Number(ts.seconds) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6) : null;

/** The value a sorted listing orders by: start, close (null while open), or duration (so far, while open). */
function sortKey(sort: JobSort, now: number): (e: RawWorkflowExecutionInfo) => number | null {
  const field = sort.replace(/^-/, '');
  return (e) => {
    const started = tsMs(e.startTime);
    const closed = tsMs(e.closeTime);
    if (field === 'startedAt') return started;
    if (field === 'closedAt') return closed;
    return started === null ? null : (closed ?? now) - started;
  };
}

/** Ties: the later start first, then by id, so a sorted listing pages the same way each time. */
function runOrder(a: RawWorkflowExecutionInfo, b: RawWorkflowExecutionInfo): number {
  return (
    (tsMs(b.startTime) ?? 0) - (tsMs(a.startTime) ?? 0) ||
    (a.execution?.workflowId ?? '').localeCompare(b.execution?.workflowId ?? '') ||
    (a.execution?.runId ?? '').localeCompare(b.execution?.runId ?? '')
  );
}

const TREE_MAX_CHILDREN = 200;
const TREE_MAX_DEPTH = 6;
/** Nodes one `/children` answer shows at most (breadth first); deeper ones are left out. */
const TREE_MAX_NODES = 1000;
/** Temporal calls one request has in flight at most (tree listing, progress queries, run checks). */
const CALLS_IN_FLIGHT = 8;
/** A running sub-job's live progress is worth this long a wait; after it, its search attribute is shown. */
const PROGRESS_DEADLINE_MS = 2_000;

export class JobLister {
  /** The namespace of the client's jobs. */
  private readonly namespace: string;

  constructor(
    private readonly client: Client,
    private readonly app: StepwiseApp,
    private readonly sortMax: number = SORT_MAX_JOBS,
  ) {
    this.namespace = client.options.namespace;
    this.jobTypesClause = `${JobTypeKey.name} IN (${app.jobs.map((d) => lit(d.name)).join(', ')})`;
  }

  /** The app's job types only: batch coordinators and foreign workflows are not jobs. */
  private readonly jobTypesClause: string;

  async list(q: ListJobsQuery): Promise<JobList> {
    const query = this.listQuery(q);
    if (q.sort !== undefined) return this.sortedList(query, q.sort, q.pageSize, q.pageToken);
    const token = q.pageToken === undefined ? undefined : decodePageToken(query, q.pageToken);
    // The raw call, not `client.workflow.list`: that iterator hides the page token clients page with.
    // A token that passed the checksum but that Temporal refuses anyway is a 400 `pageToken` too.
    const res = await this.listPage(query, q.pageSize, token, token !== undefined);
    const next = res.nextPageToken && res.nextPageToken.length > 0 ? res.nextPageToken : null;
    return {
      jobs: await this.dropSuperseded((res.executions ?? []).map((e) => toSummary(e, this.app))),
      nextPageToken: next ? encodePageToken(query, next) : null,
    };
  }

  /** The visibility query of a listing's filters (every value quoted by {@link lit}). */
  private listQuery(q: Omit<ListJobsQuery, 'pageSize'>): string {
    const clauses = [this.jobTypesClause];
    if (q.type !== undefined) {
      if (!this.app.find(q.type)) {
        throw new InvalidArgument(`Unknown job type "${q.type}"`, [
          { path: ['type'], message: `Unknown job type "${q.type}"` },
        ]);
      }
      clauses.push(`${JobTypeKey.name} = ${lit(q.type)}`);
    }
    if (q.topLevel !== undefined && q.parentJobId !== undefined) {
      const message = q.topLevel
        ? 'a top-level job has no parent: pass topLevel=true or parentJobId, not both'
        : 'parentJobId already lists sub-jobs only: drop topLevel';
      throw new InvalidArgument(message, [{ path: ['topLevel'], message }]);
    }
    for (const [from, to, path] of [
      [q.startedAfter, q.startedBefore, 'startedBefore'],
      [q.closedAfter, q.closedBefore, 'closedBefore'],
    ] as const) {
      if (from !== undefined && to !== undefined && to <= from) {
        const message = `must be later than ${path.replace('Before', 'After')}`;
        throw new InvalidArgument(`Empty time range: ${path} ${message}`, [{ path: [path], message }]);
      }
    }
    if (q.status !== undefined) clauses.push(statusClause(q.status));
    if (q.recoverable !== undefined) clauses.push(recoverableClause(q.recoverable));
    if (q.parentJobId !== undefined) clauses.push(`${JobParentIdKey.name} = ${lit(q.parentJobId)}`);
    if (q.topLevel === true) clauses.push(`${JobParentIdKey.name} IS NULL`);
    if (q.topLevel === false) clauses.push(`${JobParentIdKey.name} IS NOT NULL`);
    if (q.jobIdPrefix !== undefined) clauses.push(`WorkflowId STARTS_WITH ${lit(q.jobIdPrefix)}`);
    if (q.startedBy !== undefined) clauses.push(`${JobStartedByKey.name} = ${lit(q.startedBy)}`);
    // Temporal's own attribute on a schedule's runs.
    if (q.scheduleId !== undefined) clauses.push(`TemporalScheduledById = ${lit(q.scheduleId)}`);
    if (q.startedAfter !== undefined) clauses.push(`StartTime >= ${lit(q.startedAfter)}`);
    if (q.startedBefore !== undefined) clauses.push(`StartTime < ${lit(q.startedBefore)}`);
    if (q.closedAfter !== undefined) clauses.push(`CloseTime >= ${lit(q.closedAfter)}`);
    if (q.closedBefore !== undefined) clauses.push(`CloseTime < ${lit(q.closedBefore)}`);
    return clauses.join(' AND ');
  }

  private listPage(
    query: string,
    pageSize: number,
    token: Uint8Array | undefined,
    paging: boolean,
  ): Promise<temporal.api.workflowservice.v1.ListWorkflowExecutionsResponse> {
    return during({ kind: 'list', pageToken: paging }, () =>
      temporalCall(this.client, 'rpc', () =>
        this.client.workflowService.listWorkflowExecutions({
          namespace: this.namespace,
          query,
          pageSize,
          nextPageToken: token,
        }),
      ),
    );
  }

  /**
   * A sorted page. Temporal's SQL visibility stores (the dev server's SQLite, PostgreSQL) have no
   * `ORDER BY`, so every matching execution is read — at most `sortMax` ({@link SORT_MAX_JOBS} by default), else a 400
   * that says to narrow the filters — sorted here, and paged by offset (the token carries the
   * offset, tied to the query and the order like any page token). Each page reads the listing
   * again, so a job that starts or closes between pages can move across a page boundary.
   */
  private async sortedList(
    query: string,
    sort: JobSort,
    pageSize: number,
    pageToken: string | undefined,
  ): Promise<JobList> {
    const tokenQuery = `${query}\0sort=${sort}`;
    let offset = 0;
    if (pageToken !== undefined) {
      const raw = decodePageToken(tokenQuery, pageToken);
      offset = /^\d{1,9}$/.test(raw.toString('latin1')) ? Number(raw.toString('latin1')) : -1;
      if (offset < 0)
        throw new InvalidArgument('Invalid pageToken', [
          { path: ['pageToken'], message: 'not a page token of this listing' },
        ]);
    }
    const all: RawWorkflowExecutionInfo[] = [];
    let token: Uint8Array | undefined;
    do {
      const res = await this.listPage(query, SORT_READ_PAGE, token, false);
      all.push(...(res.executions ?? []));
      token = res.nextPageToken && res.nextPageToken.length > 0 ? res.nextPageToken : undefined;
      if (all.length > this.sortMax) {
        const message = `more than ${this.sortMax} jobs match; narrow the filters (a time range, a type, a status) to sort them, or list them unsorted`;
        throw new InvalidArgument(`Too many jobs to sort: ${message}`, [{ path: ['sort'], message }]);
      }
    } while (token);
    const now = Date.now();
    const key = sortKey(sort, now);
    const dir = sort.startsWith('-') ? -1 : 1;
    const runs = all
      .map((e) => ({ e, k: key(e) }))
      // Jobs without the key (an open job sorted by close) last, whichever the direction.
      .sort((a, b) => {
        if (a.k === null || b.k === null) return a.k === b.k ? runOrder(a.e, b.e) : a.k === null ? 1 : -1;
        return (a.k - b.k) * dir || runOrder(a.e, b.e);
      })
      .map(({ e }) => e);
    const page = runs.slice(offset, offset + pageSize);
    const nextOffset = offset + pageSize;
    return {
      jobs: await this.dropSuperseded(page.map((e) => toSummary(e, this.app))),
      nextPageToken:
        nextOffset < runs.length
          ? encodePageToken(tokenQuery, Buffer.from(String(nextOffset), 'latin1'))
          : null,
    };
  }

  /**
   * Each run of a job is its own execution in Temporal's visibility store, and a retry leaves the
   * failed run behind with its attributes. Only a recoverable run can have been retried, so only
   * those are checked against the job's latest run; a page may therefore hold fewer than pageSize.
   */
  private async dropSuperseded(jobs: JobSummary[]): Promise<JobSummary[]> {
    const limit = concurrencyLimit(CALLS_IN_FLIGHT);
    const keep = await Promise.all(
      jobs.map(async (j) => {
        if (!j.recoverable) return true;
        const latest = await limit(() =>
          temporalCall(this.client, 'rpc', () => this.client.workflow.getHandle(j.jobId).describe()),
        );
        return latest.runId === j.runId;
      }),
    );
    return jobs.filter((_, i) => keep[i]);
  }

  /**
   * The sub-job tree under a job, breadth first: at most {@link TREE_MAX_DEPTH} levels,
   * {@link TREE_MAX_CHILDREN} children per job and {@link TREE_MAX_NODES} nodes in all, with at
   * most {@link CALLS_IN_FLIGHT} Temporal calls in flight. Live progress for running sub-jobs, the
   * search attribute otherwise. A list with more children than shown has `truncated` on its last node.
   */
  async children(jobId: string): Promise<JobTreeNode[]> {
    await describeStepwiseJob(this.client, this.app, jobId);
    const limit = concurrencyLimit(CALLS_IN_FLIGHT);
    const roots: JobTreeNode[] = [];
    let level: { jobId: string; children: JobTreeNode[] }[] = [{ jobId, children: roots }];
    let budget = TREE_MAX_NODES;
    for (let depth = 1; depth <= TREE_MAX_DEPTH && level.length > 0 && budget > 0; depth++) {
      const lists = await Promise.all(level.map((parent) => limit(() => this.childRuns(parent.jobId))));
      const next: JobTreeNode[] = [];
      level.forEach((parent, i) => {
        const { runs, more } = lists[i];
        const shown = runs.slice(0, budget).map((s): JobTreeNode => ({
          jobId: s.jobId,
          type: s.type,
          status: s.status,
          progress: s.progress,
          children: [],
          subtree: emptyCounts(),
          startedAt: s.startedAt,
          closedAt: s.closedAt,
        }));
        budget -= shown.length;
        if ((more || shown.length < runs.length) && shown.length > 0)
          shown[shown.length - 1].truncated = true;
        parent.children.push(...shown);
        next.push(...shown);
      });
      await Promise.all(
        next.filter((n) => !isTerminal(n.status)).map((n) => limit(() => this.liveProgress(n))),
      );
      level = next;
    }
    for (const root of roots) countSubtree(root);
    return roots;
  }

  /** Every run of the job with this id (at most 50), newest first, with where each recovery started. */
  async runs(jobId: string): Promise<JobRun[]> {
    const res = await temporalCall(this.client, 'rpc', () =>
      this.client.workflowService.listWorkflowExecutions({
        namespace: this.namespace,
        query: `WorkflowId = ${lit(jobId)}`,
        pageSize: 50,
      }),
    );
    const runs = (res.executions ?? []).map((e) => toSummary(e, this.app));
    runs.sort((a, b) => b.startedAt.localeCompare(a.startedAt));
    return Promise.all(
      runs.map(async (r): Promise<JobRun> => {
        const params = await temporalCall(this.client, 'rpc', () =>
          runStartParams(this.client, this.namespace, { workflowId: jobId, runId: r.runId }),
        ).catch(() => undefined);
        return {
          runId: r.runId,
          status: r.status,
          startedAt: r.startedAt,
          closedAt: r.closedAt,
          recoveryAttempt: params?.recovery?.attempt ?? 0,
          fromStep: params?.recovery?.fromStep ?? null,
          previousRunId: params?.recovery?.previousRunId ?? null,
          startedBy: r.startedBy,
        };
      }),
    );
  }

  /** A job's sub-jobs, oldest first (as the steps ran), the latest run of each id; `more` if there are more. */
  private async childRuns(jobId: string): Promise<{ runs: JobSummary[]; more: boolean }> {
    const res = await temporalCall(this.client, 'rpc', () =>
      this.client.workflowService.listWorkflowExecutions({
        namespace: this.namespace,
        query: `${this.jobTypesClause} AND ${JobParentIdKey.name} = ${lit(jobId)}`,
        pageSize: TREE_MAX_CHILDREN,
      }),
    );
    const execs = [...(res.executions ?? [])].sort(
      (a, b) =>
        Number(a.startTime?.seconds ?? 0) - Number(b.startTime?.seconds ?? 0) ||
        (a.startTime?.nanos ?? 0) - (b.startTime?.nanos ?? 0),
    );
    // A recovered sub-job's runs share its id: keep each id's latest run.
    const latest = new Map<string, RawWorkflowExecutionInfo>();
    for (const e of execs) latest.set(e.execution?.workflowId ?? '', e);
    return {
      runs: [...latest.values()].map((e) => toSummary(e, this.app)),
      more: (res.nextPageToken?.length ?? 0) > 0,
    };
  }

  /** A running node's progress from its `progress` query; its search attribute's value if that is slow or fails. */
  private async liveProgress(node: JobTreeNode): Promise<void> {
    node.progress = await temporalCall(this.client, PROGRESS_DEADLINE_MS, () =>
      this.client.workflow.getHandle(node.jobId).query(progressQuery),
    ).then(
      (p) => p.progress,
      () => node.progress,
    );
  }
}

const emptyCounts = (): SubtreeCounts => ({
  total: 0,
  byStatus: Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>,
});

/** Fills `node.subtree` (and its descendants'): the sub-jobs below it by status; returns `node`'s. */
function countSubtree(node: JobTreeNode): SubtreeCounts {
  const counts = emptyCounts();
  for (const child of node.children) {
    const below = countSubtree(child);
    counts.total += 1 + below.total;
    counts.byStatus[child.status] += 1;
    for (const s of JOB_STATUSES) counts.byStatus[s] += below.byStatus[s];
  }
  node.subtree = counts;
  return counts;
}

const tsToIso = (ts: RawWorkflowExecutionInfo['startTime']): string | null => {
  const ms = tsMs(ts);
  return ms === null ? null : new Date(ms).toISOString();
};

/** A job summary from an execution's search attributes (progress as of its last step boundary). */
export function toSummary(e: RawWorkflowExecutionInfo, app: StepwiseApp): JobSummary {
  const sa = decodeJobSearchAttributes(e);
  const type = sa.get(JobTypeKey) ?? e.type?.name ?? 'unknown';
  const def = app.find(type);
  let status = (sa.get(JobStatusKey) ?? 'running') as JobStatus;
  let recoverable = sa.get(JobRecoverableKey) ?? false;
  // Closed outside Stepwise (terminated or timed out) while its attribute still says it runs: the
  // job failed (or was cancelled), and a retry can run it again (see CLOSED_OUTSIDE).
  if (e.status !== WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING && !isTerminal(status)) {
    status = e.status === WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_CANCELED ? 'cancelled' : 'failed';
    recoverable = (def?.recoveryLimit ?? 0) > 0;
  }
  const currentStep = sa.get(JobStepKey) ?? 0;
  return {
    jobId: e.execution?.workflowId ?? '',
    runId: e.execution?.runId ?? '',
    type,
    status,
    progress: sa.get(JobProgressKey) ?? 0,
    currentStep,
    totalSteps: def?.steps.length ?? 0,
    stepName: def && currentStep > 0 ? (def.steps[currentStep - 1]?.name ?? null) : null,
    startedAt: tsToIso(e.startTime) ?? '',
    closedAt: tsToIso(e.closeTime),
    recoverable,
    parentJobId: sa.get(JobParentIdKey) ?? null,
    startedBy: sa.get(JobStartedByKey) ?? null,
  };
}
