/**
 * A webhook receiver for the browser tests: a loopback HTTP server (reached by the API only with
 * `STEPWISE_WEBHOOK_ALLOW_PRIVATE=true`) that records every request and answers 200, and a
 * Standard Webhooks verifier written from the specification (spec/standard-webhooks.md), not from
 * the project's signing code: the signed content is `${id}.${timestamp}.${body}`, the key the base64
 * after `whsec_`, the signature header a space-separated list of `v1,<base64 HMAC-SHA256>`.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** The `v1` signatures of a request that `secret` made (0 when none; a rotated secret's overlap sends two). */
export function signaturesBy(secret: string, r: Received): number {
  const id = r.headers['webhook-id'];
  const ts = r.headers['webhook-timestamp'];
  const sigs = r.headers['webhook-signature'];
  if (typeof id !== 'string' || typeof ts !== 'string' || typeof sigs !== 'string') return 0;
  if (Math.abs(Date.now() / 1000 - Number(ts)) > 300) return 0; // the specification's tolerance
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${ts}.${r.body}`).digest();
  return sigs.split(' ').filter((s) => {
    const [version, sig] = s.split(',');
    if (version !== 'v1' || !sig) return false;
    const got = Buffer.from(sig, 'base64');
    return got.length === expected.length && timingSafeEqual(got, expected);
  }).length;
}

export class WebhookReceiver {
  readonly received: Received[] = [];
  private server: Server | null = null;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.received.push({
          path: req.url ?? '/',
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        });
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The requests to `path`. */
  at(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }

  close(): Promise<void> {
    const server = this.server;
    if (!server) return Promise.resolve();
    return new Promise((r) => server.close(() => r()));
  }
}
