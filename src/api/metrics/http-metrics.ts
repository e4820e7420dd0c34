/**
 * The API's Prometheus metrics (prom-client), served at `GET /metrics`: requests by route
 * template (never the raw URL, so job ids do not explode the series), method and status, their
 * durations, and the Node process metrics — all prefixed `stepwise_api_`. Each application has
 * its own registry (tests run several in one process).
 */
import { Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/** The route template of a request, or `unmatched` (404s, so unknown URLs add no series). */
export const routeOf = (request: FastifyRequest): string => request.routeOptions.url ?? 'unmatched';

@Injectable()
export class HttpMetrics implements OnModuleInit {
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: 'stepwise_api_http_requests_total',
    help: 'HTTP requests answered, by method, route template and status code',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: 'stepwise_api_http_request_duration_seconds',
    help: 'Time from receiving a request to sending its answer, by method, route template and status code',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15],
    registers: [this.registry],
  });

  constructor(private readonly adapterHost: HttpAdapterHost) {
    collectDefaultMetrics({ register: this.registry, prefix: 'stepwise_api_' });
  }

  /** Runs before Fastify is ready (Nest's init), so the hook sees every route. */
  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onResponse', async (request, reply) => {
      // SSE streams are hijacked: they are counted when they end, with the status they opened with.
      const labels = { method: request.method, route: routeOf(request), status: String(reply.statusCode) };
      this.requests.inc(labels);
      this.duration.observe(labels, reply.elapsedTime / 1000);
    });
  }
}
