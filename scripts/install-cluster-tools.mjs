#!/usr/bin/env node
// Builds the tools `npm run cluster` runs — Temporal Server, its SQL schema tool and the Temporal
// Web UI server — with `go install` of pinned versions into the gitignored .tools/ folder, once;
// copies the PostgreSQL schema files out of the Go module cache next to them; and checks that
// PostgreSQL is installed. Writes .tools/cluster-tools.json, which the cluster launcher reads.
// Plain ESM JavaScript on purpose: it runs before anything is compiled.
//
// The versions are those the pinned Temporal CLI (scripts/install-temporal-cli.mjs) embeds, and
// those of docker-compose.yml's images (test/unit/cluster-versions.test.ts compares them).
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  realpathSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { goBuild, goVersion, which } from './go-build.mjs';

export const SERVER_VERSION = '1.29.1';
export const UI_VERSION = '2.42.1';
const SERVER_MODULE = 'go.temporal.io/server';
const UI_MODULE = 'github.com/temporalio/ui-server/v2';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const toolsDir = join(root, '.tools');
const serverDir = join(toolsDir, `temporal-server-${SERVER_VERSION}`);
const uiDir = join(toolsDir, `temporal-ui-server-${UI_VERSION}`);
const recordFile = join(toolsDir, 'cluster-tools.json');

const log = (msg) => console.log(`[cluster-tools] ${msg}`);

function fail(msg) {
  console.error(`[cluster-tools] ERROR: ${msg}`);
  process.exit(1);
}

/** The folder holding initdb/postgres/pg_ctl: POSTGRES_BIN_DIR, PATH, or the newest Debian install. */
export function findPostgresBin() {
  const explicit = process.env.POSTGRES_BIN_DIR;
  if (explicit) {
    if (!existsSync(join(explicit, 'initdb'))) fail(`POSTGRES_BIN_DIR=${explicit} holds no initdb`);
    return explicit;
  }
  const onPath = which('initdb');
  // Resolve symlinks: the other programs (psql, pg_isready) sit next to the real initdb.
  if (onPath) return dirname(realpathSync(onPath));
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian)
      .filter((v) => existsSync(join(debian, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions.length > 0) return join(debian, versions[0], 'bin');
  }
  return null;
}

/** `go install` of `pkgs` into a staging folder (see scripts/go-build.mjs); returns the folder. */
const goInstall = (go, pkgs) => goBuild({ go, args: () => ['install', ...pkgs], toolsDir, log, fail });

async function main() {
  const pgBin = findPostgresBin();
  if (!pgBin) {
    fail(
      'PostgreSQL is not installed (no initdb on PATH or under /usr/lib/postgresql/*/bin).\n' +
        '  Install it (Debian/Ubuntu: "apt-get install -y postgresql"), or set POSTGRES_BIN_DIR to the folder holding initdb.',
    );
  }
  const server = join(serverDir, 'temporal-server');
  const sqlTool = join(serverDir, 'temporal-sql-tool');
  const schemaDir = join(serverDir, 'schema', 'postgresql', 'v12');
  const ui = join(uiDir, 'ui-server');
  const have = [server, sqlTool, join(schemaDir, 'temporal', 'versioned'), ui].every((p) => existsSync(p));
  if (have) {
    log(
      `Temporal Server v${SERVER_VERSION}, temporal-sql-tool and UI server v${UI_VERSION} already built, skipping`,
    );
  } else {
    const go = which('go');
    if (!go) {
      fail(
        `Go is not installed, so Temporal Server v${SERVER_VERSION} cannot be built.\n` +
          '  Install Go (https://go.dev/doc/install, or your package manager\'s "golang" package) and run "npm run cluster" again.',
      );
    }
    log(`building with ${goVersion(go)}; the first build takes minutes`);
    mkdirSync(toolsDir, { recursive: true });
    if (
      !existsSync(server) ||
      !existsSync(sqlTool) ||
      !existsSync(join(schemaDir, 'temporal', 'versioned'))
    ) {
      const staged = await goInstall(go, [
        `${SERVER_MODULE}/cmd/server@v${SERVER_VERSION}`,
        `${SERVER_MODULE}/cmd/tools/sql@v${SERVER_VERSION}`,
      ]);
      // The schema files ship inside the module that was just downloaded.
      const gomodcache = spawnSync(go, ['env', 'GOMODCACHE'], { encoding: 'utf8' }).stdout.trim();
      const moduleSchema = join(
        gomodcache,
        `${SERVER_MODULE}@v${SERVER_VERSION}`,
        'schema',
        'postgresql',
        'v12',
      );
      if (!existsSync(moduleSchema)) fail(`schema files not found at ${moduleSchema}`);
      rmSync(serverDir, { recursive: true, force: true });
      mkdirSync(serverDir, { recursive: true });
      renameSync(join(staged, 'server'), server);
      renameSync(join(staged, 'sql'), sqlTool);
      cpSync(moduleSchema, schemaDir, { recursive: true });
      rmSync(staged, { recursive: true, force: true });
    }
    if (!existsSync(ui)) {
      const staged = await goInstall(go, [`${UI_MODULE}/cmd/server@v${UI_VERSION}`]);
      rmSync(uiDir, { recursive: true, force: true });
      mkdirSync(uiDir, { recursive: true });
      renameSync(join(staged, 'server'), ui);
      rmSync(staged, { recursive: true, force: true });
    }
  }
  const record = {
    serverVersion: SERVER_VERSION,
    uiVersion: UI_VERSION,
    server,
    sqlTool,
    schemaDir,
    ui,
    postgresBin: pgBin,
  };
  writeFileSync(recordFile, JSON.stringify(record, null, 2) + '\n');
  log(`ready: ${server}, ${sqlTool}, ${ui}; PostgreSQL from ${pgBin}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}
