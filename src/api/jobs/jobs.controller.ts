import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Post, Query, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { ControlAck, ControlPayload, JobState } from '../../../workflows/contracts';
import type { Actor } from '../../api-keys';
import { CurrentActor } from '../common/request-context';
import { Audited, Roles } from '../common/route-policy';
import { JobListService } from './job-list.service';
import { JobsService } from './jobs.service';
import {
  controlBodySchema,
  jobIdSchema,
  listJobsQuerySchema,
  retryBodySchema,
  startJobBodySchema,
  terminateBodySchema,
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

const JobIdPipe = new ZodPipe(jobIdSchema, 'job id');

@Controller('api/jobs')
export class JobsController {
  constructor(
    private readonly jobs: JobsService,
    private readonly lists: JobListService,
  ) {}

  @Post()
  @Roles('operator')
  @Audited('start')
  async start(
    @Body(new ZodPipe(startJobBodySchema)) body: StartJobBody,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<StartJobResponse> {
    const { created, response } = await this.jobs.start(body);
    void reply.status(created ? HttpStatus.CREATED : HttpStatus.OK);
    return response;
  }

  @Get()
  async list(@Query(new ZodPipe(listJobsQuerySchema, 'query')) query: ListJobsQuery): Promise<JobList> {
    return this.lists.list(query);
  }

  @Get(':jobId')
  async get(@Param('jobId', JobIdPipe) jobId: string): Promise<JobState> {
    return this.jobs.getState(jobId);
  }

  @Get(':jobId/children')
  async children(@Param('jobId', JobIdPipe) jobId: string): Promise<JobTreeNode[]> {
    return this.lists.children(jobId);
  }

  @Post(':jobId/pause')
  @Roles('operator')
  @Audited('pause')
  @HttpCode(HttpStatus.OK)
  async pause(
    @Param('jobId', JobIdPipe) jobId: string,
    @Body(new ZodPipe(controlBodySchema)) body: ControlPayload,
    @CurrentActor() actor: Actor,
  ): Promise<ControlAck> {
    // The actor is the caller's key name, never the `by` a client typed.
    return this.jobs.control(jobId, 'pause', { ...body, by: actor.name });
  }

  @Post(':jobId/resume')
  @Roles('operator')
  @Audited('resume')
  @HttpCode(HttpStatus.OK)
  async resume(
    @Param('jobId', JobIdPipe) jobId: string,
    @Body(new ZodPipe(controlBodySchema)) body: ControlPayload,
    @CurrentActor() actor: Actor,
  ): Promise<ControlAck> {
    // The actor is the caller's key name, never the `by` a client typed.
    return this.jobs.control(jobId, 'resume', { ...body, by: actor.name });
  }

  @Post(':jobId/cancel')
  @Roles('operator')
  @Audited('cancel')
  @HttpCode(HttpStatus.ACCEPTED)
  async cancel(
    @Param('jobId', JobIdPipe) jobId: string,
    @Body(new ZodPipe(controlBodySchema)) body: ControlPayload,
    @CurrentActor() actor: Actor,
  ): Promise<ControlAck> {
    // The actor is the caller's key name, never the `by` a client typed.
    return this.jobs.control(jobId, 'cancel', { ...body, by: actor.name });
  }

  @Post(':jobId/retry')
  @Roles('operator')
  @Audited('retry')
  @HttpCode(HttpStatus.CREATED)
  async retry(
    @Param('jobId', JobIdPipe) jobId: string,
    @Body(new ZodPipe(retryBodySchema)) body: RetryBody,
  ): Promise<StartJobResponse> {
    return this.jobs.retry(jobId, body);
  }

  /** Terminates the job's running workflow run at once (no cleanup runs): admins only. */
  @Delete(':jobId')
  @HttpCode(HttpStatus.OK)
  @Roles('admin')
  @Audited('terminate')
  async terminate(
    @Param('jobId', JobIdPipe) jobId: string,
    @Body(new ZodPipe(terminateBodySchema)) body: TerminateBody,
    @CurrentActor() actor: Actor,
  ): Promise<TerminateResponse> {
    return this.jobs.terminate(jobId, body.reason, actor.name);
  }
}
