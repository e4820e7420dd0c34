import { Controller, Get, Inject, Res } from '@nestjs/common';
import type { Client } from '@temporalio/client';
import type { FastifyReply } from 'fastify';
import type { Config } from '../../config';
import { Public } from '../common/route-policy';
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
  async health(
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<{ status: string; temporal: string }> {
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
