import { Inject, Module, type OnModuleDestroy } from '@nestjs/common';
import type { StepwiseClient } from '../../client/client';
import { JobsController } from './jobs.controller';
import { STEPWISE_CLIENT, stepwiseClientProvider } from './stepwise-client.provider';

/** `/api/jobs`: start, read, list, control and retry jobs through the one client, shared with the live streams. */
@Module({
  controllers: [JobsController],
  providers: [stepwiseClientProvider],
  exports: [STEPWISE_CLIENT],
})
export class JobsModule implements OnModuleDestroy {
  constructor(@Inject(STEPWISE_CLIENT) private readonly jobs: StepwiseClient) {}

  /** Before the Temporal connection closes (at application shutdown): no client read left running on it. */
  async onModuleDestroy(): Promise<void> {
    await this.jobs.close();
  }
}
