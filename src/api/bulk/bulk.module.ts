import { Module } from '@nestjs/common';
import { JobsModule } from '../jobs/jobs.module';
import { BulkController } from './bulk.controller';

/** `/api/bulk`: bulk actions, each run as a bulk job through the API's one client. */
@Module({ imports: [JobsModule], controllers: [BulkController] })
export class BulkModule {}
