/**
 * The SQLite files the API and the worker own (the audit trail, the notifications store): created
 * owner-only whatever the umask — the file 0600 in a 0700 folder, and SQLite gives its `-wal` and
 * `-shm` files the database's mode — in WAL mode, waiting up to 5 s for another process's lock.
 */
import Database from 'better-sqlite3';
import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';

/** Opens (creating it if needed) the database at `path`, or an in-memory one for `:memory:`. */
export function openPrivateSqlite(path: string): Database.Database {
  if (path !== ':memory:') {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    closeSync(openSync(path, 'a', 0o600));
    chmodSync(path, 0o600);
  }
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  return db;
}
