#!/usr/bin/env node
// Builds the tools `npm run check:deploy` runs, from the Go module proxy like the Temporal tools,
// into the gitignored .tools/ folder, once:
//   - compose-check (scripts/compose-check: docker-compose.yml through Compose's own Go loader,
//     github.com/compose-spec/compose-go/v2 at the version its go.mod/go.sum pin), rebuilt when
//     its source changes (the folder name carries a hash of main.go, go.mod and go.sum);
//   - promtool (github.com/prometheus/prometheus/cmd/promtool at PROMTOOL_VERSION), which checks
//     and unit-tests the alert rules under deploy/prometheus/.
// Writes .tools/deploy-tools.json, which scripts/check-deploy.mjs and the tests read.
// Plain ESM JavaScript on purpose: it runs before anything is compiled.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { goBuild, goVersion, which } from './go-build.mjs';

export const PROMTOOL_VERSION = '0.316.0';
const PROMTOOL_MODULE = 'github.com/prometheus/prometheus';
const COMPOSE_GO_MODULE = 'github.com/compose-spec/compose-go/v2';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const toolsDir = join(root, '.tools');
const composeCheckSrc = join(root, 'scripts', 'compose-check');
const recordFile = join(toolsDir, 'deploy-tools.json');

const log = (msg) => console.log(`[deploy-tools] ${msg}`);

function fail(msg) {
  console.error(`[deploy-tools] ERROR: ${msg}`);
  process.exit(1);
}

/** The compose-go version scripts/compose-check/go.mod requires. */
export function composeGoVersion() {
  const gomod = readFileSync(join(composeCheckSrc, 'go.mod'), 'utf8');
  const m = new RegExp(
    `^\\s*(?:require\\s+)?${COMPOSE_GO_MODULE.replace(/[./]/g, '\\$&')}\\s+v(\\S+)`,
    'm',
  ).exec(gomod);
  if (!m) fail(`scripts/compose-check/go.mod does not require ${COMPOSE_GO_MODULE}`);
  return m[1];
}

/** A short hash of compose-check's source: a changed checker is built again. */
function composeCheckHash() {
  const h = createHash('sha256');
  for (const f of ['main.go', 'go.mod', 'go.sum']) h.update(f).update(readFileSync(join(composeCheckSrc, f)));
  return h.digest('hex').slice(0, 12);
}

/** Moves `staging/name` to `dir/name` (replacing `dir`) and drops the staging folder. */
function place(staging, name, dir) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  renameSync(join(staging, name), join(dir, name));
  rmSync(staging, { recursive: true, force: true });
}

async function main() {
  const composeVersion = composeGoVersion();
  const composeDir = join(toolsDir, `compose-check-${composeCheckHash()}`);
  const composeCheck = join(composeDir, 'compose-check');
  const promtoolDir = join(toolsDir, `promtool-${PROMTOOL_VERSION}`);
  const promtool = join(promtoolDir, 'promtool');
  const missing = [composeCheck, promtool].filter((p) => !existsSync(p));
  if (missing.length === 0) {
    log(
      `compose-check (compose-go v${composeVersion}) and promtool v${PROMTOOL_VERSION} already built, skipping`,
    );
  } else {
    const go = which('go');
    if (!go) {
      fail(
        'Go is not installed, so compose-check and promtool cannot be built.\n' +
          '  Install Go (https://go.dev/doc/install, or your package manager\'s "golang" package) and run "npm run deploy:install" again.',
      );
    }
    log(`building with ${goVersion(go)}`);
    if (!existsSync(composeCheck)) {
      // A module of its own, with go.sum: the loader's version and checksums are pinned there.
      const staged = await goBuild({
        go,
        args: (out) => ['build', '-o', join(out, 'compose-check'), '.'],
        cwd: composeCheckSrc,
        toolsDir,
        log,
        fail,
      });
      place(staged, 'compose-check', composeDir);
      // Builds of earlier sources of the checker are of no more use.
      for (const old of readdirSync(toolsDir)) {
        if (old.startsWith('compose-check-') && join(toolsDir, old) !== composeDir) {
          rmSync(join(toolsDir, old), { recursive: true, force: true });
        }
      }
    }
    if (!existsSync(promtool)) {
      log('the first promtool build downloads Prometheus and its dependencies: it takes minutes');
      const staged = await goBuild({
        go,
        args: () => [
          'install',
          '-ldflags',
          `-X github.com/prometheus/common/version.Version=${PROMTOOL_VERSION}`,
          `${PROMTOOL_MODULE}/cmd/promtool@v${PROMTOOL_VERSION}`,
        ],
        cwd: root,
        toolsDir,
        log,
        fail,
      });
      place(staged, 'promtool', promtoolDir);
    }
  }
  const record = {
    composeGoVersion: composeVersion,
    promtoolVersion: PROMTOOL_VERSION,
    composeCheck,
    promtool,
  };
  writeFileSync(recordFile, JSON.stringify(record, null, 2) + '\n');
  log(`ready: ${composeCheck}, ${promtool}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}
