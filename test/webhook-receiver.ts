/**
 * A loopback webhook receiver and a Standard Webhooks verifier of the tests' own (not the code
 * under test), for the notification tests in test/api and test/faults.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Standard Webhooks verification, written from the specification (spec/standard-webhooks.md):
 * the signed content is `${id}.${timestamp}.${body}`, the key the base64 after `whsec_`, the
 * signature header a space-separated list of `v1,<base64 HMAC-SHA256>`; any one matching passes,
 * and the timestamp must be within the tolerance (5 minutes).
 */
export function verifyStandardWebhook(secret: string, headers: IncomingHttpHeaders, body: string): boolean {
  const id = headers['webhook-id'];
  const ts = headers['webhook-timestamp'];
  const sigs = headers['webhook-signature'];
  if (typeof id !== 'string' || typeof ts !== 'string' || typeof sigs !== 'string') return false;
  if (Math.abs(Date.now() / 1000 - Number(ts)) > 300) return false;
  const key = Buffer.from(secret.split('_')[1], 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest();
  return sigs.split(' ').some((s) => {
    const [version, sig] = s.split(',');
    if (version !== 'v1' || !sig) return false;
    const got = Buffer.from(sig, 'base64');
    return got.length === expected.length && timingSafeEqual(got, expected);
  });
}

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  answered: number;
}

/** A loopback receiver: records every request; `failFirst[path]` requests to a path answer 500. */
export class Receiver {
  readonly received: Received[] = [];
  readonly failFirst = new Map<string, number>();
  private server!: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = req.url ?? '/';
        const left = this.failFirst.get(path) ?? 0;
        const answered = left > 0 ? 500 : 200;
        if (left > 0) this.failFirst.set(path, left - 1);
        this.received.push({
          path,
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          answered,
        });
        res.writeHead(answered).end(answered === 200 ? 'ok' : 'down');
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The requests to `path` answered 200. */
  ok(path: string): Received[] {
    return this.received.filter((r) => r.path === path && r.answered === 200);
  }

  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}
