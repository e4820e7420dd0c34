import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import type { Client } from '@temporalio/client';
import type { Config } from '../config';
import type { StepwiseApp } from '../../workflows/engine/app';
import { CatalogModule } from './catalog/catalog.module';
import { AuditModule } from './audit/audit.module';
import { AuthModule } from './auth/auth.module';
import { ApiExceptionFilter } from './common/filters/api-exception.filter';
import { ConfigModule } from './config/config.module';
import { DashboardModule } from './dashboard/dashboard.module';
import { DocsModule } from './docs/docs.module';
import { OpenApiModule } from './openapi/openapi.module';
import { EventsModule } from './events/events.module';
import { HealthModule } from './health/health.module';
import { JobTypesModule } from './job-types/job-types.module';
import { BulkModule } from './bulk/bulk.module';
import { JobsModule } from './jobs/jobs.module';
import { MetricsModule } from './metrics/metrics.module';
import { StatsModule } from './stats/stats.module';
import { NotificationsModule } from './notifications/notifications.module';
import { SchedulesModule } from './schedules/schedules.module';
import { TemporalModule } from './temporal/temporal.module';
import { TracingModule } from './tracing/tracing.module';
import type { Tracing } from '../tracing';

/**
 * The API: infrastructure (configuration, the Temporal client), the auth guard and the audit trail,
 * the feature modules and the one exception filter.
 */
@Module({})
export class AppModule {
  /**
   * @param app The app whose job types the API serves.
   * @param client A client the caller owns (tests); without one, the application connects from
   * `config` and closes the connection when it shuts down.
   * @param tracing Traces of requests and of the jobs they start (src/tracing.ts), or null (off);
   * `own`: the application shuts it down when it closes.
   */
  static forRoot(
    config: Config,
    app: StepwiseApp,
    client?: Client,
    tracing: { tracing: Tracing; own: boolean } | null = null,
  ): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        CatalogModule.forRoot(app),
        client ? TemporalModule.forClient(client) : TemporalModule.forRoot(tracing?.tracing ?? null),
        ...(tracing ? [TracingModule.forRoot(tracing.tracing, tracing.own)] : []),
        // The global auth guard (keys, roles, rate limits), then the audit trail of mutating routes.
        AuthModule,
        AuditModule,
        HealthModule,
        JobsModule,
        BulkModule,
        StatsModule,
        EventsModule,
        JobTypesModule,
        DocsModule,
        OpenApiModule,
        DashboardModule,
        MetricsModule,
        NotificationsModule,
        SchedulesModule,
      ],
      providers: [{ provide: APP_FILTER, useClass: ApiExceptionFilter }],
    };
  }
}
