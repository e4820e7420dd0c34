import { Inject, Injectable } from '@nestjs/common';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { randomUUID } from 'node:crypto';
import { findJobDefinition } from '../../../workflows/catalog';
import { planRecovery } from '../../../workflows/engine/recovery';
import {
  cancelJobUpdate,
  jobStateQuery,
  pauseJobUpdate,
  resumeJobUpdate,
  type ControlPayload,
  type JobParams,
  type JobState,
} from '../../../workflows/contracts';
import { initialJobAttributes } from '../../../workflows/search-attributes';
import type { Config } from '../../config';
import { ApiError, during, zodIssues } from '../common/errors';
import { APP_CONFIG } from '../config/config.module';
import { TEMPORAL_CLIENT } from '../temporal/temporal.providers';
import type { RetryBody, StartJobBody, StartJobResponse } from './schemas';
import { closedStatus, describeStepwiseJob } from './stepwise-job';

export type ControlAction = 'pause' | 'resume' | 'cancel';
const UPDATES = { pause: pauseJobUpdate, resume: resumeJobUpdate, cancel: cancelJobUpdate } as const;
/** How long an update (or a closed run's query) may wait for a worker to answer. */
const WORKER_DEADLINE_MS = 15_000;

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
        typedSearchAttributes: initialJobAttributes(def.name),
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
   * A job that closes meanwhile, or no worker answering in time, is worded by the exception
   * filter from the `control` operation.
   */
  async control(jobId: string, action: ControlAction, payload: ControlPayload): Promise<JobState> {
    const { desc } = await describeStepwiseJob(this.client, jobId);
    if (desc.status.name !== 'RUNNING') {
      throw new ApiError(409, `Job "${jobId}" is closed (${closedStatus(desc)}); it cannot ${action}`);
    }
    const handle = this.client.workflow.getHandle(jobId);
    return during({ kind: 'control', jobId, action, deadlineMs: WORKER_DEADLINE_MS }, () =>
      this.client.withDeadline(Date.now() + WORKER_DEADLINE_MS, () =>
        handle.executeUpdate(UPDATES[action], { args: [payload] }),
      ),
    );
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
    const state = await this.client.withDeadline(Date.now() + WORKER_DEADLINE_MS, () =>
      this.client.workflow.getHandle(jobId, desc.runId).query(jobStateQuery),
    );
    const plan = planRecovery(def, state, body.fromStep);
    if (!plan.ok) {
      if (plan.kind === 'invalid')
        throw new ApiError(400, plan.message, [{ path: ['fromStep'], message: plan.message }]);
      throw new ApiError(409, plan.message);
    }
    const params: JobParams = { input: state.input, recovery: plan.params };
    const handle = await during({ kind: 'retry', jobId }, () =>
      this.client.workflow.start(def.name, {
        taskQueue: this.config.temporal.taskQueue,
        workflowId: jobId,
        args: [params],
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
        typedSearchAttributes: initialJobAttributes(def.name),
        staticSummary: `${def.name} job · recovery ${plan.params.attempt}/${def.recoveryLimit} from step ${plan.params.fromStep}`,
        staticDetails: def.description,
      }),
    );
    return { jobId, runId: handle.firstExecutionRunId, type: def.name, status: 'running' };
  }
}
