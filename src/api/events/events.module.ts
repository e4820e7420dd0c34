import { Module } from '@nestjs/common';
import { JobsModule } from '../jobs/jobs.module';
import { MetricsModule } from '../metrics/metrics.module';
import { EventHub } from './event-hub.service';
import { EventsController } from './events.controller';

/** Live streams (SSE): `/api/jobs/:jobId/events` and `/api/events`, over one shared poller per job or list. */
@Module({
  imports: [JobsModule, MetricsModule],
  controllers: [EventsController],
  providers: [EventHub],
})
export class EventsModule {}
