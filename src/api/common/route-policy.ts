/**
 * Who may call a route and whether it is audited, declared on the handler:
 *
 * - `@Public()` — no key needed (`/health`, `/docs`);
 * - `@MetricsAccess()` — `/metrics`: public when STEPWISE_METRICS_PUBLIC=true, else like `viewer`;
 * - `@Roles('operator')` — the lowest role allowed (default for every other route: `viewer`);
 * - `@QueryTokenAuth()` — the key may also come as `?access_token=<key>` (the SSE routes only:
 *   browsers' EventSource cannot set headers; see docs/security.md);
 * - `@Audited('pause')` — a mutating route: rate-limited per key and recorded in the audit trail,
 *   accepted or refused. The action is also put in the Fastify route's `config`, so the audit hook
 *   sees it for requests Nest never handled (a body that is not JSON, or too large).
 */
import { applyDecorators, SetMetadata } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import type { Role } from '../../api-keys';
import type { AuditAction } from '../contracts';

export { AUDIT_ACTIONS, type AuditAction } from '../contracts';

export const PUBLIC_ROUTE = 'stepwise:public';
export const ROUTE_ROLE = 'stepwise:role';
export const AUDIT_ACTION = 'stepwise:auditAction';
export const QUERY_TOKEN_AUTH = 'stepwise:queryTokenAuth';

/** The Fastify route config field carrying the audited action. */
export interface AuditRouteConfig {
  auditAction?: AuditAction;
}

/** Anyone may call this route, with or without a key. */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(PUBLIC_ROUTE, true);

/**
 * `GET /metrics`: public when STEPWISE_METRICS_PUBLIC=true, otherwise any valid key (viewer and up).
 * The guard decides, because it knows the configuration.
 */
export const METRICS_ROUTE = 'stepwise:metricsRoute';
export const MetricsAccess = (): MethodDecorator => SetMetadata(METRICS_ROUTE, true);

/** The lowest role that may call this route (method over class; default `viewer`). */
export const Roles = (role: Role): MethodDecorator & ClassDecorator => SetMetadata(ROUTE_ROLE, role);

/** The key may come as `?access_token=<key>` when no `Authorization` header is sent (SSE routes only). */
export const QueryTokenAuth = (): MethodDecorator => SetMetadata(QUERY_TOKEN_AUTH, true);

/** A mutating route: rate-limited per key, and each request recorded in the audit trail. */
export const Audited = (action: AuditAction): MethodDecorator =>
  applyDecorators(
    SetMetadata(AUDIT_ACTION, action),
    RouteConfig({ auditAction: action } satisfies AuditRouteConfig),
  );
