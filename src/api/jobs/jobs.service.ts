import { Inject, Injectable } from '@nestjs/common';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { randomUUID } from 'node:crypto';
import type { StepwiseApp } from '../../../workflows/engine/app';
import { planRecovery } from '../../../workflows/engine/recovery';
import { jsonBytes, jsonDepthExceeds, MAX_JSON_DEPTH } from '../../../workflows/limits';
import {
  cancelJobUpdate,
  pauseJobUpdate,
  resumeJobUpdate,
  type ControlPayload,
  type JobParams,
  type ControlAck,
  type JobState,
} from '../../../workflows/contracts';
import { initialJobAttributes, JobParentIdKey } from '../../../workflows/search-attributes';
import type { Config } from '../../config';
import { ApiError, during, zodIssues } from '../common/errors';
import { STEPWISE_APP } from '../catalog/catalog.module';
import { APP_CONFIG } from '../config/config.module';
import { temporalCall, WORKER_DEADLINE_MS } from '../temporal/deadlines';
import { TEMPORAL_CLIENT } from '../temporal/temporal.providers';
import {
  cannotRunMessage,
  canonicalJson,
  describedJobStatus,
  failingWorkflowTask,
  firstDifference,
  isOpenStatus,
  normalizedInput,
  runStartParams,
} from './job-runs';
import { JobStateReader } from './job-state.service';
import type { RetryBody, StartJobBody, StartJobResponse, TerminateResponse } from './schemas';
import { closedStatus, describeStepwiseJob } from './stepwise-job';

export type ControlAction = 'pause' | 'resume' | 'cancel';
const UPDATES = { pause: pauseJobUpdate, resume: resumeJobUpdate, cancel: cancelJobUpdate } as const;

@Injectable()
export class JobsService {
  constructor(
    @Inject(TEMPORAL_CLIENT) private readonly client: Client,
    @Inject(APP_CONFIG) private readonly config: Config,
    @Inject(STEPWISE_APP) private readonly app: StepwiseApp,
    private readonly states: JobStateReader,
  ) {}

  /**
   * Starts a job. Validation happens before anything is sent to Temporal, so bad input starts
   * nothing: an unknown type (404), an internal sub-job type (400), an input nested too deep (400)
   * or over the budget (413), or one its type's schema refuses (400). A `jobId` that exists with the same type and input
   * returns that job (`created: false`), running or closed; with another type or input it is a 409.
   */
  async start(body: StartJobBody): Promise<{ created: boolean; response: StartJobResponse }> {
    const def = this.app.find(body.type);
    if (!def) throw new ApiError(404, `Unknown job type "${body.type}"`);
    if (def.internal) {
      const message = `"${def.name}" is an internal sub-job type, started only by its parent job (see GET /api/job-types)`;
      throw new ApiError(400, message, [{ path: ['type'], message }]);
    }
    // Checked before anything serialises the input: a deeply nested one would overflow the stack.
    if (jsonDepthExceeds(body.input)) {
      const message = `Job input nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels`;
      throw new ApiError(400, message, [{ path: ['input'], message }]);
    }
    const { maxInputBytes } = this.config.limits;
    const inputBytes = jsonBytes(body.input);
    if (inputBytes > maxInputBytes) {
      const message = `Job input is ${inputBytes} bytes of JSON; the limit is ${maxInputBytes} bytes (STEPWISE_MAX_INPUT_BYTES)`;
      throw new ApiError(413, message, [{ path: ['input'], message }]);
    }
    const parsed = def.input.safeParse(body.input);
    if (!parsed.success) {
      throw new ApiError(400, `Invalid input for job type "${def.name}"`, zodIssues(parsed.error, ['input']));
    }
    const jobId = body.jobId ?? `${def.name}-${randomUUID()}`;
    const params: JobParams = { input: parsed.data, limits: this.config.limits };
    try {
      const handle = await temporalCall(this.client, 'rpc', () =>
        this.client.workflow.start(def.name, {
          taskQueue: this.config.temporal.taskQueue,
          workflowId: jobId,
          args: [params],
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          typedSearchAttributes: initialJobAttributes(def.name),
          staticSummary: `${def.name} job`,
          staticDetails: def.description,
        }),
      );
      return {
        created: true,
        response: { jobId, runId: handle.firstExecutionRunId, type: def.name, status: 'running' },
      };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        // The id is taken (REJECT_DUPLICATE: by a running or a closed run): the same type and input
        // return that job, anything else is a 409. Starting first and describing only on a
        // conflict costs a new job one call to Temporal instead of two.
        const existing = await this.existing(jobId, def.name, parsed.data);
        if (existing) return { created: false, response: existing };
      }
      throw err;
    }
  }

  /**
   * The job with this id, if there is one, as its start answered (idempotent start), with its
   * latest run and current status: same type and same input (compared after parsing, as canonical
   * JSON, with the input the latest run was started with), running or closed. Another type or
   * another input is a 409 naming the difference; null when the id is free.
   */
  private async existing(jobId: string, type: string, input: unknown): Promise<StartJobResponse | null> {
    let desc;
    try {
      desc = await temporalCall(this.client, 'rpc', () => this.client.workflow.getHandle(jobId).describe());
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return null;
      throw err;
    }
    if (desc.type !== type) {
      throw new ApiError(409, `Job "${jobId}" already exists as type "${desc.type}", not "${type}"`, [
        { path: ['type'], message: `the existing job is of type "${desc.type}"` },
      ]);
    }
    const run = { workflowId: jobId, runId: desc.runId };
    const params = await temporalCall(this.client, 'rpc', () =>
      runStartParams(this.client, this.config.temporal.namespace, run),
    );
    const stored = normalizedInput(this.app.find(type), params?.input);
    if (canonicalJson(stored) !== canonicalJson(input)) {
      const at = firstDifference(stored, input) ?? [];
      const where = at.length > 0 ? ` at input.${at.join('.')}` : '';
      throw new ApiError(
        409,
        `Job "${jobId}" already exists with a different input (first difference${where}); use another jobId, or retry the job to run it again`,
        [{ path: ['input', ...at], message: 'differs from the existing job’s input' }],
      );
    }
    return { jobId, runId: desc.runId, type, status: describedJobStatus(desc) };
  }

  /** The job's state; a run terminated or timed out in Temporal reads as such (see `JobStateReader`). */
  async getState(jobId: string): Promise<JobState> {
    return this.states.readLatest(jobId);
  }

  /**
   * Pause, resume or cancel through the job's update: the workflow's validator refuses what does
   * not fit its state (409) without changing anything; the answer is the acknowledged new state.
   * A job that closes meanwhile, or no worker answering in time, is worded by the exception
   * filter from the `control` operation.
   */
  async control(jobId: string, action: ControlAction, payload: ControlPayload): Promise<ControlAck> {
    const { desc } = await describeStepwiseJob(this.client, this.app, jobId);
    if (desc.status.name !== 'RUNNING') {
      throw new ApiError(409, `Job "${jobId}" is closed (${closedStatus(desc)}); it cannot ${action}`);
    }
    const failure = await temporalCall(this.client, 'rpc', () =>
      failingWorkflowTask(this.client, this.config.temporal.namespace, desc),
    );
    if (failure) throw new ApiError(409, cannotRunMessage(jobId, action, failure.message));
    const handle = this.client.workflow.getHandle(jobId);
    return during({ kind: 'control', jobId, action, deadlineMs: WORKER_DEADLINE_MS }, () =>
      temporalCall(this.client, 'worker', () => handle.executeUpdate(UPDATES[action], { args: [payload] })),
    );
  }

  /**
   * Runs a failed, cancelled or partly failed job again as a new run with the same id, from
   * `fromStep` (default: the first step that did not complete), carrying the earlier steps' results.
   */
  async retry(jobId: string, body: RetryBody): Promise<StartJobResponse> {
    const { desc, def } = await describeStepwiseJob(this.client, this.app, jobId);
    if (isOpenStatus(desc.status.name)) {
      throw new ApiError(409, `Job "${jobId}" is still running; only a closed job can be retried`);
    }
    // A sub-job's new run would report to nobody: its parent closed, or runs its own retries. The
    // parent's recovery runs the step (and so this sub-job) again, with its results carried.
    const parentJobId = desc.typedSearchAttributes.get(JobParentIdKey);
    if (parentJobId) {
      throw new ApiError(
        409,
        `Job "${jobId}" is a sub-job of "${parentJobId}"; retry "${parentJobId}" (a sub-job is run again by its parent's recovery, from the step that ran it)`,
      );
    }
    // The closed run's state (the query replays its history on a worker), as the run really ended:
    // a run terminated or timed out in Temporal is failed, its running steps with it.
    const state = await this.states.read(desc, def, { exact: true });
    const plan = planRecovery(def, state, body.fromStep);
    if (!plan.ok) {
      if (plan.kind === 'invalid')
        throw new ApiError(400, plan.message, [{ path: ['fromStep'], message: plan.message }]);
      throw new ApiError(409, plan.message);
    }
    const params: JobParams = { input: state.input, recovery: plan.params, limits: this.config.limits };
    const handle = await during({ kind: 'retry', jobId }, () =>
      temporalCall(this.client, 'rpc', () =>
        this.client.workflow.start(def.name, {
          taskQueue: this.config.temporal.taskQueue,
          workflowId: jobId,
          args: [params],
          workflowIdReusePolicy: 'ALLOW_DUPLICATE',
          typedSearchAttributes: initialJobAttributes(def.name),
          staticSummary: `${def.name} job · recovery ${plan.params.attempt}/${def.recoveryLimit} from step ${plan.params.fromStep}`,
          staticDetails: def.description,
        }),
      ),
    );
    return { jobId, runId: handle.firstExecutionRunId, type: def.name, status: 'running' };
  }

  /**
   * Terminates the job's running run at once (Temporal's terminate: no cleanup step, no waiting;
   * sub-jobs are terminated by their parent-close policy). 409 when the job is already closed. The
   * reason Temporal records names the actor, so the Web UI shows who did it.
   */
  async terminate(jobId: string, reason: string | undefined, by: string): Promise<TerminateResponse> {
    const { desc } = await describeStepwiseJob(this.client, this.app, jobId);
    if (desc.status.name !== 'RUNNING') {
      throw new ApiError(409, `Job "${jobId}" is closed (${closedStatus(desc)}); it cannot be terminated`);
    }
    const handle = this.client.workflow.getHandle(jobId, desc.runId);
    await during({ kind: 'terminate', jobId }, () =>
      temporalCall(this.client, 'rpc', () =>
        handle.terminate(`${reason ?? 'terminated'} (by ${by} through the Stepwise API)`),
      ),
    );
    return { jobId, runId: desc.runId, status: 'terminated' };
  }
}
