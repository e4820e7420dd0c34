import type { Provider } from '@nestjs/common';
import type { Client } from '@temporalio/client';
import type { StepwiseApp } from '../../../workflows/engine/app';
import { StepwiseClient } from '../../client/client';
import type { Config } from '../../config';
import { STEPWISE_APP } from '../catalog/catalog.module';
import { APP_CONFIG } from '../config/config.module';
import { TEMPORAL_CLIENT } from '../temporal/temporal.providers';

/**
 * Injection token of the API's one {@link StepwiseClient}: every job route and live stream acts
 * through it, so the API starts, reads and controls jobs exactly as any other program does.
 */
export const STEPWISE_CLIENT = Symbol('STEPWISE_CLIENT');

/** The client, over the injected app and Temporal client, with the configured queue and budgets. */
export const stepwiseClientProvider: Provider = {
  provide: STEPWISE_CLIENT,
  useFactory: (client: Client, config: Config, app: StepwiseApp): StepwiseClient =>
    new StepwiseClient({
      app,
      client,
      taskQueue: config.temporal.taskQueue,
      limits: config.limits,
      closedStateCacheBytes: config.edge.closedStateCacheBytes,
      listSortMax: config.edge.listSortMax,
      etaOverrunMargin: config.edge.etaOverrunMargin,
      concurrencyLimits: config.edge.concurrencyLimits,
      statsMax: config.edge.stats.maxRuns,
      statsStatesMax: config.edge.stats.maxStates,
      via: 'the Stepwise API',
    }),
  inject: [TEMPORAL_CLIENT, APP_CONFIG, STEPWISE_APP],
};
