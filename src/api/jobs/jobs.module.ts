import { Module } from '@nestjs/common';
import { JobsController } from './jobs.controller';
import { STEPWISE_CLIENT, stepwiseClientProvider } from './stepwise-client.provider';

/** `/api/jobs`: start, read, list, control and retry jobs through the one client, shared with the live streams. */
@Module({
  controllers: [JobsController],
  providers: [stepwiseClientProvider],
  exports: [STEPWISE_CLIENT],
})
export class JobsModule {}
