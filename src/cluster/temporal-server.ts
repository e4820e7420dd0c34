/**
 * Temporal Server (all services in one process) on PostgreSQL, and the Temporal Web UI server,
 * from the binaries `scripts/install-cluster-tools.mjs` builds: schema setup with
 * `temporal-sql-tool`, the config files, start with a health deadline, stop.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Connection } from '@temporalio/client';
import { prepareNamespace } from '../search-attributes';
import { GaveUp, ManagedProcess, run, waitUntil, type LineSink } from './process';
import { TEMPORAL_DB_USER, type Postgres } from './postgres';

const PROJECT_ROOT = resolve(
  __dirname,
  '..',
  '..',
  existsSync(resolve(__dirname, '..', '..', 'package.json')) ? '' : '..',
);

/** What `npm run cluster:install` recorded in .tools/cluster-tools.json. */
export interface ClusterTools {
  serverVersion: string;
  uiVersion: string;
  server: string;
  sqlTool: string;
  /** schema/postgresql/v12 of the server module. */
  schemaDir: string;
  ui: string;
  postgresBin: string;
}

export function loadClusterTools(): ClusterTools {
  const record = join(PROJECT_ROOT, '.tools', 'cluster-tools.json');
  if (!existsSync(record)) {
    throw new Error(
      `The cluster tools are not installed (${record} is missing). Run "npm run cluster:install" ` +
        '(needs Go and PostgreSQL; "npm run cluster" runs it for you).',
    );
  }
  const tools = JSON.parse(readFileSync(record, 'utf8')) as ClusterTools;
  for (const [name, path] of Object.entries(tools)) {
    if (name.endsWith('Version')) continue;
    if (!existsSync(path)) {
      throw new Error(`${name} recorded at ${path} is gone: run "npm run cluster:install" again`);
    }
  }
  return tools;
}

/** The committed dynamic config, shared with docker-compose.yml. */
export const DYNAMIC_CONFIG_PATH = join(PROJECT_ROOT, 'scripts', 'cluster', 'dynamicconfig.yaml');

/**
 * The frontend's gRPC port; the other services take the next ports the way the server's own
 * development configs lay them out (history +1, matching +2, worker +6, frontend HTTP +10,
 * membership −300).
 */
export function temporalPorts(frontend: number): number[] {
  const grpc = [frontend, frontend + 1, frontend + 2, frontend + 6];
  return [...grpc, frontend + 10, ...grpc.map((p) => p - 300)];
}

export const TEMPORAL_DATABASES = [
  { name: 'temporal', schema: 'temporal' },
  { name: 'temporal_visibility', schema: 'visibility' },
] as const;

/** Creates the two databases (once) and migrates them to the server version's schema (every start). */
export async function setupSchemas(tools: ClusterTools, pg: Postgres, onLine: LineSink): Promise<void> {
  await pg.ensureTemporalRole();
  for (const db of TEMPORAL_DATABASES) {
    const base = [
      '--plugin',
      'postgres12',
      '--endpoint',
      '127.0.0.1',
      '--port',
      String(pg.port),
      '--user',
      TEMPORAL_DB_USER,
      '--database',
      db.name,
    ];
    // The password through the tool's environment (readable by this user only), never its arguments.
    const env = { ...process.env, SQL_PASSWORD: pg.temporalPassword };
    if (!(await pg.databaseExists(db.name))) {
      onLine('cluster', `creating database ${db.name}`);
      await run(tools.sqlTool, [...base, 'create-database'], { env });
      await run(tools.sqlTool, [...base, 'setup-schema', '-v', '0.0'], { env });
    }
    // Idempotent: applies the versions above the database's current one.
    await run(
      tools.sqlTool,
      [...base, 'update-schema', '-d', join(tools.schemaDir, db.schema, 'versioned')],
      { env },
    );
  }
  onLine('cluster', 'schemas temporal and temporal_visibility are up to date');
}

export interface TemporalServerOptions {
  tools: ClusterTools;
  /** Folder for the generated config (mode 0700; the config, which holds the database password, 0600). */
  configDir: string;
  port: number;
  postgresPort: number;
  /** The `temporal` role's password (`Postgres.temporalPassword`). */
  postgresPassword: () => string;
  namespace: string;
  onLine: LineSink;
}

/** The server's config file: YAML naming the ports, the databases and the `temporal` role's password. */
export function serverConfig(o: TemporalServerOptions): string {
  const password = o.postgresPassword();
  const [frontend, history, matching, worker, http, mFrontend, mHistory, mMatching, mWorker] = temporalPorts(
    o.port,
  );
  const store = (db: string, maxConns: number): string => `
      sql:
        pluginName: postgres12
        databaseName: ${db}
        connectAddr: "127.0.0.1:${o.postgresPort}"
        connectProtocol: tcp
        user: ${TEMPORAL_DB_USER}
        password: ${JSON.stringify(password)}
        maxConns: ${maxConns}
        maxIdleConns: ${maxConns}
        maxConnLifetime: 1h`;
  const svc = (grpc: number, membership: number, extra = ''): string => `
    rpc:
      grpcPort: ${grpc}
      membershipPort: ${membership}
      bindOnLocalHost: true${extra}`;
  return `# Generated by the Stepwise cluster launcher (src/cluster/temporal-server.ts); rewritten on every start.
log:
  stdout: true
  level: warn
persistence:
  defaultStore: postgres-default
  visibilityStore: postgres-visibility
  numHistoryShards: 4
  datastores:
    postgres-default:${store('temporal', 20)}
    postgres-visibility:${store('temporal_visibility', 10)}
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: "127.0.0.1"
services:
  frontend:${svc(frontend, mFrontend, `\n      httpPort: ${http}`)}
  history:${svc(history, mHistory)}
  matching:${svc(matching, mMatching)}
  worker:${svc(worker, mWorker)}
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: "127.0.0.1:${frontend}"
      httpAddress: "127.0.0.1:${http}"
dcRedirectionPolicy:
  policy: noop
dynamicConfigClient:
  filepath: ${JSON.stringify(DYNAMIC_CONFIG_PATH)}
  pollInterval: 10s
`;
}

/**
 * Writes the server's config into `configDir`: the folder 0700 and the file 0600 whatever the
 * umask (it holds the database password); returns the file's path.
 */
export function writeServerConfig(o: TemporalServerOptions): string {
  mkdirSync(o.configDir, { recursive: true, mode: 0o700 });
  chmodSync(o.configDir, 0o700);
  const file = join(o.configDir, 'stepwise.yaml');
  writeFileSync(file, serverConfig(o), { mode: 0o600 });
  chmodSync(file, 0o600);
  return file;
}

export class TemporalServer {
  private proc: ManagedProcess | null = null;

  constructor(private readonly opts: TemporalServerOptions) {}

  get address(): string {
    return `127.0.0.1:${this.opts.port}`;
  }

  get running(): boolean {
    return this.proc?.running ?? false;
  }

  /** The server process while started (the launcher watches it). */
  get process(): ManagedProcess | null {
    return this.proc;
  }

  /** Writes the config, starts the server, waits until the namespace is ready (search attributes included). */
  async start(timeoutMs = 120_000): Promise<void> {
    writeServerConfig(this.opts);
    const proc = new ManagedProcess({
      name: 'temporal',
      command: this.opts.tools.server,
      args: ['--root', '/', '--config', this.opts.configDir, '--env', 'stepwise', '--allow-no-auth', 'start'],
      onLine: this.opts.onLine,
    });
    this.proc = proc;
    const deadline = Date.now() + timeoutMs;
    await waitUntil(
      `Temporal Server on ${this.address}`,
      async () => {
        if (!proc.running) throw new GaveUp(`Temporal Server exited during start:\n${proc.tail.join('\n')}`);
        const connection = await Connection.connect({ address: this.address, connectTimeout: 2000 });
        try {
          const { namespaceCreated, attributesAdded } = await prepareNamespace(
            connection,
            this.opts.namespace,
            deadline,
          );
          if (namespaceCreated) this.opts.onLine('cluster', `registered namespace ${this.opts.namespace}`);
          if (attributesAdded.length > 0) {
            this.opts.onLine('cluster', `registered search attributes ${attributesAdded.join(', ')}`);
          }
          return true;
        } finally {
          await connection.close();
        }
      },
      timeoutMs,
      500,
    );
  }

  async stop(graceMs = 20_000): Promise<void> {
    await this.proc?.stop(graceMs);
    this.proc = null;
  }
}

export interface UiServerOptions {
  tools: ClusterTools;
  configDir: string;
  port: number;
  temporalAddress: string;
  namespace: string;
  /** Origins the UI accepts requests from besides its own (the API's dashboard links to it). */
  corsOrigins?: string[];
  onLine: LineSink;
}

export class UiServer {
  private proc: ManagedProcess | null = null;

  constructor(private readonly opts: UiServerOptions) {}

  get url(): string {
    return `http://127.0.0.1:${this.opts.port}`;
  }

  /** The UI server process while started (the launcher watches it). */
  get process(): ManagedProcess | null {
    return this.proc;
  }

  async start(timeoutMs = 30_000): Promise<void> {
    mkdirSync(this.opts.configDir, { recursive: true });
    const origins = this.opts.corsOrigins ?? [];
    writeFileSync(
      join(this.opts.configDir, 'stepwise.yaml'),
      [
        '# Generated by the Stepwise cluster launcher; rewritten on every start.',
        `temporalGrpcAddress: ${this.opts.temporalAddress}`,
        'host: 127.0.0.1',
        `port: ${this.opts.port}`,
        'enableUi: true',
        `defaultNamespace: ${this.opts.namespace}`,
        'notifyOnNewVersion: false',
        'cors:',
        `  allowOrigins: [${origins.map((o) => JSON.stringify(o)).join(', ')}]`,
        '',
      ].join('\n'),
    );
    const proc = new ManagedProcess({
      name: 'temporal-ui',
      command: this.opts.tools.ui,
      args: ['--root', '/', '--config', this.opts.configDir, '--env', 'stepwise', 'start'],
      onLine: this.opts.onLine,
    });
    this.proc = proc;
    await waitUntil(
      `Temporal UI on ${this.url}`,
      async () => {
        if (!proc.running) throw new GaveUp(`UI server exited during start:\n${proc.tail.join('\n')}`);
        return (await fetch(this.url)).ok;
      },
      timeoutMs,
    );
  }

  async stop(graceMs = 5_000): Promise<void> {
    await this.proc?.stop(graceMs);
    this.proc = null;
  }
}
