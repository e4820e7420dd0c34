/**
 * The SQLite files the API and the worker own (the audit trail, the notifications store): created
 * owner-only whatever the umask — the file 0600 in a 0700 folder, and SQLite gives its `-wal` and
 * `-shm` files the database's mode — in WAL mode, waiting up to 5 s for another process's lock.
 *
 * Two processes opening one new file at once (the API and a worker, or two workers) race on the
 * switch to WAL: it needs the file to itself, and SQLite answers `SQLITE_BUSY` at once, without its
 * busy handler, while the other holds a write lock. The switch is retried for up to 5 s.
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
  const db = new Database(path, { timeout: BUSY_WAIT_MS });
  const until = Date.now() + BUSY_WAIT_MS;
  for (;;) {
    try {
      db.pragma('journal_mode = WAL');
      return db;
    } catch (err) {
      if ((err as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() >= until) {
        db.close();
        throw err;
      }
      // Opening is synchronous (the stores are built in constructors): a short blocking wait.
      Atomics.wait(PAUSE, 0, 0, 25);
    }
  }
}

/** How long opening waits for another process's lock. */
const BUSY_WAIT_MS = 5_000;
const PAUSE = new Int32Array(new SharedArrayBuffer(4));
