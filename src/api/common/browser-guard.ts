/**
 * What keeps a web page the user happens to visit from using the API through their browser
 * (docs/security.md, "Browsers"):
 *
 * - a `Host` the API does not serve is refused (403) on every request, by the first `onRequest`
 *   hook — before routing, authentication, body parsing or any handler. A DNS-rebinding page,
 *   whose name resolves to this machine, is same-origin with the API but still names its own host.
 *   Served: loopback names, IP addresses (no page can rebind a literal address) and
 *   `STEPWISE_ALLOWED_HOSTS`;
 * - on a mutating request (any method but GET, HEAD and OPTIONS) the auth guard, once it knows who
 *   calls ({@link mutationRefusal}), refuses an `Origin` other than the API's own or one of
 *   `STEPWISE_ALLOWED_ORIGINS` (403), and a POST (PUT, PATCH) without `content-type:
 *   application/json` — a bodiless one included — or a DELETE whose body is not JSON (415). A form
 *   or a `fetch(…, {mode: 'no-cors'})` can only send "simple" requests (no body, or a form or text
 *   body), which never carry that content type; anything else needs the CORS preflight this API
 *   never answers.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isIP } from 'node:net';
import { isLoopbackHost } from '../../api-keys';
import type { EdgeConfig } from '../../config';
import { ApiError, notJsonError } from './errors';
import { toErrorBody } from './filters/api-exception.filter';
import { requestContext } from './request-context';

/** An attacker-chosen header in a message: quoted, and short. */
const quoted = (v: string): string => JSON.stringify(v.length > 100 ? `${v.slice(0, 100)}…` : v);

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/** The host name of a `Host` header (lower case, no port, IPv6 without brackets), or null if malformed. */
export function hostName(header: string | undefined): string | null {
  if (header === undefined) return null;
  const h = header.trim().toLowerCase();
  const m = /^\[([0-9a-f:.]+)\](?::\d{1,5})?$/.exec(h) ?? /^([a-z0-9._-]+)(?::\d{1,5})?$/.exec(h);
  return m ? m[1] : null;
}

/** Whether the API answers a request naming `host` (see the module comment). */
export function isServedHost(host: string | null, allowed: readonly string[]): boolean {
  if (host === null) return false;
  return isLoopbackHost(host) || isIP(host) !== 0 || allowed.includes(host);
}

/** Whether `origin` may send mutating requests to a request that named `hostHeader`. */
export function isAllowedOrigin(origin: string, hostHeader: string, allowed: readonly string[]): boolean {
  const o = origin.trim().toLowerCase();
  if (allowed.includes(o)) return true;
  // Same origin: the page was served by this API under the very Host this request names (http or
  // https: a TLS proxy in front changes the scheme, not the host).
  const m = /^https?:\/\/([^/\s]+)$/.exec(o);
  return m !== null && m[1] === hostHeader.trim().toLowerCase();
}

/** `application/json`, with or without parameters (`; charset=utf-8`). */
const isJson = (contentType: string | undefined): boolean =>
  contentType !== undefined && /^application\/json\s*(;|$)/i.test(contentType.trim());

const hasBody = (request: FastifyRequest): boolean => {
  const length = request.headers['content-length'];
  return (length !== undefined && length !== '0') || request.headers['transfer-encoding'] !== undefined;
};

/** Why `request` names a host this API does not serve, or null when it may go on. */
export function hostRefusal(request: FastifyRequest, edge: EdgeConfig): ApiError | null {
  const hostHeader = request.headers.host;
  if (isServedHost(hostName(hostHeader), edge.allowedHosts)) return null;
  return new ApiError(
    403,
    `This API does not answer to the host ${quoted(hostHeader ?? '')}: it serves loopback names, ` +
      'IP addresses and the names in STEPWISE_ALLOWED_HOSTS (a guard against DNS rebinding; docs/security.md)',
  );
}

/** Why a request that changes something is refused (foreign Origin, not JSON), or null. */
export function mutationRefusal(request: FastifyRequest, edge: EdgeConfig): ApiError | null {
  if (SAFE_METHODS.has(request.method)) return null;
  const origin = request.headers.origin;
  if (origin !== undefined && !isAllowedOrigin(origin, request.headers.host ?? '', edge.allowedOrigins)) {
    return new ApiError(
      403,
      `Requests that change something are refused from pages of another origin (${quoted(origin)}); ` +
        'allow one with STEPWISE_ALLOWED_ORIGINS (docs/security.md)',
    );
  }
  const contentType = request.headers['content-type'];
  if ((BODY_METHODS.has(request.method) || hasBody(request)) && !isJson(contentType)) {
    return notJsonError(contentType);
  }
  return null;
}

/** Installs the Host check as the first `onRequest` hook (call before the application initialises). */
export function installHostGuard(fastify: FastifyInstance, edge: EdgeConfig): void {
  fastify.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const refusal = hostRefusal(request, edge);
    if (!refusal) return;
    // The hooks after this one do not run: the request id is answered here.
    void reply.header('x-request-id', requestContext(request).requestId);
    return reply.status(refusal.statusCode).send(toErrorBody(refusal));
  });
}
