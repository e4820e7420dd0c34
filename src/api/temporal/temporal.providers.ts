import { Inject, Injectable, type OnApplicationShutdown, type Provider } from '@nestjs/common';
import type { Client } from '@temporalio/client';
import type { Config } from '../../config';
import { connectClient } from '../../temporal';
import { APP_CONFIG } from '../config/config.module';
import type { Tracing } from '../../tracing';

/** Injection token of the Temporal {@link Client}. */
export const TEMPORAL_CLIENT = Symbol('TEMPORAL_CLIENT');

/**
 * The client, connected from configuration when the application starts (fails fast if it cannot);
 * with `tracing`, with its interceptors.
 */
export const temporalClientFactory = (tracing: Tracing | null): Provider => ({
  provide: TEMPORAL_CLIENT,
  useFactory: (config: Config): Promise<Client> =>
    connectClient(config.temporal, tracing?.clientInterceptors()),
  inject: [APP_CONFIG],
});

/** A client passed in by the caller (a test), who owns its connection and closes it. */
export const temporalClientValue = (client: Client): Provider => ({
  provide: TEMPORAL_CLIENT,
  useValue: client,
});

/**
 * Closes the connection the factory opened, once the HTTP server has stopped taking requests
 * (`onApplicationShutdown` runs after Nest disposed of the server). Registered only with the
 * factory: a client passed in is never closed by the application.
 */
@Injectable()
export class TemporalConnectionCloser implements OnApplicationShutdown {
  constructor(@Inject(TEMPORAL_CLIENT) private readonly client: Client) {}

  async onApplicationShutdown(): Promise<void> {
    await this.client.connection.close();
  }
}
