import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TLSConfig } from '@temporalio/client';
import { loadPipelineConfig } from '../../activities/pipeline-config';
import { ConfigError, loadConfig, temporalSource, type Config } from '../../src/config';
import { clientConnectionOptions, workerConnectionOptions } from '../../src/temporal';

describe('loadConfig', () => {
  it('defaults to the embedded dev server on the documented ports', () => {
    const c = loadConfig({});
    expect(c.embeddedDevServer).toBe(true);
    expect(c.temporal.address).toBe('127.0.0.1:7233');
    expect(c.env.PORT).toBe(3000);
    expect(c.env.TEMPORAL_UI_PORT).toBe(8233);
    expect(c.temporal.taskQueue).toBe('stepwise');
  });

  it('uses TEMPORAL_ADDRESS and turns TLS on for an API key', () => {
    const c = loadConfig({
      TEMPORAL_ADDRESS: 'temporal.example:7233',
      TEMPORAL_API_KEY: 'k',
      TEMPORAL_NAMESPACE: 'prod',
    });
    expect(c.embeddedDevServer).toBe(false);
    expect(c.temporal).toMatchObject({
      address: 'temporal.example:7233',
      namespace: 'prod',
      tls: true,
      apiKey: 'k',
      profile: null,
      configFile: null,
    });
    expect(c.warnings).toEqual([]);
  });

  it('fails fast naming every bad variable', () => {
    expect(() => loadConfig({ PORT: 'abc', TEMPORAL_ADDRESS: 'nohostport', TEMPORAL_TLS: 'maybe' })).toThrow(
      ConfigError,
    );
    try {
      loadConfig({ PORT: 'abc', TEMPORAL_ADDRESS: 'nohostport' });
    } catch (err) {
      expect((err as Error).message).toMatch(/PORT:/);
      expect((err as Error).message).toMatch(/TEMPORAL_ADDRESS: must be host:port/);
    }
  });

  it('requires TLS cert and key together', () => {
    expect(() => loadConfig({ TEMPORAL_TLS_CLIENT_CERT_PATH: '/x.pem' })).toThrow(/must be set together/);
    expect(() => loadConfig({ TEMPORAL_TLS_CERT_PATH: '/x.pem' })).toThrow(/must be set together/);
  });

  it('puts the pipeline folders under STEPWISE_DATA_DIR by default, with the documented limits', () => {
    const c = loadPipelineConfig({ STEPWISE_DATA_DIR: '/srv/stepwise' });
    expect(c).toEqual({
      importRoot: '/srv/stepwise/imports',
      importMaxFileBytes: 50 * 1024 * 1024,
      indexDbPath: '/srv/stepwise/index.sqlite',
      workDir: '/srv/stepwise/work',
      datasetRoot: '/srv/stepwise/datasets',
      download: {
        maxBytes: 20 * 1024 * 1024,
        concurrency: 4,
        attempts: 3,
        timeoutMs: 30_000,
        contentTypes: ['image/*', 'application/octet-stream'],
        allowHosts: [],
        allowPrivate: false,
        maxRedirects: 5,
      },
      imageMaxPixels: 100_000_000,
    });
  });

  it('takes every pipeline variable, resolving relative folders', () => {
    const c = loadPipelineConfig({
      STEPWISE_IMPORT_ROOT: 'in',
      STEPWISE_IMPORT_MAX_FILE_BYTES: '1000',
      STEPWISE_INDEX_DB_PATH: '/db/i.sqlite',
      STEPWISE_WORK_DIR: '/scratch',
      STEPWISE_DATASET_ROOT: '/sets',
      STEPWISE_DOWNLOAD_MAX_BYTES: '2000',
      STEPWISE_DOWNLOAD_CONCURRENCY: '8',
      STEPWISE_DOWNLOAD_ATTEMPTS: '5',
      STEPWISE_DOWNLOAD_TIMEOUT_MS: '1500',
      STEPWISE_DOWNLOAD_CONTENT_TYPES: 'image/png, IMAGE/JPEG',
      STEPWISE_IMAGE_MAX_PIXELS: '640000',
      STEPWISE_DOWNLOAD_ALLOW_HOSTS: 'Images.Example.com, *.cdn.example.net',
      STEPWISE_DOWNLOAD_ALLOW_PRIVATE: 'true',
      STEPWISE_DOWNLOAD_MAX_REDIRECTS: '2',
    });
    expect(c).toEqual({
      importRoot: resolve('in'),
      importMaxFileBytes: 1000,
      indexDbPath: '/db/i.sqlite',
      workDir: '/scratch',
      datasetRoot: '/sets',
      download: {
        maxBytes: 2000,
        concurrency: 8,
        attempts: 5,
        timeoutMs: 1500,
        contentTypes: ['image/png', 'image/jpeg'],
        allowHosts: ['images.example.com', '*.cdn.example.net'],
        allowPrivate: true,
        maxRedirects: 2,
      },
      imageMaxPixels: 640000,
    });
    expect(() => loadPipelineConfig({ STEPWISE_DOWNLOAD_CONCURRENCY: '0' })).toThrow(
      /STEPWISE_DOWNLOAD_CONCURRENCY:/,
    );
    expect(() => loadPipelineConfig({ STEPWISE_IMPORT_MAX_FILE_BYTES: 'big' })).toThrow(
      /STEPWISE_IMPORT_MAX_FILE_BYTES:/,
    );
  });
});

/**
 * The Temporal connection as the SDK and the CLI read it (`@temporalio/envconfig`): the standard
 * TEMPORAL_* variables over a temporal.toml profile, and Stepwise's former names as deprecated
 * aliases. Every case passes its own environment record: nothing is read from process.env.
 */
describe('loadConfig: the Temporal connection', () => {
  let dir: string;
  const file = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text, { mode: 0o600 });
    return path;
  };
  const text = (bytes: Uint8Array | undefined): string | undefined =>
    bytes === undefined ? undefined : Buffer.from(bytes).toString('utf8');
  const tlsOf = (c: Config): TLSConfig => {
    expect(typeof c.temporal.tls).toBe('object');
    return c.temporal.tls as TLSConfig;
  };
  const errorOf = (env: NodeJS.ProcessEnv): string => {
    try {
      loadConfig(env);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
    throw new Error('loadConfig did not throw');
  };
  const PROFILES = `
[profile.default]
address = "default.example:7233"
namespace = "ns-default"

[profile.prod]
address = "prod.example:7233"
namespace = "ns-prod"
api_key = "prod-secret-api-key"

[profile.prod.grpc_meta]
x-tenant = "acme"
`;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'stepwise-temporal-env-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the standard names: address, namespace, API key (TLS on), TLS off explicitly with a warning', () => {
    const c = loadConfig({
      TEMPORAL_ADDRESS: 'x.tmprl.cloud:7233',
      TEMPORAL_NAMESPACE: 'x.acct',
      TEMPORAL_API_KEY: 'the-secret-api-key',
      TEMPORAL_TLS_SERVER_NAME: 'x.internal',
      TEMPORAL_GRPC_META_X_TENANT: 'acme',
    });
    expect(c.embeddedDevServer).toBe(false);
    expect(c.temporal).toMatchObject({
      address: 'x.tmprl.cloud:7233',
      namespace: 'x.acct',
      apiKey: 'the-secret-api-key',
      metadata: { 'x-tenant': 'acme' },
    });
    expect(tlsOf(c).serverNameOverride).toBe('x.internal');
    // What the client and the worker are given.
    expect(clientConnectionOptions(c.temporal)).toMatchObject({
      address: 'x.tmprl.cloud:7233',
      apiKey: 'the-secret-api-key',
      metadata: { 'x-tenant': 'acme' },
      tls: { serverNameOverride: 'x.internal' },
    });
    expect(workerConnectionOptions(c.temporal)).toMatchObject({ address: 'x.tmprl.cloud:7233' });
    // The start-up log line says an API key is set and which headers, never the values.
    expect(JSON.stringify(temporalSource(c))).not.toMatch(/the-secret-api-key|acme/);

    const plain = loadConfig({
      TEMPORAL_ADDRESS: 'h:7233',
      TEMPORAL_API_KEY: 'the-secret-api-key',
      TEMPORAL_TLS: 'no',
    });
    expect(plain.temporal.tls).toBe(false);
    expect(plain.warnings).toEqual([
      expect.stringMatching(/^TEMPORAL_API_KEY is sent without TLS \(TEMPORAL_TLS turns/),
    ]);
    expect(plain.warnings.join()).not.toContain('the-secret-api-key');
    expect(loadConfig({ TEMPORAL_ADDRESS: 'h:7233', TEMPORAL_TLS: 'true' }).temporal.tls).not.toBe(false);
    expect(loadConfig({ TEMPORAL_ADDRESS: 'h:7233' }).temporal.tls).toBe(false);
  });

  it('reads a temporal.toml profile (TEMPORAL_CONFIG_FILE): its default profile unless TEMPORAL_PROFILE names another', () => {
    const toml = file('temporal.toml', PROFILES);
    const c = loadConfig({ TEMPORAL_CONFIG_FILE: toml });
    expect(c.embeddedDevServer).toBe(false);
    expect(c.temporal).toMatchObject({
      address: 'default.example:7233',
      namespace: 'ns-default',
      tls: false,
      profile: 'default',
      configFile: toml,
    });
    const prod = loadConfig({ TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'prod' });
    expect(prod.temporal).toMatchObject({
      address: 'prod.example:7233',
      namespace: 'ns-prod',
      apiKey: 'prod-secret-api-key',
      tls: true, // an API key turns TLS on, as in the SDK
      metadata: { 'x-tenant': 'acme' },
      profile: 'prod',
    });
    expect(temporalSource(prod)).toEqual({
      profile: 'prod',
      configFile: toml,
      tls: true,
      apiKeySet: true,
      grpcMetadata: 'x-tenant',
    });
  });

  it('lets each variable override its field of the profile, and an empty TEMPORAL_GRPC_META_X remove a header', () => {
    const toml = file('temporal.toml', PROFILES);
    const c = loadConfig({
      TEMPORAL_CONFIG_FILE: toml,
      TEMPORAL_PROFILE: 'prod',
      TEMPORAL_NAMESPACE: 'ns-env',
      TEMPORAL_TLS: 'false',
      TEMPORAL_GRPC_META_X_TENANT: '',
    });
    expect(c.temporal).toMatchObject({ address: 'prod.example:7233', namespace: 'ns-env', tls: false });
    expect(c.temporal.metadata).toBeUndefined();
  });

  it('finds the default temporal.toml where the CLI does (HOME/.config/temporalio), only when HOME is in the record', () => {
    mkdirSync(join(dir, '.config', 'temporalio'), { recursive: true });
    const toml = file(join('.config', 'temporalio', 'temporal.toml'), PROFILES);
    expect(loadConfig({ HOME: dir }).temporal).toMatchObject({
      address: 'default.example:7233',
      configFile: toml,
    });
    expect(loadConfig({ HOME: dir, XDG_CONFIG_HOME: join(dir, 'elsewhere') }).embeddedDevServer).toBe(true);
    expect(loadConfig({}).embeddedDevServer).toBe(true);
  });

  it('names a missing file, an unknown profile, a malformed file and a bad address in a profile', () => {
    expect(errorOf({ TEMPORAL_CONFIG_FILE: join(dir, 'nope.toml') })).toMatch(
      /TEMPORAL_CONFIG_FILE: cannot read the file \(ENOENT\)/,
    );
    const toml = file('temporal.toml', PROFILES);
    expect(errorOf({ TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'staging' })).toContain(
      `TEMPORAL_PROFILE: no profile "staging" in ${toml} (it has "default", "prod")`,
    );
    expect(errorOf({ TEMPORAL_PROFILE: 'prod' })).toMatch(
      /TEMPORAL_PROFILE: "prod" asked for, but there is no profile file/,
    );
    const bad = file('bad.toml', '[profile.default\naddress = 1');
    expect(errorOf({ TEMPORAL_CONFIG_FILE: bad })).toContain(`TEMPORAL_CONFIG_FILE (${bad}):`);
    const noPort = file('noport.toml', '[profile.default]\naddress = "nohostport"\n');
    expect(errorOf({ TEMPORAL_CONFIG_FILE: noPort })).toContain(
      `address of profile "default" in ${noPort}: must be host:port`,
    );
    // A profile's API key is never in a message.
    expect(
      errorOf({ TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'prod', TEMPORAL_ADDRESS: 'bad' }),
    ).not.toContain('prod-secret-api-key');
  });

  it('reads the mTLS files of the standard TLS variables (paths or inline data), naming a file it cannot read', () => {
    const cert = file('client.pem', 'CERT');
    const key = file('client.key', 'KEY');
    const ca = file('ca.pem', 'CA');
    const c = loadConfig({
      TEMPORAL_ADDRESS: 'h:7233',
      TEMPORAL_TLS_CLIENT_CERT_PATH: cert,
      TEMPORAL_TLS_CLIENT_KEY_PATH: key,
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: ca,
    });
    const tls = tlsOf(c);
    expect([
      text(tls.clientCertPair?.crt),
      text(tls.clientCertPair?.key),
      text(tls.serverRootCACertificate),
    ]).toEqual(['CERT', 'KEY', 'CA']);
    const inline = tlsOf(
      loadConfig({
        TEMPORAL_ADDRESS: 'h:7233',
        TEMPORAL_TLS_CLIENT_CERT_DATA: 'C2',
        TEMPORAL_TLS_CLIENT_KEY_DATA: 'K2',
      }),
    );
    expect([text(inline.clientCertPair?.crt), text(inline.clientCertPair?.key)]).toEqual(['C2', 'K2']);
    expect(
      errorOf({ TEMPORAL_TLS_CLIENT_CERT_PATH: join(dir, 'gone.pem'), TEMPORAL_TLS_CLIENT_KEY_PATH: key }),
    ).toMatch(/TEMPORAL_TLS_CLIENT_CERT_PATH: cannot read the file \(ENOENT\)/);
    expect(errorOf({ TEMPORAL_TLS_CLIENT_CERT_PATH: cert, TEMPORAL_TLS_CLIENT_CERT_DATA: 'C' })).toMatch(
      /TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_CERT_DATA: both set/,
    );
    if (process.getuid?.() !== 0) {
      chmodSync(ca, 0o000);
      expect(errorOf({ TEMPORAL_TLS_SERVER_CA_CERT_PATH: ca })).toMatch(
        /TEMPORAL_TLS_SERVER_CA_CERT_PATH: cannot read the file \(EACCES\)/,
      );
    }
  });

  it("takes a profile's TLS files, a variable's path winning over the profile's inline data", () => {
    const cert = file('client.pem', 'CERT');
    const key = file('client.key', 'KEY');
    const toml = file(
      'temporal.toml',
      `[profile.default]\naddress = "h:7233"\n[profile.default.tls]\nclient_cert_data = "FILE-CERT"\nclient_key_path = "${key}"\n`,
    );
    expect(text(tlsOf(loadConfig({ TEMPORAL_CONFIG_FILE: toml })).clientCertPair?.crt)).toBe('FILE-CERT');
    const c = loadConfig({ TEMPORAL_CONFIG_FILE: toml, TEMPORAL_TLS_CLIENT_CERT_PATH: cert });
    expect([text(tlsOf(c).clientCertPair?.crt), text(tlsOf(c).clientCertPair?.key)]).toEqual(['CERT', 'KEY']);
    const missing = file(
      'missing.toml',
      `[profile.default.tls]\nclient_cert_path = "${cert}"\nclient_key_path = "${join(dir, 'gone.key')}"\n`,
    );
    expect(errorOf({ TEMPORAL_CONFIG_FILE: missing })).toContain(
      `tls.client_key_path of profile "default" in ${missing}: cannot read the file (ENOENT)`,
    );
  });

  it('keeps the former names as deprecated aliases of the standard ones, each with a warning naming both', () => {
    const cert = file('client.pem', 'CERT');
    const key = file('client.key', 'KEY');
    const ca = file('ca.pem', 'CA');
    const c = loadConfig({
      TEMPORAL_ADDRESS: 'h:7233',
      TEMPORAL_TLS_CERT_PATH: cert,
      TEMPORAL_TLS_KEY_PATH: key,
      TEMPORAL_TLS_CA_PATH: ca,
    });
    const tls = tlsOf(c);
    expect([
      text(tls.clientCertPair?.crt),
      text(tls.clientCertPair?.key),
      text(tls.serverRootCACertificate),
    ]).toEqual(['CERT', 'KEY', 'CA']);
    expect(c.warnings).toEqual([
      'TEMPORAL_TLS_CERT_PATH is deprecated: use TEMPORAL_TLS_CLIENT_CERT_PATH (docs/configuration.md#temporal-connection)',
      'TEMPORAL_TLS_KEY_PATH is deprecated: use TEMPORAL_TLS_CLIENT_KEY_PATH (docs/configuration.md#temporal-connection)',
      'TEMPORAL_TLS_CA_PATH is deprecated: use TEMPORAL_TLS_SERVER_CA_CERT_PATH (docs/configuration.md#temporal-connection)',
    ]);
    // An alias is a variable: it wins over the profile file too.
    const toml = file(
      'temporal.toml',
      `[profile.default]\naddress = "h:7233"\n[profile.default.tls]\nserver_ca_cert_data = "FILE-CA"\n`,
    );
    expect(
      text(
        tlsOf(loadConfig({ TEMPORAL_CONFIG_FILE: toml, TEMPORAL_TLS_CA_PATH: ca })).serverRootCACertificate,
      ),
    ).toBe('CA');
    // The same value under both names is no conflict (still a warning); a path the alias names is
    // reported under the alias's name.
    expect(
      loadConfig({ TEMPORAL_TLS_CA_PATH: ca, TEMPORAL_TLS_SERVER_CA_CERT_PATH: ca }).warnings,
    ).toHaveLength(1);
    expect(errorOf({ TEMPORAL_TLS_CA_PATH: join(dir, 'gone.pem') })).toMatch(
      /TEMPORAL_TLS_CA_PATH: cannot read the file/,
    );
  });

  it('refuses an alias and its standard name set to different values, naming both', () => {
    const a = file('a.pem', 'A');
    const b = file('b.pem', 'B');
    const message = errorOf({ TEMPORAL_TLS_CA_PATH: a, TEMPORAL_TLS_SERVER_CA_CERT_PATH: b });
    expect(message).toContain(
      'TEMPORAL_TLS_CA_PATH and TEMPORAL_TLS_SERVER_CA_CERT_PATH: both set, to different values; set TEMPORAL_TLS_SERVER_CA_CERT_PATH only',
    );
    expect(message).not.toContain(a);
  });

  it('warns that TEMPORAL_TLS_DISABLE_HOST_VERIFICATION is ignored (the TypeScript SDK always verifies)', () => {
    const c = loadConfig({
      TEMPORAL_ADDRESS: 'h:7233',
      TEMPORAL_TLS: 'true',
      TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: 'true',
    });
    expect(c.warnings).toEqual([
      expect.stringMatching(/^TEMPORAL_TLS_DISABLE_HOST_VERIFICATION is not supported/),
    ]);
    expect(errorOf({ TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: 'maybe' })).toMatch(
      /TEMPORAL_TLS_DISABLE_HOST_VERIFICATION:/,
    );
  });
});
