/**
 * openPrivateSqlite under the start-up race the cluster met (two workers opening one new audit
 * file): another process holds a write lock, so the switch to WAL is refused at once (SQLite does
 * not call its busy handler there); opening waits for the lock instead of failing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openPrivateSqlite } from '../../src/private-sqlite';

let dir: string;
let holder: ChildProcess | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'stepwise-sqlite-'));
});
afterEach(() => {
  if (holder?.exitCode === null) holder.kill();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * A process that takes a write lock on `path` and releases it `releaseAfterMs` later (this thread
 * cannot tell it to: opening blocks it), writing the time it released to `<path>.released`.
 */
async function holdWriteLock(path: string, releaseAfterMs = 60_000): Promise<ChildProcess> {
  const script = `
    const Database = require(${JSON.stringify(require.resolve('better-sqlite3'))});
    const db = new Database(${JSON.stringify(path)});
    db.exec('CREATE TABLE IF NOT EXISTS t (x)');
    db.exec('BEGIN IMMEDIATE');
    db.exec('INSERT INTO t VALUES (1)');
    process.stdout.write('locked\\n');
    setTimeout(() => {
      require('node:fs').writeFileSync(${JSON.stringify(`${path}.released`)}, String(Date.now()));
      db.exec('COMMIT'); db.close(); process.exit(0);
    }, ${releaseAfterMs});
  `;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('locked') && resolve());
    child.once('exit', (code) => reject(new Error(`the lock holder exited (${code})`)));
  });
  return child;
}

it('a plain open is refused at once while another process writes (the race, shown)', async () => {
  const path = join(dir, 'a.sqlite');
  holder = await holdWriteLock(path);
  const db = new Database(path, { timeout: 5_000 });
  expect(() => db.pragma('journal_mode = WAL')).toThrow(/database is locked/);
  db.close();
});

it('openPrivateSqlite waits for the lock and opens in WAL mode', async () => {
  const path = join(dir, 'b.sqlite');
  holder = await holdWriteLock(path, 1_000);
  const asked = Date.now();
  const db = openPrivateSqlite(path);
  // It opened because the holder let go, after it was asked: it waited rather than failed.
  expect(Number(readFileSync(`${path}.released`, 'utf8'))).toBeGreaterThanOrEqual(asked);
  expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
  expect(db.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 1 });
  db.close();
});
