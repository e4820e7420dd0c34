import { Inject, Logger, Module, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { Config } from '../../config';
import { APP_CONFIG } from '../config/config.module';
import { AuditController } from './audit.controller';
import { AuditHooks } from './audit.hooks';
import { AuditStore } from './audit.store';

/** How often rows past the retention period are removed (also once at start). */
const PRUNE_EVERY_MS = 60 * 60_000;

/**
 * The audit trail of mutating requests: recorded by {@link AuditHooks} for every route marked
 * `@Audited()`, kept in SQLite (`STEPWISE_AUDIT_DB_PATH`), read by admins at `GET /api/audit`, and
 * with `STEPWISE_AUDIT_RETENTION_DAYS` set, pruned of older rows at start and every hour.
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
export class AuditModule implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Audit');
  private pruner: NodeJS.Timeout | null = null;

  constructor(
    @Inject(AuditStore) private readonly store: AuditStore,
    @Inject(APP_CONFIG) private readonly config: Config,
  ) {}

  onModuleInit(): void {
    const days = this.config.edge.audit.retentionDays;
    if (days === null) return;
    const prune = (): void => {
      try {
        const removed = this.store.prune(days);
        if (removed > 0) this.logger.log(`Removed ${removed} audit rows older than ${days} days`);
      } catch (err) {
        this.logger.error(`Could not prune the audit trail: ${String(err)}`);
      }
    };
    prune();
    this.pruner = setInterval(prune, PRUNE_EVERY_MS);
    this.pruner.unref();
  }

  onApplicationShutdown(): void {
    if (this.pruner) clearInterval(this.pruner);
    this.store.close();
  }
}
