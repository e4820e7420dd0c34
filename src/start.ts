/**
 * `npm start`: the whole system in one command — the Temporal dev server with its Web UI (unless
 * TEMPORAL_ADDRESS points elsewhere), the worker and the API, in one log stream labelled per
 * process. Ctrl-C stops all of them; if one dies, the others are stopped too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { writeSamples } from '../activities/samples';
import { checkApiExposure, ConfigError, loadConfigOrExit } from './config';
import { DevServer } from './dev-server';
import { forEachLine } from './lines';

const COLORS: Record<string, string> = { temporal: '35', worker: '36', api: '32', start: '33' };
const useColor = process.stdout.isTTY;

function label(name: string): string {
  const tag = `[${name}]`.padEnd(11);
  return useColor ? `\u001b[${COLORS[name] ?? '0'}m${tag}\u001b[0m` : tag;
}

function say(name: string, line: string): void {
  process.stdout.write(`${label(name)}${line}\n`);
}

async function waitForHealth(url: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url);
      if (res.ok) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  return false;
}

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  try {
    checkApiExposure(config); // the API would refuse anyway: say so before starting anything
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    say('start', `ERROR: ${err.message}`);
    process.exit(1);
  }
  // The pipelines' examples (POST /api/jobs in /docs) read these: written once, never overwritten.
  const samples = writeSamples(config.pipelines.importRoot);
  if (samples.length > 0) say('start', `sample inputs written under ${config.pipelines.importRoot}/samples`);
  const env = { ...process.env };
  let devServer: DevServer | null = null;
  const children = new Map<string, ChildProcess>();
  let stopping = false;

  const stopAll = async (code: number): Promise<never> => {
    if (stopping) return new Promise<never>(() => undefined);
    stopping = true;
    say('start', 'stopping…');
    await Promise.all(
      [...children.entries()].map(
        ([name, child]) =>
          new Promise<void>((res) => {
            if (child.exitCode !== null || child.signalCode !== null) return res();
            // The worker may take its grace time for running activities (STEPWISE_WORKER_SHUTDOWN_GRACE_MS).
            const graceMs = (name === 'worker' ? config.env.STEPWISE_WORKER_SHUTDOWN_GRACE_MS : 0) + 15_000;
            const timer = setTimeout(() => {
              say('start', `${name} did not stop in ${graceMs / 1000} s; killing it`);
              child.kill('SIGKILL');
            }, graceMs);
            child.once('exit', () => {
              clearTimeout(timer);
              res();
            });
            child.kill('SIGTERM');
          }),
      ),
    );
    if (devServer) await devServer.stop();
    say('start', 'all stopped');
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));

  if (config.embeddedDevServer) {
    const dbFile = join(config.dataDir, 'temporal.sqlite');
    say('start', `starting Temporal dev server (SQLite ${dbFile})`);
    try {
      devServer = await DevServer.start({
        dbFile,
        port: config.env.TEMPORAL_DEV_PORT,
        uiPort: config.env.TEMPORAL_UI_PORT,
        headless: config.env.TEMPORAL_DEV_HEADLESS,
        namespace: config.temporal.namespace,
        startTimeoutMs: config.env.DEV_SERVER_START_TIMEOUT_MS,
        onOutput: (line) => say('temporal', line),
      });
    } catch (err) {
      say('start', `ERROR: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    }
    env.TEMPORAL_ADDRESS = devServer.address;
    // The dashboard links each job to its workflow in this Web UI.
    if (devServer.uiUrl && !env.STEPWISE_TEMPORAL_UI_URL) env.STEPWISE_TEMPORAL_UI_URL = devServer.uiUrl;
    say('start', `Temporal dev server ready on ${devServer.address}`);
  } else {
    say(
      'start',
      `using Temporal at ${config.temporal.address} (TEMPORAL_ADDRESS set; no dev server started)`,
    );
  }

  const dist = resolve(__dirname);
  for (const name of ['worker', 'api'] as const) {
    const entry = join(dist, name === 'worker' ? 'worker.js' : 'main.js');
    const child = spawn(process.execPath, ['--enable-source-maps', entry], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.set(name, child);
    forEachLine(child.stdout, (line) => say(name, line));
    forEachLine(child.stderr, (line) => say(name, line));
    child.once('exit', (code, signal) => {
      if (stopping) return;
      say('start', `${name} exited (${signal ?? `code ${code}`}); stopping everything`);
      void stopAll(code === 0 ? 1 : (code ?? 1));
    });
  }

  const apiUrl = `http://${config.env.HOST}:${config.env.PORT}`;
  if (await waitForHealth(`${apiUrl}/health`, 120_000)) {
    const ui = devServer?.uiUrl ?? (config.embeddedDevServer ? null : '(the external cluster’s Web UI)');
    say('start', '');
    say('start', `Stepwise is up`);
    say('start', `  Dashboard    ${apiUrl}/`);
    say('start', `  API          ${apiUrl}/api`);
    say('start', `  API docs     ${apiUrl}/docs`);
    say('start', `  Temporal UI  ${ui ?? 'disabled (TEMPORAL_DEV_HEADLESS=true)'}`);
    say(
      'start',
      `  Temporal     ${env.TEMPORAL_ADDRESS ?? config.temporal.address} (namespace ${config.temporal.namespace})`,
    );
    say('start', 'Press Ctrl-C to stop.');
  } else if (!stopping) {
    say('start', `ERROR: the API did not become healthy at ${apiUrl}/health within 120 s`);
    await stopAll(1);
  }
}

void main();
