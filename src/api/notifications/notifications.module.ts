import { Module } from '@nestjs/common';
import { JobsModule } from '../jobs/jobs.module';
import { NotificationsController } from './notifications.controller';
import { NotificationsService } from './notifications.service';

/**
 * Webhook notifications (docs/notifications.md): subscriptions and the delivery log at
 * `/api/notifications`, the notifier that turns closed jobs into deliveries, and the worker that
 * delivers them.
 */
@Module({
  imports: [JobsModule],
  controllers: [NotificationsController],
  providers: [NotificationsService],
})
export class NotificationsModule {}
