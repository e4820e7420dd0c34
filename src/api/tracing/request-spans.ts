/**
 * One span per API request (`/api/...` routes), the root of the trace of whatever the request
 * does: the Temporal client's interceptor starts the job's workflow under it, so a job's trace
 * begins with the request that started it. Only with tracing on (`TracingModule`, src/tracing.ts).
 *
 * A Fastify hook opens the span when the request arrives and ends it when the response closes
 * (streams included); a Nest interceptor makes it the active span while the handler runs, after
 * Fastify read the body (whose stream events would lose an async context set earlier). The span's
 * attributes are the method, the route template, the path without its query string, the status
 * and the request id — no headers, no query, no body.
 */
import {
  Inject,
  Injectable,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import * as otel from '@opentelemetry/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import { Observable } from 'rxjs';
import type { Tracing } from '../../tracing';
import { requestContext } from '../common/request-context';

/** Injection token of the application's {@link Tracing}. */
export const TRACING = Symbol('TRACING');

/** The open request spans' contexts, by the Node request they belong to. */
const requestSpans = new WeakMap<IncomingMessage, otel.Context>();

/** Routes that get a span: the API's own (not the dashboard's pages and files, probes or metrics). */
const traced = (route: string | undefined): route is string =>
  route !== undefined && route.startsWith('/api/');

/** Opens and ends the request spans. */
@Injectable()
export class RequestSpans implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(TRACING) private readonly tracing: Tracing,
  ) {}

  /** Runs before Fastify is ready (Nest's init), so the hook sees every route. */
  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    const tracer = this.tracing.tracer;
    fastify.addHook('onRequest', async (request, reply) => {
      const route = request.routeOptions.url;
      if (!traced(route)) return;
      // A caller's own trace (W3C traceparent) is continued; otherwise the request is the root.
      const parent = otel.propagation.extract(otel.ROOT_CONTEXT, request.headers);
      const params = (request.params ?? {}) as Record<string, unknown>;
      const span = tracer.startSpan(
        `${request.method} ${route}`,
        {
          kind: otel.SpanKind.SERVER,
          attributes: {
            'http.request.method': request.method,
            'http.route': route,
            'url.path': request.url.split('?')[0],
            'stepwise.request_id': requestContext(request).requestId,
            ...(typeof params.jobId === 'string' ? { 'stepwise.job.id': params.jobId } : {}),
          },
        },
        parent,
      );
      requestSpans.set(request.raw, otel.trace.setSpan(parent, span));
      reply.raw.once('close', () => {
        const status = reply.raw.statusCode;
        span.setAttribute('http.response.status_code', status);
        if (status >= 500) span.setStatus({ code: otel.SpanStatusCode.ERROR });
        if (!reply.raw.writableFinished) span.setAttribute('stepwise.response.aborted', true);
        span.end();
        requestSpans.delete(request.raw);
      });
    });
  }
}

/** Runs each traced request's handler with its span active, so the calls it makes are its children. */
@Injectable()
export class RequestSpanInterceptor implements NestInterceptor {
  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (ctx.getType() !== 'http') return next.handle();
    const request = ctx.switchToHttp().getRequest<FastifyRequest>();
    const active = requestSpans.get(request.raw);
    if (!active) return next.handle();
    const actor = requestContext(request).actor;
    if (actor) otel.trace.getSpan(active)?.setAttribute('stepwise.actor', actor.name);
    // The handler runs when the observable is subscribed: subscribe inside the span's context.
    return new Observable((subscriber) =>
      otel.context.with(active, () => next.handle().subscribe(subscriber)),
    );
  }
}

/** Shuts tracing down with the application that started it, after the server stopped taking requests. */
@Injectable()
export class TracingCloser implements OnApplicationShutdown {
  constructor(@Inject(TRACING) private readonly tracing: Tracing) {}

  async onApplicationShutdown(): Promise<void> {
    await this.tracing.shutdown();
  }
}
