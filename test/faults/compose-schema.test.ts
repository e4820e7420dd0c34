/**
 * docker-compose.yml's `temporal-schema` service, run outside Docker: its script
 * (scripts/cluster/temporal-schema.sh, what the admin-tools container runs) with the cluster's
 * `temporal-sql-tool` and `psql` of the same versions against a real PostgreSQL, with the `temporal`
 * role `npm run cluster` gives Temporal. The first run creates both databases and migrates them to
 * the newest schema the server ships; the next run finds nothing to do, as every
 * `docker compose up` after the first; a database an older image left at an older schema version
 * is migrated by the next run, as after an upgrade of the pinned images.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Postgres } from '../../src/cluster/postgres';
import { loadClusterTools, TEMPORAL_DATABASES } from '../../src/cluster/temporal-server';
import { freePort, uniqueId } from '../helpers';
import { FAULTS_TMP } from './fault-helpers';

const SCRIPT = join(__dirname, '..', '..', 'scripts', 'cluster', 'temporal-schema.sh');
const tools = loadClusterTools();
let pg: Postgres;

beforeAll(async () => {
  const base = join(FAULTS_TMP, uniqueId('compose-schema'));
  mkdirSync(base, { recursive: true });
  pg = new Postgres({
    binDir: tools.postgresBin,
    dataDir: join(base, 'postgres'),
    passwordFile: join(base, 'secrets', 'postgres-temporal-password'),
    port: await freePort(),
    onLine: () => undefined,
  });
  await pg.init();
  await pg.start();
  await pg.ensureTemporalRole();
});

afterAll(async () => {
  await pg?.stop();
});

/** The script as the container runs it: its tools on PATH, the connection in SQL_* variables. */
function runScript(): { code: number | null; output: string } {
  const r = spawnSync('sh', [SCRIPT], {
    encoding: 'utf8',
    env: {
      PATH: `${dirname(tools.sqlTool)}:${tools.postgresBin}:${process.env.PATH ?? ''}`,
      SQL_PLUGIN: 'postgres12',
      SQL_HOST: '127.0.0.1',
      SQL_PORT: String(pg.port),
      SQL_USER: 'temporal',
      SQL_PASSWORD: pg.temporalPassword,
      SCHEMA_DIR: tools.schemaDir,
    },
  });
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

/** The newest version in a versioned schema folder (`v1.9`, `v1.18`, …). */
function newest(schema: string): string {
  const versions = readdirSync(join(tools.schemaDir, schema, 'versioned')).map((v) =>
    v.replace(/^v/, '').split('.').map(Number),
  );
  versions.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return versions[versions.length - 1].join('.');
}

it('creates and migrates both databases once; a second run changes nothing', async () => {
  const first = runScript();
  expect(first.code).toBe(0);
  for (const db of TEMPORAL_DATABASES) {
    expect(first.output).toContain(`creating database ${db.name}\n`);
    expect(await pg.databaseExists(db.name)).toBe(true);
    expect((await pg.psql('SELECT curr_version FROM schema_version', db.name)).trim()).toBe(
      newest(db.schema),
    );
  }
  expect(first.output).toContain('schemas temporal and temporal_visibility are up to date');

  const second = runScript();
  expect(second.code).toBe(0);
  expect(second.output).not.toContain('creating database');
  expect(second.output).toContain('schemas temporal and temporal_visibility are up to date');
  for (const db of TEMPORAL_DATABASES) {
    expect((await pg.psql('SELECT curr_version FROM schema_version', db.name)).trim()).toBe(
      newest(db.schema),
    );
  }
});

it('migrates a database an older image left at an older schema version', async () => {
  // temporal_visibility as an older server's admin-tools left it: created, then migrated to 1.0.
  await pg.psql('DROP DATABASE temporal_visibility');
  const base = ['--plugin', 'postgres12', '--endpoint', '127.0.0.1', '--port', String(pg.port)];
  const args = [...base, '--user', 'temporal', '--database', 'temporal_visibility'];
  const env = { ...process.env, SQL_PASSWORD: pg.temporalPassword };
  execFileSync(tools.sqlTool, [...args, 'create-database'], { env, stdio: 'pipe' });
  execFileSync(tools.sqlTool, [...args, 'setup-schema', '-v', '0.0'], { env, stdio: 'pipe' });
  const versioned = join(tools.schemaDir, 'visibility', 'versioned');
  execFileSync(tools.sqlTool, [...args, 'update-schema', '-d', versioned, '-v', '1.0'], {
    env,
    stdio: 'pipe',
  });
  expect((await pg.psql('SELECT curr_version FROM schema_version', 'temporal_visibility')).trim()).toBe(
    '1.0',
  );
  expect(newest('visibility')).not.toBe('1.0');

  const run = runScript();
  expect(run.code).toBe(0);
  expect(run.output).not.toContain('creating database');
  expect((await pg.psql('SELECT curr_version FROM schema_version', 'temporal_visibility')).trim()).toBe(
    newest('visibility'),
  );
});
