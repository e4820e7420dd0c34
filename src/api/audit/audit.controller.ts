import { Controller, Get, Query } from '@nestjs/common';
import { ZodPipe } from '../common/pipes/zod.pipe';
import { Roles } from '../common/route-policy';
import { auditPageSchema } from '../contracts';
import { ApiOperation } from '../openapi/api-operation';
import { auditQuerySchema, encodeAuditPageToken, type AuditPage } from './audit.schemas';
import { AuditStore, type AuditFilter } from './audit.store';

@Controller('api/audit')
export class AuditController {
  constructor(private readonly store: AuditStore) {}

  /** The audit trail, newest first, filtered by job, actor, action, outcome and time (admin only). */
  @Get()
  @Roles('admin')
  @ApiOperation({
    summary: 'The audit trail of mutating requests, newest first',
    tags: ['audit'],
    query: auditQuerySchema,
    responses: { 200: { description: 'A page of entries', schema: auditPageSchema } },
    errors: { 400: 'Bad filter or pageToken' },
  })
  list(@Query(new ZodPipe(auditQuerySchema, 'query')) filter: AuditFilter): AuditPage {
    const { entries, more } = this.store.list(filter);
    const last = entries.at(-1);
    return { entries, nextPageToken: more && last ? encodeAuditPageToken(last.id) : null };
  }
}
