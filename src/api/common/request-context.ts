/**
 * What the API knows about one request beyond Fastify's own fields: its request id (the
 * `x-request-id` answer header) and, once the auth guard ran, the actor it acts as. Kept on the
 * Fastify request under a symbol, so the guard, the controllers and the audit hooks share it.
 */
import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { Actor } from '../../api-keys';

export interface RequestContext {
  requestId: string;
  /** Set by the auth guard on the routes it lets through (open mode: admin "local"). */
  actor?: Actor;
}

const CONTEXT = Symbol('stepwise.requestContext');
type WithContext = FastifyRequest & { [CONTEXT]?: RequestContext };

/** An incoming `x-request-id` is kept when it is short and plain; otherwise one is generated. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function incomingRequestId(header: string | string[] | undefined): string | undefined {
  return typeof header === 'string' && SANE_REQUEST_ID.test(header) ? header : undefined;
}

/** The request's context, created (with a fresh request id) on first use. */
export function requestContext(request: FastifyRequest): RequestContext {
  const req = request as WithContext;
  req[CONTEXT] ??= { requestId: incomingRequestId(req.headers['x-request-id']) ?? randomUUID() };
  return req[CONTEXT];
}

/** The actor the auth guard let through (a handler parameter). */
export const CurrentActor = createParamDecorator((_: unknown, ctx: ExecutionContext): Actor => {
  const actor = requestContext(ctx.switchToHttp().getRequest<FastifyRequest>()).actor;
  if (!actor) throw new Error('No actor on this request: is the route public?');
  return actor;
});
