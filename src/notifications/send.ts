/**
 * One webhook attempt: the address policy, then an HTTP POST to the checked address.
 *
 * - Where: http(s) only; every address the host resolves to (or the IP literal) is classified by
 *   {@link classifyAddress} — the downloads' policy: `never` ranges (link-local, metadata services,
 *   multicast, …) always refused; loopback and private ranges only with
 *   `STEPWISE_WEBHOOK_ALLOW_PRIVATE=true`. The connection goes to the checked address itself (no
 *   second lookup), with the URL's host as Host header and TLS server name — checked at every
 *   attempt, since DNS answers change.
 * - Redirects are not followed: a 3xx is a failed attempt, not retried.
 * - The receiver's body is read (at most 64 KiB, then the connection is dropped) and never stored.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { classifyAddress } from '../activity/address';

/** Refused by the address policy: the message names the rule. */
export class AddressRefused extends Error {
  override name = 'AddressRefused';
}

export interface Resolver {
  lookup(hostname: string): Promise<{ address: string; family: number }[]>;
}

export const systemResolver: Resolver = {
  lookup: (hostname) => dnsLookup(hostname, { all: true, verbatim: true }),
};

const PRIVATE_HINT = 'set STEPWISE_WEBHOOK_ALLOW_PRIVATE=true to allow private networks';
const bare = (host: string): string => host.replace(/^\[|\]$/g, '');

/**
 * The policy on a URL's scheme and literal address, without resolving names (what subscription
 * creation checks synchronously); null when fine so far.
 */
export function urlRefusal(url: URL, allowPrivate: boolean): string | null {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'only http and https URLs are allowed';
  if (url.username || url.password)
    return 'credentials in the URL are not allowed (the signature authenticates)';
  const host = bare(url.hostname);
  if (isIP(host)) return addressRefusal(host, host, allowPrivate);
  if (host === 'localhost' || host.endsWith('.localhost')) {
    return allowPrivate ? null : `${host} is a loopback name; ${PRIVATE_HINT}`;
  }
  return null;
}

function addressRefusal(address: string, which: string, allowPrivate: boolean): string | null {
  const v = classifyAddress(address);
  if (v.kind === 'public') return null;
  if (v.kind === 'never') return `${which} is ${v.what}, in ${v.range}; never allowed`;
  return allowPrivate ? null : `${which} is ${v.what}, in ${v.range}; ${PRIVATE_HINT}`;
}

/** Checks `url` and every address its host resolves to; returns the address to connect to. */
export async function checkWebhookTarget(
  url: URL,
  allowPrivate: boolean,
  resolver: Resolver = systemResolver,
): Promise<{ address: string; family: number }> {
  const early = urlRefusal(url, allowPrivate);
  if (early) throw new AddressRefused(`refused: ${early}`);
  const host = bare(url.hostname);
  const literal = isIP(host);
  let addresses: { address: string; family: number }[];
  if (literal) {
    addresses = [{ address: host, family: literal }];
  } else {
    addresses = await resolver.lookup(host);
    if (addresses.length === 0) throw new Error(`host ${host} has no address`);
  }
  for (const { address } of addresses) {
    const why = addressRefusal(
      address,
      literal ? address : `${host} resolves to ${address}, which`,
      allowPrivate,
    );
    if (why) throw new AddressRefused(`refused: ${why}`);
  }
  return addresses[0];
}

export interface PostResult {
  statusCode: number | null;
  latencyMs: number | null;
  error: string | null;
  ok: boolean;
  retryable: boolean;
}

const MAX_RESPONSE_BYTES = 64 * 1024;

/** POSTs `body` to `url` with `headers`; never throws (the outcome says what happened). */
export async function postWebhook(
  url: URL,
  body: string,
  headers: Record<string, string>,
  opts: { timeoutMs: number; allowPrivate: boolean; resolver?: Resolver },
): Promise<PostResult> {
  let target: { address: string; family: number };
  try {
    target = await checkWebhookTarget(url, opts.allowPrivate, opts.resolver);
  } catch (err) {
    const refused = err instanceof AddressRefused;
    const code = (err as NodeJS.ErrnoException).code;
    return {
      statusCode: null,
      latencyMs: null,
      error: refused ? (err as Error).message : `lookup failed: ${code ?? (err as Error).message}`,
      ok: false,
      retryable: !refused,
    };
  }
  const started = performance.now();
  const host = bare(url.hostname);
  const signal = AbortSignal.timeout(opts.timeoutMs);
  try {
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(
        url,
        {
          host: target.address,
          family: target.family,
          port: url.port || (url.protocol === 'https:' ? 443 : 80),
          path: `${url.pathname}${url.search}`,
          method: 'POST',
          headers: {
            ...headers,
            host: url.host,
            'content-type': 'application/json',
            'content-length': String(Buffer.byteLength(body)),
            'user-agent': 'Stepwise-Webhooks',
          },
          servername: isIP(host) ? undefined : host,
          agent: false,
          signal,
        },
        resolve,
      );
      req.on('error', reject);
      req.end(body);
    });
    await drain(res);
    const latencyMs = Math.round(performance.now() - started);
    const status = res.statusCode ?? 0;
    if (status >= 200 && status < 300)
      return { statusCode: status, latencyMs, error: null, ok: true, retryable: false };
    if (status >= 300 && status < 400) {
      return {
        statusCode: status,
        latencyMs,
        error: `HTTP ${status}: redirects are not followed (point the subscription at the final URL)`,
        ok: false,
        retryable: false,
      };
    }
    return { statusCode: status, latencyMs, error: `HTTP ${status}`, ok: false, retryable: status !== 410 };
  } catch (err) {
    const latencyMs = Math.round(performance.now() - started);
    const error = signal.aborted
      ? `timed out after ${opts.timeoutMs} ms (STEPWISE_WEBHOOK_TIMEOUT_MS)`
      : `request failed: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
    return { statusCode: null, latencyMs, error, ok: false, retryable: true };
  }
}

/** Reads and discards the answer, up to {@link MAX_RESPONSE_BYTES}. */
function drain(res: IncomingMessage): Promise<void> {
  return new Promise((resolve) => {
    let n = 0;
    res.on('data', (chunk: Buffer) => {
      n += chunk.length;
      if (n > MAX_RESPONSE_BYTES) res.destroy();
    });
    res.on('end', resolve);
    res.on('close', resolve);
    res.on('error', () => resolve());
  });
}
