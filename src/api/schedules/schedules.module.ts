import { Module } from '@nestjs/common';
import { JobsModule } from '../jobs/jobs.module';
import { SchedulesController } from './schedules.controller';

/** `/api/schedules`: schedules (Temporal Schedules) that start jobs, through the API's one client. */
@Module({ imports: [JobsModule], controllers: [SchedulesController] })
export class SchedulesModule {}
