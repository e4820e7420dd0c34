#!/usr/bin/env node
// Installs the Temporal CLI (which embeds the dev server, SQLite persistence and the Web UI)
// into a gitignored project-local folder, built from source with `go install` of a pinned tag.
// Plain ESM JavaScript on purpose: it runs before anything is compiled.
//
// Resolution order (the first adequate one wins, and is written to .tools/temporal-cli.json
// so the dev-server launcher uses exactly the binary that was checked here):
//   1. TEMPORAL_CLI_PATH (must be adequate, otherwise this fails: an explicit choice is never ignored)
//   2. the project-local build in .tools/temporal-<version>/temporal
//   3. a `temporal` on PATH
//   4. a fresh `go install github.com/temporalio/cli/cmd/temporal@v<version>`
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { goBuild, goVersion, which } from './go-build.mjs';

export const CLI_VERSION = '1.5.1';
const MODULE = 'github.com/temporalio/cli/cmd/temporal';
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const toolsDir = join(root, '.tools');
const localDir = join(toolsDir, `temporal-${CLI_VERSION}`);
const localBin = join(localDir, 'temporal');
const recordFile = join(toolsDir, 'temporal-cli.json');

const log = (msg) => console.log(`[temporal-cli] ${msg}`);

function fail(msg) {
  console.error(`[temporal-cli] ERROR: ${msg}`);
  process.exit(1);
}

/** Parses "temporal version 1.5.1 (Server 1.29.1, UI 2.42.1)"; null when the binary does not run. */
function versionOf(bin) {
  const out = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  if (out.error || out.status !== 0) return null;
  const m = /version\s+v?(\d+)\.(\d+)\.(\d+)/.exec(out.stdout);
  return m ? { text: `${m[1]}.${m[2]}.${m[3]}`, parts: [m[1], m[2], m[3]].map(Number) } : null;
}

function adequate(v) {
  if (!v) return false;
  const want = CLI_VERSION.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    if (v.parts[i] !== want[i]) return v.parts[i] > want[i];
  }
  return true;
}

function record(path, version, source) {
  mkdirSync(toolsDir, { recursive: true });
  writeFileSync(recordFile, JSON.stringify({ path, version: version.text, source }, null, 2) + '\n');
  log(`using ${path} (version ${version.text}, ${source})`);
}

async function goInstall() {
  const go = which('go');
  if (!go) {
    fail(
      `Go is not installed, so the Temporal CLI v${CLI_VERSION} cannot be built.\n` +
        `  Install Go (https://go.dev/doc/install, or your package manager's "golang" package) and run\n` +
        `  "npm run temporal:install" again, or set TEMPORAL_CLI_PATH to an existing temporal >= ${CLI_VERSION}.`,
    );
  }
  log(`building Temporal CLI v${CLI_VERSION} with ${goVersion(go)}`);
  log(`go install ${MODULE}@v${CLI_VERSION} -> ${localDir}`);
  log('the first build downloads modules from the Go module proxy and compiles the server: it takes minutes');
  const staging = await goBuild({
    go,
    args: () => [
      'install',
      '-ldflags',
      `-X github.com/temporalio/cli/temporalcli.Version=${CLI_VERSION}`,
      `${MODULE}@v${CLI_VERSION}`,
    ],
    toolsDir,
    log,
    fail,
    goflags: '',
  });
  rmSync(localDir, { recursive: true, force: true });
  mkdirSync(localDir, { recursive: true });
  renameSync(join(staging, 'temporal'), localBin);
  rmSync(staging, { recursive: true, force: true });
}

async function main() {
  const explicit = process.env.TEMPORAL_CLI_PATH;
  if (explicit) {
    const v = versionOf(explicit);
    if (!v) fail(`TEMPORAL_CLI_PATH=${explicit} does not run "temporal --version"`);
    if (!adequate(v))
      fail(`TEMPORAL_CLI_PATH=${explicit} is version ${v.text}; ${CLI_VERSION} or newer is required`);
    return record(explicit, v, 'TEMPORAL_CLI_PATH');
  }
  const local = existsSync(localBin) ? versionOf(localBin) : null;
  if (local && local.text === CLI_VERSION) {
    log(`v${CLI_VERSION} already installed, skipping build`);
    return record(localBin, local, 'project-local build');
  }
  const onPath = which('temporal');
  const pathVersion = onPath ? versionOf(onPath) : null;
  if (onPath && adequate(pathVersion)) return record(onPath, pathVersion, 'PATH');
  if (onPath) log(`ignoring ${onPath}: version ${pathVersion?.text ?? 'unknown'} < ${CLI_VERSION}`);
  await goInstall();
  const built = versionOf(localBin);
  if (!built || built.text !== CLI_VERSION)
    fail(`the built binary at ${localBin} does not report version ${CLI_VERSION}`);
  record(localBin, built, 'project-local build');
}

await main();
