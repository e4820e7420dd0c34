import { Inject, Injectable } from '@nestjs/common';
import {
  Client,
  ServiceError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type WorkflowExecutionDescription,
} from '@temporalio/client';
import { ApplicationFailure, WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { randomUUID } from 'node:crypto';
import { findJobDefinition } from '../../workflows/catalog';
import type { JobDefinition } from '../../workflows/engine/definition';
import { planRecovery } from '../../workflows/engine/recovery';
import type { Config } from '../config';
import {
  cancelJobUpdate,
  jobStateQuery,
  pauseJobUpdate,
  resumeJobUpdate,
  type ControlPayload,
  type JobParams,
  type JobState,
} from '../../workflows/contracts';
import { ApiError, zodIssues } from './errors';
import type { RetryBody, StartJobBody, StartJobResponse } from './schemas';

export type ControlAction = 'pause' | 'resume' | 'cancel';
const UPDATES = { pause: pauseJobUpdate, resume: resumeJobUpdate, cancel: cancelJobUpdate } as const;
/** How long an update may wait for a worker to answer. */
const UPDATE_DEADLINE_MS = 15_000;
import { APP_CONFIG, TEMPORAL_CLIENT } from './tokens';

@Injectable()
export class JobsService {
  constructor(
    @Inject(TEMPORAL_CLIENT) private readonly client: Client,
    @Inject(APP_CONFIG) private readonly config: Config,
  ) {}

  /**
   * Starts a job. Validation happens before anything is sent to Temporal, so bad input starts
   * nothing. A `jobId` that is already running returns that job (`created: false`); one that
   * belongs to a closed job is a conflict (use retry).
   */
  async start(body: StartJobBody): Promise<{ created: boolean; response: StartJobResponse }> {
    const def = findJobDefinition(body.type);
    if (!def) throw new ApiError(404, `Unknown job type "${body.type}"`);
    const parsed = def.input.safeParse(body.input);
    if (!parsed.success) {
      throw new ApiError(400, `Invalid input for job type "${def.name}"`, zodIssues(parsed.error, ['input']));
    }
    const jobId = body.jobId ?? `${def.name}-${randomUUID()}`;
    if (body.jobId) {
      const existing = await this.existing(jobId, def.name);
      if (existing) return { created: false, response: existing };
    }
    const params: JobParams = { input: parsed.data };
    try {
      const handle = await this.client.workflow.start(def.name, {
        taskQueue: this.config.temporal.taskQueue,
        workflowId: jobId,
        args: [params],
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        searchAttributes: { JobType: [def.name], JobStatus: ['running'] },
        staticSummary: `${def.name} job`,
        staticDetails: def.description,
      });
      return {
        created: true,
        response: { jobId, runId: handle.firstExecutionRunId, type: def.name, status: 'running' },
      };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        // Lost a race with an identical request: answer like the idempotent path.
        const existing = await this.existing(jobId, def.name);
        if (existing) return { created: false, response: existing };
      }
      throw err;
    }
  }

  /** The running job with this id (200), or 409 if the id belongs to a closed job or another type. */
  private async existing(jobId: string, type: string): Promise<StartJobResponse | null> {
    try {
      const desc = await this.client.workflow.getHandle(jobId).describe();
      if (desc.status.name !== 'RUNNING') {
        throw new ApiError(
          409,
          `Job "${jobId}" already exists and is closed (${desc.status.name}); use retry`,
        );
      }
      if (desc.type !== type) {
        throw new ApiError(409, `Job "${jobId}" is already running as type "${desc.type}"`);
      }
      return { jobId, runId: desc.runId, type, status: 'running' };
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return null;
      throw err;
    }
  }

  async getState(jobId: string): Promise<JobState> {
    return this.client.workflow.getHandle(jobId).query(jobStateQuery);
  }

  /**
   * Pause, resume or cancel through the job's update: the workflow's validator refuses what does
   * not fit its state (409) without changing anything; the answer is the acknowledged new state.
   */
  async control(jobId: string, action: ControlAction, payload: ControlPayload): Promise<JobState> {
    const { desc } = await describeStepwiseJob(this.client, jobId);
    if (desc.status.name !== 'RUNNING') {
      throw new ApiError(409, `Job "${jobId}" is closed (${closedStatus(desc)}); it cannot ${action}`);
    }
    const handle = this.client.workflow.getHandle(jobId);
    try {
      return await this.client.withDeadline(Date.now() + UPDATE_DEADLINE_MS, () =>
        handle.executeUpdate(UPDATES[action], { args: [payload] }),
      );
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
        throw new ApiError(409, err.cause.message);
      }
      const code =
        err instanceof ServiceError ? (err.cause as { code?: number } | undefined)?.code : undefined;
      if (code === GrpcStatus.NOT_FOUND) {
        throw new ApiError(409, `Job "${jobId}" closed before it could ${action}`);
      }
      if (code === GrpcStatus.DEADLINE_EXCEEDED) {
        throw new ApiError(
          503,
          `No worker answered the ${action} request within ${UPDATE_DEADLINE_MS / 1000} s; is the worker running?`,
        );
      }
      throw err;
    }
  }

  /**
   * Runs a failed, cancelled or partly failed job again as a new run with the same id, from
   * `fromStep` (default: the first step that did not complete), carrying the earlier steps' results.
   */
  async retry(jobId: string, body: RetryBody): Promise<StartJobResponse> {
    const { desc, def } = await describeStepwiseJob(this.client, jobId);
    if (desc.status.name === 'RUNNING') {
      throw new ApiError(409, `Job "${jobId}" is still running; only a closed job can be retried`);
    }
    // The closed run's state: the query replays its history on a worker.
    const state = await this.client.withDeadline(Date.now() + UPDATE_DEADLINE_MS, () =>
      this.client.workflow.getHandle(jobId, desc.runId).query(jobStateQuery),
    );
    const plan = planRecovery(def, state, body.fromStep);
    if (!plan.ok) {
      if (plan.kind === 'invalid')
        throw new ApiError(400, plan.message, [{ path: ['fromStep'], message: plan.message }]);
      throw new ApiError(409, plan.message);
    }
    const params: JobParams = { input: state.input, recovery: plan.params };
    try {
      const handle = await this.client.workflow.start(def.name, {
        taskQueue: this.config.temporal.taskQueue,
        workflowId: jobId,
        args: [params],
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
        searchAttributes: { JobType: [def.name], JobStatus: ['running'] },
        staticSummary: `${def.name} job · recovery ${plan.params.attempt}/${def.recoveryLimit} from step ${plan.params.fromStep}`,
        staticDetails: def.description,
      });
      return { jobId, runId: handle.firstExecutionRunId, type: def.name, status: 'running' };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        throw new ApiError(409, `Job "${jobId}" is already running again (another retry won)`);
      }
      throw err;
    }
  }
}

/** The job's latest run and its type's definition; 404 when unknown or not a Stepwise job. */
export async function describeStepwiseJob(
  client: Client,
  jobId: string,
): Promise<{ desc: WorkflowExecutionDescription; def: JobDefinition }> {
  const desc = await client.workflow.getHandle(jobId).describe(); // WorkflowNotFoundError → 404
  const def = findJobDefinition(desc.type);
  if (!def) throw new ApiError(404, `"${jobId}" is not a Stepwise job (workflow type ${desc.type})`);
  return { desc, def };
}

/** The job status of a closed run, from its search attribute, else from Temporal's status. */
function closedStatus(desc: WorkflowExecutionDescription): string {
  const fromAttr = desc.searchAttributes?.JobStatus?.[0];
  return typeof fromAttr === 'string' ? fromAttr : desc.status.name.toLowerCase();
}
