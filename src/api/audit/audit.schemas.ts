/** `GET /api/audit`: the query and the answer. */
import { z } from 'zod';
import { AUDIT_ACTIONS, AUDIT_OUTCOMES } from '../contracts';
import type { AuditFilter } from './audit.store';

export type { AuditPage } from '../contracts';

/** Page tokens are opaque to clients: `a1.<id>` in base64url. */
export function encodeAuditPageToken(id: number): string {
  return Buffer.from(`a1.${id}`, 'utf8').toString('base64url');
}

export function decodeAuditPageToken(token: string): number | undefined {
  if (!/^[A-Za-z0-9_-]{1,40}$/.test(token)) return undefined;
  const m = /^a1\.([1-9]\d{0,15})$/.exec(Buffer.from(token, 'base64url').toString('utf8'));
  return m ? Number(m[1]) : undefined;
}

/** An ISO 8601 time with a zone (`Z` or an offset), normalised to UTC for comparison. */
const isoTime = z.iso.datetime({ offset: true }).transform((v) => new Date(v).toISOString());

export const auditQuerySchema = z
  .object({
    jobId: z.string().min(1).max(200).optional(),
    actor: z.string().min(1).max(64).optional(),
    action: z.enum(AUDIT_ACTIONS).optional(),
    outcome: z.enum(AUDIT_OUTCOMES).optional(),
    from: isoTime.optional(),
    to: isoTime.optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    pageToken: z
      .string()
      .max(40)
      .transform((t, ctx) => {
        const id = decodeAuditPageToken(t);
        if (id === undefined) {
          ctx.addIssue({ code: 'custom', message: 'not a page token of this list' });
          return z.NEVER;
        }
        return id;
      })
      .optional(),
  })
  .strict()
  .superRefine((q, ctx) => {
    if (q.from !== undefined && q.to !== undefined && q.from > q.to) {
      ctx.addIssue({ code: 'custom', path: ['to'], message: 'must not be before from' });
    }
  })
  .transform(({ pageToken, ...rest }): AuditFilter => ({ ...rest, before: pageToken }));
