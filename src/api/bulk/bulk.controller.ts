import { Body, Controller, HttpCode, HttpStatus, Inject, Post } from '@nestjs/common';
import type { Actor } from '../../api-keys';
import type { Config } from '../../config';
import type { StepwiseClient } from '../../client/client';
import { BULK_JOB_TYPE } from '../../../workflows/engine/bulk-contracts';
import { ApiError } from '../common/errors';
import { ZodPipe } from '../common/pipes/zod.pipe';
import { CurrentActor } from '../common/request-context';
import { Audited, Roles } from '../common/route-policy';
import { APP_CONFIG } from '../config/config.module';
import { STEPWISE_CLIENT } from '../jobs/stepwise-client.provider';
import { ApiOperation } from '../openapi/api-operation';
import {
  bulkBodySchema,
  bulkStartResponseSchema,
  type BulkBody,
  type BulkFilter,
  type BulkStartResponse,
} from './schemas';

/** Jobs read per page while a filter is resolved. */
const PAGE = 100;

/**
 * `POST /api/bulk`: starts a bulk job (`stepwiseBulk`) — a job of its own, with its card, progress,
 * pause and cancel — that cancels, pauses, resumes or retries the jobs listed or matched by a filter.
 * The caller's identity goes into the job's input (never the body's): each item is checked against
 * the caller's role and recorded in the audit trail under the caller's name.
 */
@Controller('api/bulk')
export class BulkController {
  private readonly max: number;

  constructor(
    @Inject(STEPWISE_CLIENT) private readonly jobs: StepwiseClient,
    @Inject(APP_CONFIG) config: Config,
  ) {
    this.max = config.edge.bulkMax;
  }

  @Post()
  @Roles('operator')
  @Audited('bulk')
  @HttpCode(HttpStatus.CREATED)
  @ApiOperation({
    summary: 'Cancel, pause, resume or retry many jobs, as a bulk job',
    tags: ['control'],
    body: bulkBodySchema,
    bodyRequired: true,
    responses: { 201: { description: 'The bulk job, started', schema: bulkStartResponseSchema } },
    errors: {
      400: 'Invalid body (issue paths point into it): not exactly one of `jobIds` and `filter`, a job listed twice, or a filter that matches no job',
      413: 'More jobs than STEPWISE_BULK_MAX, listed or matched by the filter',
      503: 'Temporal unavailable',
    },
  })
  async start(
    @Body(new ZodPipe(bulkBodySchema)) body: BulkBody,
    @CurrentActor() actor: Actor,
  ): Promise<BulkStartResponse> {
    const jobIds = body.jobIds ?? (await this.resolve(body.filter!));
    if (jobIds.length > this.max) {
      throw new ApiError(
        413,
        `A bulk job acts on at most ${this.max} jobs (STEPWISE_BULK_MAX); ${jobIds.length} were listed`,
        [{ path: ['jobIds'], message: `at most ${this.max} jobs` }],
      );
    }
    const { created: _created, ...started } = await this.jobs.bulk({
      action: body.action,
      jobIds,
      actor: { name: actor.name, role: actor.role },
      ...(body.reason !== undefined ? { reason: body.reason } : {}),
      ...(body.fromStep !== undefined ? { fromStep: body.fromStep } : {}),
    });
    return { ...started, items: jobIds.length };
  }

  /** The ids of the jobs the filter lists (bulk jobs left out), refusing more than the maximum. */
  private async resolve(filter: BulkFilter): Promise<string[]> {
    const ids: string[] = [];
    let pageToken: string | undefined;
    do {
      const page = await this.jobs.list({ ...filter, pageSize: PAGE, pageToken });
      for (const job of page.jobs) {
        if (job.type === BULK_JOB_TYPE) continue;
        ids.push(job.jobId);
        if (ids.length > this.max) {
          throw new ApiError(
            413,
            `The filter matches more than ${this.max} jobs (STEPWISE_BULK_MAX); narrow the filter`,
            [{ path: ['filter'], message: `matches more than ${this.max} jobs` }],
          );
        }
      }
      pageToken = page.nextPageToken ?? undefined;
    } while (pageToken);
    if (ids.length === 0) {
      throw new ApiError(400, 'The filter matches no jobs', [
        { path: ['filter'], message: 'matches no jobs' },
      ]);
    }
    return ids;
  }
}
