#!/usr/bin/env node
// The static half of `npm run check:deploy` (the other half is the series check,
// `jest --config jest.deploy.config.js`): with the tools scripts/install-deploy-tools.mjs built,
//   1. docker-compose.yml through Compose's own loader (scripts/compose-check), with placeholder
//      values for the two secrets it requires;
//   2. `promtool check rules` on deploy/prometheus/alerts.yml;
//   3. `promtool test rules` on deploy/prometheus/alerts.test.yml;
//   4. `promtool check config --syntax-only` on deploy/prometheus/prometheus.yml (its API key file
//      exists only where Prometheus runs).
// Every check runs; the exit code is 1 if any failed, with the tool's own message above.
// Plain ESM JavaScript, like the installers.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const recordFile = join(root, '.tools', 'deploy-tools.json');

/**
 * Values for the variables docker-compose.yml requires (`${VAR:?message}`): the check is about the
 * file, not a deployment's secrets, and never reads a .env.
 */
export const COMPOSE_CHECK_ENV = {
  STEPWISE_POSTGRES_PASSWORD: 'compose-check-placeholder',
  STEPWISE_API_KEYS: 'compose-check:admin:compose-check-placeholder-key',
};

/** `-e NAME=VALUE` arguments for compose-check. */
export const composeCheckEnvArgs = (env = COMPOSE_CHECK_ENV) =>
  Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);

/** What `npm run deploy:install` recorded, or null when it has not run (or its binaries are gone). */
export function deployTools() {
  if (!existsSync(recordFile)) return null;
  const tools = JSON.parse(readFileSync(recordFile, 'utf8'));
  return existsSync(tools.composeCheck) && existsSync(tools.promtool) ? tools : null;
}

function main() {
  const tools = deployTools();
  if (!tools) {
    console.error(
      `[check-deploy] ERROR: the deploy tools are not installed (${recordFile}): run "npm run deploy:install"`,
    );
    process.exit(1);
  }
  const checks = [
    [
      'docker-compose.yml (Compose loader)',
      tools.composeCheck,
      [...composeCheckEnvArgs(), 'docker-compose.yml'],
    ],
    ['alert rules', tools.promtool, ['check', 'rules', 'deploy/prometheus/alerts.yml']],
    ['alert rule unit tests', tools.promtool, ['test', 'rules', 'deploy/prometheus/alerts.test.yml']],
    [
      'Prometheus config',
      tools.promtool,
      ['check', 'config', '--syntax-only', 'deploy/prometheus/prometheus.yml'],
    ],
  ];
  const failed = [];
  for (const [name, bin, args] of checks) {
    console.log(`[check-deploy] ${name}: ${[bin.replace(root + '/', ''), ...args].join(' ')}`);
    const r = spawnSync(bin, args, { cwd: root, stdio: 'inherit' });
    if (r.status !== 0) failed.push(name);
  }
  if (failed.length > 0) {
    console.error(`[check-deploy] FAILED: ${failed.join(', ')}`);
    process.exit(1);
  }
  console.log(`[check-deploy] ${checks.length} checks passed`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main();
}
