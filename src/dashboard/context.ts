/** The page context: the caller, the Temporal Web UI and the trace UI, with what follows from them. */
import type { Me, Role } from './types.js';

/** What every page gets: the caller, and where the Temporal Web UI is. */
export interface PageContext {
  me: Me;
  temporalUi: string | null;
  namespace: string;
  /** `STEPWISE_TRACE_URL`: a trace UI's URL template with `{traceId}`, or null (no trace links). */
  traceUrl: string | null;
}

/** The roles, lowest first, as numbers to compare. */
export const ROLE_RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };
export const canOperate = (ctx: PageContext): boolean => ROLE_RANK[ctx.me.role] >= ROLE_RANK.operator;
/** Admins also manage webhook subscriptions (and terminate jobs); open mode is admin. */
export const isAdmin = (ctx: PageContext): boolean => ctx.me.role === 'admin';

/** The job's workflow (this run) in the Temporal Web UI, or null without a configured UI. */
export function webUiHref(ctx: PageContext, jobId: string, runId?: string): string | null {
  if (!ctx.temporalUi) return null;
  const base = `${ctx.temporalUi}/namespaces/${encodeURIComponent(ctx.namespace)}/workflows/${encodeURIComponent(jobId)}`;
  return runId ? `${base}/${encodeURIComponent(runId)}/history` : base;
}

/** A job's trace in the trace UI (`STEPWISE_TRACE_URL`), or null without one or without a trace. */
export function traceHref(ctx: PageContext, traceId: string | null | undefined): string | null {
  if (!ctx.traceUrl || !traceId || !/^[0-9a-f]{32}$/.test(traceId)) return null;
  return ctx.traceUrl.replaceAll('{traceId}', traceId);
}

/** A `<meta name=…>` the API put in the page, or null when empty. */
export const meta = (name: string): string | null =>
  document.querySelector<HTMLMetaElement>(`meta[name="${name}"]`)?.content || null;
