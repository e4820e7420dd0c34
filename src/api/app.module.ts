import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import type { Client } from '@temporalio/client';
import type { Config } from '../config';
import { DocsController } from './docs.controller';
import { ApiExceptionFilter } from './errors';
import { HealthController } from './health.controller';
import { JobListService } from './job-list.service';
import { JobTypesController } from './job-types.controller';
import { JobsController } from './jobs.controller';
import { JobsService } from './jobs.service';
import { APP_CONFIG, TEMPORAL_CLIENT } from './tokens';

/** The API module; the Temporal client is created by the caller (main.ts or a test) and passed in. */
@Module({})
export class AppModule {
  static create(config: Config, client: Client): DynamicModule {
    return {
      module: AppModule,
      controllers: [HealthController, JobsController, JobTypesController, DocsController],
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: TEMPORAL_CLIENT, useValue: client },
        { provide: APP_FILTER, useClass: ApiExceptionFilter },
        JobsService,
        JobListService,
      ],
    };
  }
}
