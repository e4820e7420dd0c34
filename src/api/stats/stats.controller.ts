import { Controller, Get, Inject, Query } from '@nestjs/common';
import type { StepwiseClient } from '../../client/client';
import { statsSchema, type Stats } from '../contracts';
import { ZodPipe } from '../common/pipes/zod.pipe';
import { STEPWISE_CLIENT } from '../jobs/stepwise-client.provider';
import { ApiOperation } from '../openapi/api-operation';
import { statsQuerySchema, type StatsQuery } from './schemas';

/** `GET /api/stats`: the figures of the charts page; the scan and the arithmetic are the client's. */
@Controller('api/stats')
export class StatsController {
  constructor(@Inject(STEPWISE_CLIENT) private readonly jobs: StepwiseClient) {}

  @Get()
  @ApiOperation({
    summary: 'Figures over the runs that started or closed in a time range',
    tags: ['stats'],
    query: statsQuerySchema,
    responses: {
      200: { description: 'The figures, and what was read to compute them', schema: statsSchema },
    },
    errors: {
      400: 'A time without its zone, `to` not after `from`, a range over 31 days, a bad interval or over 500 buckets, an unknown type or parameter',
      503: 'Temporal unavailable',
    },
  })
  async stats(@Query(new ZodPipe(statsQuerySchema, 'query')) query: StatsQuery): Promise<Stats> {
    return this.jobs.stats(query);
  }
}
