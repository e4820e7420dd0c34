/**
 * `stepwise dev --app <module> --activities <module>` (`npm start` here, for the example app): the
 * whole system in one command — the Temporal dev server with its Web UI (unless
 * TEMPORAL_ADDRESS or a temporal.toml profile points elsewhere), the worker and the API, in one log stream labelled per
 * process, under the supervisor (src/supervisor.ts): a process that exits unexpectedly is
 * restarted after a backoff while the others keep running; only Ctrl-C/SIGTERM or a crash loop
 * stops everything — the API and the worker first (the worker drains), then the dev server.
 * "Stepwise is up" is printed once every part is ready: the dev server answers, the worker polls,
 * the API answers.
 *
 * `npm run dev` (`--watch`): the same, plus the TypeScript compiler in watch mode; each change that
 * compiles restarts the worker and the API, and the dev server keeps running (src/dev-watch.ts).
 */
import { join, resolve } from 'node:path';
import { activitiesModulePath, AppModuleError, appModulePath, loadConfiguredApp } from './app-modules';
import { API_KEYS_FD_PATH, apiKeyLines, childEnv, childLogEnv, SECRET_ENV } from './child-env';
import { GaveUp, ManagedProcess, waitUntil } from './cluster/process';
import { checkApiExposure, ConfigError, loadConfigOrExit } from './config';
import { DevServer, freePort, portInUse } from './dev-server';
import { tscWatchService, watchStyles } from './dev-watch';
import { LauncherConsole } from './launcher-console';
import { Supervisor, type ServiceSpec } from './supervisor';
import { BULK_JOB_TYPE } from '../workflows/engine/bulk-contracts';

const PROJECT_ROOT = resolve(__dirname, '..', '..');

async function main(): Promise<void> {
  const watchMode = process.argv.includes('--watch');
  const out = new LauncherConsole('start', 11);
  const config = loadConfigOrExit();
  try {
    checkApiExposure(config); // the API would refuse anyway: say so before starting anything
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    out.say(`ERROR: ${err.message}`);
    process.exit(1);
  }
  // The app and its activities, given as modules the worker and the API load: checked here first.
  let appModule: string;
  let activitiesModule: string | undefined;
  try {
    appModule = appModulePath(config);
    const app = loadConfiguredApp(config);
    activitiesModule = activitiesModulePath(config);
    if (!activitiesModule) {
      throw new AppModuleError(
        'No activities given: start with "stepwise dev --app <module> --activities <module>" (or set STEPWISE_ACTIVITIES_MODULE)',
      );
    }
    // The app's own job types (every app also has the framework's bulk-action type).
    const own = app.jobs.filter((d) => d.name !== BULK_JOB_TYPE);
    out.say(`app ${appModule}: ${own.length} job types (${own.map((d) => d.name).join(', ')})`);
  } catch (err) {
    out.say(`ERROR: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
  const wanted: [string, number][] = [['PORT', config.env.PORT]];
  if (config.embeddedDevServer) {
    wanted.push(['TEMPORAL_DEV_PORT', config.env.TEMPORAL_DEV_PORT]);
    if (!config.env.TEMPORAL_DEV_HEADLESS) wanted.push(['TEMPORAL_UI_PORT', config.env.TEMPORAL_UI_PORT]);
  }
  for (const [name, port] of wanted) {
    if (await portInUse(port)) {
      out.say(
        `ERROR: port ${port} (${name}) is already in use; stop what holds it or choose another with ${name}`,
      );
      process.exit(1);
    }
  }
  // The keys stay in this process only (the API gets their digests on a descriptor); nothing
  // spawned from here inherits them.
  const launchEnv = { ...process.env };
  for (const name of SECRET_ENV) delete process.env[name];
  const env = childEnv(launchEnv, childLogEnv(config.env.LOG_FORMAT, process.stdout.isTTY === true));
  env.STEPWISE_APP_MODULE = appModule;
  env.STEPWISE_ACTIVITIES_MODULE = activitiesModule;

  let supervisor: Supervisor | null = null;
  // Output of a process the launcher is stopping on purpose (the dev server's shutdown warnings) is
  // left out; it stays in the process's tail.
  const show = (name: string, line: string): void => {
    if (name === 'temporal' && supervisor?.stopRequested(name)) return;
    out.line(name, line);
  };

  const services: ServiceSpec[] = [];
  let devServer: DevServer | null = null;
  if (config.embeddedDevServer) {
    const dbFile = join(config.dataDir, 'temporal.sqlite');
    env.TEMPORAL_ADDRESS = `127.0.0.1:${config.env.TEMPORAL_DEV_PORT}`;
    // The dashboard links each job to its workflow in this Web UI.
    if (!config.env.TEMPORAL_DEV_HEADLESS && !env.STEPWISE_TEMPORAL_UI_URL) {
      env.STEPWISE_TEMPORAL_UI_URL = `http://127.0.0.1:${config.env.TEMPORAL_UI_PORT}`;
    }
    out.say(`Temporal dev server on SQLite ${dbFile}`);
    services.push({
      name: 'temporal',
      async start() {
        devServer = null;
        devServer = await DevServer.start({
          dbFile,
          port: config.env.TEMPORAL_DEV_PORT,
          uiPort: config.env.TEMPORAL_UI_PORT,
          headless: config.env.TEMPORAL_DEV_HEADLESS,
          namespace: config.temporal.namespace,
          startTimeoutMs: config.env.DEV_SERVER_START_TIMEOUT_MS,
          detached: true,
          onOutput: (line) => show('temporal', line),
        });
      },
      current: () => devServer,
      stop: async () => devServer?.stop(),
    });
  } else {
    const from = config.temporal.profile
      ? `profile "${config.temporal.profile}" of ${config.temporal.configFile}`
      : 'TEMPORAL_ADDRESS';
    out.say(`using Temporal at ${config.temporal.address} (from ${from}; no dev server started)`);
  }
  const temporalDeps = config.embeddedDevServer ? ['temporal'] : [];
  const buildDeps = watchMode ? ['build'] : [];

  const dist = resolve(__dirname);
  let worker: ManagedProcess | null = null;
  services.push({
    name: 'worker',
    dependsOn: [...temporalDeps, ...buildDeps],
    async start() {
      // Its readiness probe says when it polls: "Stepwise is up" waits for it.
      const health = config.env.STEPWISE_WORKER_HEALTH_ADDRESS ?? `127.0.0.1:${await freePort()}`;
      const proc = new ManagedProcess({
        name: 'worker',
        command: process.execPath,
        args: ['--enable-source-maps', join(dist, 'worker.js')],
        env: { ...env, STEPWISE_WORKER_HEALTH_ADDRESS: health },
        onLine: show,
      });
      worker = proc;
      await waitUntil(
        'the worker',
        async () => {
          if (!proc.running) throw new GaveUp(`the worker exited during start:\n${proc.tail.join('\n')}`);
          return (await fetch(`http://${health}/readyz`)).ok;
        },
        120_000,
      );
    },
    current: () => worker,
    // More than its own grace time for running activities, so a stop never cuts one short.
    stop: async () => worker?.stop(config.env.STEPWISE_WORKER_SHUTDOWN_GRACE_MS + 15_000),
  });

  const apiUrl = `http://${config.env.HOST}:${config.env.PORT}`;
  let api: ManagedProcess | null = null;
  services.push({
    name: 'api',
    dependsOn: [...temporalDeps, ...buildDeps, ...(watchMode ? ['dashboard'] : [])],
    async start() {
      const keys = apiKeyLines(launchEnv); // re-read: a changed key file applies on a restart
      const proc = new ManagedProcess({
        name: 'api',
        command: process.execPath,
        args: ['--enable-source-maps', join(dist, 'main.js')],
        env: keys ? { ...env, STEPWISE_API_KEYS_FILE: API_KEYS_FD_PATH } : env,
        fd3: keys ?? undefined,
        ipc: true,
        onLine: show,
      });
      api = proc;
      await waitUntil(
        'the API',
        async () => {
          if (!proc.running) throw new GaveUp(`the API exited during start:\n${proc.tail.join('\n')}`);
          return (await fetch(`${apiUrl}/health/ready`)).ok;
        },
        120_000,
      );
    },
    current: () => api,
    stop: async () => api?.stop(15_000),
  });

  let stopStyles: (() => void) | null = null;
  if (watchMode) {
    const restart = (names: string[], why: string): void => {
      out.say(`${why}: restarting ${names.join(' and ')}`);
      void supervisor?.restart(names);
    };
    services.push(
      tscWatchService({
        name: 'build',
        root: PROJECT_ROOT,
        project: 'tsconfig.build.json',
        buildInfo: 'dist/.tsbuildinfo-watch',
        onRebuilt: () => restart(['worker', 'api'], 'rebuilt'),
        onLine: show,
      }),
      tscWatchService({
        name: 'dashboard',
        root: PROJECT_ROOT,
        project: 'src/dashboard',
        buildInfo: 'dist/.tsbuildinfo-dashboard-watch',
        onRebuilt: () => restart(['api'], 'dashboard rebuilt'),
        onLine: show,
      }),
    );
    stopStyles = watchStyles(
      join(PROJECT_ROOT, 'src', 'dashboard'),
      join(PROJECT_ROOT, 'dist', 'dashboard'),
      (files) => restart(['api'], `${files} changed`),
    );
  }

  const sup = new Supervisor(services, {
    launcher: watchMode ? 'npm run dev' : 'npm start',
    policy: {
      maxRestarts: config.env.STEPWISE_RESTART_MAX,
      windowMs: config.env.STEPWISE_RESTART_WINDOW_MS,
      backoffMs: config.env.STEPWISE_RESTART_BACKOFF_MS,
      maxBackoffMs: 30_000,
    },
    log: (line) => out.say(line),
    // The API shows the status in its readiness answer, and the dashboard in its banner.
    onStatus: (status) => api?.send({ stepwise: 'stack-status', status }),
  });
  supervisor = sup;

  let interrupts = 0;
  const onSignal = (): void => {
    interrupts++;
    if (interrupts === 1) {
      out.say('stopping… (the API and the worker first; Ctrl-C again kills everything)');
      stopStyles?.();
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

  if (await sup.start()) {
    const ui = config.embeddedDevServer
      ? (env.STEPWISE_TEMPORAL_UI_URL ?? 'disabled (TEMPORAL_DEV_HEADLESS=true)')
      : '(the external cluster’s Web UI)';
    out.say('');
    out.say(`Stepwise is up`);
    out.say(`  Dashboard    ${apiUrl}/`);
    out.say(`  API          ${apiUrl}/api`);
    out.say(`  API docs     ${apiUrl}/docs`);
    out.say(`  Temporal UI  ${ui}`);
    out.say(
      `  Temporal     ${env.TEMPORAL_ADDRESS ?? config.temporal.address} (namespace ${config.temporal.namespace})`,
    );
    out.processes(sup.status());
    out.say(watchMode ? 'Watching for changes. Press Ctrl-C to stop.' : 'Press Ctrl-C to stop.');
  }
}

void main();
