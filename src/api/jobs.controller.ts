import { Body, Controller, Get, HttpStatus, Param, Post, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { JobState } from '../../workflows/contracts';
import { JobsService } from './jobs.service';
import { jobIdSchema, startJobBodySchema, type StartJobBody, type StartJobResponse } from './schemas';
import { ZodPipe } from './zod-pipe';

@Controller('api/jobs')
export class JobsController {
  constructor(private readonly jobs: JobsService) {}

  @Post()
  async start(
    @Body(new ZodPipe(startJobBodySchema)) body: StartJobBody,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<StartJobResponse> {
    const { created, response } = await this.jobs.start(body);
    void reply.status(created ? HttpStatus.CREATED : HttpStatus.OK);
    return response;
  }

  @Get(':jobId')
  async get(@Param('jobId', new ZodPipe(jobIdSchema, 'job id')) jobId: string): Promise<JobState> {
    return this.jobs.getState(jobId);
  }
}
