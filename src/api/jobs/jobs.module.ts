import { Module } from '@nestjs/common';
import { JobListService } from './job-list.service';
import { JobsController } from './jobs.controller';
import { JobsService } from './jobs.service';
import { JobStateReader } from './job-state.service';

/** `/api/jobs`: start, read, list, control and retry jobs; the readers are shared with the live streams. */
@Module({
  controllers: [JobsController],
  providers: [JobsService, JobListService, JobStateReader],
  exports: [JobListService, JobStateReader],
})
export class JobsModule {}
