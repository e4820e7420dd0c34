/**
 * One log line per answered request (Nest's logger, context `HTTP`): request id (the
 * `x-request-id` answer header), method, route template, URL (credential parameters such as
 * `access_token` redacted), status, duration, and the caller
 * (the API key's name; `local` in open mode; null when unauthenticated). Error answers log at
 * `warn` (4xx) or `error` (5xx, the exception filter logs the cause).
 */
import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { redactUrl } from '../../redact';
import { requestContext } from '../common/request-context';
import { routeOf } from './http-metrics';

@Injectable()
export class RequestLog implements OnModuleInit {
  private readonly logger = new Logger('HTTP');

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onResponse', async (request, reply) => {
      const context = requestContext(request);
      const status = reply.statusCode;
      const line = {
        message: `${request.method} ${routeOf(request)} ${status}`,
        requestId: context.requestId,
        method: request.method,
        route: routeOf(request),
        url: redactUrl(request.url.length > 300 ? `${request.url.slice(0, 300)}…` : request.url),
        status,
        durationMs: Math.round(reply.elapsedTime * 10) / 10,
        caller: context.actor?.name ?? null,
      };
      if (status >= 500) this.logger.error(line);
      else if (status >= 400) this.logger.warn(line);
      else this.logger.log(line);
    });
  }
}
