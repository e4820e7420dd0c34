import { Module } from '@nestjs/common';
import { JobsModule } from '../jobs/jobs.module';
import { StatsController } from './stats.controller';

/** `/api/stats`: the charts page's figures, through the jobs' one client. */
@Module({ imports: [JobsModule], controllers: [StatsController] })
export class StatsModule {}
