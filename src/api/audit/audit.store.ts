/**
 * The audit trail: one SQLite table, append-only (triggers abort any UPDATE, and any DELETE but of
 * rows past the retention period, `STEPWISE_AUDIT_RETENTION_DAYS`, which {@link AuditStore.prune}
 * removes), WAL with a busy timeout so several API processes can share one file.
 */
import type Database from 'better-sqlite3';
import { openPrivateSqlite } from '../../private-sqlite';
import type { Role } from '../../api-keys';
import type { AuditAction, AuditEntry, AuditOutcome } from '../contracts';

export { AUDIT_OUTCOMES, type AuditEntry, type AuditOutcome } from '../contracts';

/** One mutating request to record: an {@link AuditEntry} before it has an id (`count` defaults to 1). */
export type AuditRecord = Omit<AuditEntry, 'id' | 'count'> & { count?: number };

export interface AuditFilter {
  jobId?: string;
  actor?: string;
  action?: AuditAction;
  outcome?: AuditOutcome;
  /** Inclusive, ISO 8601. */
  from?: string;
  /** Exclusive, ISO 8601. */
  to?: string;
  limit: number;
  /** Entries older than this id (from a page token). */
  before?: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS audit_log (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  at          TEXT    NOT NULL,
  request_id  TEXT    NOT NULL,
  actor       TEXT,
  role        TEXT,
  action      TEXT    NOT NULL,
  job_id      TEXT,
  reason      TEXT,
  outcome     TEXT    NOT NULL,
  status_code INTEGER NOT NULL,
  message     TEXT,
  ip          TEXT
);
CREATE INDEX IF NOT EXISTS audit_log_job ON audit_log (job_id, id);
CREATE INDEX IF NOT EXISTS audit_log_actor ON audit_log (actor, id);
CREATE INDEX IF NOT EXISTS audit_log_at ON audit_log (at);
CREATE INDEX IF NOT EXISTS audit_log_request ON audit_log (request_id);
CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
  BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TABLE IF NOT EXISTS audit_settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

/**
 * Rows may be deleted only when older than the last retention cutoff a pruning API wrote (none:
 * no row may be deleted). Recreated at every open, replacing the unconditional one of older files.
 */
const DELETE_TRIGGER = `
DROP TRIGGER IF EXISTS audit_log_no_delete;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
  WHEN OLD.at >= COALESCE((SELECT value FROM audit_settings WHERE name = 'prune_before'), '')
  BEGIN SELECT RAISE(ABORT, 'audit_log is append-only (rows leave only past the retention period)'); END;
`;

interface Row {
  id: number;
  at: string;
  request_id: string;
  actor: string | null;
  role: Role | null;
  action: AuditAction;
  job_id: string | null;
  reason: string | null;
  outcome: AuditOutcome;
  status_code: number;
  message: string | null;
  ip: string | null;
  count: number;
}

export class AuditStore {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement;
  private readonly insertOnce: Database.Statement;
  private readonly insertAll: (records: AuditRecord[]) => void;
  /** Records waiting for the next group commit (see {@link appendSoon}). */
  private pending: { record: AuditRecord; resolve: () => void; reject: (err: unknown) => void }[] = [];

  /** Opens (creating it if needed) the store at `path`, or an in-memory one for `:memory:`. */
  constructor(path: string) {
    this.db = openPrivateSqlite(path);
    this.db.exec(SCHEMA);
    // IMMEDIATE: it reads, then writes. A deferred transaction that must turn its read into a write
    // while another process (the API, a second worker) writes the same file is refused at once,
    // without the busy handler; one that takes the write lock first waits for it like any write
    // (a cluster worker died here with "database is locked" at start).
    this.db
      .transaction(() => {
        const columns = this.db.prepare('SELECT name FROM pragma_table_info(?)').all('audit_log') as {
          name: string;
        }[];
        // Files written before aggregated rows existed.
        if (!columns.some((c) => c.name === 'count')) {
          this.db.exec('ALTER TABLE audit_log ADD COLUMN count INTEGER NOT NULL DEFAULT 1');
        }
        this.db.exec(DELETE_TRIGGER);
      })
      .immediate();
    this.insert = this.db.prepare(
      `INSERT INTO audit_log (at, request_id, actor, role, action, job_id, reason, outcome, status_code, message, ip, count)
       VALUES (@at, @requestId, @actor, @role, @action, @jobId, @reason, @outcome, @statusCode, @message, @ip, @count)`,
    );
    this.insertOnce = this.db.prepare(
      `INSERT INTO audit_log (at, request_id, actor, role, action, job_id, reason, outcome, status_code, message, ip, count)
       SELECT @at, @requestId, @actor, @role, @action, @jobId, @reason, @outcome, @statusCode, @message, @ip, @count
       WHERE NOT EXISTS (SELECT 1 FROM audit_log WHERE request_id = @requestId)`,
    );
    this.insertAll = this.db.transaction((records: AuditRecord[]) => {
      for (const r of records) this.insert.run(withCount(r));
    });
  }

  append(record: AuditRecord): void {
    this.insert.run(withCount(record));
  }

  /**
   * Appends `record` unless a row with its request id exists (one statement, so two writers racing
   * write one row). Returns whether it was written. Bulk jobs record each item this way under
   * `bulk/<bulkJobId>/<index>`: an activity attempt that runs again writes nothing twice.
   */
  appendOnce(record: AuditRecord): boolean {
    return this.insertOnce.run(withCount(record)).changes === 1;
  }

  /** The first row written with this request id, if any. */
  findRequest(requestId: string): AuditEntry | undefined {
    const row = this.db
      .prepare('SELECT * FROM audit_log WHERE request_id = ? ORDER BY id LIMIT 1')
      .get(requestId) as Row | undefined;
    return row ? toEntry(row) : undefined;
  }

  /** Rows whose request id starts with `prefix` (at most `limit`), oldest first. */
  listRequests(prefix: string, limit: number): AuditEntry[] {
    // A range over the request id index: every string that starts with `prefix` sorts within it.
    const rows = this.db
      .prepare('SELECT * FROM audit_log WHERE request_id >= ? AND request_id < ? ORDER BY id LIMIT ?')
      .all(prefix, `${prefix}\u{10ffff}`, limit) as Row[];
    return rows.map(toEntry);
  }

  /**
   * Deletes the rows written before `retentionDays` days ago (in batches), and records that
   * cutoff, below which the delete trigger lets rows go. Returns how many were deleted.
   */
  prune(retentionDays: number, now = Date.now()): number {
    const cutoff = new Date(now - retentionDays * 86_400_000).toISOString();
    this.flush();
    return this.db.transaction(() => {
      this.db
        .prepare(
          "INSERT INTO audit_settings (name, value) VALUES ('prune_before', @cutoff) " +
            'ON CONFLICT (name) DO UPDATE SET value = @cutoff',
        )
        .run({ cutoff });
      return this.db.prepare('DELETE FROM audit_log WHERE at < @cutoff').run({ cutoff }).changes;
    })();
  }

  /**
   * Appends `record` together with the others that arrive before the next turn of the event loop:
   * one transaction, so one fsync, for all of them; resolves once they are committed. A file-backed
   * trail syncs every commit, and the sync blocks the process — one commit per request capped
   * mutating requests at the disk's sync rate and stalled everything else meanwhile.
   */
  appendSoon(record: AuditRecord): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ record, resolve, reject });
      if (this.pending.length === 1) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const batch = this.pending.splice(0);
    if (batch.length === 0) return; // close() committed them already
    try {
      this.insertAll(batch.map((b) => b.record));
      for (const b of batch) b.resolve();
    } catch (err) {
      for (const b of batch) b.reject(err);
    }
  }

  /** Newest first; `limit` entries and whether older ones match too. */
  list(filter: AuditFilter): { entries: AuditEntry[]; more: boolean } {
    const where: string[] = [];
    const params: Record<string, string | number> = { limit: filter.limit + 1 };
    const eq = (column: string, name: keyof AuditFilter) => {
      const value = filter[name];
      if (value === undefined) return;
      where.push(`${column} = @${name}`);
      params[name] = value;
    };
    eq('job_id', 'jobId');
    eq('actor', 'actor');
    eq('action', 'action');
    eq('outcome', 'outcome');
    if (filter.from !== undefined) {
      where.push('at >= @from');
      params.from = filter.from;
    }
    if (filter.to !== undefined) {
      where.push('at < @to');
      params.to = filter.to;
    }
    if (filter.before !== undefined) {
      where.push('id < @before');
      params.before = filter.before;
    }
    const rows = this.db
      .prepare(
        `SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT @limit`,
      )
      .all(params) as Row[];
    const more = rows.length > filter.limit;
    return { entries: rows.slice(0, filter.limit).map(toEntry), more };
  }

  close(): void {
    if (this.pending.length > 0 && this.db.open) this.flush();
    if (this.db.open) this.db.close();
  }
}

const withCount = (r: AuditRecord): AuditRecord & { count: number } => ({ ...r, count: r.count ?? 1 });

function toEntry(r: Row): AuditEntry {
  return {
    id: r.id,
    at: r.at,
    requestId: r.request_id,
    actor: r.actor,
    role: r.role,
    action: r.action,
    jobId: r.job_id,
    reason: r.reason,
    outcome: r.outcome,
    statusCode: r.status_code,
    message: r.message,
    ip: r.ip,
    count: r.count,
  };
}
