import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  bearerToken,
  findApiKey,
  isLoopbackHost,
  parseApiKeyFile,
  parseApiKeyList,
  sha256,
} from '../../src/api-keys';
import { RateLimiter } from '../../src/api/auth/rate-limiter';
import { checkApiExposure, ConfigError, loadConfig } from '../../src/config';

const PLAIN = 'k3y-0123456789abcdef';

describe('API key entries', () => {
  it('keeps only the sha256 of a plain key, and takes a sha256: key as the digest', () => {
    const hex = sha256('other-key-0123456789').toString('hex');
    const { keys, errors } = parseApiKeyList(` ci:operator:${PLAIN} , audit:admin:sha256:${hex},`);
    expect(errors).toEqual([]);
    expect(keys.map((k) => [k.name, k.role])).toEqual([
      ['ci', 'operator'],
      ['audit', 'admin'],
    ]);
    expect(keys[0].hash.equals(sha256(PLAIN))).toBe(true);
    expect(keys[1].hash.toString('hex')).toBe(hex);
    expect(JSON.stringify(keys)).not.toContain(PLAIN);
  });

  it('names each bad entry without repeating the key', () => {
    const secret = 'sEcReT-sEcReT-sEcReT';
    const { errors } = parseApiKeyList(
      `nocolons,x:superuser:${secret},:viewer:${secret},y:viewer:short,z:admin:sha256:abc,w:${secret}:viewer`,
    );
    expect(errors).toEqual([
      'entry 1: expected name:role:key',
      'entry 2: key "x": the role must be one of viewer, operator, admin',
      expect.stringMatching(/^entry 3: the name must be/),
      'entry 4: key "y": a plain key must be at least 16 characters without spaces',
      'entry 5: key "z": a sha256: key must be 64 hexadecimal digits',
      'entry 6: key "w": the role must be one of viewer, operator, admin',
    ]);
    for (const e of errors) expect(e).not.toContain(secret);
  });

  it('reads a key file: one entry a line, # comments and blank lines skipped', () => {
    const { keys, errors } = parseApiKeyFile(
      `# Stepwise keys\n\nviewer1:viewer:${PLAIN}-v  # the dashboard\nbad line\n`,
    );
    expect(keys.map((k) => k.name)).toEqual(['viewer1']);
    expect(errors).toEqual(['line 4: expected name:role:key']);
  });

  it('finds the key of a bearer token, and nothing for another token', () => {
    const { keys } = parseApiKeyList(`a:viewer:${PLAIN}-a,b:admin:${PLAIN}-b`);
    expect(findApiKey(keys, `${PLAIN}-b`)?.name).toBe('b');
    expect(findApiKey(keys, `${PLAIN}-c`)).toBeUndefined();
    expect(findApiKey(keys, '')).toBeUndefined();
    expect(bearerToken(`Bearer ${PLAIN}`)).toBe(PLAIN);
    expect(bearerToken(`bearer  ${PLAIN} `)).toBe(PLAIN);
    expect(bearerToken(`Basic ${PLAIN}`)).toBeUndefined();
    expect(bearerToken('Bearer a b')).toBeUndefined();
  });

  it('knows loopback hosts', () => {
    for (const h of ['127.0.0.1', '127.8.9.10', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1'])
      expect([h, isLoopbackHost(h)]).toEqual([h, true]);
    for (const h of [
      '0.0.0.0',
      '::',
      '10.0.0.1',
      '128.0.0.1',
      'example.com',
      '127.0.0.1.nip.io',
      '::ffff:10.0.0.1',
    ])
      expect([h, isLoopbackHost(h)]).toEqual([h, false]);
  });
});

describe('API security configuration', () => {
  it('defaults to no keys, the audit file under the data dir and 120 a minute in bursts of 30', () => {
    const c = loadConfig({ STEPWISE_DATA_DIR: '/srv/stepwise' });
    expect(c.api).toEqual({
      keys: [],
      auditDbPath: '/srv/stepwise/audit.sqlite',
      rateLimit: { perMinute: 120, burst: 30 },
    });
  });

  it('refuses bad key entries and duplicate names or keys at load, naming the variable', () => {
    expect(() => loadConfig({ STEPWISE_API_KEYS: `a:root:${PLAIN}` })).toThrow(
      /STEPWISE_API_KEYS: entry 1: key "a": the role must be one of/,
    );
    expect(() => loadConfig({ STEPWISE_API_KEYS: `a:viewer:${PLAIN}-1,a:admin:${PLAIN}-2` })).toThrow(
      /STEPWISE_API_KEYS: the name "a" is used by more than one key/,
    );
    expect(() => loadConfig({ STEPWISE_API_KEYS: `a:viewer:${PLAIN},b:admin:${PLAIN}` })).toThrow(
      /keys "a" and "b" are the same key/,
    );
    expect(() => loadConfig({ STEPWISE_RATE_LIMIT_BURST: '0' })).toThrow(/STEPWISE_RATE_LIMIT_BURST/);
  });

  it('adds the keys of STEPWISE_API_KEYS_FILE, and names the file on errors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stepwise-keys-'));
    const file = join(dir, 'keys');
    writeFileSync(file, `# keys\nfile-admin:admin:${PLAIN}-f\n`);
    const c = loadConfig({ STEPWISE_API_KEYS: `env-viewer:viewer:${PLAIN}-e`, STEPWISE_API_KEYS_FILE: file });
    expect(c.api.keys.map((k) => k.name)).toEqual(['env-viewer', 'file-admin']);
    writeFileSync(file, 'oops\n');
    expect(() => loadConfig({ STEPWISE_API_KEYS_FILE: file })).toThrow(
      /STEPWISE_API_KEYS_FILE: line 1: expected/,
    );
    expect(() => loadConfig({ STEPWISE_API_KEYS_FILE: join(dir, 'missing') })).toThrow(
      /STEPWISE_API_KEYS_FILE: cannot read the file \(ENOENT\)/,
    );
  });

  it('refuses to start the API on a non-loopback HOST without keys', () => {
    for (const HOST of ['0.0.0.0', '::', '192.168.1.20']) {
      const config = loadConfig({ HOST });
      expect(() => checkApiExposure(config)).toThrow(ConfigError);
      expect(() => checkApiExposure(config)).toThrow(
        /HOST=.* is not a loopback address.*\n.*STEPWISE_API_KEYS/,
      );
    }
    expect(() => checkApiExposure(loadConfig({}))).not.toThrow();
    expect(() => checkApiExposure(loadConfig({ HOST: 'localhost' }))).not.toThrow();
    expect(() =>
      checkApiExposure(loadConfig({ HOST: '0.0.0.0', STEPWISE_API_KEYS: `ops:operator:${PLAIN}` })),
    ).not.toThrow();
  });
});

describe('RateLimiter', () => {
  it('allows a burst, then one request per refill interval, with Retry-After in whole seconds', () => {
    let now = 0;
    const limiter = new RateLimiter(6, 2, () => now); // one token every 10 s
    expect([limiter.take('a'), limiter.take('a')]).toEqual([0, 0]);
    expect(limiter.take('a')).toBe(10);
    expect(limiter.take('b')).toBe(0); // per actor
    now = 4_000;
    expect(limiter.take('a')).toBe(6); // the refused request took nothing
    now = 10_000;
    expect(limiter.take('a')).toBe(0);
    expect(limiter.take('a')).toBe(10);
    now = 1_000_000;
    expect([limiter.take('a'), limiter.take('a'), limiter.take('a')]).toEqual([0, 0, 10]); // capped at the burst
  });
});
