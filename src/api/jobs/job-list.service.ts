/**
 * Finding jobs: listing by search attributes (`JobType`, `JobStatus`, `JobRecoverable`,
 * `JobParentId`) with Temporal's own pagination, and a job's sub-job tree.
 */
import { Inject, Injectable } from '@nestjs/common';
import type { Client, RawWorkflowExecutionInfo } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { findJobDefinition, jobDefinitions } from '../../../workflows/catalog';
import { isTerminal, progressQuery, type JobStatus } from '../../../workflows/contracts';
import {
  JobParentIdKey,
  JobProgressKey,
  JobRecoverableKey,
  JobStatusKey,
  JobStepKey,
  JobTypeKey,
} from '../../../workflows/search-attributes';
import type { Config } from '../../config';
import { decodeJobSearchAttributes } from '../../search-attributes';
import { ApiError } from '../common/errors';
import { APP_CONFIG } from '../config/config.module';
import { TEMPORAL_CLIENT } from '../temporal/temporal.providers';
import type { JobList, JobSummary, JobTreeNode, ListJobsQuery } from './schemas';
import { describeStepwiseJob } from './stepwise-job';

const { WorkflowExecutionStatus } = temporal.api.enums.v1;

/** A visibility query string literal. */
const lit = (v: string): string => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** Stepwise job types only: batch coordinators and foreign workflows are not jobs. */
const JOB_TYPES_CLAUSE = `${JobTypeKey.name} IN (${jobDefinitions.map((d) => lit(d.name)).join(', ')})`;

const TREE_MAX_CHILDREN = 200;
const TREE_MAX_DEPTH = 6;

@Injectable()
export class JobListService {
  constructor(
    @Inject(TEMPORAL_CLIENT) private readonly client: Client,
    @Inject(APP_CONFIG) private readonly config: Config,
  ) {}

  async list(q: ListJobsQuery): Promise<JobList> {
    const clauses = [JOB_TYPES_CLAUSE];
    if (q.type !== undefined) {
      if (!findJobDefinition(q.type)) {
        throw new ApiError(400, `Unknown job type "${q.type}"`, [
          { path: ['type'], message: `Unknown job type "${q.type}"` },
        ]);
      }
      clauses.push(`${JobTypeKey.name} = ${lit(q.type)}`);
    }
    if (q.status !== undefined) {
      clauses.push(`${JobStatusKey.name} = ${lit(q.status)}`);
      // A job killed outside Stepwise (terminated, timed out) never wrote its final status.
      if (!isTerminal(q.status)) clauses.push(`ExecutionStatus = 'Running'`);
    }
    if (q.recoverable !== undefined) clauses.push(`${JobRecoverableKey.name} = ${q.recoverable}`);
    if (q.parentJobId !== undefined) clauses.push(`${JobParentIdKey.name} = ${lit(q.parentJobId)}`);
    let token: Buffer | undefined;
    if (q.pageToken !== undefined) {
      token = Buffer.from(q.pageToken, 'base64url');
      if (token.length === 0) {
        throw new ApiError(400, 'Invalid pageToken', [{ path: ['pageToken'], message: 'not a page token' }]);
      }
    }
    // The raw call, not `client.workflow.list`: that iterator hides the page token clients page with.
    const res = await this.client.workflowService.listWorkflowExecutions({
      namespace: this.config.temporal.namespace,
      // Newest first: the visibility store's own order (the dev server's SQLite store has no ORDER BY).
      query: clauses.join(' AND '),
      pageSize: q.pageSize,
      nextPageToken: token,
    });
    const next = res.nextPageToken && res.nextPageToken.length > 0 ? res.nextPageToken : null;
    return {
      jobs: await this.dropSuperseded((res.executions ?? []).map(toSummary)),
      nextPageToken: next ? Buffer.from(next).toString('base64url') : null,
    };
  }

  /**
   * Each run of a job is its own execution in Temporal's visibility store, and a retry leaves the
   * failed run behind with its attributes. Only a recoverable run can have been retried, so only
   * those are checked against the job's latest run; a page may therefore hold fewer than pageSize.
   */
  private async dropSuperseded(jobs: JobSummary[]): Promise<JobSummary[]> {
    const keep = await Promise.all(
      jobs.map(async (j) => {
        if (!j.recoverable) return true;
        const latest = await this.client.workflow.getHandle(j.jobId).describe();
        return latest.runId === j.runId;
      }),
    );
    return jobs.filter((_, i) => keep[i]);
  }

  /** The sub-job tree under a job; live progress for running sub-jobs, the search attribute otherwise. */
  async children(jobId: string): Promise<JobTreeNode[]> {
    await describeStepwiseJob(this.client, jobId);
    return this.subtree(jobId, 1);
  }

  private async subtree(jobId: string, depth: number): Promise<JobTreeNode[]> {
    const res = await this.client.workflowService.listWorkflowExecutions({
      namespace: this.config.temporal.namespace,
      query: `${JOB_TYPES_CLAUSE} AND ${JobParentIdKey.name} = ${lit(jobId)}`,
      pageSize: TREE_MAX_CHILDREN,
    });
    // Oldest first (by start time, then id), as the steps ran.
    const execs = [...(res.executions ?? [])].sort(
      (a, b) =>
        Number(a.startTime?.seconds ?? 0) - Number(b.startTime?.seconds ?? 0) ||
        (a.startTime?.nanos ?? 0) - (b.startTime?.nanos ?? 0),
    );
    // A recovered sub-job's runs share its id: keep each id's latest run.
    const latest = new Map<string, RawWorkflowExecutionInfo>();
    for (const e of execs) latest.set(e.execution?.workflowId ?? '', e);
    const nodes = await Promise.all(
      [...latest.values()].map(async (e): Promise<JobTreeNode> => {
        const s = toSummary(e);
        let progress = s.progress;
        if (!isTerminal(s.status)) {
          progress = await this.client.workflow
            .getHandle(s.jobId)
            .query(progressQuery)
            .then((p) => p.progress)
            .catch(() => s.progress);
        }
        return {
          jobId: s.jobId,
          type: s.type,
          status: s.status,
          progress,
          children: depth < TREE_MAX_DEPTH ? await this.subtree(s.jobId, depth + 1) : [],
        };
      }),
    );
    const truncated = (res.nextPageToken?.length ?? 0) > 0;
    if (truncated && nodes.length > 0) nodes[nodes.length - 1].truncated = true;
    return nodes;
  }
}

const tsToIso = (ts: RawWorkflowExecutionInfo['startTime']): string | null =>
  ts?.seconds != null
    ? new Date(Number(ts.seconds) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6)).toISOString()
    : null;

/** A job summary from an execution's search attributes (progress as of its last step boundary). */
export function toSummary(e: RawWorkflowExecutionInfo): JobSummary {
  const sa = decodeJobSearchAttributes(e);
  const type = sa.get(JobTypeKey) ?? e.type?.name ?? 'unknown';
  const def = findJobDefinition(type);
  let status = (sa.get(JobStatusKey) ?? 'running') as JobStatus;
  // Closed outside Stepwise (terminated or timed out) while its attribute still says it runs.
  if (e.status !== WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING && !isTerminal(status)) {
    status = e.status === WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_CANCELED ? 'cancelled' : 'failed';
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
    recoverable: sa.get(JobRecoverableKey) ?? false,
    parentJobId: sa.get(JobParentIdKey) ?? null,
  };
}
