import { Body, Controller, Get, HttpCode, HttpStatus, Param, Post, Query, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { ControlPayload, JobState } from '../../../workflows/contracts';
import { JobListService } from './job-list.service';
import { JobsService } from './jobs.service';
import {
  controlBodySchema,
  jobIdSchema,
  listJobsQuerySchema,
  retryBodySchema,
  startJobBodySchema,
  type JobList,
  type JobTreeNode,
  type ListJobsQuery,
  type RetryBody,
  type StartJobBody,
  type StartJobResponse,
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
  @HttpCode(HttpStatus.OK)
  async pause(
    @Param('jobId', JobIdPipe) jobId: string,
    @Body(new ZodPipe(controlBodySchema)) body: ControlPayload,
  ): Promise<JobState> {
    return this.jobs.control(jobId, 'pause', body);
  }

  @Post(':jobId/resume')
  @HttpCode(HttpStatus.OK)
  async resume(
    @Param('jobId', JobIdPipe) jobId: string,
    @Body(new ZodPipe(controlBodySchema)) body: ControlPayload,
  ): Promise<JobState> {
    return this.jobs.control(jobId, 'resume', body);
  }

  @Post(':jobId/cancel')
  @HttpCode(HttpStatus.ACCEPTED)
  async cancel(
    @Param('jobId', JobIdPipe) jobId: string,
    @Body(new ZodPipe(controlBodySchema)) body: ControlPayload,
  ): Promise<JobState> {
    return this.jobs.control(jobId, 'cancel', body);
  }

  @Post(':jobId/retry')
  @HttpCode(HttpStatus.CREATED)
  async retry(
    @Param('jobId', JobIdPipe) jobId: string,
    @Body(new ZodPipe(retryBodySchema)) body: RetryBody,
  ): Promise<StartJobResponse> {
    return this.jobs.retry(jobId, body);
  }
}
