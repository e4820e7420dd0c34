import { Controller, Get, Header, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { MetricsAccess } from '../common/route-policy';
import { ApiOperation } from '../openapi/api-operation';
import { HttpMetrics } from './http-metrics';

@Controller()
export class MetricsController {
  constructor(private readonly metrics: HttpMetrics) {}

  /**
   * Prometheus text exposition. Needs a key of any role (a scraper sends `Authorization: Bearer
   * <key>`), or none when STEPWISE_METRICS_PUBLIC=true (a scraper on a private network) or in
   * open mode (no keys, loopback only).
   */
  @Get('metrics')
  @MetricsAccess()
  @ApiOperation({
    summary: 'Prometheus metrics of this API process (requests by route and status, Node process)',
    description:
      'Text exposition format. Needs a key of any role unless STEPWISE_METRICS_PUBLIC=true (docs/production.md).',
    tags: ['health'],
    responses: {
      200: { description: 'Prometheus text format', contentType: 'text/plain', schema: z.string() },
    },
  })
  @Header('cache-control', 'no-store')
  async metricsText(@Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    void reply.header('content-type', this.metrics.registry.contentType);
    return this.metrics.registry.metrics();
  }
}
