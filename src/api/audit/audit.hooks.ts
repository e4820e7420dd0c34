/**
 * Fastify hooks around every request: `onRequest` gives it its request id (answered in
 * `x-request-id`); `onSend` — which runs exactly once per answer, success or error, whether the
 * answer came from a handler, the guard, a pipe, or Fastify itself (bad JSON, body too large) —
 * records each answer of an audited route in the {@link AuditStore}. Controllers write nothing.
 *
 * Bounded: a caller (a key, or the client address of a request without a valid key) gets at most
 * `STEPWISE_AUDIT_REFUSALS_PER_MINUTE` refusals recorded one by one a minute; the rest of that
 * minute's refusals become one row with their `count` (the last one's fields) when the minute is
 * over. Accepted and failed requests are always recorded one by one (the per-key rate limit bounds
 * them). Fields a client chooses are cut short, shorter still without a valid key.
 */
import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { requestContext } from '../common/request-context';
import type { AuditRouteConfig } from '../common/route-policy';
import type { Config } from '../../config';
import { KeyRing } from '../auth/key-ring';
import { APP_CONFIG } from '../config/config.module';
import { AuditStore, type AuditRecord } from './audit.store';

/** Longest `reason` and `message` kept (characters); a request without a valid key gets less. */
const MAX_TEXT = 1000;
const MAX_TEXT_UNAUTHENTICATED = 200;
const MAX_FIELD = 200;
/** The window of the per-caller refusal budget. */
const WINDOW_MS = 60_000;
/** Callers tracked at once; past it, the newest addresses share one budget. */
const MAX_CALLERS = 10_000;

interface RefusalWindow {
  start: number;
  recorded: number;
  /** Refusals past the budget in this window: how many, since when, and the last one. */
  held: { count: number; since: string; last: AuditRecord } | null;
}

@Injectable()
export class AuditHooks implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Audit');
  private readonly windows = new Map<string, RefusalWindow>();
  private readonly refusalsPerMinute: number;
  private sweeper: NodeJS.Timeout | null = null;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(AuditStore) private readonly store: AuditStore,
    private readonly keys: KeyRing,
    @Inject(APP_CONFIG) config: Config,
  ) {
    this.refusalsPerMinute = config.edge.audit.refusalsPerMinute;
  }

  onModuleDestroy(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweep(true);
  }

  /**
   * Whether `record` is written now (else it is held for its caller's aggregated row). Only
   * refusals are budgeted.
   */
  private admit(record: AuditRecord): boolean {
    if (record.outcome !== 'refused') return true;
    const t = Date.now();
    let caller = record.actor !== null ? `key:${record.actor}` : `address:${record.ip ?? 'unknown'}`;
    if (!this.windows.has(caller) && this.windows.size >= MAX_CALLERS) caller = 'address:*';
    let w = this.windows.get(caller);
    if (w && t - w.start >= WINDOW_MS) {
      this.release(w);
      w = undefined;
    }
    if (!w) {
      w = { start: t, recorded: 0, held: null };
      this.windows.set(caller, w);
    }
    if (w.recorded < this.refusalsPerMinute) {
      w.recorded++;
      return true;
    }
    w.held = { count: (w.held?.count ?? 0) + 1, since: w.held?.since ?? record.at, last: record };
    return false;
  }

  /** Writes a window's held refusals as one row. */
  private release(w: RefusalWindow): void {
    const held = w.held;
    w.held = null;
    if (!held) return;
    const { last, count, since } = held;
    this.store
      .appendSoon({
        ...last,
        jobId: null,
        reason: null,
        count,
        message:
          `${count} refusals between ${since} and ${last.at}, past the ${this.refusalsPerMinute} a minute ` +
          `recorded one by one (STEPWISE_AUDIT_REFUSALS_PER_MINUTE); the last: ${last.message ?? ''}`.slice(
            0,
            MAX_TEXT,
          ),
      })
      .catch((err: unknown) =>
        this.logger.error(`Could not write an aggregated audit record: ${String(err)}`),
      );
  }

  /** Writes the held rows of windows that are over (all of them with `all`), and forgets those windows. */
  private sweep(all = false): void {
    const t = Date.now();
    for (const [caller, w] of this.windows) {
      if (all || t - w.start >= WINDOW_MS) {
        this.release(w);
        this.windows.delete(caller);
      }
    }
  }

  /** Runs before Fastify is ready (Nest's init), so the hooks apply to every route. */
  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onRequest', async (request, reply) => {
      void reply.header('x-request-id', requestContext(request).requestId);
    });
    this.sweeper = setInterval(() => this.sweep(), WINDOW_MS);
    this.sweeper.unref();
    fastify.addHook('onSend', async (request, reply, payload) => {
      const action = (request.routeOptions.config as AuditRouteConfig | undefined)?.auditAction;
      if (action) {
        try {
          const record = this.record(request, reply, payload, action);
          // Committed before the answer leaves, in one transaction with the answers sent meanwhile.
          if (this.admit(record)) await this.store.appendSoon(record);
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
    // A start's (and a bulk start's) row names the job it started.
    const started = action === 'start' || action === 'bulk';
    const answer = status >= 400 || started || action === 'schedule-create' ? parseJson(payload) : undefined;
    const body = isRecord(request.body) ? request.body : {};
    const params = isRecord(request.params) ? request.params : {};
    // A schedule's row names the schedule (its id in the job id field).
    const created = action === 'schedule-create';
    const jobId =
      text(params.jobId) ??
      text(params.scheduleId) ??
      (started ? (text(answer?.jobId) ?? text(body.jobId)) : undefined) ??
      (created ? (text(answer?.scheduleId) ?? text(body.scheduleId)) : undefined);
    const maxText = actor ? MAX_TEXT : MAX_TEXT_UNAUTHENTICATED;
    return {
      at: new Date(Date.now()).toISOString(),
      requestId: context.requestId,
      actor: actor?.name ?? null,
      role: actor?.role ?? null,
      action,
      jobId: jobId?.slice(0, MAX_FIELD) ?? null,
      reason: reasonOf(action, body, params)?.slice(0, maxText) ?? null,
      outcome: status < 400 ? 'accepted' : status < 500 ? 'refused' : 'failed',
      statusCode: status,
      message: status >= 400 ? (text(answer?.message)?.slice(0, maxText) ?? null) : null,
      ip: request.ip?.slice(0, 64) ?? null,
    };
  }
}

/**
 * What the row records as the request's reason: its `reason`; for an approval's decision, the step
 * it decided and the comment (`signOff: looks right`), so the trail says who decided what and why.
 */
function reasonOf(
  action: AuditRecord['action'],
  body: Record<string, unknown>,
  params: Record<string, unknown>,
): string | undefined {
  // A schedule's pause and unpause carry a note.
  if (action !== 'approve' && action !== 'reject') return text(body.reason) ?? text(body.note);
  const step = text(params.key)?.slice(0, MAX_FIELD) ?? '?';
  const comment = text(body.comment);
  return comment ? `${step}: ${comment}` : step;
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
