import { Module } from '@nestjs/common';
import { JobListService } from '../jobs/job-list.service';
import { JobStateReader } from '../jobs/job-state.service';
import { EventHub } from './event-hub.service';
import { EventsController } from './events.controller';

/** Live streams (SSE): `/api/jobs/:jobId/events` and `/api/events`, over one shared poller per job or list. */
@Module({ controllers: [EventsController], providers: [EventHub, JobStateReader, JobListService] })
export class EventsModule {}
