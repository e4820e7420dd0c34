/**
 * A loopback webhook receiver (reached by the API only with `STEPWISE_WEBHOOK_ALLOW_PRIVATE=true`)
 * and a Standard Webhooks verifier of the tests' own, written from the specification
 * (spec/standard-webhooks.md), not from the project's signing code: the signed content is
 * `${id}.${timestamp}.${body}`, the key the base64 after `whsec_`, the signature header a
 * space-separated list of `v1,<base64 HMAC-SHA256>`; any one matching passes, and the timestamp
 * must be within the tolerance (5 minutes). Used by the API, browser and fault tests.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The status the receiver answered with. */
  answered: number;
}

/** The `v1` signatures of a request that `secret` made (0 when none; a rotated secret's overlap sends two). */
export function signaturesBy(secret: string, r: Pick<Received, 'headers' | 'body'>): number {
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

/** Does a signature of `secret` verify the request? */
export const verifyStandardWebhook = (secret: string, headers: IncomingHttpHeaders, body: string): boolean =>
  signaturesBy(secret, { headers, body }) > 0;

/** Records every request; the first `failFirst[path]` requests to a path answer 500, the rest 200. */
export class Receiver {
  readonly received: Received[] = [];
  readonly failFirst = new Map<string, number>();
  private server: Server | null = null;
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
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The requests to `path`. */
  at(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }

  /** The requests to `path` answered 200. */
  ok(path: string): Received[] {
    return this.at(path).filter((r) => r.answered === 200);
  }

  close(): Promise<void> {
    const server = this.server;
    if (!server) return Promise.resolve();
    return new Promise((r) => server.close(() => r()));
  }
}

/** The receiver, by the name the browser tests use. */
export { Receiver as WebhookReceiver };
