/**
 * The Temporal connection as Temporal's SDKs and CLI read it, end to end: the compiled worker and
 * API (`dist/src/worker.js`, `dist/src/main.js`) started as processes of their own, each configured
 * only through (1) a `temporal.toml` profile written by the real `temporal` CLI
 * (TEMPORAL_CONFIG_FILE + TEMPORAL_PROFILE), (2) the standard variables, (3) the deprecated
 * former names — and each runs a job to completion through the API. The mTLS cases go through a
 * TLS-terminating proxy in front of the dev server that demands a client certificate (the dev
 * server speaks plain gRPC), so the certificate, key, CA and server name really are read and used.
 * Neither process may print the API key; the aliases warn, once per process.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import { resolveCliPath } from '../../src/dev-server';
import type { JobState } from '../../workflows/contracts';
import { freePort, uniqueId, waitFor } from '../helpers';
import { ROOT } from '../launcher';

const DIST = join(ROOT, 'dist', 'src');
const SERVER_NAME = 'temporal.stepwise.test';
const API_KEY = `e2e-api-key-${uniqueId('secret')}`;

let dir: string;
let upstream: string;
let proxy: { server: TlsServer; address: string; clients: string[] };
const started: ChildProcess[] = [];

/** A CA, a server certificate for SERVER_NAME and a client certificate, made with openssl. */
function makeCertificates(): void {
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=stepwise e2e CA',
  );
  for (const [name, ext] of [
    ['server', `subjectAltName=DNS:${SERVER_NAME}\nextendedKeyUsage=serverAuth\n`],
    ['client', 'extendedKeyUsage=clientAuth\n'],
  ] as const) {
    writeFileSync(join(dir, `${name}.ext`), ext);
    openssl(
      'req',
      '-new',
      ...ec,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      `/CN=stepwise-e2e-${name}`,
    );
    openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${name}.pem`,
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
    );
  }
}

/**
 * TLS in front of the dev server: demands a client certificate signed by the test CA, speaks
 * HTTP/2 (ALPN `h2`, as gRPC needs) and passes the decrypted bytes through. Records the common name
 * of each client certificate it accepted.
 */
async function startTlsProxy(): Promise<typeof proxy> {
  const clients: string[] = [];
  const [host, port] = upstream.split(':');
  const server = createTlsServer(
    {
      key: readFileSync(join(dir, 'server.key')),
      cert: readFileSync(join(dir, 'server.pem')),
      ca: readFileSync(join(dir, 'ca.pem')),
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: ['h2'],
    },
    (socket: TLSSocket) => {
      clients.push(String(socket.getPeerCertificate().subject?.CN));
      const back: Socket = netConnect(Number(port), host);
      socket.pipe(back).pipe(socket);
      socket.on('error', () => back.destroy());
      back.on('error', () => socket.destroy());
      socket.on('close', () => back.destroy());
      back.on('close', () => socket.destroy());
    },
  );
  const proxyPort = await freePort();
  await new Promise<void>((resolve) => server.listen(proxyPort, '127.0.0.1', resolve));
  return { server, address: `127.0.0.1:${proxyPort}`, clients };
}

interface Proc {
  child: ChildProcess;
  output: string[];
  exited: Promise<number | null>;
}

function spawnProcess(entry: string, env: Record<string, string>): Proc {
  const child = spawn(process.execPath, ['--enable-source-maps', join(DIST, entry)], {
    cwd: ROOT, // its package.json names the example app (`stepwise` field)
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  const output: string[] = [];
  child.stdout?.on('data', (d: Buffer) => output.push(d.toString()));
  child.stderr?.on('data', (d: Buffer) => output.push(d.toString()));
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  return { child, output, exited };
}

/** The JSON log records of a process (lines that are not JSON, e.g. a crash, are skipped). */
function records(p: Proc): { level?: string; message?: string; [k: string]: unknown }[] {
  return p.output
    .join('')
    .split('\n')
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as { level?: string; message?: string }];
      } catch {
        return [];
      }
    });
}

/**
 * A worker and an API process with exactly `temporal` for their Temporal settings (and nothing
 * from this process's environment: HOME is the test folder, so no user's temporal.toml is read),
 * ready; then one job through the API to completion; then both stopped with SIGTERM.
 */
async function runStack(temporal: Record<string, string>): Promise<{ worker: Proc; api: Proc }> {
  const health = await freePort();
  const port = await freePort();
  const base: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: dir,
    NODE_ENV: 'production',
    WORKFLOW_BUNDLE_PATH: process.env.STEPWISE_TEST_BUNDLE!,
    STEPWISE_DATA_DIR: mkdtempSync(join(dir, 'data-')),
    TEMPORAL_TASK_QUEUE: uniqueId('e2e-profile'),
    // Nothing answers here: a process that ignored its settings would not find a server.
    TEMPORAL_DEV_PORT: String(await freePort()),
    LOG_LEVEL: 'debug',
    LOG_FORMAT: 'json',
  };
  const worker = spawnProcess('worker.js', {
    ...base,
    ...temporal,
    STEPWISE_WORKER_HEALTH_ADDRESS: `127.0.0.1:${health}`,
  });
  const api = spawnProcess('main.js', { ...base, ...temporal, HOST: '127.0.0.1', PORT: String(port) });
  const ready = async (p: Proc, url: string): Promise<void> => {
    await waitFor(
      async () => {
        if (p.child.exitCode !== null)
          throw new Error(`exited with ${p.child.exitCode}:\n${p.output.join('')}`);
        return fetch(url).then(
          (r) => r.ok,
          () => false,
        );
      },
      (ok) => ok,
      90_000,
      200,
    );
  };
  await ready(worker, `http://127.0.0.1:${health}/readyz`);
  await ready(api, `http://127.0.0.1:${port}/health/ready`);
  const apiUrl = `http://127.0.0.1:${port}`;
  const created = await fetch(`${apiUrl}/api/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'example', input: { durationMs: 20 } }),
  });
  expect(created.status).toBe(201);
  const { jobId } = (await created.json()) as { jobId: string };
  const done = await waitFor(
    async () => (await (await fetch(`${apiUrl}/api/jobs/${jobId}`)).json()) as JobState,
    (s) => s.status === 'completed',
    60_000,
    100,
  );
  expect(done).toMatchObject({ status: 'completed', progress: 100 });
  worker.child.kill('SIGTERM');
  api.child.kill('SIGTERM');
  expect([await worker.exited, await api.exited]).toEqual([0, 0]);
  return { worker, api };
}

/** The start-up records that name where each process connected. */
const connecting = (p: { worker: Proc; api: Proc }): unknown[] => [
  records(p.worker).find((r) => r.message === 'connecting'),
  records(p.api).find((r) => typeof r.message === 'string' && r.message.startsWith('API listening')),
];

const warnings = (p: Proc): string[] =>
  records(p)
    .filter((r) => r.level === 'warn' && typeof r.message === 'string' && /TEMPORAL_/.test(r.message))
    .map((r) => r.message!);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'stepwise-temporal-profile-'));
  upstream = process.env.STEPWISE_TEST_TEMPORAL_ADDRESS!;
  makeCertificates();
  proxy = await startTlsProxy();
}, 60_000);

afterEach(() => {
  for (const c of started.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

afterAll(async () => {
  await new Promise((resolve) => proxy?.server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

it('a temporal.toml profile written by the temporal CLI is all the worker and the API need (mTLS through the profile)', async () => {
  const file = join(dir, 'temporal.toml');
  const set = (profile: string, prop: string, value: string): void => {
    execFileSync(
      resolveCliPath(),
      ['config', 'set', '--config-file', file, '--profile', profile, '--prop', prop, '--value', value],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
  };
  set('mtls', 'address', proxy.address);
  set('mtls', 'namespace', 'default');
  set('mtls', 'tls.client_cert_path', join(dir, 'client.pem'));
  set('mtls', 'tls.client_key_path', join(dir, 'client.key'));
  set('mtls', 'tls.server_ca_cert_path', join(dir, 'ca.pem'));
  set('mtls', 'tls.server_name', SERVER_NAME);
  // The default profile points nowhere: only TEMPORAL_PROFILE makes the processes find the server.
  set('default', 'address', `127.0.0.1:${await freePort()}`);
  expect((statSync(file).mode & 0o777).toString(8)).toBe('600');
  const accepted = proxy.clients.length;

  const stack = await runStack({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'mtls' });
  expect(connecting(stack)).toEqual([
    expect.objectContaining({ address: proxy.address, profile: 'mtls', configFile: file, tls: true }),
    expect.objectContaining({ temporal: proxy.address, profile: 'mtls', configFile: file, tls: true }),
  ]);
  // Both processes came through the proxy with the client certificate of the profile.
  expect(proxy.clients.slice(accepted)).toContain('stepwise-e2e-client');
  expect([warnings(stack.worker), warnings(stack.api)]).toEqual([[], []]);
}, 240_000);

it('the standard variables: mTLS files, server name, API key and gRPC metadata; the key is never printed', async () => {
  const accepted = proxy.clients.length;
  const stack = await runStack({
    TEMPORAL_ADDRESS: proxy.address,
    TEMPORAL_NAMESPACE: 'default',
    TEMPORAL_TLS_CLIENT_CERT_PATH: join(dir, 'client.pem'),
    TEMPORAL_TLS_CLIENT_KEY_PATH: join(dir, 'client.key'),
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: join(dir, 'ca.pem'),
    TEMPORAL_TLS_SERVER_NAME: SERVER_NAME,
    TEMPORAL_API_KEY: API_KEY,
    TEMPORAL_GRPC_META_X_STEPWISE: 'e2e',
  });
  expect(connecting(stack)).toEqual([
    expect.objectContaining({
      address: proxy.address,
      tls: true,
      apiKeySet: true,
      grpcMetadata: 'x-stepwise',
    }),
    expect.objectContaining({ temporal: proxy.address, tls: true, apiKeySet: true }),
  ]);
  expect(proxy.clients.slice(accepted)).toContain('stepwise-e2e-client');
  expect([warnings(stack.worker), warnings(stack.api)]).toEqual([[], []]);
  for (const p of [stack.worker, stack.api]) expect(p.output.join('')).not.toContain(API_KEY);
}, 240_000);

it('the former names still work, each with one deprecation warning per process naming the standard name', async () => {
  const accepted = proxy.clients.length;
  const stack = await runStack({
    TEMPORAL_ADDRESS: proxy.address,
    TEMPORAL_TLS_CERT_PATH: join(dir, 'client.pem'),
    TEMPORAL_TLS_KEY_PATH: join(dir, 'client.key'),
    TEMPORAL_TLS_CA_PATH: join(dir, 'ca.pem'),
    TEMPORAL_TLS_SERVER_NAME: SERVER_NAME,
  });
  expect(proxy.clients.slice(accepted)).toContain('stepwise-e2e-client');
  const expected = [
    'TEMPORAL_TLS_CERT_PATH is deprecated: use TEMPORAL_TLS_CLIENT_CERT_PATH (docs/configuration.md#temporal-connection)',
    'TEMPORAL_TLS_KEY_PATH is deprecated: use TEMPORAL_TLS_CLIENT_KEY_PATH (docs/configuration.md#temporal-connection)',
    'TEMPORAL_TLS_CA_PATH is deprecated: use TEMPORAL_TLS_SERVER_CA_CERT_PATH (docs/configuration.md#temporal-connection)',
  ];
  expect([warnings(stack.worker), warnings(stack.api)]).toEqual([expected, expected]);
}, 240_000);

it('an alias and its standard name set to different values stop the process, naming both', async () => {
  const worker = spawnProcess('worker.js', {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: dir,
    TEMPORAL_ADDRESS: proxy.address,
    TEMPORAL_TLS_CA_PATH: join(dir, 'ca.pem'),
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: join(dir, 'server.pem'),
  });
  expect(await worker.exited).toBe(1);
  expect(worker.output.join('')).toContain(
    'TEMPORAL_TLS_CA_PATH and TEMPORAL_TLS_SERVER_CA_CERT_PATH: both set, to different values; set TEMPORAL_TLS_SERVER_CA_CERT_PATH only',
  );
});
