/**
 * The one guard of the API (global): authenticates the bearer key (limiting, per client address,
 * how often a request without a valid key is answered), checks the route's role, refuses a request
 * that changes something from another site's page (a foreign `Origin`, a body that is not JSON:
 * `common/browser-guard.ts`), and rate-limits per key (when keys are configured) mutating routes
 * and reads in their own buckets — in that order, before any pipe or handler runs, so a refused
 * request reaches neither validation nor Temporal. Refusals are `ApiError`s, answered by the
 * exception filter in the usual error body (and recorded by the audit hook on audited routes).
 */
import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { roleRank, type Role } from '../../api-keys';
import type { Config } from '../../config';
import { mutationRefusal } from '../common/browser-guard';
import { ApiError } from '../common/errors';
import { requestContext } from '../common/request-context';
import {
  AUDIT_ACTION,
  METRICS_ROUTE,
  PUBLIC_ROUTE,
  QUERY_TOKEN_AUTH,
  ROUTE_ROLE,
  type AuditAction,
} from '../common/route-policy';
import { APP_CONFIG } from '../config/config.module';
import { KeyRing } from './key-ring';
import { RateLimiter } from './rate-limiter';

/** Injection token of the {@link RateLimiter} of mutating routes. */
export const MUTATION_RATE_LIMITER = Symbol('MUTATION_RATE_LIMITER');

export const rateLimiterProvider = {
  provide: MUTATION_RATE_LIMITER,
  useFactory: (config: Config) => new RateLimiter(config.api.rateLimit.perMinute, config.api.rateLimit.burst),
  inject: [APP_CONFIG],
};

@Injectable()
export class AuthGuard implements CanActivate {
  /** Per key: reads (every route that is neither public nor audited, the streams included). */
  private readonly reads: RateLimiter;
  /** Per client address: requests refused for want of a valid key (a bound on guessing, and on the audit rows they make). */
  private readonly unauthenticated: RateLimiter;

  constructor(
    private readonly reflector: Reflector,
    private readonly keys: KeyRing,
    @Inject(MUTATION_RATE_LIMITER) private readonly limiter: RateLimiter,
    @Inject(APP_CONFIG) private readonly config: Config,
  ) {
    const { readRateLimit, unauthenticatedPerMinute } = config.edge;
    this.reads = new RateLimiter(readRateLimit.perMinute, readRateLimit.burst);
    this.unauthenticated = new RateLimiter(unauthenticatedPerMinute, unauthenticatedPerMinute);
  }

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const targets = [context.getHandler(), context.getClass()];
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) {
      this.refuseFromBrowser(request);
      return true;
    }
    if (
      this.config.env.STEPWISE_METRICS_PUBLIC &&
      this.reflector.get<boolean>(METRICS_ROUTE, context.getHandler())
    ) {
      return true;
    }

    const auth = this.keys.authenticate(request.headers.authorization ?? this.queryToken(context, request));
    if (!auth.ok) {
      const address = request.ip ?? 'unknown';
      const wait = this.unauthenticated.take(address);
      if (wait > 0) {
        void reply.header('retry-after', String(wait));
        throw new ApiError(
          429,
          `Too many requests without a valid API key from ${address}: at most ` +
            `${this.unauthenticated.perMinute} a minute (STEPWISE_UNAUTHENTICATED_RATE_LIMIT_PER_MINUTE). Retry in ${wait} s`,
        );
      }
      void reply.header(
        'www-authenticate',
        auth.why === 'missing' ? 'Bearer realm="stepwise"' : 'Bearer realm="stepwise", error="invalid_token"',
      );
      throw new ApiError(
        401,
        auth.why === 'missing'
          ? 'An API key is required: send "Authorization: Bearer <key>"'
          : 'Invalid API key',
      );
    }
    const actor = auth.actor;
    requestContext(request).actor = actor;

    const needed = this.reflector.getAllAndOverride<Role | undefined>(ROUTE_ROLE, targets) ?? 'viewer';
    if (roleRank(actor.role) < roleRank(needed)) {
      throw new ApiError(
        403,
        `This route needs the ${needed} role; the key "${actor.name}" has the ${actor.role} role`,
      );
    }

    // Open mode too: what a page on another site can make a browser send must not act.
    this.refuseFromBrowser(request);

    // Per key: open mode (no keys, loopback only) has no key to limit, so it is not limited.
    if (this.keys.open) return true;
    const action = this.reflector.get<AuditAction | undefined>(AUDIT_ACTION, context.getHandler());
    if (action) {
      this.take(
        this.limiter,
        actor.name,
        reply,
        (perMinute, burst) =>
          `at most ${perMinute} mutating requests a minute (bursts of ${burst}; ` +
          'STEPWISE_RATE_LIMIT_PER_MINUTE, STEPWISE_RATE_LIMIT_BURST)',
      );
    } else {
      this.take(
        this.reads,
        actor.name,
        reply,
        (perMinute, burst) =>
          `at most ${perMinute} reads a minute (bursts of ${burst}; ` +
          'STEPWISE_READ_RATE_LIMIT_PER_MINUTE, STEPWISE_READ_RATE_LIMIT_BURST)',
      );
    }
    return true;
  }

  /** A mutating request from another origin, or without a JSON body: 403 or 415. */
  private refuseFromBrowser(request: FastifyRequest): void {
    const refusal = mutationRefusal(request, this.config.edge);
    if (refusal) throw refusal;
  }

  /** One token of `limiter` for the key `name`, or a 429 with `Retry-After` naming the limit. */
  private take(
    limiter: RateLimiter,
    name: string,
    reply: FastifyReply,
    limit: (perMinute: number, burst: number) => string,
  ): void {
    const wait = limiter.take(name);
    if (wait === 0) return;
    void reply.header('retry-after', String(wait));
    throw new ApiError(
      429,
      `Rate limit reached for the key "${name}": ${limit(limiter.perMinute, limiter.burst)}. Retry in ${wait} s`,
    );
  }

  /**
   * `?access_token=<key>` as a bearer header, on `@QueryTokenAuth()` routes only (the SSE streams,
   * which browsers' EventSource opens without headers); elsewhere the parameter is ignored.
   */
  private queryToken(context: ExecutionContext, request: FastifyRequest): string | undefined {
    if (!this.reflector.get<boolean | undefined>(QUERY_TOKEN_AUTH, context.getHandler())) return undefined;
    const token = (request.query as Record<string, unknown> | undefined)?.access_token;
    return typeof token === 'string' ? `Bearer ${token}` : undefined;
  }
}
