import { Inject, Injectable } from '@nestjs/common';
import { Client, WorkflowNotFoundError } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { randomUUID } from 'node:crypto';
import { findJobDefinition } from '../../workflows/catalog';
import type { Config } from '../config';
import { jobStateQuery, type JobParams, type JobState } from '../../workflows/contracts';
import { ApiError, zodIssues } from './errors';
import type { StartJobBody, StartJobResponse } from './schemas';
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
}
