/**
 * `npm run cluster`: the production topology on this machine, without containers — PostgreSQL,
 * Temporal Server on it (schemas migrated by temporal-sql-tool, search attributes registered),
 * the Temporal Web UI, then two workers and the API — in one log stream labelled per process.
 * Under the supervisor (src/supervisor.ts) a process that exits unexpectedly is restarted after a
 * backoff while the others keep running; Ctrl-C or SIGTERM — or a crash loop — stops everything
 * (API and workers first, PostgreSQL last); all state stays under
 * STEPWISE_DATA_DIR (`cluster/postgres` holds the database), so the next start continues where
 * this one stopped. Ports: CLUSTER_POSTGRES_PORT, CLUSTER_TEMPORAL_PORT, CLUSTER_UI_PORT, PORT,
 * CLUSTER_WORKER_PORT_BASE; workers: CLUSTER_WORKERS (docs/production.md).
 */
import { resolve } from 'node:path';
import { apiKeyLines, childEnv, childLogEnv, SECRET_ENV } from '../src/child-env';
import { checkApiExposure, ConfigError, loadConfigOrExit } from '../src/config';
import { Cluster } from '../src/cluster/cluster';
import { isTemporalConnectionVar } from '../src/temporal-env';
import { portInUse } from '../src/dev-server';
import { temporalPorts } from '../src/cluster/temporal-server';
import { LauncherConsole } from '../src/launcher-console';
import { Supervisor } from '../src/supervisor';

/** The processes whose shutdown chatter is left out of the console once they are asked to stop. */
const QUIET_WHEN_STOPPING = new Set(['postgres', 'temporal', 'temporal-ui']);

async function main(): Promise<void> {
  const out = new LauncherConsole('cluster', 14);
  // Its processes connect with the cluster's own temporal.toml profile (Cluster.temporalConfigFile):
  // the launcher's Temporal connection settings (but TEMPORAL_NAMESPACE) are neither read nor passed on.
  const ignored = Object.keys(process.env).filter(
    (name) => name !== 'TEMPORAL_NAMESPACE' && process.env[name] && isTemporalConnectionVar(name),
  );
  for (const name of ignored) delete process.env[name];
  const config = loadConfigOrExit();
  const env = config.env;
  try {
    checkApiExposure(config);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    out.say(`ERROR: ${err.message}`);
    process.exit(1);
  }
  if (ignored.length > 0) {
    out.say(`note: ${ignored.sort().join(', ')} ignored; the cluster's server is used (profile "cluster")`);
  }
  const ports = {
    postgres: env.CLUSTER_POSTGRES_PORT,
    temporal: env.CLUSTER_TEMPORAL_PORT,
    ui: env.CLUSTER_UI_PORT,
    api: env.PORT,
    workerBase: env.CLUSTER_WORKER_PORT_BASE,
  };
  const wanted: [string, number][] = [
    ['CLUSTER_POSTGRES_PORT', ports.postgres],
    ...temporalPorts(ports.temporal).map((p): [string, number] => [
      'CLUSTER_TEMPORAL_PORT (+ its service ports)',
      p,
    ]),
    ['CLUSTER_UI_PORT', ports.ui],
    ['PORT', ports.api],
    ...Array.from({ length: env.CLUSTER_WORKERS * 2 }, (_, i): [string, number] => [
      'CLUSTER_WORKER_PORT_BASE',
      ports.workerBase + i,
    ]),
  ];
  for (const [name, p] of wanted) {
    if (await portInUse(p)) {
      out.say(
        `ERROR: port ${p} (${name}) is already in use; stop what holds it or choose another with ${name}`,
      );
      process.exit(1);
    }
  }
  // The keys stay in this process only: the API gets their digests on a descriptor, and nothing
  // else spawned from here inherits them (src/child-env.ts).
  const launchEnv = { ...process.env };
  for (const name of SECRET_ENV) delete process.env[name];
  let supervisor: Supervisor | null = null;
  const show = (name: string, line: string): void => {
    if (QUIET_WHEN_STOPPING.has(name) && supervisor?.stopRequested(name)) return;
    out.line(name, line);
  };
  let cluster: Cluster;
  try {
    cluster = new Cluster({
      dataDir: config.dataDir,
      ports,
      // TEMPORAL_NAMESPACE, else "default" (not a temporal.toml profile's: the cluster is its own server).
      namespace: env.TEMPORAL_NAMESPACE ?? 'default',
      workers: env.CLUSTER_WORKERS,
      ui: true,
      appEnv: childEnv(launchEnv, {
        NODE_ENV: 'production',
        // The example app (what `npm run build:workflows` bundled), unless another one is given.
        STEPWISE_APP_MODULE: launchEnv.STEPWISE_APP_MODULE ?? resolve(__dirname, '..', 'workflows', 'app.js'),
        STEPWISE_ACTIVITIES_MODULE:
          launchEnv.STEPWISE_ACTIVITIES_MODULE ?? resolve(__dirname, '..', 'activities', 'index.js'),
        ...childLogEnv(env.LOG_FORMAT, process.stdout.isTTY === true),
      }),
      apiKeys: () => apiKeyLines(launchEnv),
      apiIpc: true,
      distDir: resolve(__dirname, '..', 'src'),
      postgresOsUser: env.CLUSTER_POSTGRES_OS_USER,
      workerStopGraceMs: env.STEPWISE_WORKER_SHUTDOWN_GRACE_MS + 10_000,
      onLine: (name, line) => (name === 'cluster' ? out.say(line) : show(name, line)),
    });
  } catch (err) {
    out.say(`ERROR: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
  const sup = new Supervisor(cluster.services(), {
    launcher: 'npm run cluster',
    policy: {
      maxRestarts: env.STEPWISE_RESTART_MAX,
      windowMs: env.STEPWISE_RESTART_WINDOW_MS,
      backoffMs: env.STEPWISE_RESTART_BACKOFF_MS,
      maxBackoffMs: 30_000,
    },
    log: (line) => out.say(line),
    onStatus: (status) => cluster.api?.send({ stepwise: 'stack-status', status }),
  });
  supervisor = sup;
  let interrupts = 0;
  const onSignal = (): void => {
    interrupts++;
    if (interrupts === 1) {
      out.say('stopping… (API and workers first, PostgreSQL last; Ctrl-C again kills everything)');
      void sup.stop();
    } else if (interrupts === 2) {
      out.say('killing everything');
      void sup.killAll();
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  void sup.done.then(({ code }) => {
    out.say('all stopped');
    process.exit(code);
  });
  out.say(`data in ${config.dataDir}/cluster (kept across restarts)`);
  if (!(await sup.start())) return;
  out.say('');
  out.say('Stepwise cluster is up');
  out.say(`  API           ${cluster.apiUrl} (metrics ${cluster.apiUrl}/metrics)`);
  out.say(`  Temporal UI   ${cluster.ui?.url ?? '-'}`);
  out.say(
    `  Temporal      ${cluster.temporal.address} (namespace ${cluster.opts.namespace}; profile "cluster" of ${cluster.temporalConfigFile})`,
  );
  out.say(`  PostgreSQL    127.0.0.1:${ports.postgres}`);
  cluster.workers.forEach((_, i) =>
    out.say(
      `  worker-${i + 1}      metrics ${cluster.workerMetricsUrl(i)}, health ${cluster.workerHealthUrl(i)}/readyz`,
    ),
  );
  out.processes(sup.status());
  out.say('Press Ctrl-C to stop.');
}

void main();
