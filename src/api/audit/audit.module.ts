import { Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { Config } from '../../config';
import { APP_CONFIG } from '../config/config.module';
import { AuditController } from './audit.controller';
import { AuditHooks } from './audit.hooks';
import { AuditStore } from './audit.store';

/**
 * The audit trail of mutating requests: recorded by {@link AuditHooks} for every route marked
 * `@Audited()`, kept in SQLite (`STEPWISE_AUDIT_DB_PATH`), read by admins at `GET /api/audit`.
 */
@Module({
  controllers: [AuditController],
  providers: [
    {
      provide: AuditStore,
      useFactory: (config: Config) => new AuditStore(config.api.auditDbPath),
      inject: [APP_CONFIG],
    },
    AuditHooks,
  ],
})
export class AuditModule implements OnApplicationShutdown {
  constructor(@Inject(AuditStore) private readonly store: AuditStore) {}

  onApplicationShutdown(): void {
    this.store.close();
  }
}
