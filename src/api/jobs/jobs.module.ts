import { Module } from '@nestjs/common';
import { JobListService } from './job-list.service';
import { JobsController } from './jobs.controller';
import { JobsService } from './jobs.service';
import { JobStateReader } from './job-state.service';

/** `/api/jobs`: start, read, list, control and retry jobs. */
@Module({ controllers: [JobsController], providers: [JobsService, JobListService, JobStateReader] })
export class JobsModule {}
