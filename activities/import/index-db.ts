/**
 * The searchable import index: one SQLite table keyed by the row key, and an FTS5 table over its
 * text kept in sync by triggers (external content). Rows are upserted with
 * `INSERT … ON CONFLICT(key) DO UPDATE`, a batch per transaction, so running the same import
 * again — a retried or recovered step — never creates duplicates.
 *
 * Several processes (workers, imports running at once) write the same file: it is in WAL mode,
 * every write transaction is `BEGIN IMMEDIATE` — it takes the write lock before its first read,
 * so it waits for the lock instead of failing with SQLITE_BUSY when upgrading a read — and a
 * connection waits up to {@link BUSY_TIMEOUT_MS} for a lock another one holds.
 */
import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { NormalizedRow } from './rows';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS import_rows (
  key          TEXT PRIMARY KEY,
  title        TEXT NOT NULL,
  body         TEXT,
  category     TEXT,
  tags         TEXT NOT NULL DEFAULT '',
  amount       REAL,
  updated_at   TEXT,
  source       TEXT NOT NULL,
  import_id    TEXT NOT NULL,
  content_hash TEXT NOT NULL,
  indexed_at   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS import_rows_import_id ON import_rows(import_id);
CREATE VIRTUAL TABLE IF NOT EXISTS import_rows_fts USING fts5(
  title, body, category, tags,
  content = 'import_rows', content_rowid = 'rowid', tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS import_rows_ai AFTER INSERT ON import_rows BEGIN
  INSERT INTO import_rows_fts(rowid, title, body, category, tags)
  VALUES (new.rowid, new.title, new.body, new.category, new.tags);
END;
CREATE TRIGGER IF NOT EXISTS import_rows_ad AFTER DELETE ON import_rows BEGIN
  INSERT INTO import_rows_fts(import_rows_fts, rowid, title, body, category, tags)
  VALUES ('delete', old.rowid, old.title, old.body, old.category, old.tags);
END;
CREATE TRIGGER IF NOT EXISTS import_rows_au AFTER UPDATE OF title, body, category, tags ON import_rows BEGIN
  INSERT INTO import_rows_fts(import_rows_fts, rowid, title, body, category, tags)
  VALUES ('delete', old.rowid, old.title, old.body, old.category, old.tags);
  INSERT INTO import_rows_fts(rowid, title, body, category, tags)
  VALUES (new.rowid, new.title, new.body, new.category, new.tags);
END;
`;

/** How long a connection waits for another one's lock before giving up with SQLITE_BUSY. */
export const BUSY_TIMEOUT_MS = 5000;

export interface UpsertCounts {
  inserted: number;
  updated: number;
  unchanged: number;
}

export interface SearchHit {
  key: string;
  title: string;
  category: string | null;
  source: string;
  importId: string;
}

interface Params {
  key: string;
  title: string;
  body: string | null;
  category: string | null;
  tags: string;
  amount: number | null;
  updated_at: string | null;
  source: string;
  import_id: string;
  content_hash: string;
  indexed_at: string;
}

export class ImportIndex {
  private readonly db: Database.Database;
  private readonly selectHash: Database.Statement<[string], { content_hash: string }>;
  private readonly upsertRow: Database.Statement<Params>;
  private readonly touchRow: Database.Statement<{ key: string; source: string; import_id: string }>;
  private readonly upsertBatch: (rows: NormalizedRow[], importId: string) => UpsertCounts;

  constructor(path: string) {
    // Owner only, whatever the umask: the folder 0700 when created, the file 0600 before SQLite
    // opens it (SQLite gives its -wal and -shm files the database file's mode).
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    closeSync(openSync(path, 'a', 0o600));
    chmodSync(path, 0o600);
    this.db = new Database(path, { timeout: BUSY_TIMEOUT_MS });
    this.db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    this.db.pragma('journal_mode = WAL');
    this.db.transaction(() => this.db.exec(SCHEMA)).immediate();
    this.selectHash = this.db.prepare('SELECT content_hash FROM import_rows WHERE key = ?');
    this.upsertRow = this.db.prepare(
      `INSERT INTO import_rows
         (key, title, body, category, tags, amount, updated_at, source, import_id, content_hash, indexed_at)
       VALUES
         (@key, @title, @body, @category, @tags, @amount, @updated_at, @source, @import_id, @content_hash, @indexed_at)
       ON CONFLICT(key) DO UPDATE SET
         title = excluded.title, body = excluded.body, category = excluded.category, tags = excluded.tags,
         amount = excluded.amount, updated_at = excluded.updated_at, source = excluded.source,
         import_id = excluded.import_id, content_hash = excluded.content_hash, indexed_at = excluded.indexed_at`,
    );
    // Same content: record which import saw it last, without touching the full-text index.
    this.touchRow = this.db.prepare(
      'UPDATE import_rows SET source = @source, import_id = @import_id WHERE key = @key',
    );
    const upsert = this.db.transaction((rows: NormalizedRow[], importId: string): UpsertCounts => {
      const counts: UpsertCounts = { inserted: 0, updated: 0, unchanged: 0 };
      const now = new Date().toISOString();
      for (const r of rows) {
        const existing = this.selectHash.get(r.key);
        if (existing && existing.content_hash === r.hash) {
          this.touchRow.run({ key: r.key, source: r.source, import_id: importId });
          counts.unchanged++;
          continue;
        }
        this.upsertRow.run({
          key: r.key,
          title: r.title,
          body: r.body,
          category: r.category,
          tags: r.tags.join(' '),
          amount: r.amount,
          updated_at: r.updatedAt,
          source: r.source,
          import_id: importId,
          content_hash: r.hash,
          indexed_at: now,
        });
        if (existing) counts.updated++;
        else counts.inserted++;
      }
      return counts;
    });
    // IMMEDIATE: the write lock is taken (or waited for) before the first read.
    this.upsertBatch = (rows, importId) => upsert.immediate(rows, importId);
  }

  /** Upserts `rows` in one transaction: all of them or none. */
  upsert(rows: NormalizedRow[], importId: string): UpsertCounts {
    return this.upsertBatch(rows, importId);
  }

  /** Rows in the index, or those last written by one import. */
  count(importId?: string): number {
    const row = importId
      ? (this.db.prepare('SELECT count(*) AS n FROM import_rows WHERE import_id = ?').get(importId) as {
          n: number;
        })
      : (this.db.prepare('SELECT count(*) AS n FROM import_rows').get() as { n: number });
    return row.n;
  }

  /** Full-text search (FTS5 query syntax), best matches first. */
  search(query: string, limit = 20): SearchHit[] {
    return this.db
      .prepare(
        `SELECT r.key, r.title, r.category, r.source, r.import_id AS importId
           FROM import_rows_fts f JOIN import_rows r ON r.rowid = f.rowid
          WHERE import_rows_fts MATCH ? ORDER BY bm25(import_rows_fts) LIMIT ?`,
      )
      .all(query, limit) as SearchHit[];
  }

  /** FTS5's own consistency check between the full-text index and the table; throws if they differ. */
  checkIntegrity(): void {
    this.db.prepare(`INSERT INTO import_rows_fts(import_rows_fts) VALUES ('integrity-check')`).run();
  }

  close(): void {
    this.db.close();
  }
}
