import { Controller, Get, Inject, Res, type BeforeApplicationShutdown } from '@nestjs/common';
import type { Client } from '@temporalio/client';
import type { FastifyReply } from 'fastify';
import type { Config } from '../../config';
import { stackStatus } from '../../stack-status';
import { Public } from '../common/route-policy';
import { ApiOperation } from '../openapi/api-operation';
import { healthSchema, livenessSchema, type Health, type Liveness } from '../contracts';
import { APP_CONFIG } from '../config/config.module';
import { TEMPORAL_CLIENT } from '../temporal/temporal.providers';

/** How long the health check waits for Temporal: a probe must answer quickly, not ride out gRPC retries. */
const HEALTH_DEADLINE_MS = 3_000;

@Controller()
export class HealthController implements BeforeApplicationShutdown {
  /** Set when shutdown starts: readiness fails, so a load balancer stops sending new requests. */
  private draining = false;

  constructor(
    @Inject(TEMPORAL_CLIENT) private readonly client: Client,
    @Inject(APP_CONFIG) private readonly config: Config,
  ) {}

  /**
   * Readiness: 200 when Temporal answers for our namespace, 503 otherwise (within
   * {@link HEALTH_DEADLINE_MS}) and while the process drains for shutdown. `GET /health` is the
   * same probe under its historical path. Under a launcher the answer carries the launcher's
   * process status (`stack`), which does not change the code: a restarting worker is no reason to
   * take the API out of a load balancer.
   */
  @Get(['health', 'health/ready'])
  @Public()
  @ApiOperation({
    summary:
      'Readiness: whether Temporal answers for the namespace (and the API is not shutting down); under npm start or npm run cluster, the status of their processes',
    tags: ['health'],
    responses: {
      200: { description: 'Temporal reachable', schema: healthSchema },
      503: {
        description: 'Temporal did not answer within 3 s, or the API is shutting down',
        schema: healthSchema,
      },
    },
  })
  async health(@Res({ passthrough: true }) reply: FastifyReply): Promise<Health> {
    const stack = stackStatus();
    const withStack = (h: Health): Health => (stack ? { ...h, stack } : h);
    if (this.draining) {
      void reply.status(503);
      return withStack({ status: 'error', temporal: 'unreachable' });
    }
    try {
      await this.client.withDeadline(Date.now() + HEALTH_DEADLINE_MS, () =>
        this.client.workflowService.describeNamespace({ namespace: this.config.temporal.namespace }),
      );
      return withStack({ status: 'ok', temporal: 'ok' });
    } catch {
      void reply.status(503);
      return withStack({ status: 'error', temporal: 'unreachable' });
    }
  }

  /** Liveness: 200 while the process serves HTTP; it never calls Temporal (an outage is not a reason to restart). */
  @Get('health/live')
  @Public()
  @ApiOperation({
    summary: 'Liveness: the process serves requests (Temporal is not called)',
    tags: ['health'],
    responses: { 200: { description: 'Alive', schema: livenessSchema } },
  })
  live(): Liveness {
    return { status: 'ok' };
  }

  beforeApplicationShutdown(): void {
    this.draining = true;
  }
}
