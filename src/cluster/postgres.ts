/**
 * A PostgreSQL server for the cluster: a data directory under the cluster's data folder
 * (initialised once, kept across restarts), listening on 127.0.0.1 only, with a `temporal` role
 * whose password is generated once per data folder and kept in a file only its owner can read
 * (`passwordFile`, mode 0600); it never appears on a command line.
 * PostgreSQL refuses to run as root, so when this process is root the server and initdb run as
 * an unprivileged OS user (default `postgres`) through `setpriv`, and the data directory is
 * chowned to it.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { GaveUp, ManagedProcess, run, waitUntil, type LineSink } from './process';

export interface PostgresOptions {
  /** Folder of initdb, postgres, pg_isready, psql. */
  binDir: string;
  /** The data directory (created and initialised when missing). */
  dataDir: string;
  /** The `temporal` role's password: read from here, or generated and written here (mode 0600). */
  passwordFile: string;
  port: number;
  /** The OS user to run as when this process is root. */
  osUser?: string;
  onLine: LineSink;
}

/** The role Temporal connects as; the server listens on loopback only. */
export const TEMPORAL_DB_USER = 'temporal';

/**
 * The password in `file`, generated (24 random bytes, base64url: no character SQL or YAML would
 * need to quote) and written with mode 0600 when the file does not exist yet; an existing file is
 * set to 0600 again. The folder it is in is created with mode 0700.
 */
export function loadOrCreatePassword(file: string): string {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  if (!existsSync(file)) {
    try {
      writeFileSync(file, randomBytes(24).toString('base64url') + '\n', { mode: 0o600, flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err; // written meanwhile: use it
    }
  }
  chmodSync(file, 0o600);
  const password = readFileSync(file, 'utf8').trim();
  if (!/^[A-Za-z0-9_-]{16,200}$/.test(password)) {
    throw new Error(
      `${file} does not hold a password of 16+ letters, digits, "-" or "_"; delete it to have a new one generated`,
    );
  }
  return password;
}

export class Postgres {
  private proc: ManagedProcess | null = null;
  private readonly ids: { uid: number; gid: number; name: string } | null;

  constructor(private readonly opts: PostgresOptions) {
    this.ids = process.getuid?.() === 0 ? osUser(opts.osUser ?? 'postgres') : null;
  }

  /** The `temporal` role's password (generated on first use, then the same on every start). */
  get temporalPassword(): string {
    return loadOrCreatePassword(this.opts.passwordFile);
  }

  get port(): number {
    return this.opts.port;
  }

  /** Runs a PostgreSQL program as the server's OS user. */
  private asUser(bin: string, args: string[]): { command: string; args: string[] } {
    const path = join(this.opts.binDir, bin);
    if (!this.ids) return { command: path, args };
    return {
      command: 'setpriv',
      args: [`--reuid=${this.ids.uid}`, `--regid=${this.ids.gid}`, '--init-groups', '--', path, ...args],
    };
  }

  /** initdb once; later starts reuse the directory (and all its data). */
  async init(): Promise<boolean> {
    const dir = this.opts.dataDir;
    if (existsSync(join(dir, 'PG_VERSION'))) return false;
    // The parents with the usual mode (the server's user must be able to reach its directory).
    mkdirSync(dirname(dir), { recursive: true });
    if (this.ids) assertReachable(dirname(dir), this.ids.name);
    mkdirSync(dir, { mode: 0o700 });
    if (this.ids) chownSync(dir, this.ids.uid, this.ids.gid);
    const cmd = this.asUser('initdb', [
      '-D',
      dir,
      '-U',
      'postgres',
      '--auth-local=trust',
      '--auth-host=scram-sha-256',
      '-E',
      'UTF8',
      '--no-locale',
    ]);
    await run(cmd.command, cmd.args);
    return true;
  }

  async start(timeoutMs = 60_000): Promise<void> {
    const dir = this.opts.dataDir;
    const cmd = this.asUser('postgres', [
      '-D',
      dir,
      '-p',
      String(this.opts.port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      `unix_socket_directories=${dir}`,
      '-c',
      'max_connections=200',
    ]);
    const proc = new ManagedProcess({ name: 'postgres', ...cmd, onLine: this.opts.onLine });
    this.proc = proc;
    await waitUntil(
      `PostgreSQL on 127.0.0.1:${this.opts.port}`,
      async () => {
        if (!proc.running) {
          throw new GaveUp(`PostgreSQL exited during start:\n${proc.tail.join('\n')}`);
        }
        await run(join(this.opts.binDir, 'pg_isready'), [
          '-q',
          '-h',
          '127.0.0.1',
          '-p',
          String(this.opts.port),
        ]);
        return true;
      },
      timeoutMs,
    );
  }

  /**
   * Runs SQL as the superuser over the server's Unix socket; returns psql's unaligned output. The
   * SQL goes to psql's standard input, not its command line, which every user can read.
   */
  psql(sql: string, database = 'postgres'): Promise<string> {
    return run(
      join(this.opts.binDir, 'psql'),
      [
        '-h',
        this.opts.dataDir,
        '-p',
        String(this.opts.port),
        '-U',
        'postgres',
        '-d',
        database,
        '-v',
        'ON_ERROR_STOP=1',
        '-tAq',
      ],
      { input: sql },
    );
  }

  /**
   * The `temporal` role Temporal connects as, with this data folder's password: created once, and
   * its password set again on every start (a data directory from before generated passwords still
   * had the fixed `temporal`).
   */
  async ensureTemporalRole(): Promise<void> {
    const password = this.temporalPassword;
    const exists = await this.psql(`SELECT 1 FROM pg_roles WHERE rolname = '${TEMPORAL_DB_USER}'`);
    if (exists.trim() === '1') {
      await this.psql(`ALTER ROLE ${TEMPORAL_DB_USER} PASSWORD '${password}'`);
      return;
    }
    await this.psql(`CREATE ROLE ${TEMPORAL_DB_USER} LOGIN CREATEDB PASSWORD '${password}'`);
  }

  async databaseExists(name: string): Promise<boolean> {
    return (await this.psql(`SELECT 1 FROM pg_database WHERE datname = '${name}'`)).trim() === '1';
  }

  /** Fast shutdown (SIGINT: open sessions are ended; SIGTERM would wait for Temporal to disconnect). */
  async stop(graceMs = 30_000): Promise<void> {
    await this.proc?.stop(graceMs, 'SIGINT');
    this.proc = null;
  }

  get running(): boolean {
    return this.proc?.running ?? false;
  }

  /** The server process while started (the launcher watches it). */
  get process(): ManagedProcess | null {
    return this.proc;
  }
}

/**
 * Throws, naming the folder, when another user cannot pass through every folder above `dir`
 * (a checkout in a `mktemp -d` folder is mode 0700): PostgreSQL, run as `user`, could not reach its
 * data directory, and initdb would only say "Permission denied".
 */
function assertReachable(dir: string, user: string): void {
  for (let d = resolve(dir); ; d = dirname(d)) {
    if ((statSync(d).mode & 0o001) === 0) {
      throw new Error(
        `PostgreSQL runs as the OS user "${user}", which cannot enter ${d} (mode ${(statSync(d).mode & 0o777).toString(8)}). ` +
          `Let it pass (chmod o+x ${d}) or put STEPWISE_DATA_DIR under a folder it can reach.`,
      );
    }
    if (dirname(d) === d) return;
  }
}

function osUser(name: string): { uid: number; gid: number; name: string } {
  try {
    const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
    return { uid, gid, name };
  } catch {
    throw new Error(
      `Running as root, PostgreSQL needs an unprivileged OS user, and "${name}" does not exist. ` +
        `Create one (e.g. "useradd --system ${name}", which "apt-get install postgresql" does) or set CLUSTER_POSTGRES_OS_USER.`,
    );
  }
}
