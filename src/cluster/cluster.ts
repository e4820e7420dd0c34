/**
 * The production topology without containers: PostgreSQL, Temporal Server on it, the Temporal
 * Web UI, the API and N worker processes — what `npm run cluster` runs (under the supervisor, from
 * {@link Cluster.services}) and what the harness fault tests (test/faults/cluster.test.ts) break
 * and restart piece by piece. All state lives under `dataDir`, so a restart keeps every job.
 */
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { clientConfigToToml } from '@temporalio/envconfig';
import { API_KEYS_FD_PATH } from '../child-env';
import { isTemporalConnectionVar } from '../temporal-env';
import type { ServiceSpec } from '../supervisor';
import { GaveUp, ManagedProcess, waitUntil, type LineSink } from './process';
import { Postgres } from './postgres';
import {
  loadClusterTools,
  setupSchemas,
  TemporalServer,
  UiServer,
  type ClusterTools,
} from './temporal-server';

export interface ClusterPorts {
  postgres: number;
  /** Temporal frontend gRPC; the server's other services use the ports after it (see `temporalPorts`). */
  temporal: number;
  ui: number;
  api: number;
  /** Worker i (0-based) serves metrics on `workerBase + 2i` and health on `workerBase + 2i + 1`. */
  workerBase: number;
}

export interface ClusterOptions {
  /** Root of all state: `cluster/postgres` (the database), `cluster/config`, and the workers' and API's own data. */
  dataDir: string;
  ports: ClusterPorts;
  namespace: string;
  workers: number;
  /** Start the Web UI (the fault tests do not). */
  ui: boolean;
  /**
   * Environment of the API and worker processes (the Temporal profile, ports and data dir are set
   * on top; its own Temporal connection variables are left out). It should hold no API keys
   * (src/child-env.ts): give them with `apiKeys`.
   */
  appEnv: NodeJS.ProcessEnv;
  /** The API's keys for its descriptor 3 (`apiKeyLines`), read at each start; null: open mode. */
  apiKeys?: () => string | null;
  /** An IPC channel to the API (the launcher sends it the stack status). */
  apiIpc?: boolean;
  /** Folder of the compiled `src/` (worker.js, main.js). */
  distDir: string;
  postgresOsUser?: string;
  /**
   * How long a stopping worker may take before it is killed: more than its own grace time for
   * running activities (STEPWISE_WORKER_SHUTDOWN_GRACE_MS), so a stop never cuts one short.
   */
  workerStopGraceMs: number;
  onLine: LineSink;
}

/** The profile of the cluster's temporal.toml that its workers and API connect with. */
export const CLUSTER_PROFILE = 'cluster';

export class Cluster {
  readonly tools: ClusterTools;
  readonly postgres: Postgres;
  readonly temporal: TemporalServer;
  readonly ui: UiServer | null;
  readonly workers: (ManagedProcess | null)[];
  api: ManagedProcess | null = null;

  constructor(readonly opts: ClusterOptions) {
    this.tools = loadClusterTools();
    const base = join(resolve(opts.dataDir), 'cluster');
    this.postgres = new Postgres({
      binDir: this.tools.postgresBin,
      dataDir: join(base, 'postgres'),
      passwordFile: join(base, 'secrets', 'postgres-temporal-password'),
      port: opts.ports.postgres,
      osUser: opts.postgresOsUser,
      onLine: opts.onLine,
    });
    this.temporal = new TemporalServer({
      tools: this.tools,
      configDir: join(base, 'config', 'temporal'),
      port: opts.ports.temporal,
      postgresPort: opts.ports.postgres,
      postgresPassword: () => this.postgres.temporalPassword,
      namespace: opts.namespace,
      onLine: opts.onLine,
    });
    this.ui = opts.ui
      ? new UiServer({
          tools: this.tools,
          configDir: join(base, 'config', 'ui'),
          port: opts.ports.ui,
          temporalAddress: this.temporal.address,
          namespace: opts.namespace,
          corsOrigins: [this.apiUrl],
          onLine: opts.onLine,
        })
      : null;
    this.workers = Array.from({ length: opts.workers }, () => null);
  }

  /**
   * The cluster's Temporal client configuration (`<dataDir>/cluster/config/temporal.toml`, 0600):
   * profile {@link CLUSTER_PROFILE}, the standard file the SDKs and the CLI read
   * (`temporal --config-file <it> --profile cluster workflow list` works too).
   */
  get temporalConfigFile(): string {
    return join(resolve(this.opts.dataDir), 'cluster', 'config', 'temporal.toml');
  }

  /** Writes {@link temporalConfigFile} (again at each process start: it is cheap and stays current). */
  private writeTemporalProfile(): string {
    const file = this.temporalConfigFile;
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const toml = clientConfigToToml({
      profiles: { [CLUSTER_PROFILE]: { address: this.temporal.address, namespace: this.opts.namespace } },
    });
    writeFileSync(file, toml, { mode: 0o600 });
    chmodSync(file, 0o600); // a file that existed keeps its mode through writeFileSync
    return file;
  }

  get apiUrl(): string {
    return `http://127.0.0.1:${this.opts.ports.api}`;
  }

  workerMetricsUrl(i: number): string {
    return `http://127.0.0.1:${this.opts.ports.workerBase + 2 * i}/metrics`;
  }

  workerHealthUrl(i: number): string {
    return `http://127.0.0.1:${this.opts.ports.workerBase + 2 * i + 1}`;
  }

  /** Everything, in dependency order. */
  async start(): Promise<void> {
    const say = (line: string): void => this.opts.onLine('cluster', line);
    if (await this.postgres.init()) say('initialised the PostgreSQL data directory');
    await this.postgres.start();
    say(`PostgreSQL ready on 127.0.0.1:${this.opts.ports.postgres}`);
    await setupSchemas(this.tools, this.postgres, this.opts.onLine);
    await this.temporal.start();
    say(`Temporal Server v${this.tools.serverVersion} ready on ${this.temporal.address}`);
    if (this.ui) {
      await this.ui.start();
      say(`Temporal UI v${this.tools.uiVersion} on ${this.ui.url}`);
    }
    await Promise.all([...this.workers.keys()].map((i) => this.startWorker(i)));
    await this.startApi();
  }

  /**
   * The processes reach Temporal through the cluster's profile only: the launcher's own connection
   * variables (TEMPORAL_ADDRESS, TLS, API key, another profile, …) would override it, so they are
   * left out.
   */
  private appEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...this.opts.appEnv };
    for (const name of Object.keys(env)) if (isTemporalConnectionVar(name)) delete env[name];
    return {
      ...env,
      TEMPORAL_CONFIG_FILE: this.writeTemporalProfile(),
      TEMPORAL_PROFILE: CLUSTER_PROFILE,
      STEPWISE_DATA_DIR: resolve(this.opts.dataDir),
      ...extra,
    };
  }

  /** Starts worker `i` and waits until its readiness probe answers 200. */
  async startWorker(i: number, timeoutMs = 60_000): Promise<ManagedProcess> {
    const entry = join(this.opts.distDir, 'worker.js');
    if (!existsSync(entry)) throw new Error(`${entry} is missing: run "npm run build:workflows"`);
    const proc = new ManagedProcess({
      name: `worker-${i + 1}`,
      command: process.execPath,
      args: ['--enable-source-maps', entry],
      env: this.appEnv({
        STEPWISE_WORKER_METRICS_ADDRESS: `127.0.0.1:${this.opts.ports.workerBase + 2 * i}`,
        STEPWISE_WORKER_HEALTH_ADDRESS: `127.0.0.1:${this.opts.ports.workerBase + 2 * i + 1}`,
        STEPWISE_WORKER_IDENTITY: `worker-${i + 1}`,
      }),
      onLine: this.opts.onLine,
    });
    this.workers[i] = proc;
    await waitUntil(
      `worker-${i + 1}`,
      async () => {
        if (!proc.running) throw new GaveUp(`worker-${i + 1} exited during start:\n${proc.tail.join('\n')}`);
        return (await fetch(`${this.workerHealthUrl(i)}/readyz`)).ok;
      },
      timeoutMs,
    );
    return proc;
  }

  /** Starts the API and waits until its readiness probe answers 200. */
  async startApi(timeoutMs = 60_000): Promise<ManagedProcess> {
    const entry = join(this.opts.distDir, 'main.js');
    const keys = this.opts.apiKeys?.() ?? null;
    const proc = new ManagedProcess({
      name: 'api',
      command: process.execPath,
      args: ['--enable-source-maps', entry],
      env: this.appEnv({
        HOST: '127.0.0.1',
        PORT: String(this.opts.ports.api),
        // The dashboard links each job to this cluster's Web UI (unless set otherwise).
        ...(this.ui && !this.opts.appEnv?.STEPWISE_TEMPORAL_UI_URL
          ? { STEPWISE_TEMPORAL_UI_URL: this.ui.url }
          : {}),
        ...(keys ? { STEPWISE_API_KEYS_FILE: API_KEYS_FD_PATH } : {}),
      }),
      fd3: keys ?? undefined,
      ipc: this.opts.apiIpc,
      onLine: this.opts.onLine,
    });
    this.api = proc;
    await waitUntil(
      'api',
      async () => {
        if (!proc.running) throw new GaveUp(`the API exited during start:\n${proc.tail.join('\n')}`);
        return (await fetch(`${this.apiUrl}/health/ready`)).ok;
      },
      timeoutMs,
    );
    return proc;
  }

  /**
   * The processes as the supervisor's services, with their dependencies: Temporal after PostgreSQL
   * (the schemas are set up before its first start), the UI, the workers and the API after
   * Temporal. A restarted PostgreSQL or Temporal is reconnected to by the processes that use it.
   */
  services(): ServiceSpec[] {
    const specs: ServiceSpec[] = [
      {
        name: 'postgres',
        start: async (first) => {
          if (first && (await this.postgres.init())) {
            this.opts.onLine('cluster', 'initialised the PostgreSQL data directory');
          }
          await this.postgres.start();
        },
        current: () => this.postgres.process,
        stop: () => this.postgres.stop(),
      },
      {
        name: 'temporal',
        dependsOn: ['postgres'],
        start: async (first) => {
          if (first) await setupSchemas(this.tools, this.postgres, this.opts.onLine);
          await this.temporal.start();
        },
        current: () => this.temporal.process,
        stop: () => this.temporal.stop(),
      },
    ];
    if (this.ui) {
      const ui = this.ui;
      specs.push({
        name: 'temporal-ui',
        dependsOn: ['temporal'],
        start: () => ui.start(),
        current: () => ui.process,
        stop: () => ui.stop(),
      });
    }
    for (const i of this.workers.keys()) {
      specs.push({
        name: `worker-${i + 1}`,
        dependsOn: ['temporal'],
        start: async () => {
          await this.startWorker(i);
        },
        current: () => this.workers[i],
        stop: async () => this.workers[i]?.stop(this.opts.workerStopGraceMs),
      });
    }
    specs.push({
      name: 'api',
      dependsOn: ['temporal'],
      start: async () => {
        await this.startApi();
      },
      current: () => this.api,
      stop: async () => this.api?.stop(),
    });
    return specs;
  }

  /** Stops everything in reverse order; safe to call twice. */
  async stop(): Promise<void> {
    await Promise.all([this.api?.stop(), ...this.workers.map((w) => w?.stop(this.opts.workerStopGraceMs))]);
    await this.ui?.stop();
    await this.temporal.stop();
    await this.postgres.stop();
  }
}
