import { Global, Module, type DynamicModule } from '@nestjs/common';
import type { Client } from '@temporalio/client';
import {
  TEMPORAL_CLIENT,
  TemporalConnectionCloser,
  temporalClientFactory,
  temporalClientValue,
} from './temporal.providers';
import type { Tracing } from '../../tracing';

/**
 * The Temporal client for every feature module (inject it with `@Inject(TEMPORAL_CLIENT)`).
 * Imported once, by the application module.
 */
@Global()
@Module({})
export class TemporalModule {
  /**
   * Production: the module connects from `Config.temporal` and closes the connection on shutdown;
   * with `tracing`, the client's starts carry the request's trace into the job's workflow.
   */
  static forRoot(tracing: Tracing | null = null): DynamicModule {
    return {
      module: TemporalModule,
      providers: [temporalClientFactory(tracing), TemporalConnectionCloser],
      exports: [TEMPORAL_CLIENT],
    };
  }

  /** Tests: a client the caller connected, and closes itself after closing the application. */
  static forClient(client: Client): DynamicModule {
    return {
      module: TemporalModule,
      providers: [temporalClientValue(client)],
      exports: [TEMPORAL_CLIENT],
    };
  }
}
