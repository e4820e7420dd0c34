/**
 * docker-compose.yml and `npm run cluster` describe the same stack: the same pinned Temporal
 * Server (server and admin-tools images) and Web UI versions, the same persistence settings that
 * cannot change once a schema exists (SQL plugin, history shards, databases and their schema
 * folders), the same dynamic config file, the same order (schemas before the server) and the same
 * namespace preparation. The file is read as YAML here; `npm run check:deploy` loads it with
 * Compose's own loader (scripts/compose-check, test/unit/deploy-check.test.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { serverConfig, TEMPORAL_DATABASES, type ClusterTools } from '../../src/cluster/temporal-server';

const root = join(__dirname, '..', '..');
const read = (p: string): string => readFileSync(join(root, p), 'utf8');

interface Service {
  image?: string;
  entrypoint?: string[];
  environment?: Record<string, string | number>;
  depends_on?: Record<string, { condition: string }>;
  volumes?: string[];
  command?: string[];
}
const compose = parse(read('docker-compose.yml')) as { services: Record<string, Service> };
const services = compose.services;
const tools = read('scripts/install-cluster-tools.mjs');
const schemaScript = read('scripts/cluster/temporal-schema.sh');

const pinned = (name: string): string => {
  const m = new RegExp(`export const ${name} = '([^']+)'`).exec(tools);
  if (!m) throw new Error(`${name} not found in scripts/install-cluster-tools.mjs`);
  return m[1];
};
/** The tags of every service running `repo` (one entry per service). */
const tagsOf = (repo: string): string[] =>
  Object.values(services)
    .map((s) => s.image ?? '')
    .filter((image) => image.startsWith(`${repo}:`))
    .map((image) => image.slice(repo.length + 1));

/** The server config `npm run cluster` writes, parsed. */
const clusterConfig = parse(
  serverConfig({
    tools: {} as ClusterTools,
    configDir: '/nonexistent',
    port: 7233,
    postgresPort: 5432,
    postgresPassword: () => 'unused',
    namespace: 'default',
    onLine: () => undefined,
  }),
) as {
  persistence: {
    numHistoryShards: number;
    datastores: Record<string, { sql: { pluginName: string; databaseName: string } }>;
  };
};

describe('docker-compose.yml and the cluster script pin the same stack', () => {
  it('Temporal Server: temporalio/server and temporalio/admin-tools at the cluster version, no auto-setup', () => {
    const server = pinned('SERVER_VERSION');
    expect(server).toMatch(/^\d+\.\d+\.\d+$/);
    expect(tagsOf('temporalio/server')).toEqual([server]);
    // admin-tools tags carry the bundled tctl and CLI versions after the server's.
    const adminTools = tagsOf('temporalio/admin-tools');
    expect(adminTools).toHaveLength(1);
    expect(adminTools[0].startsWith(`${server}-`) || adminTools[0] === server).toBe(true);
    // Deprecated by Temporal; the schema is set up by the admin-tools service instead.
    expect(read('docker-compose.yml')).not.toContain('temporalio/auto-setup');
  });

  it('Temporal Web UI', () => {
    expect(tagsOf('temporalio/ui')).toEqual([pinned('UI_VERSION')]);
  });

  it('the persistence settings fixed at schema creation: SQL plugin, history shards, databases', () => {
    const stores = Object.values(clusterConfig.persistence.datastores).map((d) => d.sql);
    const plugins = [...new Set(stores.map((s) => s.pluginName))];
    expect(plugins).toEqual(['postgres12']);
    const server = services.temporal.environment!;
    const schema = services['temporal-schema'].environment!;
    expect(server.DB).toBe(plugins[0]);
    expect(schema.SQL_PLUGIN).toBe(plugins[0]);
    expect(Number(server.NUM_HISTORY_SHARDS)).toBe(clusterConfig.persistence.numHistoryShards);
    // The same databases, each migrated from the same schema folder as the cluster's setupSchemas.
    expect(stores.map((s) => s.databaseName).sort()).toEqual(TEMPORAL_DATABASES.map((d) => d.name).sort());
    const pairs = /for pair in ([^;]+);/.exec(schemaScript)?.[1].trim().split(/\s+/);
    expect(pairs).toEqual(TEMPORAL_DATABASES.map((d) => `${d.name}:${d.schema}`));
    expect(schema.SCHEMA_DIR).toBe('/etc/temporal/schema/postgresql/v12');
    expect(schemaScript).toContain('update-schema -d "$SCHEMA_DIR/$schema/versioned"');
    expect(services['temporal-schema'].volumes).toContain(
      './scripts/cluster/temporal-schema.sh:/etc/temporal/stepwise/temporal-schema.sh:ro',
    );
    expect(services['temporal-schema'].entrypoint).toEqual([
      '/bin/sh',
      '/etc/temporal/stepwise/temporal-schema.sh',
    ]);
  });

  it('the order: PostgreSQL healthy → schemas migrated → server healthy → namespace prepared → workers and API', () => {
    expect(services['temporal-schema'].depends_on).toEqual({ postgresql: { condition: 'service_healthy' } });
    expect(services.temporal.depends_on).toEqual({
      'temporal-schema': { condition: 'service_completed_successfully' },
    });
    expect(services['temporal-setup'].depends_on).toEqual({ temporal: { condition: 'service_healthy' } });
    for (const name of ['worker', 'api']) {
      expect(services[name].depends_on).toEqual({
        'temporal-setup': { condition: 'service_completed_successfully' },
      });
    }
  });

  it('the dynamic config file and the namespace preparation', () => {
    expect(services.temporal.volumes).toContain(
      './scripts/cluster/dynamicconfig.yaml:/etc/temporal/config/dynamicconfig/stepwise.yaml:ro',
    );
    expect(services.temporal.environment!.DYNAMIC_CONFIG_FILE_PATH).toBe(
      'config/dynamicconfig/stepwise.yaml',
    );
    expect(services['temporal-setup'].command).toEqual(['node', 'dist/scripts/prepare-namespace.js']);
    expect(read('src/cluster/temporal-server.ts')).toContain("'scripts', 'cluster', 'dynamicconfig.yaml'");
  });
});
