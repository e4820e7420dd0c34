import {
  Body,
  Controller,
  Delete,
  Get,
  Headers,
  HttpCode,
  HttpStatus,
  Inject,
  Param,
  Post,
  Query,
  Res,
} from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import {
  controlAckSchema,
  jobStateSchema,
  type ControlAck,
  type ControlPayload,
  type HoldDecisionPayload,
  type JobState,
} from '../../../workflows/contracts';
import type { Actor } from '../../api-keys';
import type { StepwiseClient } from '../../client/client';
import { CurrentActor } from '../common/request-context';
import {
  jobListSchema,
  jobRunsSchema,
  jobTreeSchema,
  rootCauseSchema,
  startJobResponseSchema,
  terminateResponseSchema,
  type JobRuns,
  type RootCause,
} from '../contracts';
import { Audited, Roles } from '../common/route-policy';
import { STEPWISE_CLIENT } from './stepwise-client.provider';
import {
  approvalBodySchema,
  controlBodySchema,
  getJobQuerySchema,
  holdBodySchema,
  jobIdSchema,
  listJobsQuerySchema,
  retryBodySchema,
  stepKeySchema,
  startJobBodySchema,
  startJobHeadersSchema,
  terminateBodySchema,
  type ApprovalBody,
  type GetJobQuery,
  type JobList,
  type JobTreeNode,
  type ListJobsQuery,
  type RetryBody,
  type StartJobBody,
  type StartJobResponse,
  type TerminateBody,
  type TerminateResponse,
} from './schemas';
import { ZodPipe } from '../common/pipes/zod.pipe';
import { ApiError } from '../common/errors';
import { ApiOperation } from '../openapi/api-operation';
import { z } from 'zod';

const JobIdPipe = new ZodPipe(jobIdSchema, 'job id');
const StepKeyPipe = new ZodPipe(stepKeySchema, 'step key');
const jobIdParams = z.object({ jobId: jobIdSchema });
const stepParams = z.object({ jobId: jobIdSchema, key: stepKeySchema });
const UNAVAILABLE = 'Temporal unavailable, or no worker answered in time';
const NOT_FOUND = 'No job with this id';
const APPROVAL_ERRORS = {
  400: 'A comment over 1000 characters, or a malformed step key',
  403: 'A viewer, or an operator on a step only an admin may decide',
  404: 'No job with this id, or no step with this key',
  409: 'Not an approval step, or it does not await a decision (decided, timed out, not started); or the job is paused (resume it first), cancelling or closed',
  503: UNAVAILABLE,
};

/** The job routes: the body and path checks, the roles and the audit; the rest is the client's. */
@Controller('api/jobs')
export class JobsController {
  constructor(@Inject(STEPWISE_CLIENT) private readonly jobs: StepwiseClient) {}

  @Post()
  @Roles('operator')
  @Audited('start')
  @ApiOperation({
    summary: 'Start a job',
    tags: ['jobs'],
    body: startJobBodySchema,
    bodyRequired: true,
    headers: startJobHeadersSchema,
    responses: {
      201: { description: 'Started', schema: startJobResponseSchema },
      200: {
        description:
          '`jobId` (or the `Idempotency-Key`) names an existing job of the same type and input (running or closed)',
        schema: startJobResponseSchema,
      },
    },
    errors: {
      400: 'Invalid body or input (issue paths point into it), an internal sub-job type, a malformed `Idempotency-Key`, or both `jobId` and `Idempotency-Key`',
      404: 'Unknown job type',
      409: '`jobId` (or the `Idempotency-Key`) exists with another type or input',
      413: 'Input over STEPWISE_MAX_INPUT_BYTES, or body over the body limit',
      503: UNAVAILABLE,
    },
  })
  async start(
    @Body(new ZodPipe(startJobBodySchema)) body: StartJobBody,
    @Headers() headers: Record<string, string | undefined>,
    @Res({ passthrough: true }) reply: FastifyReply,
    @CurrentActor() actor: Actor,
  ): Promise<StartJobResponse> {
    const key = new ZodPipe(startJobHeadersSchema, 'request headers').transform(headers)['idempotency-key'];
    if (key !== undefined && body.jobId !== undefined) {
      const message =
        'Send a jobId or an Idempotency-Key, not both: a jobId already makes the start idempotent';
      throw new ApiError(400, message, [{ path: ['idempotency-key'], message }]);
    }
    const { created, ...response } = await this.jobs.start(body.type, body.input, {
      jobId: body.jobId,
      idempotencyKey: key,
      startedBy: actor.name,
      priority: body.priority,
    });
    void reply.status(created ? HttpStatus.CREATED : HttpStatus.OK);
    if (key !== undefined && !created) void reply.header('idempotent-replayed', 'true');
    return response;
  }

  @Get()
  @ApiOperation({
    summary: 'List jobs, newest first',
    tags: ['jobs'],
    query: listJobsQuerySchema,
    responses: { 200: { description: 'A page of jobs', schema: jobListSchema } },
    errors: { 400: 'Bad filter, pageSize or pageToken, or an unknown parameter', 503: UNAVAILABLE },
  })
  async list(@Query(new ZodPipe(listJobsQuerySchema, 'query')) query: ListJobsQuery): Promise<JobList> {
    return this.jobs.list(query);
  }

  @Get(':jobId')
  @ApiOperation({
    summary: "A job's state (also after it closed)",
    tags: ['jobs'],
    params: jobIdParams,
    query: getJobQuerySchema,
    responses: {
      200: {
        description: 'The job state (of its latest run, with an ETA while it runs)',
        schema: jobStateSchema,
      },
    },
    errors: {
      400: 'Malformed job id or run id',
      404: `${NOT_FOUND} (or no such run of it)`,
      503: UNAVAILABLE,
    },
  })
  async get(
    @Param('jobId', JobIdPipe) jobId: string,
    @Query(new ZodPipe(getJobQuerySchema, 'query')) query: GetJobQuery,
  ): Promise<JobState> {
    return this.jobs.get(jobId, query);
  }

  @Get(':jobId/runs')
  @ApiOperation({
    summary: "A job's runs: the first and each retry from a step",
    tags: ['jobs'],
    params: jobIdParams,
    responses: { 200: { description: 'Its runs, newest first', schema: jobRunsSchema } },
    errors: { 400: 'Malformed job id', 404: NOT_FOUND, 503: UNAVAILABLE },
  })
  async runs(@Param('jobId', JobIdPipe) jobId: string): Promise<JobRuns> {
    return this.jobs.runs(jobId);
  }

  @Get(':jobId/cause')
  @ApiOperation({
    summary: 'Why a job failed: the deepest failing step, grouped chunk errors, and what did not run',
    tags: ['jobs'],
    params: jobIdParams,
    responses: {
      200: {
        description: 'The root cause (`cause` null unless the job is failed or completed_with_errors)',
        schema: rootCauseSchema,
      },
    },
    errors: { 400: 'Malformed job id', 404: NOT_FOUND, 503: UNAVAILABLE },
  })
  async cause(@Param('jobId', JobIdPipe) jobId: string): Promise<RootCause> {
    return this.jobs.rootCause(jobId);
  }

  @Get(':jobId/children')
  @ApiOperation({
    summary: "A job's sub-job tree",
    tags: ['jobs'],
    params: jobIdParams,
    responses: {
      200: {
        description: 'Sub-jobs and batch chunk sub-jobs (at most 6 levels, 200 children a job, 1000 nodes)',
        schema: jobTreeSchema,
      },
    },
    errors: { 400: 'Malformed job id', 404: NOT_FOUND, 503: UNAVAILABLE },
  })
  async children(@Param('jobId', JobIdPipe) jobId: string): Promise<JobTreeNode[]> {
    return this.jobs.children(jobId);
  }

  @Post(':jobId/pause')
  @Roles('operator')
  @Audited('pause')
  @ApiOperation({
    summary: 'Pause a job',
    tags: ['control'],
    params: jobIdParams,
    body: controlBodySchema,
    responses: {
      200: { description: '`pausing`, then `paused` once nothing runs', schema: controlAckSchema },
    },
    errors: { 404: NOT_FOUND, 409: 'Closed, cancelling or already paused', 503: UNAVAILABLE },
  })
  @HttpCode(HttpStatus.OK)
  async pause(
    @Param('jobId', JobIdPipe) jobId: string,
    @Body(new ZodPipe(controlBodySchema)) body: ControlPayload,
    @CurrentActor() actor: Actor,
  ): Promise<ControlAck> {
    // The actor is the caller's key name, never the `by` a client typed.
    return this.jobs.pause(jobId, { ...body, by: actor.name });
  }

  @Post(':jobId/resume')
  @Roles('operator')
  @Audited('resume')
  @ApiOperation({
    summary: 'Resume a paused job',
    tags: ['control'],
    params: jobIdParams,
    body: controlBodySchema,
    responses: { 200: { description: 'Resumed', schema: controlAckSchema } },
    errors: { 404: NOT_FOUND, 409: 'Closed, cancelling or not paused', 503: UNAVAILABLE },
  })
  @HttpCode(HttpStatus.OK)
  async resume(
    @Param('jobId', JobIdPipe) jobId: string,
    @Body(new ZodPipe(controlBodySchema)) body: ControlPayload,
    @CurrentActor() actor: Actor,
  ): Promise<ControlAck> {
    // The actor is the caller's key name, never the `by` a client typed.
    return this.jobs.resume(jobId, { ...body, by: actor.name });
  }

  @Post(':jobId/cancel')
  @Roles('operator')
  @Audited('cancel')
  @ApiOperation({
    summary: 'Cancel a job',
    tags: ['control'],
    params: jobIdParams,
    body: controlBodySchema,
    responses: { 202: { description: '`cancelling`', schema: controlAckSchema } },
    errors: { 404: NOT_FOUND, 409: 'Closed or already cancelling', 503: UNAVAILABLE },
  })
  @HttpCode(HttpStatus.ACCEPTED)
  async cancel(
    @Param('jobId', JobIdPipe) jobId: string,
    @Body(new ZodPipe(controlBodySchema)) body: ControlPayload,
    @CurrentActor() actor: Actor,
  ): Promise<ControlAck> {
    // The actor is the caller's key name, never the `by` a client typed.
    return this.jobs.cancel(jobId, { ...body, by: actor.name });
  }

  @Post(':jobId/retry-step')
  @Roles('operator')
  @Audited('retry-step')
  @ApiOperation({
    summary: 'Retry the held step of a held job (one more attempt)',
    tags: ['control'],
    params: jobIdParams,
    body: holdBodySchema,
    responses: {
      200: { description: '`running` again; if the attempt fails, `held` again', schema: controlAckSchema },
    },
    errors: { 404: NOT_FOUND, 409: 'Closed, cancelling, or no such step held', 503: UNAVAILABLE },
  })
  @HttpCode(HttpStatus.OK)
  async retryStep(
    @Param('jobId', JobIdPipe) jobId: string,
    @Body(new ZodPipe(holdBodySchema)) body: HoldDecisionPayload,
    @CurrentActor() actor: Actor,
  ): Promise<ControlAck> {
    // The actor is the caller's key name, never the `by` a client typed.
    return this.jobs.retryStep(jobId, { ...body, by: actor.name });
  }

  @Post(':jobId/skip-step')
  @Roles('operator')
  @Audited('skip-step')
  @ApiOperation({
    summary: 'Skip the held step of a held job',
    tags: ['control'],
    params: jobIdParams,
    body: holdBodySchema,
    responses: {
      200: {
        description: 'The step is `skipped`; the steps after it run by their own `when`',
        schema: controlAckSchema,
      },
    },
    errors: { 404: NOT_FOUND, 409: 'Closed, cancelling, or no such step held', 503: UNAVAILABLE },
  })
  @HttpCode(HttpStatus.OK)
  async skipStep(
    @Param('jobId', JobIdPipe) jobId: string,
    @Body(new ZodPipe(holdBodySchema)) body: HoldDecisionPayload,
    @CurrentActor() actor: Actor,
  ): Promise<ControlAck> {
    // The actor is the caller's key name, never the `by` a client typed.
    return this.jobs.skipStep(jobId, { ...body, by: actor.name });
  }

  @Post(':jobId/fail-step')
  @Roles('operator')
  @Audited('fail-step')
  @ApiOperation({
    summary: 'Fail the held step of a held job, and so the job',
    tags: ['control'],
    params: jobIdParams,
    body: holdBodySchema,
    responses: { 200: { description: '`failed` (the step’s error is the job’s)', schema: controlAckSchema } },
    errors: { 404: NOT_FOUND, 409: 'Closed, cancelling, or no such step held', 503: UNAVAILABLE },
  })
  @HttpCode(HttpStatus.OK)
  async failStep(
    @Param('jobId', JobIdPipe) jobId: string,
    @Body(new ZodPipe(holdBodySchema)) body: HoldDecisionPayload,
    @CurrentActor() actor: Actor,
  ): Promise<ControlAck> {
    // The actor is the caller's key name, never the `by` a client typed.
    return this.jobs.failStep(jobId, { ...body, by: actor.name });
  }

  @Post(':jobId/steps/:key/approve')
  @Roles('operator')
  @Audited('approve')
  @ApiOperation({
    summary: 'Approve an approval step that awaits a decision',
    description:
      'The step completes with `{decision: "approved", by, comment, at}` (`by`: your key’s name) and the job goes on. The step’s `approval.role` is the lowest role that may decide it.',
    tags: ['control'],
    params: stepParams,
    body: approvalBodySchema,
    responses: { 200: { description: 'Accepted: the step takes the decision', schema: controlAckSchema } },
    errors: APPROVAL_ERRORS,
  })
  @HttpCode(HttpStatus.OK)
  async approve(
    @Param('jobId', JobIdPipe) jobId: string,
    @Param('key', StepKeyPipe) key: string,
    @Body(new ZodPipe(approvalBodySchema)) body: ApprovalBody,
    @CurrentActor() actor: Actor,
  ): Promise<ControlAck> {
    // The decider is the caller's key name, and their role is checked against the step's.
    return this.jobs.approve(jobId, key, { ...body, by: actor.name, role: actor.role });
  }

  @Post(':jobId/steps/:key/reject')
  @Roles('operator')
  @Audited('reject')
  @ApiOperation({
    summary: 'Reject an approval step that awaits a decision',
    description:
      'Under the step’s `onReject: "fail"` the step fails with `ApprovalRejected`, and so the job; under `continue` it completes with `{decision: "rejected", by, comment, at}` and the job goes on.',
    tags: ['control'],
    params: stepParams,
    body: approvalBodySchema,
    responses: { 200: { description: 'Accepted: the step takes the decision', schema: controlAckSchema } },
    errors: APPROVAL_ERRORS,
  })
  @HttpCode(HttpStatus.OK)
  async reject(
    @Param('jobId', JobIdPipe) jobId: string,
    @Param('key', StepKeyPipe) key: string,
    @Body(new ZodPipe(approvalBodySchema)) body: ApprovalBody,
    @CurrentActor() actor: Actor,
  ): Promise<ControlAck> {
    return this.jobs.reject(jobId, key, { ...body, by: actor.name, role: actor.role });
  }

  @Post(':jobId/retry')
  @Roles('operator')
  @Audited('retry')
  @ApiOperation({
    summary: 'Retry a job from a step (a new run with the same id)',
    tags: ['control'],
    params: jobIdParams,
    body: retryBodySchema,
    responses: { 201: { description: 'The new run', schema: startJobResponseSchema } },
    errors: {
      400: '`fromStep` out of range',
      404: NOT_FOUND,
      409: 'Still running, not failed/cancelled/completed_with_errors, recovery limit reached, or an earlier step did not complete',
      503: UNAVAILABLE,
    },
  })
  @HttpCode(HttpStatus.CREATED)
  async retry(
    @Param('jobId', JobIdPipe) jobId: string,
    @Body(new ZodPipe(retryBodySchema)) body: RetryBody,
    @CurrentActor() actor: Actor,
  ): Promise<StartJobResponse> {
    return this.jobs.retry(jobId, { ...body, startedBy: actor.name });
  }

  /** Terminates the job's running workflow run at once (no cleanup runs): admins only. */
  @Delete(':jobId')
  @HttpCode(HttpStatus.OK)
  @Roles('admin')
  @Audited('terminate')
  @ApiOperation({
    summary: "Terminate a job's running run at once (no cleanup)",
    tags: ['control'],
    params: jobIdParams,
    body: terminateBodySchema,
    responses: { 200: { description: 'Terminated', schema: terminateResponseSchema } },
    errors: { 404: NOT_FOUND, 409: 'Already closed', 503: UNAVAILABLE },
  })
  async terminate(
    @Param('jobId', JobIdPipe) jobId: string,
    @Body(new ZodPipe(terminateBodySchema)) body: TerminateBody,
    @CurrentActor() actor: Actor,
  ): Promise<TerminateResponse> {
    return this.jobs.terminate(jobId, { reason: body.reason, by: actor.name });
  }
}
