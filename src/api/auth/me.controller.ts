import { Controller, Get, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ROLES } from '../../api-keys';
import { requestContext } from '../common/request-context';
import { ApiOperation } from '../openapi/api-operation';
import { KeyRing } from './key-ring';

export const meSchema = z.object({
  name: z.string().describe('The key’s name (what the audit trail records as the actor)'),
  role: z.enum(ROLES),
  openMode: z.boolean().describe('No keys are configured: every request acts as "local" (loopback only)'),
});
export type Me = z.infer<typeof meSchema>;

/** `GET /api/me`: who the caller's key makes them — the dashboard enables actions by this role. */
@Controller('api/me')
export class MeController {
  constructor(private readonly keys: KeyRing) {}

  @Get()
  @ApiOperation({
    summary: 'The caller: key name and role',
    tags: ['auth'],
    responses: { 200: { description: 'The caller', schema: meSchema } },
  })
  me(@Req() request: FastifyRequest): Me {
    // The guard ran (every non-public route): the actor is set.
    const actor = requestContext(request).actor ?? { name: 'unknown', role: 'viewer' as const };
    return { name: actor.name, role: actor.role, openMode: this.keys.open };
  }
}
