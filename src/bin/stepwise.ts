#!/usr/bin/env node
/**
 * The `stepwise` command: runs the stack for an app.
 *
 *   stepwise dev --app ./dist/app.js --activities ./dist/activities.js [--watch]
 *   stepwise worker --app <module> --activities <module>
 *   stepwise api --app <module>
 *   stepwise bundle --app <module> [--out <file>]
 *   stepwise install-temporal
 *   stepwise deployment list|describe|describe-version|set-current [...]
 *
 * `--app` names a module whose default export is `defineApp(...)`; `--activities` one whose
 * default export is `defineActivities(app, ...)`. Every other setting comes from the environment
 * (docs/configuration.md). `dev` is what `npm start` runs for the example app.
 */
import { spawnSync } from 'node:child_process';
import { isAbsolute, join, resolve } from 'node:path';
import { DEPLOYMENT_ACTIONS, DEPLOYMENT_USAGE } from '../deployment-usage';

const USAGE = `Usage:
  stepwise dev --app <module> --activities <module> [--watch]   the whole stack (dev server, worker, API, dashboard)
  stepwise worker --app <module> --activities <module>          a worker
  stepwise api --app <module>                                   the HTTP API and dashboard
  stepwise bundle --app <module> [--out <file>]                 the prebuilt workflow bundle for production workers
  stepwise install-temporal                                     build the Temporal CLI (dev server) into the package

Worker Deployment Versioning (STEPWISE_WORKER_VERSIONING=true; docs/production.md "Versioned deploys"):
${DEPLOYMENT_USAGE}

--app: a module whose default export is defineApp({ jobs: [...] })
--activities: a module whose default export is defineActivities(app, (deps) => ({ ... }))`;

function fail(message: string): never {
  console.error(`stepwise: ${message}\n\n${USAGE}`);
  process.exit(2);
}

/** `--name value` and `--name=value` options, and bare flags. */
function parse(args: string[]): Map<string, string | true> {
  const out = new Map<string, string | true>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith('--')) fail(`unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    if (eq > 0) out.set(arg.slice(2, eq), arg.slice(eq + 1));
    else if (args[i + 1] !== undefined && !args[i + 1].startsWith('--')) out.set(arg.slice(2), args[++i]);
    else out.set(arg.slice(2), true);
  }
  return out;
}

const absolute = (p: string): string => (isAbsolute(p) ? p : resolve(p));

function moduleOption(opts: Map<string, string | true>, name: 'app' | 'activities', env: string): void {
  const value = opts.get(name);
  if (value === true) fail(`--${name} needs a module path`);
  if (typeof value === 'string') process.env[env] = absolute(value);
  if (!process.env[env]) fail(`--${name} <module> is required (or set ${env})`);
}

function main(): void {
  const [command, ...rest] = process.argv.slice(2);
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    console.log(USAGE);
    return;
  }
  if (command === 'deployment') {
    const [action, ...more] = rest;
    if (!action || !(action in DEPLOYMENT_ACTIONS)) {
      fail(action ? `unknown deployment action "${action}"` : 'deployment needs an action');
    }
    const opts = parse(more);
    for (const name of opts.keys()) {
      if (!DEPLOYMENT_ACTIONS[action].includes(name)) fail(`"deployment ${action}" takes no --${name}`);
    }
    // Loaded only here: it connects to Temporal.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const cli = require('../deployment-cli') as typeof import('../deployment-cli');
    cli.runDeploymentCommand(action, opts).catch((err: unknown) => {
      console.error(`stepwise deployment ${action}: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    });
    return;
  }
  const opts = parse(rest);
  const known: Record<string, string[]> = {
    dev: ['app', 'activities', 'watch'],
    worker: ['app', 'activities'],
    api: ['app'],
    bundle: ['app', 'out'],
    'install-temporal': [],
  };
  if (!(command in known)) fail(`unknown command "${command}"`);
  for (const name of opts.keys()) {
    if (!known[command].includes(name)) fail(`"${command}" takes no --${name}`);
  }
  switch (command) {
    case 'dev':
      moduleOption(opts, 'app', 'STEPWISE_APP_MODULE');
      moduleOption(opts, 'activities', 'STEPWISE_ACTIVITIES_MODULE');
      if (opts.has('watch')) process.argv.push('--watch');
      // The entry runs its process when loaded: only the one asked for is.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require('../start');
      return;
    case 'worker':
      moduleOption(opts, 'app', 'STEPWISE_APP_MODULE');
      moduleOption(opts, 'activities', 'STEPWISE_ACTIVITIES_MODULE');
      // The entry runs its process when loaded: only the one asked for is.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require('../worker');
      return;
    case 'api':
      moduleOption(opts, 'app', 'STEPWISE_APP_MODULE');
      // The entry runs its process when loaded: only the one asked for is.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require('../main');
      return;
    case 'bundle': {
      moduleOption(opts, 'app', 'STEPWISE_APP_MODULE');
      const appModule = process.env.STEPWISE_APP_MODULE!;
      // Loaded only here: bundling pulls in webpack.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { buildWorkflowBundle, defaultBundlePath } = require('../bundle') as typeof import('../bundle');
      const out = opts.get('out');
      const file = typeof out === 'string' ? absolute(out) : defaultBundlePath(appModule);
      buildWorkflowBundle(appModule, file).then(
        () => console.log(`workflow bundle written to ${file}`),
        (err: unknown) => {
          console.error(`stepwise bundle failed: ${err instanceof Error ? err.message : String(err)}`);
          process.exit(1);
        },
      );
      return;
    }
    case 'install-temporal': {
      const script = join(__dirname, '..', '..', '..', 'scripts', 'install-temporal-cli.mjs');
      const run = spawnSync(process.execPath, [script], { stdio: 'inherit' });
      process.exit(run.status ?? 1);
    }
  }
}

main();
