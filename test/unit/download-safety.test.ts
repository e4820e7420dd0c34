/**
 * Downloads cannot be pointed inside the network: addresses are classified after resolution
 * (every spelling of loopback, private, link-local, …), redirects are checked hop by hop, hosts
 * can be allow-listed, private networks need an explicit opt-in, and errors never quote the
 * response body. Every test runs against the fixture server on 127.0.0.1 through a guarded
 * network that throws before connecting anywhere else, and asserts where connections went.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { classifyAddress, parseIPv6 } from '../../activities/dataset/address';
import {
  DownloadError,
  downloadOnce,
  downloadWithRetries,
  hostAllowed,
  type DownloadLimits,
} from '../../activities/dataset/download';
import { uniqueId } from '../helpers';
import { createServer as createHttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { TLS_FIXTURE, guardedNet, pngImage, serveFixtures, type FixtureServer } from '../pipeline-fixtures';

let server: FixtureServer;
let port: number;
const png = pngImage(20, 10, 2);
const base: DownloadLimits = {
  maxBytes: 1024 * 1024,
  attempts: 3,
  timeoutMs: 5000,
  contentTypes: ['image/*'],
  backoffMs: 10,
};
const optedIn: DownloadLimits = { ...base, allowPrivate: true };

beforeAll(async () => {
  server = await serveFixtures({
    '/a.png': { body: png, type: 'image/png' },
    '/big.png': { body: Buffer.alloc(200 * 1024, 7), type: 'image/png', chunked: true },
    '/to-a': { body: '', location: '/a.png' },
    '/to-metadata': { body: '', location: 'http://169.254.169.254/latest/meta-data/' },
    '/to-metadata-name': { body: '', location: 'http://metadata.test/latest/meta-data/', status: 307 },
    '/to-private': { body: '', location: 'http://10.0.0.1/admin' },
    '/to-ftp': { body: '', location: 'ftp://127.0.0.1/a.png' },
    '/loop': { body: '', location: '/loop' },
    '/leaky': { body: 'SECRET-TOKEN=hunter2', status: 500, reason: 'Leaky SECRET reason' },
    '/hang.png': { body: '', hang: true },
  });
  port = Number(new URL(server.url('/')).port);
});
afterAll(() => server?.close());

function dir(): string {
  const d = join(__dirname, '..', '.tmp', 'downloads', uniqueId('d'));
  mkdirSync(d, { recursive: true });
  return d;
}

async function refusal(url: string, limits: DownloadLimits, net = guardedNet()) {
  const err = await downloadOnce(url, join(dir(), 'x'), limits, { net }).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DownloadError);
  return { err: err as DownloadError, net };
}

describe('classifyAddress', () => {
  it.each([
    ['93.184.216.34', 'public', ''],
    ['2606:2800:220:1:248:1893:25c8:1946', 'public', ''],
    ['127.0.0.1', 'private', '127.0.0.0/8'],
    ['127.255.1.2', 'private', '127.0.0.0/8'],
    ['10.0.0.1', 'private', '10.0.0.0/8'],
    ['172.16.0.1', 'private', '172.16.0.0/12'],
    ['172.31.255.255', 'private', '172.16.0.0/12'],
    ['172.32.0.1', 'public', ''],
    ['192.168.1.1', 'private', '192.168.0.0/16'],
    ['100.64.0.1', 'private', '100.64.0.0/10'],
    ['100.127.255.255', 'private', '100.64.0.0/10'],
    ['100.128.0.1', 'public', ''],
    ['169.254.169.254', 'never', '169.254.0.0/16'],
    ['0.0.0.0', 'never', '0.0.0.0/8'],
    ['224.0.0.1', 'never', '224.0.0.0/4'],
    ['255.255.255.255', 'never', '240.0.0.0/4'],
    ['::1', 'private', '::1/128'],
    ['[::1]', 'private', '::1/128'],
    ['::', 'never', '::/128'],
    ['fe80::1', 'never', 'fe80::/10'],
    ['febf::1', 'never', 'fe80::/10'],
    ['fc00::1', 'private', 'fc00::/7'],
    ['fd12:3456::1', 'private', 'fc00::/7'],
    ['ff02::1', 'never', 'ff00::/8'],
    ['::ffff:127.0.0.1', 'private', '::ffff:127.0.0.0/8'],
    ['::ffff:7f00:1', 'private', '::ffff:127.0.0.0/8'],
    ['::ffff:169.254.169.254', 'never', '::ffff:169.254.0.0/16'],
    ['::ffff:93.184.216.34', 'public', ''],
    ['64:ff9b::a00:1', 'private', '64:ff9b::/96 → 10.0.0.0/8'],
    ['::127.0.0.1', 'never', '::/96'],
  ])('%s is %s %s', (address, kind, range) => {
    const v = classifyAddress(address);
    expect(v.kind).toBe(kind);
    if (v.kind !== 'public') expect(v.range).toBe(range);
  });

  it('parses every IPv6 spelling to eight groups', () => {
    expect(parseIPv6('::1')).toEqual([0, 0, 0, 0, 0, 0, 0, 1]);
    expect(parseIPv6('::ffff:1.2.3.4')).toEqual([0, 0, 0, 0, 0, 0xffff, 0x102, 0x304]);
    expect(parseIPv6('fe80::1%eth0')).toEqual([0xfe80, 0, 0, 0, 0, 0, 0, 1]);
    expect(parseIPv6('1:2:3:4:5:6:7:8')).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(parseIPv6('1.2.3.4')).toBeNull();
  });
});

describe('hostAllowed', () => {
  it('matches exact hosts and *.domain subdomains; an empty list allows every host', () => {
    expect(hostAllowed('anything.test', [])).toBe(true);
    expect(hostAllowed('images.example.com', ['images.example.com'])).toBe(true);
    expect(hostAllowed('IMAGES.example.com', ['images.example.com'])).toBe(true);
    expect(hostAllowed('evil.com', ['images.example.com'])).toBe(false);
    expect(hostAllowed('a.cdn.example.net', ['*.cdn.example.net'])).toBe(true);
    expect(hostAllowed('cdn.example.net', ['*.cdn.example.net'])).toBe(false);
    expect(hostAllowed('evilcdn.example.net', ['*.cdn.example.net'])).toBe(false);
    // IP spellings are compared in their normalized form
    expect(hostAllowed('127.0.0.1', ['2130706433'])).toBe(true);
    expect(hostAllowed('[::1]', ['::1'])).toBe(true);
  });
});

describe('downloads refused before connecting', () => {
  it.each([
    [
      '127.0.0.1',
      (p: number) => `http://127.0.0.1:${p}/a.png`,
      /^refused: 127\.0\.0\.1 is a loopback address, in 127\.0\.0\.0\/8; set STEPWISE_DOWNLOAD_ALLOW_PRIVATE=true/,
    ],
    ['[::1]', (p: number) => `http://[::1]:${p}/a.png`, /^refused: ::1 is a loopback address, in ::1\/128/],
    [
      '0x7f000001',
      (p: number) => `http://0x7f000001:${p}/a.png`,
      /^refused: 127\.0\.0\.1 is a loopback address/,
    ],
    [
      '2130706433',
      (p: number) => `http://2130706433:${p}/a.png`,
      /^refused: 127\.0\.0\.1 is a loopback address/,
    ],
    [
      '0177.0.0.1 (octal)',
      (p: number) => `http://0177.0.0.1:${p}/a.png`,
      /^refused: 127\.0\.0\.1 is a loopback/,
    ],
    ['127.1 (short)', (p: number) => `http://127.1:${p}/a.png`, /^refused: 127\.0\.0\.1 is a loopback/],
    [
      '[::ffff:127.0.0.1]',
      (p: number) => `http://[::ffff:127.0.0.1]:${p}/a.png`,
      /^refused: ::ffff:7f00:1 is a loopback address \(IPv4-mapped 127\.0\.0\.1\)/,
    ],
    [
      'localhost',
      (p: number) => `http://localhost:${p}/a.png`,
      /^refused: localhost resolves to 127\.0\.0\.1, which is a loopback address/,
    ],
    [
      '169.254.169.254',
      () => 'http://169.254.169.254/latest/meta-data/',
      /^refused: 169\.254\.169\.254 is a link-local address, in 169\.254\.0\.0\/16; never downloaded from$/,
    ],
    [
      '10.0.0.1',
      () => 'http://10.0.0.1/a.png',
      /^refused: 10\.0\.0\.1 is a private address, in 10\.0\.0\.0\/8; set STEPWISE_DOWNLOAD_ALLOW_PRIVATE=true/,
    ],
    [
      '192.168.1.1',
      () => 'https://192.168.1.1/a.png',
      /^refused: 192\.168\.1\.1 is a private address, in 192\.168\.0\.0\/16/,
    ],
    [
      '172.16.5.4',
      () => 'http://172.16.5.4/a.png',
      /^refused: 172\.16\.5\.4 is a private address, in 172\.16\.0\.0\/12/,
    ],
    ['100.64.0.1', () => 'http://100.64.0.1/a.png', /^refused: 100\.64\.0\.1 is a carrier-grade NAT/],
    [
      '[fe80::1]',
      () => 'http://[fe80::1]/a.png',
      /^refused: fe80::1 is a link-local address, in fe80::\/10; never/,
    ],
    [
      '[fd00::1]',
      () => 'http://[fd00::1]/a.png',
      /^refused: fd00::1 is a unique-local address, in fc00::\/7/,
    ],
    ['0.0.0.0', (p: number) => `http://0.0.0.0:${p}/a.png`, /^refused: 0\.0\.0\.0 is an unspecified/],
    ['[::]', (p: number) => `http://[::]:${p}/a.png`, /^refused: :: is the unspecified address/],
    ['224.0.0.1', () => 'http://224.0.0.1/a.png', /^refused: 224\.0\.0\.1 is a multicast address/],
    [
      'internal.test → 10.1.2.3',
      () => 'http://internal.test/a.png',
      /^refused: internal\.test resolves to 10\.1\.2\.3, which is a private address/,
    ],
    [
      'mapped.test → ::ffff:192.168.1.1',
      () => 'http://mapped.test/a.png',
      /^refused: mapped\.test resolves to ::ffff:192\.168\.1\.1, which is a private address \(IPv4-mapped 192\.168\.1\.1\)/,
    ],
    [
      'mixed.test → public + 10.0.0.5',
      () => 'http://mixed.test/a.png',
      /^refused: mixed\.test resolves to 10\.0\.0\.5, which is a private address/,
    ],
  ])('%s without the opt-in', async (_name, url, reason) => {
    const before = server.hits.get('/a.png') ?? 0;
    const { err, net } = await refusal(url(port), base);
    expect(err.message).toMatch(reason);
    expect(err.retryable).toBe(false);
    expect(net.connections).toEqual([]); // refused before any connection was opened
    expect(server.hits.get('/a.png') ?? 0).toBe(before);
  });

  it.each([
    [
      '169.254.169.254',
      'http://169.254.169.254/latest/meta-data/',
      /link-local address.*never downloaded from/,
    ],
    [
      'metadata.test',
      'http://metadata.test/',
      /resolves to 169\.254\.169\.254, which is a link-local address/,
    ],
    ['0.0.0.0', 'http://0.0.0.0:1/a.png', /unspecified/],
    ['[ff02::1]', 'http://[ff02::1]/', /multicast/],
  ])('%s even with the opt-in', async (_name, url, reason) => {
    const { err, net } = await refusal(url, optedIn);
    expect(err.message).toMatch(reason);
    expect(net.connections).toEqual([]);
  });

  it('refuses a host outside the allow-list, and a scheme other than http(s)', async () => {
    const listed = await refusal(server.url('/a.png'), { ...optedIn, allowHosts: ['images.example.com'] });
    expect(listed.err.message).toBe(
      'refused: host 127.0.0.1 is not in STEPWISE_DOWNLOAD_ALLOW_HOSTS (images.example.com)',
    );
    expect(listed.net.connections).toEqual([]);
    const ftp = await refusal('ftp://127.0.0.1/a.png', optedIn);
    expect(ftp.err.message).toBe('refused: only http and https URLs are downloaded, not ftp:');
  });
});

describe('downloads with the opt-in', () => {
  it('reach the local server, through the checked address, leaving no temporary file', async () => {
    const d = dir();
    const net = guardedNet();
    const chunks: number[] = [];
    const got = await downloadOnce(server.url('/a.png'), join(d, 'a'), optedIn, {
      net,
      attemptTag: '3-1',
      onData: (n) => chunks.push(n),
    });
    expect(got).toEqual({ bytes: png.length, contentType: 'image/png' });
    expect(readFileSync(join(d, 'a')).equals(png)).toBe(true);
    expect(readdirSync(d)).toEqual(['a']);
    expect(net.connections).toEqual(['127.0.0.1']);
    expect(chunks.at(-1)).toBe(png.length);
  });

  it('reports every chunk of a long transfer (the activity heartbeats on each)', async () => {
    const d = dir();
    const chunks: number[] = [];
    await downloadOnce(server.url('/big.png'), join(d, 'big'), optedIn, {
      net: guardedNet(),
      onData: (n) => chunks.push(n),
    });
    expect(chunks.length).toBeGreaterThan(2);
    expect(chunks.at(-1)).toBe(200 * 1024);
  });

  it('follows a relative redirect on the same checked host', async () => {
    const net = guardedNet();
    const got = await downloadOnce(server.url('/to-a'), join(dir(), 'r'), optedIn, { net });
    expect(got.bytes).toBe(png.length);
    expect(net.connections).toEqual(['127.0.0.1', '127.0.0.1']);
  });

  it.each([
    [
      '/to-metadata',
      /^redirect 1 to 169\.254\.169\.254: refused: 169\.254\.169\.254 is a link-local address/,
      optedIn,
    ],
    [
      '/to-metadata-name',
      /^redirect 1 to metadata\.test: refused: metadata\.test resolves to 169\.254\.169\.254/,
      optedIn,
    ],
    [
      '/to-private',
      /^redirect 1 to 10\.0\.0\.1: refused: host 10\.0\.0\.1 is not in STEPWISE_DOWNLOAD_ALLOW_HOSTS/,
      { ...optedIn, allowHosts: ['127.0.0.1'] },
    ],
    ['/to-ftp', /^redirect 1 to 127\.0\.0\.1: refused: only http and https URLs/, optedIn],
  ])('refuses a redirect %s into a refused target, before connecting to it', async (path, reason, limits) => {
    const { err, net } = await refusal(server.url(path), limits);
    expect(err.message).toMatch(reason);
    expect(err.retryable).toBe(false);
    expect(net.connections).toEqual(['127.0.0.1']); // only the first hop, to the local server
  });

  it('stops after the redirect limit', async () => {
    const before = server.hits.get('/loop') ?? 0;
    const { err } = await refusal(server.url('/loop'), { ...optedIn, maxRedirects: 3 });
    expect(err.message).toBe('more than 3 redirects');
    expect((server.hits.get('/loop') ?? 0) - before).toBe(4);
  });

  it('never quotes the response body or the server reason phrase in an error', async () => {
    const d = dir();
    const err = await downloadWithRetries(
      server.url('/leaky'),
      join(d, 'l'),
      optedIn,
      async () => undefined,
      {
        net: guardedNet(),
      },
    ).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).toBe('HTTP 500 Internal Server Error (after 3 attempts)');
    expect(err?.message).not.toMatch(/SECRET|hunter2|Leaky/);
    expect(readdirSync(d)).toEqual([]); // no temporary file left behind
  });

  it('over https: connects to the checked address, with the URL host as TLS server name and Host header', async () => {
    const seen: { host?: string; servername?: string | false | null }[] = [];
    const tls = createHttpsServer(TLS_FIXTURE, (req, res) => {
      seen.push({ host: req.headers.host, servername: (req.socket as TLSSocket).servername });
      res.writeHead(200, { 'content-type': 'image/png' }).end(png);
    });
    await new Promise<void>((res) => tls.listen(0, '127.0.0.1', res));
    try {
      const tlsPort = (tls.address() as { port: number }).port;
      const net = guardedNet({ ca: TLS_FIXTURE.cert });
      const got = await downloadOnce(`https://images.test:${tlsPort}/a.png`, join(dir(), 't'), optedIn, {
        net,
      });
      expect(got.bytes).toBe(png.length);
      expect(net.lookups).toEqual(['images.test']); // one lookup, then the checked address
      expect(net.connections).toEqual(['127.0.0.1']);
      expect(seen).toEqual([{ host: `images.test:${tlsPort}`, servername: 'images.test' }]);
      // The certificate is checked against the URL's host: by IP it does not match.
      const { err } = await refusal(
        `https://127.0.0.1:${tlsPort}/a.png`,
        optedIn,
        guardedNet({ ca: TLS_FIXTURE.cert }),
      );
      expect(err.message).toMatch(/^request failed: ERR_TLS_CERT_ALTNAME_INVALID/);
    } finally {
      tls.closeAllConnections();
      await new Promise((res) => tls.close(res));
    }
  });

  it('gives the whole item one deadline, retries included', async () => {
    const d = dir();
    const err = await downloadWithRetries(
      server.url('/hang.png'),
      join(d, 'h'),
      { ...optedIn, timeoutMs: 300 },
      async () => undefined,
      { net: guardedNet() },
    ).then(
      () => null,
      (e: DownloadError) => e,
    );
    expect(err?.message).toBe('timed out: the item took longer than 300 ms (STEPWISE_DOWNLOAD_TIMEOUT_MS)');
    expect(err?.retryable).toBe(false);
    expect(existsSync(join(d, 'h'))).toBe(false);
  });
});
