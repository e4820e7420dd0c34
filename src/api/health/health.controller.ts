import { Controller, Get, Inject, Res } from '@nestjs/common';
import type { Client } from '@temporalio/client';
import type { FastifyReply } from 'fastify';
import type { Config } from '../../config';
import { Public } from '../common/route-policy';
import { ApiOperation } from '../openapi/api-operation';
import { healthSchema, type Health } from '../openapi/response-schemas';
import { APP_CONFIG } from '../config/config.module';
import { TEMPORAL_CLIENT } from '../temporal/temporal.providers';

/** How long the health check waits for Temporal: a probe must answer quickly, not ride out gRPC retries. */
const HEALTH_DEADLINE_MS = 3_000;

@Controller()
export class HealthController {
  constructor(
    @Inject(TEMPORAL_CLIENT) private readonly client: Client,
    @Inject(APP_CONFIG) private readonly config: Config,
  ) {}

  /** 200 when Temporal answers for our namespace, 503 otherwise (within {@link HEALTH_DEADLINE_MS}). */
  @Get('health')
  @Public()
  @ApiOperation({
    summary: 'Whether Temporal answers for the namespace',
    tags: ['health'],
    responses: {
      200: { description: 'Temporal reachable', schema: healthSchema },
      503: { description: 'Temporal did not answer within 3 s', schema: healthSchema },
    },
  })
  async health(@Res({ passthrough: true }) reply: FastifyReply): Promise<Health> {
    try {
      await this.client.withDeadline(Date.now() + HEALTH_DEADLINE_MS, () =>
        this.client.workflowService.describeNamespace({ namespace: this.config.temporal.namespace }),
      );
      return { status: 'ok', temporal: 'ok' };
    } catch {
      void reply.status(503);
      return { status: 'error', temporal: 'unreachable' };
    }
  }
}
