/**
 * Test data the pipeline tests generate: import folders of CSV / JSON Lines rows, images, a local
 * HTTP server on 127.0.0.1, and a guarded network for download tests.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { systemNet, type DownloadNet } from '../activities/dataset/download';
import type { PipelineConfig } from '../activities/pipeline-config';
import { png } from '../activities/samples';

export interface ImportFolder {
  files: string[];
  rows: number;
  validRows: number;
  invalidRows: number;
  /** A valid row with a word no other row has, and where it is (`file:line`). */
  known: { id: string; word: string; file: string; line: number };
}

const WORDS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet'];

const csvCell = (v: string): string => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

/**
 * Writes `files` files (even: CSV, odd: JSON Lines) of `rowsPerFile` rows into `dir`; every
 * `invalidEvery`-th row is invalid in one of several ways (rotating). Ids start with `prefix`.
 */
export function writeImportFolder(
  dir: string,
  opts: { prefix: string; files?: number; rowsPerFile?: number; invalidEvery?: number },
): ImportFolder {
  const nFiles = opts.files ?? 20;
  const perFile = opts.rowsPerFile ?? 250;
  const every = opts.invalidEvery ?? 10;
  mkdirSync(dir, { recursive: true });
  const out: ImportFolder = { files: [], rows: 0, validRows: 0, invalidRows: 0, known: null! };
  const word = `zephyr${opts.prefix.replace(/[^a-z0-9]/gi, '').toLowerCase()}`;
  const knownFile = Math.min(7, nFiles - 1);
  let knownRow = Math.min(42, perFile - 1);
  while (knownRow % every === every - 1) knownRow--;
  for (let f = 0; f < nFiles; f++) {
    const csv = f % 2 === 0;
    const name = `part-${String(f).padStart(2, '0')}.${csv ? 'csv' : 'jsonl'}`;
    const lines: string[] = csv ? ['id,title,body,category,tags,amount,updatedAt'] : [];
    for (let r = 0; r < perFile; r++) {
      const id = `${opts.prefix}-${f}-${r}`;
      const isKnown = f === knownFile && r === knownRow;
      const row: Record<string, string | number> = {
        id,
        title: isKnown ? `The ${word} record` : `Record ${r} of ${WORDS[f % WORDS.length]}`,
        body: `Body text for row ${r}, file ${f}. Mentions ${WORDS[(f + r) % WORDS.length]}.`,
        category: WORDS[r % 3],
        tags: `${WORDS[r % 5]};${WORDS[(r + 1) % 5]}`,
        amount: (r * 1.25).toFixed(2),
        updatedAt: '2026-11-22',
      };
      if (isKnown) out.known = { id, word, file: name, line: csv ? r + 2 : r + 1 };
      const invalid = r % every === every - 1;
      let line: string;
      if (invalid) {
        const kind = (r + f) % 4;
        if (kind === 0) row.title = '';
        else if (kind === 1) row.amount = 'not-a-number';
        else if (kind === 2) row.id = 'bad id!';
        else row.updatedAt = 'yesterday';
      }
      if (csv) {
        line = ['id', 'title', 'body', 'category', 'tags', 'amount', 'updatedAt']
          .map((k) => csvCell(String(row[k] ?? '')))
          .join(',');
        if (invalid && (r + f) % 8 === 3) line += ',extra-field'; // wrong field count
      } else {
        line = JSON.stringify({ ...row, amount: row.amount === 'not-a-number' ? 'x' : Number(row.amount) });
        if (invalid && (r + f) % 8 === 3) line = line.slice(0, -3); // broken JSON
      }
      lines.push(line);
      out.rows++;
      if (invalid) out.invalidRows++;
      else out.validRows++;
    }
    writeFileSync(join(dir, name), lines.join('\n') + '\n');
    out.files.push(name);
  }
  return out;
}

// ---- images -------------------------------------------------------------------------------------

/** A real, decodable RGB PNG filled with a colour derived from `seed`. */
export function pngImage(width: number, height: number, seed = 0): Buffer {
  return png(width, height, (x) => [(seed * 40) & 255, (seed * 90 + x) & 255, (seed * 150) & 255]);
}

/** A JPEG's header structure (SOI, APP0 JFIF, DQT, SOF, EOI) — enough for header readers. */
export function jpegImage(width: number, height: number, opts: { progressive?: boolean } = {}): Buffer {
  const seg = (marker: number, data: Buffer) => {
    const h = Buffer.from([0xff, marker, 0, 0]);
    h.writeUInt16BE(data.length + 2, 2);
    return Buffer.concat([h, data]);
  };
  const sof = Buffer.alloc(15);
  sof[0] = 8;
  sof.writeUInt16BE(height, 1);
  sof.writeUInt16BE(width, 3);
  sof[5] = 3;
  return Buffer.concat([
    Buffer.from([0xff, 0xd8]),
    seg(0xe0, Buffer.from('JFIF\0\x01\x01\0\0\x01\0\x01\0\0', 'latin1')),
    seg(0xdb, Buffer.alloc(65)),
    seg(opts.progressive ? 0xc2 : 0xc0, sof),
    Buffer.from([0xff, 0xd9]),
  ]);
}

/** A GIF89a with `frames` 1×1 image blocks on a `width`×`height` screen. */
export function gifImage(width: number, height: number, frames = 1): Buffer {
  const head = Buffer.alloc(13);
  head.write('GIF89a', 0, 'latin1');
  head.writeUInt16LE(width, 6);
  head.writeUInt16LE(height, 8);
  head[10] = 0x80; // global colour table of 2 entries
  const palette = Buffer.from([0, 0, 0, 255, 255, 255]);
  const frame = Buffer.from([0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0x02, 0x02, 0x44, 0x01, 0x00]);
  return Buffer.concat([head, palette, ...Array.from({ length: frames }, () => frame), Buffer.from([0x3b])]);
}

/** A lossless WebP (VP8L) header for `width`×`height`. */
export function webpImage(width: number, height: number): Buffer {
  const b = Buffer.alloc(30);
  b.write('RIFF', 0, 'latin1');
  b.writeUInt32LE(22, 4);
  b.write('WEBP', 8, 'latin1');
  b.write('VP8L', 12, 'latin1');
  b.writeUInt32LE(10, 16);
  b[20] = 0x2f;
  b.writeUInt32LE(((width - 1) & 0x3fff) | (((height - 1) & 0x3fff) << 14), 21);
  return b;
}

// ---- a local HTTP server for download tests ----------------------------------------------------

export interface Route {
  body: Buffer | string;
  /** Content-Type header; none when null. */
  type?: string | null;
  /** Answer 503 to the first `failFirst` requests. */
  failFirst?: number;
  status?: number;
  /** Send without Content-Length (chunked), so only the streamed size can reveal an oversize body. */
  chunked?: boolean;
  /** Answer `status` (default 302) with this Location header. */
  location?: string;
  /** Never answer (the connection stays open until the server closes). */
  hang?: boolean;
  /** A reason phrase of the server's own instead of the standard one. */
  reason?: string;
}

export interface FixtureServer {
  url(path: string): string;
  /** Requests seen per path. */
  hits: Map<string, number>;
  close(): Promise<void>;
}

/** Serves `routes` on 127.0.0.1 (a free port); unknown paths are 404. */
export async function serveFixtures(routes: Record<string, Route>): Promise<FixtureServer> {
  const { createServer } = await import('node:http');
  const hits = new Map<string, number>();
  const server = createServer((req, res) => {
    const path = req.url ?? '/';
    const n = (hits.get(path) ?? 0) + 1;
    hits.set(path, n);
    const route = routes[path];
    if (!route) return void res.writeHead(404).end('not found');
    if (route.failFirst && n <= route.failFirst) return void res.writeHead(503).end('try again');
    if (route.hang) return;
    if (route.location !== undefined) {
      return void res.writeHead(route.status ?? 302, { location: route.location }).end('moved');
    }
    const body = typeof route.body === 'string' ? Buffer.from(route.body) : route.body;
    const headers: Record<string, string | number> = {};
    if (route.type !== null) headers['content-type'] = route.type ?? 'application/octet-stream';
    if (!route.chunked) headers['content-length'] = body.length;
    if (route.reason) res.writeHead(route.status ?? 200, route.reason, headers);
    else res.writeHead(route.status ?? 200, headers);
    if (route.chunked) {
      // One 16 KiB piece at a time, the next once the last was handed to the socket: the client
      // sees a stream of pieces (Node 22 and later read 64 KiB at a time and would take pieces
      // written at once in one or two reads).
      let at = 0;
      const next = (): void => {
        if (at >= body.length) {
          res.end();
          return;
        }
        const piece = body.subarray(at, at + 16 * 1024);
        at += piece.length;
        res.write(piece, () => setImmediate(next));
      };
      next();
    } else {
      res.end(body);
    }
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const { port } = server.address() as { port: number };
  return {
    url: (p) => `http://127.0.0.1:${port}${p}`,
    hits,
    close: () =>
      new Promise<void>((res) => {
        server.closeAllConnections();
        server.close(() => res());
      }),
  };
}

// ---- downloads -----------------------------------------------------------------------------------

/** `cfg` with the opt-in that lets downloads reach the fixture server on 127.0.0.1. */
export function allowLoopbackDownloads(cfg: PipelineConfig): PipelineConfig {
  return { ...cfg, download: { ...cfg.download, allowPrivate: true } };
}

/** Names the guarded network resolves (no real DNS in tests). */
const FAKE_DNS: Record<string, { address: string; family: number }[]> = {
  localhost: [
    { address: '127.0.0.1', family: 4 },
    { address: '::1', family: 6 },
  ],
  'images.test': [{ address: '127.0.0.1', family: 4 }],
  'internal.test': [{ address: '10.1.2.3', family: 4 }],
  'metadata.test': [{ address: '169.254.169.254', family: 4 }],
  'mapped.test': [{ address: '::ffff:192.168.1.1', family: 6 }],
  // One public address and one private: refused as a whole.
  'mixed.test': [
    { address: '93.184.216.34', family: 4 },
    { address: '10.0.0.5', family: 4 },
  ],
};

export interface GuardedNet extends DownloadNet {
  /** Every address a request was opened to, in order. */
  connections: string[];
  /** Every host name looked up, in order. */
  lookups: string[];
}

/**
 * The network for download tests: names resolve from a fixed table, and a request to anything
 * but 127.0.0.1 / ::1 throws before a socket exists — so even a broken check cannot send traffic
 * outside the machine — while `connections` records what the code tried. `ca` is trusted for
 * https (the {@link TLS_FIXTURE} certificate).
 */
export function guardedNet(opts: { ca?: string } = {}): GuardedNet {
  const connections: string[] = [];
  const lookups: string[] = [];
  return {
    connections,
    lookups,
    lookup: async (host) => {
      lookups.push(host);
      const found = FAKE_DNS[host];
      if (found) return found;
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    },
    request: (url, options, onResponse) => {
      const host = String(options.host);
      connections.push(host);
      if (host !== '127.0.0.1' && host !== '::1') {
        throw new Error(`test guard: a download tried to connect to ${host}`);
      }
      return systemNet.request(url, opts.ca ? { ...options, ca: opts.ca } : options, onResponse);
    },
  };
}

/**
 * A self-signed certificate for `images.test` (valid until 2125) and its key: an https fixture
 * server on 127.0.0.1 reached as https://images.test proves the TLS server name and the Host
 * header stay the URL's host while the connection goes to the checked address.
 */
export const TLS_FIXTURE = {
  cert: `-----BEGIN CERTIFICATE-----
MIIBnDCCAUGgAwIBAgIUcGU22Ac7fpZUM3rEVc+wkl5DxscwCgYIKoZIzj0EAwIw
FjEUMBIGA1UEAwwLaW1hZ2VzLnRlc3QwIBcNMjYxMTIzMDgyNTIxWhgPMjEyNjEw
MzAwODI1MjFaMBYxFDASBgNVBAMMC2ltYWdlcy50ZXN0MFkwEwYHKoZIzj0CAQYI
KoZIzj0DAQcDQgAEDJ2FgyrMYxSK98y3KZ37KZKjrVmDidn4LNdxsN+V9D1Whdpp
Ur6GG1qjDGw4MoWvDDltPOklinTP8hY0826kyqNrMGkwHQYDVR0OBBYEFKHqYv1M
UBJFnE+VhuSzDPV3qDn5MB8GA1UdIwQYMBaAFKHqYv1MUBJFnE+VhuSzDPV3qDn5
MA8GA1UdEwEB/wQFMAMBAf8wFgYDVR0RBA8wDYILaW1hZ2VzLnRlc3QwCgYIKoZI
zj0EAwIDSQAwRgIhAMCRHNY4G5Z/3mRedBQtNLzfkyVmaAAXFeUUYN7aQXimAiEA
iuKwmQTzyJLFhchNJinyA3FSRbCLkcDNCvqI/3P05iE=
-----END CERTIFICATE-----
`,
  key: `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgoZEExcSAH3dYKirz
5eWZ3zrUyLabd7Shw1tI1Y0uWoyhRANCAAQMnYWDKsxjFIr3zLcpnfspkqOtWYOJ
2fgs13Gw35X0PVaF2mlSvoYbWqMMbDgyha8MOW086SWKdM/yFjTzbqTK
-----END PRIVATE KEY-----
`,
};
