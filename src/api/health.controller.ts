import { Controller, Get, Inject, Res } from '@nestjs/common';
import { Client } from '@temporalio/client';
import type { FastifyReply } from 'fastify';
import type { Config } from '../config';
import { APP_CONFIG, TEMPORAL_CLIENT } from './tokens';

@Controller()
export class HealthController {
  constructor(
    @Inject(TEMPORAL_CLIENT) private readonly client: Client,
    @Inject(APP_CONFIG) private readonly config: Config,
  ) {}

  /** 200 when Temporal answers for our namespace, 503 otherwise. */
  @Get('health')
  async health(
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<{ status: string; temporal: string }> {
    try {
      await this.client.connection.workflowService.describeNamespace(
        { namespace: this.config.temporal.namespace },
        // A health check must answer quickly, not wait on gRPC retries.
      );
      return { status: 'ok', temporal: 'ok' };
    } catch {
      void reply.status(503);
      return { status: 'error', temporal: 'unreachable' };
    }
  }
}
