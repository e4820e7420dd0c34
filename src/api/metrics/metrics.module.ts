import { Module } from '@nestjs/common';
import { HttpMetrics } from './http-metrics';
import { MetricsController } from './metrics.controller';

/** `GET /metrics` and the request metrics behind it (docs/production.md). */
@Module({ providers: [HttpMetrics], controllers: [MetricsController] })
export class MetricsModule {}
