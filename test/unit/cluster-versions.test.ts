/**
 * docker-compose.yml and `npm run cluster` describe the same stack: the same pinned Temporal
 * Server and Web UI versions, the same dynamic config file, and the same namespace preparation.
 * (Plain text checks: the compose file cannot be run here, there is no Docker engine.)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
const read = (p: string): string => readFileSync(join(root, p), 'utf8');
const compose = read('docker-compose.yml');
const tools = read('scripts/install-cluster-tools.mjs');

const pinned = (name: string): string => {
  const m = new RegExp(`export const ${name} = '([^']+)'`).exec(tools);
  if (!m) throw new Error(`${name} not found in scripts/install-cluster-tools.mjs`);
  return m[1];
};
const images = (repo: string): string[] =>
  [...compose.matchAll(new RegExp(`image: ${repo.replace('/', '\\/')}:(\\S+)`, 'g'))].map((m) => m[1]);

describe('docker-compose.yml and the cluster script pin the same stack', () => {
  it('Temporal Server', () => {
    expect(pinned('SERVER_VERSION')).toMatch(/^\d+\.\d+\.\d+$/);
    expect(images('temporalio/auto-setup')).toEqual([pinned('SERVER_VERSION')]);
    // Search attributes are registered by our own code, not by a second image with its own version.
    expect(compose).not.toContain('temporalio/admin-tools');
  });

  it('Temporal Web UI', () => {
    expect(images('temporalio/ui')).toEqual([pinned('UI_VERSION')]);
  });

  it('the dynamic config file and the namespace preparation', () => {
    expect(compose).toContain(
      './scripts/cluster/dynamicconfig.yaml:/etc/temporal/config/dynamicconfig/stepwise.yaml',
    );
    expect(compose).toContain("command: ['node', 'dist/scripts/prepare-namespace.js']");
    expect(read('src/cluster/temporal-server.ts')).toContain("'scripts', 'cluster', 'dynamicconfig.yaml'");
  });
});
