/**
 * What the launchers hand their children (src/child-env.ts): no API key in any child's
 * environment, the API's keys as digests on a descriptor that the configuration reads, and the
 * launcher's log format choice. The real launchers' children are read in /proc by
 * test/faults/launcher-start.test.ts and launcher-cluster.test.ts.
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256 } from '../../src/api-keys';
import { apiKeyLines, childEnv, childLogEnv } from '../../src/child-env';
import { loadConfig } from '../../src/config';

const KEYS = 'ops:operator:0123456789abcdef-ops,root:admin:0123456789abcdef-root';

it('no child inherits STEPWISE_API_KEYS or STEPWISE_API_KEYS_FILE', () => {
  const env = childEnv(
    { STEPWISE_API_KEYS: KEYS, STEPWISE_API_KEYS_FILE: '/etc/keys', PATH: '/bin' },
    { X: '1' },
  );
  expect(env).toEqual({ PATH: '/bin', X: '1' });
});

it('the API gets each key as its sha256 digest, never the plain key', () => {
  const lines = apiKeyLines({ STEPWISE_API_KEYS: KEYS })!;
  expect(lines).toBe(
    `ops:operator:sha256:${sha256('0123456789abcdef-ops').toString('hex')}\n` +
      `root:admin:sha256:${sha256('0123456789abcdef-root').toString('hex')}\n`,
  );
  expect(lines).not.toContain('0123456789abcdef');
  expect(apiKeyLines({})).toBeNull();
});

it('STEPWISE_API_KEYS_FILE=/dev/fd/N reads descriptor N itself (the launchers pass a socket there, which has no name to open)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stepwise-keys-'));
  const file = join(dir, 'keys');
  writeFileSync(file, apiKeyLines({ STEPWISE_API_KEYS: KEYS })!, { mode: 0o600 });
  const fd = openSync(file, 'r');
  try {
    const keys = loadConfig({ STEPWISE_API_KEYS_FILE: `/dev/fd/${fd}` }).api.keys;
    expect(keys.map((k) => [k.name, k.role, k.hash.toString('hex')])).toEqual([
      ['ops', 'operator', sha256('0123456789abcdef-ops').toString('hex')],
      ['root', 'admin', sha256('0123456789abcdef-root').toString('hex')],
    ]);
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
});

it('children log in the launcher’s choice: auto means pretty when the launcher writes to a terminal', () => {
  expect(childLogEnv('auto', true).LOG_FORMAT).toBe('pretty');
  expect(childLogEnv('auto', false)).toEqual({ LOG_FORMAT: 'json' });
  expect(childLogEnv('pretty', false)).toEqual({ LOG_FORMAT: 'pretty' });
  expect(childLogEnv('json', true)).toEqual({ LOG_FORMAT: 'json' });
});
