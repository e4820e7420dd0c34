/**
 * Downloads that cannot be pointed inside the network, with limits.
 *
 * - Where: only http(s); the host must be in the allow-list when one is configured; every address
 *   the host resolves to (or the IP literal, as WHATWG URL parsing normalized it) is classified
 *   by {@link classifyAddress} and refused when it is private (unless opted in) or never allowed.
 *   The connection goes to the checked address itself — no second DNS lookup — with the original
 *   host in the Host header and as TLS server name. Redirects are followed by hand, at most
 *   `maxRedirects`, each hop checked the same way.
 * - What: a content-type allow-list, a size limit enforced while streaming (the transfer is
 *   aborted past it, whatever Content-Length said).
 * - How long: one deadline for the whole item (all attempts and waits), retries with backoff for
 *   failures that may pass (network errors, 5xx, 408, 429), a callback on every chunk (the
 *   activity heartbeats), and a temporary file per attempt renamed into place when complete.
 *
 * Error messages never carry the response body, and header values they quote are cut short and
 * stripped to printable ASCII.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { rename, rm } from 'node:fs/promises';
import { STATUS_CODES, request as httpRequest, type IncomingMessage, type ClientRequest } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { isIP } from 'node:net';
import { createPrivateFile } from '../safe-open';
import { classifyAddress } from './address';

export interface DownloadLimits {
  maxBytes: number;
  attempts: number;
  /** Deadline of one item: every attempt, redirect and wait between attempts included. */
  timeoutMs: number;
  contentTypes: string[];
  /** First retry delay; doubled per attempt. */
  backoffMs?: number;
  /** Hosts downloads may reach (`example.com`, `*.example.com` for its subdomains); empty: any. */
  allowHosts?: string[];
  /** Allow loopback, private (RFC 1918), CGNAT and IPv6 unique-local addresses. Default false. */
  allowPrivate?: boolean;
  /** Redirects followed per attempt. Default {@link DEFAULT_MAX_REDIRECTS}. */
  maxRedirects?: number;
}

export const DEFAULT_MAX_REDIRECTS = 5;

/** The network as downloads see it; tests pass their own to observe or fake it. */
export interface DownloadNet {
  lookup(hostname: string): Promise<{ address: string; family: number }[]>;
  request(url: URL, options: RequestOptions, onResponse: (res: IncomingMessage) => void): ClientRequest;
}

export const systemNet: DownloadNet = {
  lookup: (hostname) => dnsLookup(hostname, { all: true, verbatim: true }),
  request: (url, options, onResponse) =>
    (url.protocol === 'https:' ? httpsRequest : httpRequest)(options, onResponse),
};

export interface DownloadOptions {
  /** The activity's cancellation: aborts the transfer and is rethrown as it is. */
  cancel?: AbortSignal;
  /** Called for every chunk received (the activity heartbeats). */
  onData?: (bytesSoFar: number) => void;
  /** Names this attempt's temporary file, `<dest>.part-<attemptTag>`. Default `1`. */
  attemptTag?: string;
  net?: DownloadNet;
  /** The item's deadline; {@link downloadOnce} alone makes one of `limits.timeoutMs`. */
  deadline?: AbortSignal;
}

/** A download that did not succeed; `retryable` says whether another attempt may. */
export class DownloadError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

export function contentTypeAllowed(contentType: string, allowed: string[]): boolean {
  return allowed.some((a) => (a.endsWith('/*') ? contentType.startsWith(a.slice(0, -1)) : contentType === a));
}

/** A remote-controlled value made safe to quote in a message: printable ASCII, at most 80 characters. */
export function quoteRemote(value: string): string {
  const clean = value.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 80 ? `${clean.slice(0, 80)}…` : clean;
}

const bare = (hostname: string): string => hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '');

/** The canonical form of an allow-list entry's host (IP spellings normalized as URLs do). */
function canonicalHost(entry: string): string {
  const e = entry.trim().toLowerCase();
  try {
    return bare(new URL(`http://${e.includes(':') && !e.startsWith('[') ? `[${e}]` : e}/`).hostname);
  } catch {
    return bare(e);
  }
}

/** True when `hostname` (as `URL.hostname` has it) is allowed by `allow` (empty: every host). */
export function hostAllowed(hostname: string, allow: string[]): boolean {
  if (allow.length === 0) return true;
  const host = bare(hostname.toLowerCase());
  return allow.some((entry) => {
    const e = entry.trim().toLowerCase();
    if (e.startsWith('*.')) return host.endsWith(e.slice(1)) && host.length > e.length - 1;
    return canonicalHost(e) === host;
  });
}

const PRIVATE_HINT = 'set STEPWISE_DOWNLOAD_ALLOW_PRIVATE=true to allow private networks';

/**
 * Checks `url`'s scheme, host and addresses; returns the address to connect to, or throws a
 * non-retryable {@link DownloadError} saying why it is refused. Nothing is sent anywhere.
 */
export async function checkTarget(
  url: URL,
  limits: Pick<DownloadLimits, 'allowHosts' | 'allowPrivate'>,
  net: DownloadNet = systemNet,
): Promise<{ address: string; family: number }> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new DownloadError(
      `refused: only http and https URLs are downloaded, not ${quoteRemote(url.protocol)}`,
      false,
    );
  }
  const host = bare(url.hostname);
  const allow = limits.allowHosts ?? [];
  if (!hostAllowed(host, allow)) {
    throw new DownloadError(
      `refused: host ${quoteRemote(host)} is not in STEPWISE_DOWNLOAD_ALLOW_HOSTS (${allow.join(', ')})`,
      false,
    );
  }
  let addresses: { address: string; family: number }[];
  const literal = isIP(host);
  if (literal) {
    addresses = [{ address: host, family: literal }];
  } else {
    try {
      addresses = await net.lookup(host);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'lookup failed';
      const permanent = code === 'ENOTFOUND' || code === 'ENODATA';
      throw new DownloadError(`host ${quoteRemote(host)} does not resolve (${code})`, !permanent);
    }
    if (addresses.length === 0) throw new DownloadError(`host ${quoteRemote(host)} has no address`, false);
  }
  for (const { address } of addresses) {
    const v = classifyAddress(address);
    if (v.kind === 'public') continue;
    const which = literal ? address : `${quoteRemote(host)} resolves to ${address}, which`;
    if (v.kind === 'never') {
      throw new DownloadError(`refused: ${which} is ${v.what}, in ${v.range}; never downloaded from`, false);
    }
    if (!limits.allowPrivate) {
      throw new DownloadError(`refused: ${which} is ${v.what}, in ${v.range}; ${PRIVATE_HINT}`, false);
    }
  }
  return addresses[0];
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** One GET to the checked `address`, with `url`'s host as Host header and TLS server name. */
function get(
  url: URL,
  target: { address: string; family: number },
  signal: AbortSignal,
  net: DownloadNet,
): Promise<IncomingMessage> {
  const host = bare(url.hostname);
  return new Promise((resolve, reject) => {
    const req = net.request(
      url,
      {
        host: target.address,
        family: target.family,
        port: url.port || (url.protocol === 'https:' ? 443 : 80),
        path: `${url.pathname}${url.search}`,
        method: 'GET',
        headers: {
          host: url.host,
          'user-agent': 'Stepwise-datasetBuild',
          accept: '*/*',
          'accept-encoding': 'identity',
        },
        servername: isIP(host) ? undefined : host,
        agent: false,
        signal,
      },
      resolve,
    );
    req.on('error', reject);
    req.end();
  });
}

function requestFailure(err: unknown, deadline: AbortSignal, limits: DownloadLimits): DownloadError {
  if (deadline.aborted) {
    return new DownloadError(
      `timed out: the item took longer than ${limits.timeoutMs} ms (STEPWISE_DOWNLOAD_TIMEOUT_MS)`,
      false,
    );
  }
  const code = (err as NodeJS.ErrnoException).code;
  // A certificate that does not verify will not verify on the next attempt either.
  const tls = code !== undefined && /^ERR_TLS_|CERT|SELF_SIGNED/.test(code);
  return new DownloadError(`request failed: ${code ?? (err as Error).message}`, !tls);
}

/**
 * One attempt: checks and follows `url` (redirects included), streams the body into
 * `<dest>.part-<attemptTag>` and renames it to `dest`, or throws a {@link DownloadError}.
 */
export async function downloadOnce(
  url: string,
  dest: string,
  limits: DownloadLimits,
  opts: DownloadOptions = {},
): Promise<{ bytes: number; contentType: string }> {
  const net = opts.net ?? systemNet;
  const deadline = opts.deadline ?? AbortSignal.timeout(limits.timeoutMs);
  const abort = new AbortController();
  const signal = AbortSignal.any([abort.signal, deadline, ...(opts.cancel ? [opts.cancel] : [])]);
  const maxRedirects = limits.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  let current: URL;
  try {
    current = new URL(url);
  } catch {
    throw new DownloadError('refused: not a valid URL', false);
  }
  let res: IncomingMessage;
  for (let hop = 0; ; hop++) {
    let target: { address: string; family: number };
    try {
      target = await checkTarget(current, limits, net);
    } catch (err) {
      if (hop > 0 && err instanceof DownloadError) {
        throw new DownloadError(
          `redirect ${hop} to ${quoteRemote(current.host)}: ${err.message}`,
          err.retryable,
        );
      }
      throw err;
    }
    try {
      res = await get(current, target, signal, net);
    } catch (err) {
      if (opts.cancel?.aborted) throw err;
      throw requestFailure(err, deadline, limits);
    }
    const status = res.statusCode ?? 0;
    if (!REDIRECTS.has(status)) break;
    res.destroy();
    const location = res.headers.location;
    if (!location) throw new DownloadError(`HTTP ${status} redirect without a Location header`, false);
    if (hop >= maxRedirects) throw new DownloadError(`more than ${maxRedirects} redirects`, false);
    try {
      current = new URL(location, current);
    } catch {
      throw new DownloadError(`HTTP ${status} redirect to an invalid URL`, false);
    }
  }
  const stop = (): void => {
    abort.abort();
    res.destroy();
  };
  const status = res.statusCode ?? 0;
  if (status < 200 || status > 299) {
    stop();
    const retryable = status >= 500 || status === 408 || status === 429;
    // The standard reason phrase, never the server's own text.
    throw new DownloadError(`HTTP ${status} ${STATUS_CODES[status] ?? ''}`.trim(), retryable);
  }
  const contentType = quoteRemote((res.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase());
  if (!contentTypeAllowed(contentType, limits.contentTypes)) {
    stop();
    throw new DownloadError(
      `content type "${contentType || 'none'}" is not accepted (accepted: ${limits.contentTypes.join(', ')})`,
      false,
    );
  }
  const declared = Number(res.headers['content-length'] ?? NaN);
  if (declared > limits.maxBytes) {
    stop();
    throw new DownloadError(
      `is ${declared} bytes (Content-Length), over the ${limits.maxBytes}-byte limit`,
      false,
    );
  }
  const part = `${dest}.part-${opts.attemptTag ?? '1'}`;
  const fh = await createPrivateFile(part);
  let bytes = 0;
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) {
      bytes += chunk.byteLength;
      if (bytes > limits.maxBytes) {
        stop();
        throw new DownloadError(`exceeded the ${limits.maxBytes}-byte limit; transfer aborted`, false);
      }
      await fh.write(chunk);
      opts.onData?.(bytes);
    }
    if (signal.aborted) throw signal.reason;
  } catch (err) {
    await fh.close();
    await rm(part, { force: true });
    if (err instanceof DownloadError || opts.cancel?.aborted) throw err;
    if (deadline.aborted) throw requestFailure(err, deadline, limits);
    throw new DownloadError(
      `transfer failed: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      true,
    );
  }
  await fh.close();
  await rename(part, dest);
  return { bytes, contentType };
}

/**
 * {@link downloadOnce} with up to `limits.attempts` attempts, all within one deadline of
 * `limits.timeoutMs`. `sleep` waits between attempts (the activity's cancellable sleep);
 * `onRetry` hears about each failed attempt. Attempt `n` writes `<dest>.part-<attemptTag><n>`.
 */
export async function downloadWithRetries(
  url: string,
  dest: string,
  limits: DownloadLimits,
  sleep: (ms: number) => Promise<void>,
  opts: DownloadOptions & { onRetry?: (attempt: number, err: DownloadError) => void } = {},
): Promise<{ bytes: number; contentType: string; attempts: number }> {
  const deadlineAt = Date.now() + limits.timeoutMs;
  const deadline = AbortSignal.timeout(limits.timeoutMs);
  for (let attempt = 1; ; attempt++) {
    try {
      const got = await downloadOnce(url, dest, limits, {
        ...opts,
        deadline,
        attemptTag: `${opts.attemptTag ?? ''}${attempt}`,
      });
      return { ...got, attempts: attempt };
    } catch (err) {
      if (!(err instanceof DownloadError) || !err.retryable || attempt >= limits.attempts) {
        if (err instanceof DownloadError && err.retryable) {
          throw new DownloadError(`${err.message} (after ${attempt} attempts)`, false);
        }
        throw err;
      }
      const wait = (limits.backoffMs ?? 250) * 2 ** (attempt - 1);
      if (Date.now() + wait >= deadlineAt) {
        throw new DownloadError(
          `${err.message} (after ${attempt} attempts; no time left within ${limits.timeoutMs} ms, STEPWISE_DOWNLOAD_TIMEOUT_MS)`,
          false,
        );
      }
      opts.onRetry?.(attempt, err);
      await sleep(wait);
    }
  }
}
