import { Controller, Get, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { meSchema, type Me } from '../contracts';
import { requestContext } from '../common/request-context';
import { ApiOperation } from '../openapi/api-operation';
import { KeyRing } from './key-ring';

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
