/**
 * Fastify hooks around every request: `onRequest` gives it its request id (answered in
 * `x-request-id`); `onSend` — which runs exactly once per answer, success or error, whether the
 * answer came from a handler, the guard, a pipe, or Fastify itself (bad JSON, body too large) —
 * records each answer of an audited route in the {@link AuditStore}. Controllers write nothing.
 */
import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { requestContext } from '../common/request-context';
import type { AuditRouteConfig } from '../common/route-policy';
import { KeyRing } from '../auth/key-ring';
import { AuditStore, type AuditRecord } from './audit.store';

const MAX_REASON = 1000;
const MAX_FIELD = 200;

@Injectable()
export class AuditHooks implements OnModuleInit {
  private readonly logger = new Logger('Audit');

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(AuditStore) private readonly store: AuditStore,
    private readonly keys: KeyRing,
  ) {}

  /** Runs before Fastify is ready (Nest's init), so the hooks apply to every route. */
  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onRequest', async (request, reply) => {
      void reply.header('x-request-id', requestContext(request).requestId);
    });
    fastify.addHook('onSend', async (request, reply, payload) => {
      const action = (request.routeOptions.config as AuditRouteConfig | undefined)?.auditAction;
      if (action) {
        try {
          // Committed before the answer leaves, in one transaction with the answers sent meanwhile.
          await this.store.appendSoon(this.record(request, reply, payload, action));
        } catch (err) {
          // The answer stands (an accepted action already happened); the gap must not go unnoticed.
          this.logger.error(
            `Could not write the audit record of request ${requestContext(request).requestId}: ${String(err)}`,
          );
        }
      }
      return payload;
    });
  }

  private record(
    request: FastifyRequest,
    reply: FastifyReply,
    payload: unknown,
    action: AuditRecord['action'],
  ): AuditRecord {
    const context = requestContext(request);
    // The guard sets the actor; a request refused before it ran (e.g. a body that is not JSON) is
    // attributed from its header the same way.
    const auth = context.actor
      ? { ok: true as const, actor: context.actor }
      : this.keys.authenticate(request.headers.authorization);
    const actor = auth.ok ? auth.actor : null;
    const status = reply.statusCode;
    const answer = status >= 400 || action === 'start' ? parseJson(payload) : undefined;
    const body = isRecord(request.body) ? request.body : {};
    const params = isRecord(request.params) ? request.params : {};
    const jobId =
      text(params.jobId) ?? (action === 'start' ? (text(answer?.jobId) ?? text(body.jobId)) : undefined);
    return {
      at: new Date().toISOString(),
      requestId: context.requestId,
      actor: actor?.name ?? null,
      role: actor?.role ?? null,
      action,
      jobId: jobId?.slice(0, MAX_FIELD) ?? null,
      reason: text(body.reason)?.slice(0, MAX_REASON) ?? null,
      outcome: status < 400 ? 'accepted' : status < 500 ? 'refused' : 'failed',
      statusCode: status,
      message: status >= 400 ? (text(answer?.message)?.slice(0, MAX_REASON) ?? null) : null,
      ip: request.ip ?? null,
    };
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function parseJson(payload: unknown): Record<string, unknown> | undefined {
  const raw =
    typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : undefined;
  if (raw === undefined || raw.length > 64 * 1024) return undefined;
  try {
    const parsed: unknown = JSON.parse(raw);
    return isRecord(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}
