import { Global, Module, type DynamicModule } from '@nestjs/common';
import type { Client } from '@temporalio/client';
import {
  TEMPORAL_CLIENT,
  TemporalConnectionCloser,
  temporalClientFactory,
  temporalClientValue,
} from './temporal.providers';

/**
 * The Temporal client for every feature module (inject it with `@Inject(TEMPORAL_CLIENT)`).
 * Imported once, by the application module.
 */
@Global()
@Module({})
export class TemporalModule {
  /** Production: the module connects from `Config.temporal` and closes the connection on shutdown. */
  static forRoot(): DynamicModule {
    return {
      module: TemporalModule,
      providers: [temporalClientFactory, TemporalConnectionCloser],
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
