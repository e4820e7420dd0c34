/**
 * Launches the real Temporal CLI dev server (`temporal server start-dev`): SQLite file under the
 * data folder (or in memory), fixed ports, custom search attributes registered on every start.
 * Waits for health with a deadline and stops cleanly; the child is killed if this process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { Connection } from '@temporalio/client';
import { childEnv } from './child-env';
import { forEachLine } from './lines';
import type { ProcessExit, SupervisedProcess } from './supervisor';
import { prepareNamespace } from './search-attributes';

export interface DevServerOptions {
  /** SQLite file; omitted → in-memory (tests). */
  dbFile?: string;
  ip?: string;
  port: number;
  uiPort: number;
  headless?: boolean;
  namespace?: string;
  startTimeoutMs?: number;
  /** Explicit CLI binary; default: TEMPORAL_CLI_PATH, then what `npm run temporal:install` recorded. */
  cliPath?: string;
  /** Receives the server's output lines. */
  onOutput?: (line: string) => void;
  /**
   * A process group of its own (`npm start`): a terminal's Ctrl-C then reaches only the launcher,
   * which stops the worker and the API before the server. Default false (tests: the server dies
   * with the test run's group).
   */
  detached?: boolean;
  /**
   * Dynamic configuration values (`--dynamic-config-value KEY=VALUE`), e.g.
   * `{ 'matching.numTaskqueueReadPartitions': 1 }`; each value is written as JSON.
   */
  dynamicConfig?: Record<string, string | number | boolean>;
}

/**
 * Dynamic configuration every dev server gets. `matching.useNewMatcher`: Temporal Server 1.29 honours
 * task-queue priorities (a job's `priority`) only with the new matcher (test/workflow/priority.test.ts
 * shows the order with it, and FIFO without); the cluster's `scripts/cluster/dynamicconfig.yaml` sets it too.
 */
export const DEV_DYNAMIC_CONFIG: Readonly<Record<string, string | number | boolean>> = {
  'matching.useNewMatcher': true,
};

const PROJECT_ROOT = resolve(
  __dirname,
  '..',
  existsSync(resolve(__dirname, '..', 'package.json')) ? '' : '..',
);

/** The Temporal CLI to run: TEMPORAL_CLI_PATH, else the binary recorded by the install script. */
export function resolveCliPath(explicit?: string): string {
  const fromEnv = explicit ?? process.env.TEMPORAL_CLI_PATH;
  if (fromEnv) return fromEnv;
  const record = join(PROJECT_ROOT, '.tools', 'temporal-cli.json');
  if (!existsSync(record)) {
    throw new Error(
      `Temporal CLI not installed (${record} is missing). Run "npm run temporal:install" (needs Go), ` +
        'or set TEMPORAL_CLI_PATH to a temporal binary >= 1.5.1.',
    );
  }
  const { path } = JSON.parse(readFileSync(record, 'utf8')) as { path: string };
  if (!existsSync(path))
    throw new Error(`Temporal CLI recorded at ${path} is gone; run "npm run temporal:install"`);
  return path;
}

/** A TCP port free on 127.0.0.1 right now (for servers started by tests, benchmarks and scripts). */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => res(port));
    });
  });
}

export function portInUse(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((res) => {
    const socket = createConnection({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      res(true);
    });
    socket.once('error', () => res(false));
  });
}

/** Sets the dev server's SQLite file and its -wal / -shm files (those that exist) to mode 0600. */
export function restrictDbFiles(dbFile: string): void {
  for (const f of [dbFile, `${dbFile}-wal`, `${dbFile}-shm`]) {
    if (existsSync(f)) chmodSync(f, 0o600);
  }
}

export class DevServer implements SupervisedProcess {
  /** Resolves when the process exits. */
  readonly exited: Promise<ProcessExit>;
  private exit: ProcessExit | null = null;
  private readonly onProcessExit = (): void => {
    this.child.kill('SIGKILL');
  };

  private constructor(
    private readonly child: ChildProcess,
    readonly address: string,
    readonly uiUrl: string | null,
    /** The server's last output lines. */
    readonly tail: string[],
    private readonly detached: boolean,
  ) {
    this.exited = new Promise((res) => {
      child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        process.removeListener('exit', this.onProcessExit);
        res(this.exit);
      });
    });
    process.once('exit', this.onProcessExit);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exit === null;
  }

  /**
   * Starts the server. The CLI picks random free ports for its HTTP API and metrics; another
   * process can take one before the CLI binds it, so that one failure is retried (twice).
   */
  static async start(opts: DevServerOptions): Promise<DevServer> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await DevServer.startOnce(opts);
      } catch (err) {
        const raced = err instanceof Error && /address already in use/.test(err.message);
        if (!raced || attempt >= 3) throw err;
        opts.onOutput?.(`dev server lost a race for a random port; starting again (attempt ${attempt + 1})`);
      }
    }
  }

  private static async startOnce(opts: DevServerOptions): Promise<DevServer> {
    const ip = opts.ip ?? '127.0.0.1';
    const namespace = opts.namespace ?? 'default';
    for (const p of opts.headless ? [opts.port] : [opts.port, opts.uiPort]) {
      if (await portInUse(p, ip)) {
        throw new Error(
          `Port ${p} on ${ip} is already in use. Stop whatever holds it (another dev server?), ` +
            'choose other ports with TEMPORAL_DEV_PORT / TEMPORAL_UI_PORT, or set TEMPORAL_ADDRESS to use a running server.',
        );
      }
    }
    const cli = resolveCliPath(opts.cliPath);
    const args = ['server', 'start-dev', '--ip', ip, '--port', String(opts.port), '--log-level', 'warn'];
    if (opts.headless) args.push('--headless');
    else args.push('--ui-port', String(opts.uiPort));
    if (opts.dbFile) {
      // Owner only, whatever the umask. The server must create its SQLite file itself (it sets the
      // schema up only then), so its folder is made 0700 first and the files 0600 once it runs.
      mkdirSync(dirname(opts.dbFile), { recursive: true, mode: 0o700 });
      chmodSync(dirname(opts.dbFile), 0o700);
      restrictDbFiles(opts.dbFile);
      args.push('--db-filename', opts.dbFile);
    }
    if (namespace !== 'default') args.push('--namespace', namespace);
    for (const [key, value] of Object.entries({ ...DEV_DYNAMIC_CONFIG, ...opts.dynamicConfig })) {
      args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);
    }
    const child = spawn(cli, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: childEnv(process.env),
      detached: opts.detached ?? false,
    });
    const output: string[] = [];
    const onLine = (line: string): void => {
      output.push(line);
      if (output.length > 50) output.shift();
      opts.onOutput?.(line);
    };
    for (const stream of [child.stdout, child.stderr]) forEachLine(stream, onLine);
    const server = new DevServer(
      child,
      `${ip}:${opts.port}`,
      opts.headless ? null : `http://${ip}:${opts.uiPort}`,
      output,
      opts.detached ?? false,
    );
    try {
      await server.waitHealthy(namespace, opts.startTimeoutMs ?? 60_000, output);
      if (opts.dbFile) restrictDbFiles(opts.dbFile);
    } catch (err) {
      await server.stop();
      throw err;
    }
    return server;
  }

  private async waitHealthy(namespace: string, timeoutMs: number, output: string[]): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown = null;
    while (Date.now() < deadline) {
      if (this.exit) {
        throw new Error(
          `Temporal dev server exited with code ${this.exit.code} during start:\n${output.join('\n')}`,
        );
      }
      try {
        const connection = await Connection.connect({ address: this.address, connectTimeout: 2000 });
        try {
          await connection.workflowService.describeNamespace({ namespace });
          await prepareNamespace(connection, namespace, deadline);
          return;
        } finally {
          await connection.close();
        }
      } catch (err) {
        lastError = err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    throw new Error(`Temporal dev server not healthy within ${timeoutMs} ms: ${String(lastError)}`);
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  async stop(graceMs = 10_000): Promise<void> {
    process.removeListener('exit', this.onProcessExit);
    if (this.exit) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** `kill -9` (of its process group when it leads one). */
  async kill9(): Promise<void> {
    if (this.exit) return;
    if (this.detached && this.child.pid !== undefined) {
      try {
        process.kill(-this.child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    this.child.kill('SIGKILL');
    await this.exited;
  }
}
