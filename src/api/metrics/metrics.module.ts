import { Module } from '@nestjs/common';
import { HttpMetrics } from './http-metrics';
import { MetricsController } from './metrics.controller';
import { RequestLog } from './request-log';

/**
 * `GET /metrics`, the request metrics behind it, and the request log (docs/production.md). Other
 * modules add their gauges to {@link HttpMetrics}' registry (the live streams do).
 */
@Module({ providers: [HttpMetrics, RequestLog], controllers: [MetricsController], exports: [HttpMetrics] })
export class MetricsModule {}
