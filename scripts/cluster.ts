/**
 * `npm run cluster`: the production topology on this machine, without containers — PostgreSQL,
 * Temporal Server on it (schemas migrated by temporal-sql-tool, search attributes registered),
 * the Temporal Web UI, then two workers and the API — in one log stream labelled per process.
 * Ctrl-C stops everything (API and workers first, PostgreSQL last); all state stays under
 * STEPWISE_DATA_DIR (`cluster/postgres` holds the database), so the next start continues where
 * this one stopped. Ports: CLUSTER_POSTGRES_PORT, CLUSTER_TEMPORAL_PORT, CLUSTER_UI_PORT, PORT,
 * CLUSTER_WORKER_PORT_BASE; workers: CLUSTER_WORKERS (docs/production.md).
 */
import { resolve } from 'node:path';
import { checkApiExposure, ConfigError, loadConfigOrExit } from '../src/config';
import { Cluster } from '../src/cluster/cluster';
import { portInUse } from '../src/dev-server';
import { temporalPorts } from '../src/cluster/temporal-server';

const COLORS: Record<string, string> = { postgres: '34', temporal: '35', 'temporal-ui': '35', api: '32' };
const useColor = process.stdout.isTTY;

function say(name: string, line: string): void {
  const tag = `[${name}]`.padEnd(14);
  const color = COLORS[name] ?? (name.startsWith('worker') ? '36' : '33');
  process.stdout.write(`${useColor ? `\u001b[${color}m${tag}\u001b[0m` : tag}${line}\n`);
}

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const env = config.env;
  try {
    checkApiExposure(config);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    say('cluster', `ERROR: ${err.message}`);
    process.exit(1);
  }
  if (process.env.TEMPORAL_ADDRESS) {
    say(
      'cluster',
      `note: TEMPORAL_ADDRESS=${process.env.TEMPORAL_ADDRESS} is ignored; the cluster's server is used`,
    );
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
      say(
        'cluster',
        `ERROR: port ${p} (${name}) is already in use; stop what holds it or choose another with ${name}`,
      );
      process.exit(1);
    }
  }
  let cluster: Cluster;
  try {
    cluster = new Cluster({
      dataDir: config.dataDir,
      ports,
      namespace: config.temporal.namespace,
      workers: env.CLUSTER_WORKERS,
      ui: true,
      appEnv: { ...process.env, NODE_ENV: 'production' },
      distDir: resolve(__dirname, '..', 'src'),
      postgresOsUser: env.CLUSTER_POSTGRES_OS_USER,
      workerStopGraceMs: env.STEPWISE_WORKER_SHUTDOWN_GRACE_MS + 10_000,
      onLine: say,
    });
  } catch (err) {
    say('cluster', `ERROR: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
  let stopping = false;
  const stopAll = async (code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    say('cluster', 'stopping…');
    await cluster.stop();
    say('cluster', 'all stopped');
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));
  say('cluster', `data in ${config.dataDir}/cluster (kept across restarts)`);
  try {
    await cluster.start();
  } catch (err) {
    say('cluster', `ERROR: ${err instanceof Error ? err.message : String(err)}`);
    await stopAll(1);
    return;
  }
  // One process dying takes the others down, as with `npm start`: a half cluster is not what you asked for.
  const watched = [
    cluster.postgres.process,
    cluster.temporal.process,
    cluster.ui?.process ?? null,
    cluster.api,
    ...cluster.workers,
  ];
  for (const proc of watched) {
    void proc?.exited.then(({ code, signal }) => {
      if (stopping) return;
      say('cluster', `${proc.name} exited (${signal ?? `code ${code}`}); stopping everything`);
      void stopAll(1);
    });
  }
  say('cluster', '');
  say('cluster', 'Stepwise cluster is up');
  say('cluster', `  API           ${cluster.apiUrl} (metrics ${cluster.apiUrl}/metrics)`);
  say('cluster', `  Temporal UI   ${cluster.ui?.url ?? '-'}`);
  say('cluster', `  Temporal      ${cluster.temporal.address} (namespace ${config.temporal.namespace})`);
  say('cluster', `  PostgreSQL    127.0.0.1:${ports.postgres}`);
  cluster.workers.forEach((_, i) =>
    say(
      'cluster',
      `  worker-${i + 1}      metrics ${cluster.workerMetricsUrl(i)}, health ${cluster.workerHealthUrl(i)}/readyz`,
    ),
  );
  say('cluster', 'Press Ctrl-C to stop.');
}

void main();
